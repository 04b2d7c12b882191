"""Helpers for the counselor pages' tests: signing staff in, and the people who sign in."""
from __future__ import annotations

import pytest

from practice import clock
from practice.auth.service import start_session
from tests.factories import make_counselor, make_user


@pytest.fixture
def sign_in(app, client):
    """Sign a user in on `client` through the same service the login form uses (no password hashing)."""

    def _sign_in(user):
        with app.test_request_context():
            start_session(user, now=clock.now())
            token = user.session_token
        with client.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        return user

    return _sign_in


@pytest.fixture
def counselor(app):
    return make_counselor(name="Maya Okafor", slug="maya-okafor")


@pytest.fixture
def other_counselor(app):
    return make_counselor(name="Daniel Reyes", slug="daniel-reyes", licenses=("TX",))


@pytest.fixture
def counselor_user(counselor):
    return make_user(role="counselor", counselor=counselor)


@pytest.fixture
def admin(app):
    return make_user(role="admin")


@pytest.fixture
def frontdesk(app):
    return make_user(role="frontdesk")
