"""The good-faith estimate a self-pay client is given when booking a paid session: asked for at booking (API
and pages), kept as it was given, shown to the client only, as a page and as a PDF."""
from __future__ import annotations

import html
import io
import logging
import re
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text

from practice.audit.models import AuditEvent
from practice.auth.models import PracticeSettings
from practice.booking import service as booking_service
from practice.booking.models import Booking
from practice.counselors.models import Service
from practice.extensions import db
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from practice.payments.models import GoodFaithEstimate
from tests.conftest import freeze_clock
from tests.factories import make_counselor
from tests.scheduling.helpers import give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)  # a Tuesday
MON_10 = "2026-12-07T10:00:00-05:00"
MON_10_UTC = datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)
BORN = "1988-04-23"
COUNSELOR_NPI, PRACTICE_NPI = "1842917365", "1329475606"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def counselor(app):
    """A counselor whose couples trial (90847, $75) is usually followed by twelve couples sessions at $190."""
    c = make_counselor(slug="ana", name="Ana Counselor", credentials="LMFT", npi=COUNSELOR_NPI,
                       timezone="America/New_York", licenses=("NY",))
    trial = next(s for s in c.services if s.slug == "couple-trial")
    trial.service_code = "90847"
    c.services += [
        Service(slug="couples-session", name="Couples session", format="couple", duration_minutes=50, price=19000,
                currency="USD", service_code="90847", expected_sessions=12),
        # Not part of a couple's course: another format, and a session no longer offered.
        Service(slug="individual-session", name="Individual session", format="individual", duration_minutes=50,
                price=14000, currency="USD", service_code="90834", expected_sessions=12),
        Service(slug="old-couples", name="Retired couples intensive", format="couple", duration_minutes=120,
                price=50000, currency="USD", service_code="90847", expected_sessions=3, active=False),
    ]
    settings = PracticeSettings.for_update()
    settings.practice_name = "Harbor Trust Counseling"
    settings.npi, settings.tin = PRACTICE_NPI, "842917365"
    settings.address = "418 Linden Avenue, Suite 200\nBrooklyn, NY 11215"
    db.session.commit()
    give_hours(c, {d: [("08:00", "20:00")] for d in range(7)})
    return c


def booking_body(**extra) -> dict:
    return {"counselor": "ana", "service": "couple-trial", "start": MON_10, "timezone": "America/New_York",
            "client": {"name": "Robin Client", "email": "robin@example.org", "state": "NY"},
            "partner": {"name": "Sam Partner", "email": "sam@example.org"}, **extra}


def book_via_api(client, **extra) -> tuple[str, str]:
    response = client.post("/api/v1/bookings", json=booking_body(**extra))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["id"], parse_qs(urlsplit(body["manage_url"]).query)["token"][0]


def book_self_pay() -> booking_service.BookingCreated:
    """A self-pay couple booking through the service, with both people's tokens."""
    return booking_service.book(booking_service.BookingRequest(
        counselor="ana", service="couple-trial", start=MON_10_UTC, timezone="America/New_York",
        client=booking_service.PersonIn(name="Robin Client", email="robin@example.org", state="NY"),
        partner=booking_service.PersonIn(name="Sam Partner", email="sam@example.org"),
        uses_insurance=False, date_of_birth=datetime(1988, 4, 23).date()), now=NOW)


def estimate_for(booking_id) -> GoodFaithEstimate | None:
    db.session.expire_all()
    return db.session.scalar(select(GoodFaithEstimate).where(GoodFaithEstimate.booking_id == uuid.UUID(
        str(booking_id))))


def page_text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


# --- made at booking, and kept ------------------------------------------------------------------------------

def test_a_self_pay_couple_booking_through_the_api_keeps_its_estimate(client, counselor):
    booking_id, _ = book_via_api(client, insurance="self_pay", date_of_birth=BORN)

    assert db.session.get(Booking, uuid.UUID(booking_id)).uses_insurance is False
    estimate = estimate_for(booking_id)
    assert estimate.issued_at == NOW
    content = estimate.content
    assert content["client"] == {"name": "Robin Client", "date_of_birth": BORN}
    assert content["issued_on"] == "2026-12-01" and content["session_on"] == "2026-12-07"
    assert [(line["section"], line["code"], line["description"], line["quantity"], line["unit_charge"],
             line["total"]) for line in content["lines"]] == [
        ("trial", "90847", "Couples trial session", 1, 7500, 7500),
        ("course", "90847", "Couples session", 12, 19000, 228000),
    ]
    assert content["total"] == 235500 and content["currency"] == "USD"
    assert content["counselor"] == {"name": "Ana Counselor", "credentials": "LMFT", "npi": COUNSELOR_NPI,
                                    "tin": "84-2917365"}
    assert content["practice"] == {"name": "Harbor Trust Counseling", "npi": PRACTICE_NPI, "tin": "84-2917365",
                                   "address": "418 Linden Avenue, Suite 200\nBrooklyn, NY 11215"}
    assert len(content["disclaimers"]) == 5


def test_the_date_of_birth_is_kept_only_in_the_encrypted_estimate(client, counselor, caplog):
    caplog.set_level(logging.DEBUG)
    booking_id, _ = book_via_api(client, insurance="self_pay", date_of_birth=BORN)

    raw = db.session.execute(text("SELECT content FROM good_faith_estimate")).scalar_one()
    assert BORN not in str(raw) and "Robin" not in str(raw)
    details = [str(e.detail) for e in db.session.scalars(select(AuditEvent))]
    assert "estimate.issue" in {e.action for e in db.session.scalars(select(AuditEvent))}
    assert not any(BORN in d or "1988" in d for d in details)
    for message in db.session.scalars(select(OutboxMessage)):
        email = rendered(message)
        assert "1988" not in email.text and "April 23" not in email.text
    assert "1988" not in caplog.text


def test_a_later_price_change_does_not_alter_the_estimate(client, counselor):
    booking_id, token = book_via_api(client, insurance="self_pay", date_of_birth=BORN)
    for service in counselor.services:
        service.price += 5000
        service.expected_sessions = 20
        service.service_code = "90834"
    db.session.commit()

    content = estimate_for(booking_id).content
    assert content["total"] == 235500
    assert [line["code"] for line in content["lines"]] == ["90847", "90847"]
    page = page_text(client.get(f"/bookings/{booking_id}/estimate?token={token}"))
    assert "Total expected charges: $2,355.00" in page
    assert "$240.00" not in page


def test_clients_who_use_insurance_get_no_estimate(client, counselor):
    booking_id, token = book_via_api(client, insurance="insurance")
    assert db.session.get(Booking, uuid.UUID(booking_id)).uses_insurance is True
    assert estimate_for(booking_id) is None
    assert "Good-faith estimate" not in page_text(client.get(f"/bookings/{booking_id}?token={token}"))
    response = client.get(f"/bookings/{booking_id}/estimate?token={token}")
    assert response.status_code == 404
    assert "There's no good-faith estimate for this booking" in page_text(response)


def test_a_booking_that_does_not_answer_is_not_asked_again_and_has_no_estimate(client, counselor):
    booking_id, token = book_via_api(client)  # the API's callers from before the question keep working
    assert db.session.get(Booking, uuid.UUID(booking_id)).uses_insurance is None
    assert estimate_for(booking_id) is None
    page = page_text(client.get(f"/bookings/{booking_id}?token={token}"))
    assert "Paying for your sessions yourself?" in page and "right to a good-faith estimate" in page


def test_free_sessions_ignore_the_question(client, counselor):
    response = client.post("/api/v1/bookings", json={
        **booking_body(service="individual-trial", insurance="self_pay"), "partner": None})
    assert response.status_code == 201, response.get_json()
    booking_id = response.get_json()["id"]
    assert db.session.get(Booking, uuid.UUID(booking_id)).uses_insurance is None
    assert estimate_for(booking_id) is None


# --- bad answers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, field, message", [
    ({"insurance": "self_pay"}, "date_of_birth", "Enter your date of birth."),
    ({"insurance": "self_pay", "date_of_birth": "2027-01-01"}, "date_of_birth", "a date in the past"),
    ({"insurance": "self_pay", "date_of_birth": "1880-05-01"}, "date_of_birth", "Check the year"),
    ({"insurance": "self_pay", "date_of_birth": "23/04/1988"}, "date_of_birth", "YYYY-MM-DD"),
    ({"insurance": "maybe"}, "insurance", "self_pay"),
])
def test_the_api_answers_422_with_field_errors_for_a_missing_or_implausible_answer(client, counselor, extra,
                                                                                   field, message):
    response = client.post("/api/v1/bookings", json=booking_body(**extra))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def details_url() -> str:
    return "/book/ana/couple-trial/2026-12-07T15:00Z?tz=America/New_York"


def details_form(**overrides) -> dict:
    form = {"name": "Robin Client", "email": "robin@example.org", "state": "NY", "accept_policies": "y",
            "partner_name": "Sam Partner", "partner_email": "sam@example.org"}
    form.update(overrides)
    return form


def test_the_details_page_asks_how_a_paid_session_will_be_paid(client, counselor):
    page = page_text(client.get(details_url()))
    assert "How will you pay for your sessions?" in page
    assert "I'll pay for my sessions myself" in page and "I'll use my health insurance" in page
    assert "Your date of birth" in page
    free = page_text(client.get("/book/ana/individual-trial/2026-12-07T15:00Z?tz=America/New_York"))
    assert "How will you pay" not in free and "date of birth" not in free


@pytest.mark.parametrize("dob, message", [
    ("", "Enter your date of birth. Because you're paying yourself"),
    ("April 1988", "Enter your date of birth as year-month-day"),
    ("2030-02-02", "it should be a date in the past"),
])
def test_the_details_form_says_what_is_wrong_with_a_self_pay_date_of_birth(client, counselor, dob, message):
    response = client.post(details_url(), data=details_form(insurance="self_pay", date_of_birth=dob))
    assert response.status_code == 422
    assert message in page_text(response)
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_booking_self_pay_through_the_pages_shows_the_estimate_before_paying(client, counselor):
    response = client.post(details_url(), data=details_form(insurance="self_pay", date_of_birth=BORN))
    assert response.status_code == 302
    manage = page_text(client.get(response.headers["Location"]))
    assert "Your time is held" in manage
    assert "Good-faith estimate" in manage
    assert "$2,355.00 in all" in manage and "$75.00 is this trial session" in manage
    assert "Read your estimate" in manage and "download it as a PDF" in manage
    booking_id = urlsplit(response.headers["Location"]).path.rsplit("/", 1)[-1]
    assert estimate_for(booking_id).content["client"]["date_of_birth"] == BORN


# --- shown to the client ------------------------------------------------------------------------------------

def test_the_estimate_page_shows_everything_the_rule_requires(client, counselor):
    booking_id, token = book_via_api(client, insurance="self_pay", date_of_birth=BORN)
    response = client.get(f"/bookings/{booking_id}/estimate?token={token}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = page_text(response)
    for expected in ("Your good-faith estimate", "issued on December 1, 2026", "Robin Client", "April 23, 1988",
                     "Ana Counselor, LMFT", COUNSELOR_NPI, PRACTICE_NPI, "84-2917365", "Harbor Trust Counseling",
                     "418 Linden Avenue, Suite 200", "Brooklyn, NY 11215",
                     "Your trial session on December 7, 2026", "90847", "Couples trial session", "Couples session",
                     "$75.00", "$190.00", "$2,280.00", "Total expected charges: $2,355.00",
                     "not a contract", "new good-faith estimate", "$400 or more above this estimate",
                     "within 120 days", "1-800-985-3059", "www.cms.gov/nosurprises",
                     "will not change how we treat you", "keep it"):
        assert expected in page, expected
    assert "Individual session" not in page and "Retired couples intensive" not in page
    [viewed] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "estimate.view")).all()
    assert viewed.record_id == booking_id and viewed.detail == {"as": "page"}


def test_the_estimate_pdf_carries_the_same_content(client, counselor):
    booking_id, token = book_via_api(client, insurance="self_pay", date_of_birth=BORN)
    response = client.get(f"/bookings/{booking_id}/estimate.pdf?token={token}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="good-faith-estimate.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    document = pdf_text(response.data)
    for expected in ("Good-faith estimate", "Issued on December 1, 2026", "Robin Client", "April 23, 1988",
                     "Ana Counselor, LMFT", COUNSELOR_NPI, PRACTICE_NPI, "84-2917365",
                     "418 Linden Avenue, Suite 200", "Brooklyn, NY 11215", "90847", "Couples trial session",
                     "Couples session", "$75.00", "$190.00", "$2,280.00", "Total expected charges: $2,355.00",
                     "not a contract", "new good-faith estimate", "$400 or more above this estimate",
                     "within 120 days", "1-800-985-3059", "www.cms.gov/nosurprises",
                     "will not change how we treat you", "keep it"):
        assert expected in document, expected
    assert [e.detail for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "estimate.view"))] == [{"as": "pdf"}]


def test_a_partners_link_cannot_open_the_estimate(client, counselor):
    created = book_self_pay()
    booking_id, partner = created.booking.id, created.tokens["partner"]
    for path in ("estimate", "estimate.pdf"):
        response = client.get(f"/bookings/{booking_id}/{path}?token={partner}")
        assert response.status_code == 403
        assert "April 23" not in page_text(response)
    manage = page_text(client.get(f"/bookings/{booking_id}?token={partner}"))
    assert "Good-faith estimate" not in manage and "$2,355.00" not in manage
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "estimate.view")) == 0


def test_a_wrong_or_cancelled_link_opens_nothing(client, counselor):
    created = book_self_pay()
    booking_id, token = created.booking.id, created.tokens["client"]
    assert client.get(f"/bookings/{booking_id}/estimate?token=not-a-real-token").status_code == 404
    assert client.get(f"/bookings/{uuid.uuid4()}/estimate.pdf?token={token}").status_code == 404
    assert client.get(f"/bookings/not-an-id/estimate?token={token}").status_code == 404
    booking_service.cancel(booking_id, token, "", now=NOW)
    response = client.get(f"/bookings/{booking_id}/estimate.pdf?token={token}")
    assert response.status_code == 410
    assert response.mimetype == "text/html"
