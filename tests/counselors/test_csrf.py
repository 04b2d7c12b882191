"""With CSRF protection on (as in production), every counselor form carries a token and works; posts without one fail."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from practice.extensions import db


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def tokens(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="((?:[\w-]+-)?csrf_token)" type="hidden" value="([^"]+)"', page))


def test_profile_license_and_photo_forms_work_with_their_tokens(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    page = client.get("/staff/counselors/maya-okafor/edit").data.decode()
    found = tokens(page)
    assert {"csrf_token", "license-csrf_token"} <= set(found)

    assert client.post("/staff/counselors/maya-okafor/licenses",
                       data={"license-state": "NJ", "license-number": "1"}).status_code == 400
    assert client.post("/staff/counselors/maya-okafor/licenses", data={
        "license-csrf_token": found["license-csrf_token"], "license-state": "NJ", "license-number": "1",
    }).status_code == 302

    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 120, 130)).save(picture, format="PNG")
    response = client.post("/staff/counselors/maya-okafor/photo", content_type="multipart/form-data", data={
        "csrf_token": found["csrf_token"], "photo": (io.BytesIO(picture.getvalue()), "me.png")})
    assert response.status_code == 302
    db.session.expire_all()
    assert counselor.photo is not None

    page = client.get("/staff/counselors/maya-okafor/edit").data.decode()
    assert client.post("/staff/counselors/maya-okafor/photo/delete",
                       data={"csrf_token": tokens(page)["csrf_token"]}).status_code == 302
    db.session.expire_all()
    assert counselor.photo is None


def test_service_form_works_with_its_token(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    page = client.get("/staff/counselors/maya-okafor/services/new").data.decode()
    response = client.post("/staff/counselors/maya-okafor/services/new", data={
        "csrf_token": tokens(page)["csrf_token"], "name": "Couples session", "format": "couple",
        "duration_minutes": "80", "price": "180", "currency": "USD", "buffer_minutes": "10", "active": "y"})
    assert response.status_code == 302
