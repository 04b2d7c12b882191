"""Fixtures for the staff side: a clock the test moves. (Each request gets a fresh `g`: tests/conftest.py.)"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from practice import clock as clock_module


class Clock:
    """practice.clock.now(), moved by the test: `clock.advance(minutes=31)`."""

    def __init__(self, start: datetime):
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock(monkeypatch) -> Clock:
    # Mid-step of a 30-second TOTP window, so a code made "now" is the one the server expects.
    fake = Clock(datetime(2030, 3, 4, 9, 0, 10, tzinfo=timezone.utc))
    monkeypatch.setattr(clock_module, "now", fake.now)
    return fake
