"""`flask --app app create-user`: the first admin from the shell."""
from __future__ import annotations

from sqlalchemy import select

from practice.auth.models import User
from practice.auth.passwords import verify_password
from practice.extensions import db
from tests.factories import make_counselor, make_user

PASSPHRASE = "a sturdy first admin passphrase"


def _create(runner, *extra, email="founder@practice.test", password=PASSPHRASE):
    return runner.invoke(args=["create-user", "--email", email, "--name", "First Admin", "--password", password,
                               *extra])


def test_create_user_makes_the_first_admin_who_can_sign_in(runner, auth):
    result = _create(runner, "--role", "admin")
    assert result.exit_code == 0, result.output
    assert "Created admin account founder@practice.test." in result.output
    user = db.session.scalar(select(User).where(User.email == "founder@practice.test"))
    assert user.role == "admin" and user.active
    assert user.password_hash.startswith("$argon2id$") and verify_password(user.password_hash, PASSPHRASE)
    assert auth.login("founder@practice.test", PASSPHRASE).headers["Location"] == "/staff"


def test_create_user_refuses_a_weak_password(runner):
    result = _create(runner, "--role", "admin", password="password1234")
    assert result.exit_code == 2
    assert "most common" in result.output
    assert db.session.scalar(select(User).where(User.email == "founder@practice.test")) is None


def test_create_user_refuses_a_duplicate_email(runner):
    make_user(role="frontdesk", email="founder@practice.test")
    result = _create(runner, email="Founder@Practice.test")
    assert result.exit_code == 2
    assert "already an account with that email" in result.output


def test_create_user_links_a_counselor_account(runner):
    counselor = make_counselor()
    result = _create(runner, "--role", "counselor", "--counselor", counselor.slug)
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.counselor_id).where(User.email == "founder@practice.test")) == counselor.id


def test_create_user_explains_a_missing_or_unknown_counselor(runner):
    assert "must be linked to a counselor profile" in _create(runner, "--role", "counselor").output
    result = _create(runner, "--role", "counselor", "--counselor", "nobody")
    assert result.exit_code == 2 and "no counselor with slug 'nobody'" in result.output


def test_create_user_refuses_a_malformed_email(runner):
    result = _create(runner, email="not-an-email")
    assert result.exit_code == 2 and "Enter an email address" in result.output
