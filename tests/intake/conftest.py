"""Fixtures for the intake tests: a counselor with hours, real SMTP, a frozen clock, an alert address, staff."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from practice import clock
from practice.auth.service import start_session
from practice.extensions import db
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.scheduling.helpers import give_hours
from tests.smtp import smtp_server  # noqa: F401  (the real SMTP server fixture)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ALERT_EMAIL = "alerts@practice.test"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config, "MAIL_DELIVERY": "inline", "ALERT_EMAIL": ALERT_EMAIL}


def counselor_with_hours(slug: str, **overrides):
    counselor = make_counselor(slug=slug, timezone="America/New_York", licenses=("NY", "NJ"), **overrides)
    for service in counselor.services:
        service.price = 0  # free: confirmed at once, so the confirmation (with the intake link) goes out now
    db.session.commit()
    give_hours(counselor, {0: [("09:00", "17:00")]}, notice_minutes=60)
    return counselor


@pytest.fixture
def counselor(app):
    return counselor_with_hours("ana", name="Ana Example")


@pytest.fixture
def sign_in(app, client):
    """Sign a staff user in on `client` through the service the login form uses."""

    def _sign_in(user, on=None):
        with app.test_request_context():
            start_session(user, now=clock.now())
            token = user.session_token
        with (on or client).session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        return user

    return _sign_in


@pytest.fixture
def frontdesk(app):
    return make_user(role="frontdesk")


@pytest.fixture
def admin(app):
    return make_user(role="admin")


@pytest.fixture
def counselor_user(counselor):
    return make_user(role="counselor", counselor=counselor)
