"""Guessing is slowed down: per address and per account, on sign-in and on the two-step code."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_user


@pytest.fixture
def app_config(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    return app_config


def _attempt(client, email, password="not the password, sorry", address="127.0.0.1"):
    return client.post("/staff/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_sixth_attempt_in_a_minute_from_one_address_is_refused(client):
    for n in range(5):
        assert _attempt(client, f"guess{n}@practice.test").status_code == 422
    response = _attempt(client, "guess6@practice.test")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers


def test_sixth_attempt_in_a_minute_on_one_account_is_refused_from_any_address(client):
    user = make_user(role="admin")
    for n in range(5):
        assert _attempt(client, user.email, address=f"10.0.0.{n}").status_code == 422
    # Even the right password waits: the account is under attack.
    assert _attempt(client, user.email.upper(), PASSWORD, address="10.0.0.99").status_code == 429


def test_showing_the_form_is_not_limited(client):
    for _ in range(10):
        assert client.get("/staff/login").status_code == 200


def test_two_step_codes_are_limited_too(client):
    import pyotp

    user = make_user(role="admin", totp_secret=pyotp.random_base32(), totp_enabled=True)
    assert _attempt(client, user.email, PASSWORD).headers["Location"] == "/staff/two-step"
    statuses = [client.post("/staff/two-step", data={"code": "000000"}).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]


def test_guessing_the_current_password_on_the_account_page_is_limited(client):
    user = make_user(role="frontdesk")
    _attempt(client, user.email, PASSWORD)
    data = {"current_password": "a wrong guess", "new_password": "a fine new passphrase",
            "confirm": "a fine new passphrase"}
    statuses = [client.post("/staff/account/password", data=data).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]
