"""Password rules (length and guessability, no composition rules, no truncation) and how hashes are made."""
from __future__ import annotations

import re

import pytest

from practice.auth.passwords import hash_password, password_problems, verify_password
from practice.extensions import db
from tests.auth.helpers import audit_actions
from tests.conftest import AuthActions
from tests.factories import PASSWORD, make_user

RULES = {"min_length": 12, "max_length": 1024}


def test_hash_is_argon2id_with_at_least_owasp_minimum_cost():
    encoded = hash_password("a long enough passphrase")
    assert encoded.startswith("$argon2id$")
    params = dict(kv.split("=") for kv in re.search(r"\$m=[^$]+", encoded).group(0)[1:].split(","))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2 and int(params["p"]) >= 1


def test_verify_accepts_only_the_same_password_and_survives_garbage():
    encoded = hash_password("a long enough passphrase")
    assert verify_password(encoded, "a long enough passphrase")
    assert not verify_password(encoded, "a long enough passphrasE")
    assert not verify_password("not a hash", "anything")
    assert not verify_password(None, "anything")


@pytest.mark.parametrize("password", ["short words", "x" * 11])
def test_too_short_is_refused(password):
    assert any("at least 12 characters" in p for p in password_problems(password, **RULES))


@pytest.mark.parametrize("password", ["password1234", "Password1234!", "qwerty123456", "iloveyou2024!!"])
def test_common_passwords_are_refused(password):
    assert any("most common" in p for p in password_problems(password, **RULES))


@pytest.mark.parametrize("password", ["aaaaaaaaaaaaaaaa", "abcabcabcabcabc"])
def test_repeated_patterns_are_refused(password):
    assert password_problems(password, **RULES)


@pytest.mark.parametrize("password", [
    "correct horse battery staple", "lowercase only but long enough", "ÉTÉ à Montréal, sous la pluie",
    "🙂 tea by the window 🙂", "w" + "ords and more words " * 10,
])
def test_passphrases_need_no_digits_capitals_or_symbols(password):
    assert password_problems(password, **RULES) == []


def test_own_name_or_email_is_refused():
    assert password_problems("jordan.lee.is.great", email="jordan.lee@practice.test", **RULES)
    assert password_problems("Jordan Lee Smith", name="Jordan Lee Smith", **RULES)


def test_absurdly_long_is_refused():
    assert any("at most" in p for p in password_problems("z" * 1025, **RULES))


def test_change_password_explains_every_problem(client, auth):
    user = make_user(role="frontdesk")
    auth.login(user.email)
    response = client.post("/staff/account/password", data={
        "current_password": PASSWORD, "new_password": "password1234", "confirm": "password1234"})
    assert response.status_code == 422
    assert "most common" in response.get_data(as_text=True)
    response = client.post("/staff/account/password", data={
        "current_password": PASSWORD, "new_password": "too short", "confirm": "too short"})
    assert "Use at least 12 characters" in response.get_data(as_text=True)
    response = client.post("/staff/account/password", data={
        "current_password": PASSWORD, "new_password": "a fine new passphrase", "confirm": "a different one"})
    assert "don&#39;t match" in response.get_data(as_text=True)
    response = client.post("/staff/account/password", data={
        "current_password": "not my password", "new_password": "a fine new passphrase",
        "confirm": "a fine new passphrase"})
    assert "current password is not right" in response.get_data(as_text=True)


def test_page_uses_password_manager_friendly_fields(client, auth):
    user = make_user(role="frontdesk")
    auth.login(user.email)
    html = client.get("/staff/account/password").get_data(as_text=True)
    assert html.count('autocomplete="new-password"') == 2
    assert 'autocomplete="current-password"' in html
    assert re.search(r'<label for="new_password">', html)


def test_long_passphrase_is_kept_whole(client, auth):
    user = make_user(role="frontdesk")
    auth.login(user.email)
    passphrase = ("the quiet harbor at dawn, gulls over grey water, " * 5)[:200]
    assert len(passphrase) == 200
    response = client.post("/staff/account/password", data={
        "current_password": PASSWORD, "new_password": passphrase, "confirm": passphrase})
    assert response.headers["Location"] == "/staff"
    auth.logout()
    assert auth.login(user.email, passphrase[:72]).status_code == 422  # no bcrypt-style truncation
    assert auth.login(user.email, passphrase[:199]).status_code == 422
    assert auth.login(user.email, passphrase).headers["Location"] == "/staff"


def test_changing_password_signs_out_other_browsers_but_not_this_one(app, client, auth):
    user = make_user(role="frontdesk")
    auth.login(user.email)
    elsewhere = app.test_client()
    AuthActions(elsewhere).login(user.email)
    client.post("/staff/account/password", data={
        "current_password": PASSWORD, "new_password": "a fine new passphrase", "confirm": "a fine new passphrase"})
    assert client.get("/staff").status_code == 200
    assert elsewhere.get("/staff").headers["Location"].startswith("/staff/login")
    assert "auth.password_change" in audit_actions()
    db.session.refresh(user)
    assert verify_password(user.password_hash, "a fine new passphrase")
