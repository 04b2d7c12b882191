"""The time bookings hold on counselors' calendars, as scheduling reads it.

Bookings belong to the booking domain, which builds on scheduling (it checks a start against the free slots
before it books), so scheduling cannot import it. Instead, practice.booking.models says here, once, where
that time is kept (`provide`); scheduling reads it through `booked()`, in its own statements.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import ColumnElement

# An id no booking has (ids are random, version 4): "no booking is being moved" in queries that leave one out.
NO_BOOKING = uuid.UUID(int=0)


@dataclass(frozen=True)
class BookedTime:
    """`model`: a mapped class with the columns id, counselor_id, service_id, starts_at, ends_at, blocked_until
    (ends_at plus the service's buffer: the time a booking keeps from others) and status (a string enum)."""

    model: Any
    # now -> the condition of a booking that holds its time now (live; a payment hold that ran out holds none).
    holds_time: Callable[[Any], ColumnElement[bool]]
    # now -> the condition of a booking a counselor's calendar shows (not cancelled, not a hold that ran out).
    on_calendar: Callable[[Any], ColumnElement[bool]]


_provided: list[BookedTime] = []


def provide(booked_time: BookedTime) -> None:
    """Where bookings are (practice.booking.models calls this when it is imported)."""
    _provided[:] = [booked_time]


def booked() -> BookedTime:
    if not _provided:
        raise RuntimeError("no bookings are known to scheduling: import practice.booking.models first")
    return _provided[0]
