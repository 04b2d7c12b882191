"""Who reaches which staff page, and admins managing staff accounts and practice settings."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from practice.auth.models import PracticeSettings, User
from practice.extensions import db
from tests.auth.helpers import audit_events
from tests.conftest import AuthActions
from tests.factories import PASSWORD, make_counselor, make_user

STAFF_PAGES = ["/staff", "/staff/account/password", "/staff/users", "/staff/users/new", "/staff/settings",
               "/staff/two-step", "/staff/two-step/setup"]


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_anonymous_visitor_is_sent_to_sign_in(client, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/login?next={page}"


@pytest.mark.parametrize("page", ["/staff/users", "/staff/users/new", "/staff/settings"])
def test_front_desk_cannot_manage_accounts_or_settings(client, auth, page):
    auth.login(make_user(role="frontdesk").email)
    response = client.get(page)
    assert response.status_code == 403
    assert "This page isn't available to you" in response.get_data(as_text=True)


def test_counselor_cannot_open_settings_or_accounts(client, auth):
    counselor = make_counselor()
    auth.login(make_user(role="counselor", counselor=counselor).email)
    assert client.get("/staff/settings").status_code == 403
    assert client.post("/staff/settings", data={"practice_name": "Mine now"}).status_code == 403
    assert client.get("/staff/users/1").status_code == 403


def test_dashboard_offers_each_role_its_own_links(app, client, auth):
    counselor = make_counselor(slug="dana-reyes")
    auth.login(make_user(role="counselor", counselor=counselor).email)
    html = client.get("/staff").get_data(as_text=True)
    assert 'href="/staff/counselors/dana-reyes/edit"' in html and "Edit my profile" in html
    assert "/staff/users" not in html and "/staff/settings" not in html

    admin = app.test_client()
    AuthActions(admin).login(make_user(role="admin").email)
    html = admin.get("/staff").get_data(as_text=True)
    for href in ("/staff/users", "/staff/settings", "/staff/counselors", "/staff/account/password"):
        assert f'href="{href}"' in html

    desk = app.test_client()
    AuthActions(desk).login(make_user(role="frontdesk").email)
    html = desk.get("/staff").get_data(as_text=True)
    assert 'href="/staff/counselors"' in html and "/staff/users" not in html


def test_admin_lists_every_account(client, auth):
    admin = make_user(role="admin")
    others = [make_user(role="frontdesk"), make_user(role="counselor", counselor=make_counselor()),
              make_user(role="frontdesk", active=False)]
    auth.login(admin.email)
    html = client.get("/staff/users").get_data(as_text=True)
    for user in [admin, *others]:
        assert user.email in html
    assert "Deactivated" in html


def test_admin_creates_a_counselor_account(client, auth):
    admin = make_user(role="admin")
    counselor = make_counselor()
    auth.login(admin.email)
    form = client.get("/staff/users/new").get_data(as_text=True)
    assert f'<option value="{counselor.id}">{counselor.name}</option>' in form
    response = client.post("/staff/users/new", data={
        "name": "Dana Reyes", "email": "Dana@Practice.test", "role": "counselor", "counselor_id": str(counselor.id),
        "password": "a warm welcome passphrase"})
    assert response.headers["Location"] == "/staff/users"
    user = db.session.scalar(select(User).where(User.email == "dana@practice.test"))
    assert user.role == "counselor" and user.counselor_id == counselor.id
    [event] = audit_events("staff.create")
    assert event.actor_id == admin.id and event.record_id == str(user.id)
    # The profile now has an account, so it is no longer offered for another one.
    assert f'value="{counselor.id}"' not in client.get("/staff/users/new").get_data(as_text=True)


def test_creating_an_account_explains_what_is_wrong(client, auth):
    admin = make_user(role="admin")
    auth.login(admin.email)
    cases = [
        ({"role": "counselor", "counselor_id": ""}, "must be linked to a counselor profile"),
        ({"email": admin.email.upper()}, "already an account with that email"),
        ({"password": "password1234"}, "most common"),
        ({"email": "no-at-sign"}, "Enter an email address"),
    ]
    for change, message in cases:
        data = {"name": "New Person", "email": "new.person@practice.test", "role": "frontdesk",
                "counselor_id": "", "password": "a warm welcome passphrase", **change}
        response = client.post("/staff/users/new", data=data)
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
    assert db.session.scalar(select(User).where(User.email == "new.person@practice.test")) is None


def test_deactivating_an_account_ends_its_sessions(app, client, auth):
    admin = make_user(role="admin")
    desk = make_user(role="frontdesk")
    theirs = app.test_client()
    AuthActions(theirs).login(desk.email)
    assert theirs.get("/staff").status_code == 200

    auth.login(admin.email)
    response = client.post(f"/staff/users/{desk.id}", data={
        "name": desk.name, "role": "frontdesk", "counselor_id": ""})  # "active" unticked
    assert response.headers["Location"] == "/staff/users"
    db.session.refresh(desk)
    assert not desk.active
    assert theirs.get("/staff").headers["Location"].startswith("/staff/login")
    assert AuthActions(theirs).login(desk.email).status_code == 422
    [event] = audit_events("staff.update")
    assert event.detail == {"changed": ["active"]} and event.actor_id == admin.id


def test_changing_a_role_takes_effect_at_once(app, client, auth):
    admin = make_user(role="admin")
    other_admin = make_user(role="admin")
    theirs = app.test_client()
    AuthActions(theirs).login(other_admin.email)
    auth.login(admin.email)
    client.post(f"/staff/users/{other_admin.id}", data={
        "name": other_admin.name, "role": "frontdesk", "counselor_id": "", "active": "y"})
    AuthActions(theirs).login(other_admin.email)
    assert theirs.get("/staff/users").status_code == 403


def test_admin_sets_a_new_password_for_someone_who_forgot(client, auth):
    admin = make_user(role="admin")
    desk = make_user(role="frontdesk")
    auth.login(admin.email)
    client.post(f"/staff/users/{desk.id}", data={"name": desk.name, "role": "frontdesk", "counselor_id": "",
                                                 "active": "y", "new_password": "a temporary passphrase"})
    auth.logout()
    assert auth.login(desk.email, PASSWORD).status_code == 422
    assert auth.login(desk.email, "a temporary passphrase").headers["Location"] == "/staff"


def test_admin_cannot_demote_or_deactivate_themselves(client, auth):
    admin = make_user(role="admin")
    auth.login(admin.email)
    demote = client.post(f"/staff/users/{admin.id}", data={"name": admin.name, "role": "frontdesk",
                                                           "counselor_id": "", "active": "y"})
    assert demote.status_code == 422
    assert "can&#39;t remove your own admin role" in demote.get_data(as_text=True)
    deactivate = client.post(f"/staff/users/{admin.id}", data={"name": admin.name, "role": "admin",
                                                               "counselor_id": ""})
    assert deactivate.status_code == 422
    assert "can&#39;t deactivate your own account" in deactivate.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == "admin" and admin.active
    assert client.get("/staff/users").status_code == 200


def test_unknown_account_is_404(client, auth):
    auth.login(make_user(role="admin").email)
    assert client.get("/staff/users/999999").status_code == 404


def test_admin_changes_practice_settings(client, auth):
    admin = make_user(role="admin")
    auth.login(admin.email)
    response = client.post("/staff/settings", data={"practice_name": "Harbor Trust Couples Counseling"})
    assert response.headers["Location"] == "/staff/settings"
    assert db.session.get(PracticeSettings, 1).practice_name == "Harbor Trust Couples Counseling"
    assert "Harbor Trust Couples Counseling" in client.get("/staff/settings").get_data(as_text=True)
    [event] = audit_events("settings.update")
    assert event.actor_id == admin.id and event.detail["changed"] == ["practice_name"]
    assert client.post("/staff/settings", data={"practice_name": "  "}).status_code == 422
