"""Two-step verification with an authenticator app: enrolment, sign-in with a code, no replays, and the
practice-wide requirement."""
from __future__ import annotations

from practice.auth.models import User
from practice.extensions import db
from tests.auth.helpers import audit_actions, code_at, enrol_two_factor, secret_on_setup_page
from tests.conftest import AuthActions
from tests.factories import make_counselor, make_user

PASSWORD = "correct horse battery staple"


def _enrolled_user(client, auth, clock, **overrides) -> tuple[User, str]:
    user = make_user(**overrides)
    auth.login(user.email)
    secret = enrol_two_factor(client, clock)
    auth.logout()
    clock.advance(seconds=30)
    return user, secret


def test_setup_page_shows_a_qr_code_and_the_key_without_inline_script_or_style(client, auth, clock):
    user = make_user(role="frontdesk")
    auth.login(user.email)
    page = client.get("/staff/two-step/setup")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in html  # CSP allows data: images, not inline styles
    assert "<script" not in html and "style=" not in html
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    assert len(secret_on_setup_page(html)) >= 16
    again = client.get("/staff/two-step/setup").get_data(as_text=True)
    assert secret_on_setup_page(again) == secret_on_setup_page(html)  # a second tab shows the same key


def test_enrolment_needs_a_right_code(client, auth, clock):
    user = make_user(role="frontdesk")
    auth.login(user.email)
    secret = secret_on_setup_page(client.get("/staff/two-step/setup").get_data(as_text=True))
    response = client.post("/staff/two-step/setup", data={"code": "000000"})
    assert response.status_code == 422
    assert "That code didn" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.totp_enabled
    response = client.post("/staff/two-step/setup", data={"code": code_at(secret, clock.now())})
    assert response.headers["Location"] == "/staff"
    db.session.refresh(user)
    assert user.totp_enabled
    assert client.get("/staff").status_code == 200  # this session counts as verified


def test_sign_in_with_two_step_needs_the_code(client, auth, clock):
    user, secret = _enrolled_user(client, auth, clock, role="frontdesk")
    response = auth.login(user.email)
    assert response.headers["Location"] == "/staff/two-step"
    for page in ("/staff", "/staff/account/password"):  # the password alone opens nothing else
        assert client.get(page).headers["Location"] == "/staff/two-step"
    verify = client.get("/staff/two-step")
    assert verify.status_code == 200
    assert 'autocomplete="one-time-code"' in verify.get_data(as_text=True)
    response = client.post("/staff/two-step", data={"code": code_at(secret, clock.now())})
    assert response.headers["Location"] == "/staff"
    assert client.get("/staff").status_code == 200


def test_wrong_code_is_refused(client, auth, clock):
    user, secret = _enrolled_user(client, auth, clock, role="frontdesk")
    auth.login(user.email)
    right = code_at(secret, clock.now())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post("/staff/two-step", data={"code": wrong})
    assert response.status_code == 422
    assert "That code didn" in response.get_data(as_text=True)
    assert client.get("/staff").headers["Location"] == "/staff/two-step"
    assert "auth.two_factor_failed" in audit_actions()


def test_a_code_is_accepted_only_once(app, client, auth, clock):
    user, secret = _enrolled_user(client, auth, clock, role="frontdesk")
    code = code_at(secret, clock.now())
    auth.login(user.email)
    assert client.post("/staff/two-step", data={"code": code}).headers["Location"] == "/staff"
    # Someone who saw the code signs in with the password in the same 30 seconds: the code is spent.
    other = app.test_client()
    AuthActions(other).login(user.email)
    assert other.post("/staff/two-step", data={"code": code}).status_code == 422
    clock.advance(seconds=30)
    assert other.post("/staff/two-step", data={"code": code_at(secret, clock.now())}).status_code == 302


def test_code_from_the_previous_step_is_still_accepted_for_clock_drift(client, auth, clock):
    user, secret = _enrolled_user(client, auth, clock, role="frontdesk")
    auth.login(user.email)
    late = code_at(secret, clock.now())
    clock.advance(seconds=30)
    assert client.post("/staff/two-step", data={"code": late[:3] + " " + late[3:]}).status_code == 302


def test_next_survives_the_second_step(client, auth, clock):
    user, secret = _enrolled_user(client, auth, clock, role="admin")
    client.post("/staff/login?next=/staff/users", data={"email": user.email, "password": PASSWORD})
    response = client.post("/staff/two-step", data={"code": code_at(secret, clock.now())})
    assert response.headers["Location"] == "/staff/users"


def test_password_alone_cannot_replace_an_enrolled_authenticator(client, auth, clock):
    user, secret = _enrolled_user(client, auth, clock, role="frontdesk")
    auth.login(user.email)  # second step not done
    assert client.get("/staff/two-step/setup").headers["Location"] == "/staff/two-step"
    response = client.post("/staff/two-step/setup", data={"code": "123456"})
    assert response.headers["Location"] == "/staff/two-step"
    db.session.refresh(user)
    assert user.totp_secret == secret
    assert client.get("/staff").headers["Location"] == "/staff/two-step"


def test_verified_user_visiting_the_verify_page_goes_to_the_dashboard(client, auth):
    user = make_user(role="frontdesk")
    auth.login(user.email)
    assert client.get("/staff/two-step").headers["Location"] == "/staff"


def test_admin_requiring_two_step_sends_unenrolled_staff_to_setup_everywhere(app, client, auth, clock):
    admin = make_user(role="admin")
    auth.login(admin.email)
    response = client.post("/staff/settings", data={"practice_name": "Harbor Trust Counseling",
                                                    "require_two_factor": "y"})
    assert response.status_code == 302
    assert client.get("/staff").headers["Location"] == "/staff/two-step/setup"  # the admin too

    frontdesk = make_user(role="frontdesk")
    other = app.test_client()
    assert AuthActions(other).login(frontdesk.email).headers["Location"] == "/staff/two-step/setup"
    for page in ("/staff", "/staff/account/password", "/staff/counselors"):
        assert other.get(page).headers["Location"] == "/staff/two-step/setup", page
    assert other.get("/staff/two-step/setup").status_code == 200
    enrol_two_factor(other, clock)
    assert other.get("/staff").status_code == 200
    assert AuthActions(other).logout().headers["Location"] == "/staff/login"


def test_sign_out_works_before_the_second_step(client, auth, clock):
    user, _ = _enrolled_user(client, auth, clock, role="frontdesk")
    auth.login(user.email)
    assert auth.logout().headers["Location"] == "/staff/login"
    assert client.get("/staff").headers["Location"].startswith("/staff/login")


def test_admin_resets_a_lost_phone_and_their_sessions_end(app, client, auth, clock):
    user, secret = _enrolled_user(client, auth, clock, role="counselor", counselor=make_counselor())
    theirs = app.test_client()
    AuthActions(theirs).login(user.email)
    theirs.post("/staff/two-step", data={"code": code_at(secret, clock.now())})
    assert theirs.get("/staff").status_code == 200

    admin = make_user(role="admin")
    auth.login(admin.email)
    response = client.post(f"/staff/users/{user.id}/two-step/reset")
    assert response.headers["Location"] == f"/staff/users/{user.id}"
    db.session.refresh(user)
    assert not user.totp_enabled and user.totp_secret is None
    assert theirs.get("/staff").headers["Location"].startswith("/staff/login")
    assert "auth.two_factor_reset" in audit_actions()


def test_own_two_step_can_move_to_a_new_phone_with_the_password(client, auth, clock):
    user = make_user(role="frontdesk")
    auth.login(user.email)
    old = enrol_two_factor(client, clock)
    wrong = client.post("/staff/account/two-step/reset", data={"reset-current_password": "not my password at all"})
    assert wrong.headers["Location"] == "/staff/account/password"
    db.session.refresh(user)
    assert user.totp_enabled
    response = client.post("/staff/account/two-step/reset", data={"reset-current_password": PASSWORD})
    assert response.headers["Location"] == "/staff/two-step/setup"
    clock.advance(seconds=30)
    new = enrol_two_factor(client, clock)  # still signed in, now with the new phone
    assert new != old
