"""What a good-faith estimate names, as staff keep it: the practice's NPI, TIN and address (admin settings), a
counselor's NPI (their profile), a service's code and usual number of sessions (the service form); and the demo
practice, which has them all."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.auth.models import PracticeSettings
from practice.counselors.models import Counselor, Service
from practice.extensions import db
from tests.factories import make_counselor, make_user


def page_text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


@pytest.fixture
def admin(auth):
    user = make_user(role="admin")
    auth.login(user.email)
    return user


# --- the practice ---------------------------------------------------------------------------------------

def test_admin_saves_the_practices_npi_tin_and_address(client, admin):
    response = client.post("/staff/settings", data={
        "practice_name": "Linden Street Counseling", "npi": "1329475606", "tin": "84 2917365",
        "address": "  418 Linden Avenue, Suite 200  \r\n\r\nBrooklyn, NY 11215 "})
    assert response.status_code == 302
    settings = db.session.get(PracticeSettings, 1)
    assert (settings.npi, settings.tin) == ("1329475606", "842917365")
    assert settings.address == "418 Linden Avenue, Suite 200\nBrooklyn, NY 11215"
    page = page_text(client.get("/staff/settings"))
    assert 'value="84-2917365"' in page  # shown as it is usually written
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "settings.update")).all()
    assert event.detail["changed"] == ["address", "npi", "practice_name", "tin"]


@pytest.mark.parametrize("field, value, message", [
    ("npi", "1329475607", "This NPI's last digit doesn't match the others."),
    ("npi", "13294756", "An NPI is 10 digits"),
    ("tin", "84-29173", "A tax identification number is 9 digits"),
])
def test_settings_say_what_is_wrong_with_an_identifier(client, admin, field, value, message):
    response = client.post("/staff/settings", data={"practice_name": "Harbor Trust Counseling", field: value})
    assert response.status_code == 422
    assert message in page_text(response)
    assert PracticeSettings.current().npi == "" and PracticeSettings.current().tin == ""


# --- a counselor ----------------------------------------------------------------------------------------

def profile_form(counselor: Counselor, **changes) -> dict:
    return {"name": counselor.name, "credentials": counselor.credentials, "bio": counselor.bio,
            "timezone": counselor.timezone, "formats": counselor.formats, "specialties": counselor.specialties,
            "modalities": counselor.modalities, "languages": counselor.languages, **changes}


def test_a_counselor_keeps_their_npi_in_their_profile(client, auth):
    counselor = make_counselor(slug="maya-okafor", name="Maya Okafor")
    user = make_user(role="counselor", counselor=counselor)
    auth.login(user.email)
    url = "/staff/counselors/maya-okafor/edit"
    assert 'name="npi"' in client.get(url).get_data(as_text=True)

    wrong = client.post(url, data=profile_form(counselor, npi="1842917366"))
    assert wrong.status_code == 422
    assert "This NPI's last digit doesn't match the others." in page_text(wrong)

    assert client.post(url, data=profile_form(counselor, npi="1842-917-365")).status_code == 302
    db.session.expire_all()
    assert counselor.npi == "1842917365"
    # A form from before the field (or another client) leaves it as it is.
    assert client.post(url, data=profile_form(counselor, headline="New words")).status_code == 302
    db.session.expire_all()
    assert counselor.npi == "1842917365"


# --- a service ------------------------------------------------------------------------------------------

def service_form(**changes) -> dict:
    return {"name": "Couples session", "slug": "", "description": "", "format": "couple", "duration_minutes": "50",
            "price": "190.00", "currency": "USD", "buffer_minutes": "10", "active": "y", **changes}


def test_a_service_has_a_code_and_a_usual_number_of_sessions(client, admin):
    counselor = make_counselor(slug="maya-okafor", name="Maya Okafor")
    url = "/staff/counselors/maya-okafor/services/new"
    page = page_text(client.get(url))
    assert "Service code" in page and "Sessions in a usual course" in page

    for changes, message in (({"service_code": "9084"}, "A service code is 5 letters or digits"),
                             ({"expected_sessions": "0"}, "Choose a number of sessions from 1 to 100.")):
        response = client.post(url, data=service_form(**changes))
        assert response.status_code == 422
        assert message in page_text(response)

    response = client.post(url, data=service_form(service_code="90847", expected_sessions="12"))
    assert response.status_code == 302
    saved = db.session.scalar(select(Service).where(Service.counselor_id == counselor.id,
                                                    Service.slug == "couples-session"))
    assert (saved.service_code, saved.expected_sessions) == ("90847", 12)
    edit = page_text(client.get("/staff/counselors/maya-okafor/services/couples-session/edit"))
    assert 'value="90847"' in edit and 'value="12"' in edit


# --- the demo -------------------------------------------------------------------------------------------

def test_the_demo_practice_has_what_an_estimate_names(runner):
    from practice.core.provider_ids import npi_is_valid

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    settings = PracticeSettings.current()
    assert npi_is_valid(settings.npi) and len(settings.tin) == 9 and settings.address
    counselors = db.session.scalars(select(Counselor)).all()
    assert all(npi_is_valid(c.npi) for c in counselors)
    services = [s for c in counselors for s in c.active_services]
    assert all(len(s.service_code) == 5 for s in services)
    assert {s.service_code for s in services if s.is_trial and s.format == "individual"} == {"90791"}
    assert {s.service_code for s in services if not s.is_trial and s.format == "individual"} == {"90834"}
    assert {s.service_code for s in services if s.format == "couple"} == {"90847"}
    assert all(s.expected_sessions > 1 for s in services if not s.is_trial)
