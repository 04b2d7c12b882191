"""Signing in and out: one message for every failure, no open redirects, fresh and expiring sessions."""
from __future__ import annotations

import pytest

from tests.auth.helpers import audit_events
from tests.conftest import AuthActions
from tests.factories import make_user

LOGIN_FAILED = "That email and password don&#39;t match an account."
COOKIE = "practice_session"


def test_staff_member_signs_in_and_lands_on_the_dashboard(client, auth):
    user = make_user(role="frontdesk")
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff"
    page = client.get("/staff")
    assert page.status_code == 200
    assert user.name in page.get_data(as_text=True)


def test_email_is_matched_whatever_its_case_and_spaces(client, auth):
    make_user(role="frontdesk", email="casey@practice.test")
    assert auth.login("  Casey@Practice.TEST ").headers["Location"] == "/staff"


def test_unknown_email_and_wrong_password_get_the_same_message(client, auth):
    user = make_user(role="admin")
    unknown = auth.login("nobody@practice.test")
    wrong = auth.login(user.email, "not the right password at all")
    for response in (unknown, wrong):
        assert response.status_code == 422
        assert LOGIN_FAILED in response.get_data(as_text=True)
    assert client.get("/staff").status_code == 302  # still signed out


def test_empty_form_asks_for_both_fields(client):
    response = client.post("/staff/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter your email address." in body and "Enter your password." in body


def test_deactivated_account_cannot_sign_in(client, auth):
    user = make_user(role="admin", active=False)
    response = auth.login(user.email)
    assert response.status_code == 422
    assert LOGIN_FAILED in response.get_data(as_text=True)


@pytest.mark.parametrize("target", [
    "https://evil.example/staff", "//evil.example/staff", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example", "/\n/evil.example", " //evil.example",
])
def test_next_to_another_site_is_ignored(client, target):
    user = make_user(role="admin")
    response = client.post("/staff/login", query_string={"next": target},
                           data={"email": user.email, "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff"


def test_next_on_this_site_is_honoured(client):
    user = make_user(role="admin")
    assert client.get("/staff/users").headers["Location"] == "/staff/login?next=/staff/users"
    response = client.post("/staff/login?next=/staff/users",
                           data={"email": user.email, "password": "correct horse battery staple"})
    assert response.headers["Location"] == "/staff/users"


def test_sign_in_starts_a_new_session_and_drops_what_the_old_cookie_carried(client, auth):
    user = make_user(role="admin")
    with client.session_transaction() as planted:  # e.g. a cookie an attacker set in this browser
        planted["planted"] = "by someone else"
    before = client.get_cookie(COOKIE).value
    auth.login(user.email)
    after = client.get_cookie(COOKIE).value
    assert after != before
    with client.session_transaction() as current:
        assert "planted" not in current
    client.set_cookie(COOKIE, before)  # the pre-login cookie does not carry the sign-in
    assert client.get("/staff").status_code == 302


def test_each_sign_in_gets_its_own_session(app, client, auth):
    user = make_user(role="admin")
    auth.login(user.email)
    first = client.get_cookie(COOKIE).value
    other = app.test_client()
    AuthActions(other).login(user.email)
    assert other.get_cookie(COOKIE).value != first


def test_session_cookie_is_httponly_and_samesite_lax(app, auth):
    user = make_user(role="admin")
    cookie = auth.login(user.email).headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_secure_when_configured(app, auth):
    app.config["SESSION_COOKIE_SECURE"] = True  # what config derives from an https BASE_URL
    user = make_user(role="admin")
    assert "Secure" in auth.login(user.email).headers["Set-Cookie"]


def test_sign_out_ends_the_session_on_the_server(client, auth):
    user = make_user(role="admin")
    auth.login(user.email)
    cookie = client.get_cookie(COOKIE).value
    response = auth.logout()
    assert response.headers["Location"] == "/staff/login"
    client.set_cookie(COOKIE, cookie)  # replay the cookie from before signing out
    response = client.get("/staff")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_sign_out_is_post_only(client, auth):
    user = make_user(role="admin")
    auth.login(user.email)
    assert client.get("/staff/logout").status_code == 405
    assert client.get("/staff").status_code == 200


def test_idle_session_expires(app, client, auth, clock):
    user = make_user(role="admin")
    auth.login(user.email)
    clock.advance(minutes=app.config["STAFF_SESSION_IDLE_MINUTES"] - 1)
    assert client.get("/staff").status_code == 200  # activity keeps it alive
    clock.advance(minutes=app.config["STAFF_SESSION_IDLE_MINUTES"] + 1)
    assert client.get("/staff").headers["Location"].startswith("/staff/login")


def test_busy_session_still_ends_at_its_absolute_lifetime(app, client, auth, clock):
    user = make_user(role="admin")
    auth.login(user.email)
    idle = app.config["STAFF_SESSION_IDLE_MINUTES"]
    for _ in range(app.config["STAFF_SESSION_MAX_HOURS"] * 60 // (idle - 5)):
        clock.advance(minutes=idle - 5)
        assert client.get("/staff").status_code == 200
    clock.advance(minutes=idle - 5)  # now past the absolute lifetime, though never idle
    assert client.get("/staff").headers["Location"].startswith("/staff/login")


def test_signed_in_visitor_of_the_login_page_goes_to_the_dashboard(client, auth):
    user = make_user(role="admin")
    auth.login(user.email)
    assert client.get("/staff/login").headers["Location"] == "/staff"


def test_sign_in_and_failures_are_audited(client, auth):
    user = make_user(role="frontdesk")
    auth.login("nobody@practice.test", "whatever it was")
    auth.login(user.email, "wrong password, sadly")
    auth.login(user.email)
    auth.logout()
    failed = audit_events("auth.login_failed")
    assert [e.detail["email"] for e in failed] == ["nobody@practice.test", user.email]
    assert failed[1].record_id == str(user.id)
    assert all(e.actor_id is None for e in failed)  # whoever tried is not known to be the account holder
    [login] = audit_events("auth.login")
    assert login.actor_id == user.id and login.ip == "127.0.0.1"
    assert len(audit_events("auth.logout")) == 1


def test_what_was_typed_is_not_kept_when_it_is_not_an_email(client):
    client.post("/staff/login", data={"email": "MySecretPassw0rd", "password": "oops"})
    [event] = audit_events("auth.login_failed")
    assert event.detail == {"email": "(not an email address)"}


def test_a_write_committed_by_another_request_while_signing_in_does_not_fail_the_sign_in(app, client, auth,
                                                                                          monkeypatch):
    """Another request (a Stripe webhook, a booking) writes while the password is being checked. On SQLite a
    sign-in that had read the account in a plain transaction could then not write ("database is locked": a 500);
    it holds the write lock from its first read, and the other writer waits its turn."""
    import threading

    from sqlalchemy import text

    from practice.auth import service
    from practice.extensions import db

    user = make_user(role="frontdesk")
    checked = threading.Event()
    other_done = []

    def other_request():
        with app.app_context():
            checked.wait(10)
            with db.engine.begin() as connection:  # its own connection, as another request's
                connection.execute(text("INSERT INTO link_request (email, requested_at) "
                                        "VALUES ('someone@example.org', CURRENT_TIMESTAMP)"))
            other_done.append(True)

    real_verify = service.verify_password

    def verify_then_let_the_other_write(stored, password):
        ok = real_verify(stored, password)
        checked.set()
        thread.join(0.5)  # the other request's moment to write (or to wait for the sign-in's lock)
        return ok

    monkeypatch.setattr(service, "verify_password", verify_then_let_the_other_write)
    thread = threading.Thread(target=other_request)
    thread.start()
    response = auth.login(user.email)
    thread.join(10)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert other_done == [True]
