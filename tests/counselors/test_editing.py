"""Counselors editing their own profile, licenses and services; admins managing everyone's."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.counselors import service
from practice.counselors.models import Counselor, Service
from practice.counselors.service import CounselorInvalid, ProfileInput, ServiceInput
from practice.extensions import db
from tests.factories import make_counselor


def profile_form(counselor: Counselor, **changes) -> dict:
    data = {
        "name": counselor.name, "pronouns": counselor.pronouns or "", "credentials": counselor.credentials,
        "headline": counselor.headline or "", "bio": counselor.bio, "timezone": counselor.timezone,
        "formats": counselor.formats, "specialties": counselor.specialties, "modalities": counselor.modalities,
        "languages": counselor.languages,
    }
    data.update(changes)
    return data


def service_form(**changes) -> dict:
    data = {"name": "Couples session", "slug": "", "description": "", "format": "couple", "duration_minutes": "80",
            "price": "190.00", "currency": "USD", "buffer_minutes": "10", "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def audit_events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- profiles -------------------------------------------------------------------------------------------

def test_counselor_edits_own_profile_and_it_persists_with_an_audit_entry(client, sign_in, counselor_user,
                                                                          counselor):
    sign_in(counselor_user)
    response = client.post("/staff/counselors/maya-okafor/edit", data=profile_form(
        counselor, headline="Rebuilding trust, one kept promise at a time.", timezone="America/Chicago",
        specialties=["infidelity_recovery", "jealousy_insecurity"], languages=["en", "es"], formats=["couple"],
    ))
    assert response.status_code == 302 and response.location == "/staff/counselors/maya-okafor/edit"
    db.session.expire_all()
    assert counselor.headline == "Rebuilding trust, one kept promise at a time."
    assert counselor.timezone == "America/Chicago"
    assert counselor.specialties == ["infidelity_recovery", "jealousy_insecurity"]
    assert counselor.languages == ["en", "es"]
    assert counselor.formats == ["couple"]
    [event] = audit_events("counselor.update")
    assert event.actor_id == counselor_user.id and event.record_id == str(counselor.id)
    assert event.detail == {"changed": ["accepts_individual", "headline", "languages", "specialties", "timezone"]}
    assert "Rebuilding" not in str(event.detail)  # names of fields, never their values
    assert "Profile saved." in client.get(response.location).data.decode()


def test_saving_an_unchanged_profile_writes_nothing(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    client.post("/staff/counselors/maya-okafor/edit", data=profile_form(counselor))
    assert audit_events("counselor.update") == []


def test_counselor_cannot_unlist_themselves(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    page = client.get("/staff/counselors/maya-okafor/edit").data.decode()
    assert 'name="active"' not in page
    data = profile_form(counselor)  # "active" left out: a checkbox that is off
    client.post("/staff/counselors/maya-okafor/edit", data=data)
    db.session.expire_all()
    assert counselor.active is True


def test_admin_edits_any_profile_and_can_unlist_it(client, sign_in, admin, counselor):
    sign_in(admin)
    assert 'name="active"' in client.get("/staff/counselors/maya-okafor/edit").data.decode()
    response = client.post("/staff/counselors/maya-okafor/edit", data=profile_form(counselor, name="Maya O. Okafor"))
    assert response.status_code == 302
    db.session.expire_all()
    assert counselor.name == "Maya O. Okafor" and counselor.active is False
    assert client.get("/counselors/maya-okafor").status_code == 404
    assert audit_events("counselor.update")[0].detail == {"changed": ["active", "name"]}


def test_profile_errors_are_shown_on_the_fields(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    response = client.post("/staff/counselors/maya-okafor/edit", data=profile_form(
        counselor, name="", timezone="Mars/Olympus_Mons", formats=[], languages=[]))
    assert response.status_code == 422
    page = response.data.decode()
    assert "Enter the counselor&#39;s name." in page
    assert 'href="#name"' in page  # the error summary links to the field
    assert "Not a valid choice" in page  # a zone that is not offered
    db.session.expire_all()
    assert counselor.name == "Maya Okafor"


def test_service_rules_refuse_no_format_and_no_language(app, counselor):
    with pytest.raises(CounselorInvalid) as caught:
        service.update_profile(counselor, ProfileInput(name="Maya", timezone="Nowhere/Land", formats=[],
                                                       languages=[]), actor=None)
    assert set(caught.value.errors) == {"timezone", "formats", "languages"}


def test_admin_creates_a_counselor_with_a_unique_slug(client, sign_in, admin, counselor):
    sign_in(admin)
    assert client.get("/staff/counselors/new").status_code == 200
    response = client.post("/staff/counselors/new", data={
        "name": "Maya  Okafor", "timezone": "America/Denver", "formats": ["individual"], "languages": ["en"],
        "specialties": ["attachment"], "active": "y",
    })
    assert response.status_code == 302 and response.location == "/staff/counselors/maya-okafor-2/edit"
    created = db.session.scalar(select(Counselor).where(Counselor.slug == "maya-okafor-2"))
    assert created.name == "Maya Okafor" and created.timezone == "America/Denver" and created.formats == ["individual"]
    assert audit_events("counselor.create")[0].record_id == str(created.id)


def test_slugs_are_made_from_names():
    assert service.slugify("Lucía Fernández, LMFT") == "lucia-fernandez-lmft"
    assert service._unique_slug("ana", {"ana", "ana-2"}) == "ana-3"


# --- licenses -------------------------------------------------------------------------------------------

def test_counselor_adds_corrects_and_removes_a_license(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    ny_number = counselor.licenses[0].number
    response = client.post("/staff/counselors/maya-okafor/licenses",
                           data={"license-state": "NJ", "license-number": "37FC001", "license-kind": "LMFT"})
    assert response.status_code == 302
    client.post("/staff/counselors/maya-okafor/licenses", data={"license-state": "NJ", "license-number": "37FC002"})
    db.session.expire_all()
    assert {lic.state: lic.number for lic in counselor.licenses} == {"NJ": "37FC002", "NY": ny_number}
    nj = next(lic for lic in counselor.licenses if lic.state == "NJ")
    assert client.post(f"/staff/counselors/maya-okafor/licenses/{nj.id}/delete").status_code == 302
    db.session.expire_all()
    assert counselor.license_states == ["NY"]
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("counselor.lic%"))
                                                 .order_by(AuditEvent.id))] == [
        "counselor.license_add", "counselor.license_update", "counselor.license_remove"]


def test_license_form_errors_are_shown(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    response = client.post("/staff/counselors/maya-okafor/licenses", data={"license-state": "", "license-number": ""})
    assert response.status_code == 422
    assert "Enter the license number." in response.data.decode()


def test_counselor_cannot_remove_a_license_of_someone_else_through_their_own_url(client, sign_in, counselor_user,
                                                                                   other_counselor):
    sign_in(counselor_user)
    theirs = other_counselor.licenses[0].id
    assert client.post(f"/staff/counselors/maya-okafor/licenses/{theirs}/delete").status_code == 404
    db.session.expire_all()
    assert other_counselor.license_states == ["TX"]


# --- services -------------------------------------------------------------------------------------------

def test_counselor_adds_a_service_with_a_price_in_dollars(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    response = client.post("/staff/counselors/maya-okafor/services/new", data=service_form(price="$1,190.50"))
    assert response.status_code == 302 and response.location == "/staff/counselors/maya-okafor/services"
    created = db.session.scalar(select(Service).where(Service.slug == "couples-session"))
    assert (created.price, created.duration_minutes, created.buffer_minutes, created.is_trial) == (119050, 80, 10, False)
    assert audit_events("service.create")[0].detail["counselor_id"] == counselor.id
    page = client.get("/counselors/maya-okafor").data.decode()
    assert "Couples session" in page and "$1,190.50" in page and "80 minutes" in page


def test_counselor_edits_a_service_and_the_slug_stays(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    page = client.get("/staff/counselors/maya-okafor/services/couple-trial/edit").data.decode()
    assert 'value="75.00"' in page
    response = client.post("/staff/counselors/maya-okafor/services/couple-trial/edit", data=service_form(
        name="Couples trial session", slug="renamed", format="couple", duration_minutes="45", price="60",
        is_trial="y"))
    assert response.status_code == 302
    db.session.expire_all()
    trial = next(s for s in counselor.services if s.slug == "couple-trial")
    assert (trial.duration_minutes, trial.price) == (45, 6000)
    assert audit_events("service.update")[0].detail["changed"] == ["duration_minutes", "price"]


@pytest.mark.parametrize("field, value, message", [
    ("price", "-5", "can&#39;t be negative"),
    ("price", "75.123", "at most two decimal places"),
    ("price", "seventy", "as a number"),
    ("duration_minutes", "5", "from 10 to 240 minutes"),
    ("duration_minutes", "300", "from 10 to 240 minutes"),
    ("buffer_minutes", "121", "from 0 to 120 minutes"),
    ("slug", "Not A Slug", "lower-case letters"),
])
def test_service_form_refuses_bad_values(client, sign_in, counselor_user, counselor, field, value, message):
    sign_in(counselor_user)
    response = client.post("/staff/counselors/maya-okafor/services/new", data=service_form(**{field: value}))
    assert response.status_code == 422
    assert message in response.data.decode()
    assert db.session.scalar(select(Service).where(Service.slug == "couples-session")) is None


def test_second_active_trial_of_a_format_is_refused(client, sign_in, counselor_user, counselor):
    sign_in(counselor_user)
    response = client.post("/staff/counselors/maya-okafor/services/new",
                           data=service_form(name="Another trial", is_trial="y"))
    assert response.status_code == 422
    assert "already the active couples trial" in response.data.decode()


def test_service_for_a_format_the_profile_does_not_offer_is_refused(app):
    counselor = make_counselor(accepts_couples=False, services=False)
    with pytest.raises(CounselorInvalid) as caught:
        service.create_service(counselor, ServiceInput(name="Couples", format="couple", duration_minutes=50,
                                                       price=0), actor=None)
    assert "doesn't offer sessions for couples" in caught.value.errors["format"][0]


@pytest.mark.parametrize("text, minor", [
    ("75", 7500), ("75.00", 7500), ("75.5", 7550), ("$75.05", 7505), ("1,200", 120000), (" 0 ", 0), ("0.00", 0),
    ("10000", 1000000),
])
def test_price_parsing_accepts_dollars_and_cents(text, minor):
    assert service.parse_price(text) == minor


@pytest.mark.parametrize("text", ["", "-1", "1.001", "abc", "NaN", "Infinity", "1e3x", "10000.01"])
def test_price_parsing_refuses_what_is_not_a_price(text):
    with pytest.raises(ValueError):
        service.parse_price(text)


def test_price_is_shown_back_as_dollars_and_cents():
    assert service.price_as_text(7505) == "75.05" and service.price_as_text(0) == "0.00"
