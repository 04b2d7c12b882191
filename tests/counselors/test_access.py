"""Who may reach the counselor staff pages: roles from the routes' declarations, ownership from the handlers."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.extensions import db

# Every staff page of the counselors blueprint, with the method it answers; a new one must be added here.
STAFF_PAGES = [
    ("GET", "/staff/counselors"),
    ("GET", "/staff/counselors/new"),
    ("POST", "/staff/counselors/new"),
    ("GET", "/staff/counselors/{slug}/edit"),
    ("POST", "/staff/counselors/{slug}/edit"),
    ("POST", "/staff/counselors/{slug}/licenses"),
    ("POST", "/staff/counselors/{slug}/licenses/{license_id}/delete"),
    ("POST", "/staff/counselors/{slug}/photo"),
    ("POST", "/staff/counselors/{slug}/photo/delete"),
    ("GET", "/staff/counselors/{slug}/services"),
    ("GET", "/staff/counselors/{slug}/services/new"),
    ("POST", "/staff/counselors/{slug}/services/new"),
    ("GET", "/staff/counselors/{slug}/services/{service}/edit"),
    ("POST", "/staff/counselors/{slug}/services/{service}/edit"),
]

# The pages that act on one counselor's profile: only that counselor and admins get through.
OWNED_PAGES = [(m, p) for m, p in STAFF_PAGES if "{slug}" in p]


def fill(path: str, counselor) -> str:
    return path.format(slug=counselor.slug, license_id=counselor.licenses[0].id, service=counselor.services[0].slug)


def test_every_counselor_staff_route_is_covered_here(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("counselors.")
             and rule.rule.startswith("/staff") for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(m, p.replace("{slug}", "<slug>").replace("{license_id}", "<int:license_id>")
               .replace("{service}", "<service_slug>")) for m, p in STAFF_PAGES}
    assert rules == listed


@pytest.mark.parametrize("method, path", STAFF_PAGES)
def test_anonymous_visitor_is_sent_to_sign_in_from_every_staff_page(client, counselor, method, path):
    url = fill(path, counselor)
    response = client.open(url, method=method, data={"name": "Intruder"})
    assert response.status_code == 302
    assert response.location.startswith("/staff/login?next=")
    assert counselor.name == "Maya Okafor"


@pytest.mark.parametrize("method, path", OWNED_PAGES)
def test_counselor_cannot_touch_another_counselors_profile_or_services(client, sign_in, counselor_user,
                                                                       other_counselor, method, path):
    sign_in(counselor_user)
    before = db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action.not_like("auth.%")))
    response = client.open(fill(path, other_counselor), method=method,
                           data={"name": "Changed", "timezone": "UTC", "formats": "individual", "languages": "en",
                                 "license-state": "CA", "license-number": "1"})
    assert response.status_code == 403
    db.session.expire_all()
    assert other_counselor.name == "Daniel Reyes"
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action.not_like("auth.%"))) == before


@pytest.mark.parametrize("method, path", OWNED_PAGES)
def test_front_desk_cannot_edit_profiles_or_services(client, sign_in, frontdesk, counselor, method, path):
    sign_in(frontdesk)
    assert client.open(fill(path, counselor), method=method).status_code == 403


def test_counselor_cannot_see_the_staff_list_or_add_counselors(client, sign_in, counselor_user):
    sign_in(counselor_user)
    assert client.get("/staff/counselors").status_code == 403
    assert client.get("/staff/counselors/new").status_code == 403


def test_front_desk_sees_every_counselor_without_edit_links(client, sign_in, frontdesk, counselor, app):
    from tests.factories import make_counselor

    make_counselor(name="Quiet Quinn", slug="quinn", active=False)
    sign_in(frontdesk)
    page = client.get("/staff/counselors").data.decode()
    assert "Maya Okafor" in page and "Quiet Quinn" in page and "Hidden" in page
    assert "/staff/counselors/maya-okafor/edit" not in page


def test_admin_sees_edit_links_for_every_counselor(client, sign_in, admin, counselor, other_counselor):
    sign_in(admin)
    page = client.get("/staff/counselors").data.decode()
    assert "/staff/counselors/maya-okafor/edit" in page and "/staff/counselors/daniel-reyes/edit" in page


@pytest.mark.parametrize("method, path", [(m, p) for m, p in OWNED_PAGES if m == "GET"])
def test_counselor_reaches_their_own_pages(client, sign_in, counselor_user, counselor, method, path):
    sign_in(counselor_user)
    assert client.open(fill(path, counselor), method=method).status_code == 200


def test_unknown_counselor_in_a_staff_url_is_404(client, sign_in, admin):
    sign_in(admin)
    assert client.get("/staff/counselors/nobody/edit").status_code == 404
    assert client.get("/staff/counselors/nobody/services").status_code == 404
