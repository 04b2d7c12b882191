"""Every staff form carries a CSRF token, and a POST without one is refused with a friendly page."""
from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD, make_counselor, make_user


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_login_without_the_token_is_refused(client):
    user = make_user(role="admin")
    response = client.post("/staff/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert client.get("/staff").status_code == 302


def test_login_with_the_token_succeeds(client):
    user = make_user(role="admin")
    token = _token(client.get("/staff/login").get_data(as_text=True))
    response = client.post("/staff/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/staff"


def test_sign_out_needs_the_token_too(client):
    user = make_user(role="admin")
    token = _token(client.get("/staff/login").get_data(as_text=True))
    client.post("/staff/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff").status_code == 200  # a forged sign-out did nothing


def test_every_post_form_on_staff_pages_carries_a_token(client):
    admin = make_user(role="admin")
    other = make_user(role="counselor", counselor=make_counselor())
    token = _token(client.get("/staff/login").get_data(as_text=True))
    client.post("/staff/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    for page in ("/staff", "/staff/account/password", "/staff/users", "/staff/users/new", f"/staff/users/{other.id}",
                 "/staff/settings", "/staff/two-step/setup"):
        html = client.get(page).get_data(as_text=True)
        forms = re.findall(r'<form method="post".*?</form>', html, re.S)
        assert forms, page
        for form in forms:
            assert 'name="csrf_token"' in form, (page, form[:120])
