"""A whole journey on the API, each answer checked against the document's schema for its status: the
schemathesis run (test_schemathesis.py) reaches these too, but not every time, and not a sent intake."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from practice.extensions import db
from tests.answers import valid_answers
from tests.api.document import assert_matches
from tests.conftest import freeze_clock
from tests.factories import make_counselor
from tests.scheduling.helpers import give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
BOOKING = "/api/v1/bookings/{booking_id}"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", timezone="America/New_York", licenses=("NY",))
    for service in c.services:
        service.price = 0  # confirmed at once: its intakes are open
    db.session.commit()
    give_hours(c, {d: [("09:00", "17:00")] for d in range(7)})
    return c


def test_directory_slots_booking_intake_and_cancel_answer_as_documented(client, counselor):
    listing = client.get("/api/v1/counselors")
    assert_matches(client, listing, "/api/v1/counselors", "get")
    profile = client.get("/api/v1/counselors/ana")
    assert_matches(client, profile, "/api/v1/counselors/{slug}", "get")
    slots = client.get("/api/v1/counselors/ana/slots?service=couple-trial")
    assert_matches(client, slots, "/api/v1/counselors/{slug}/slots", "get")

    booked = client.post("/api/v1/bookings", json={
        "counselor": "ana", "service": "couple-trial", "start": slots.get_json()["slots"][0]["start"],
        "timezone": "America/Chicago", "client": {"name": "Robin Client", "email": "robin@example.org", "state": "NY"},
        "partner": {"name": "Sam Partner", "email": "sam@example.org"}})
    assert booked.status_code == 201
    assert_matches(client, booked, "/api/v1/bookings", "post")
    body = booked.get_json()
    token = body["manage_url"].split("token=")[1]
    shown = client.get(f"/api/v1/bookings/{body['id']}?token={token}")
    assert shown.status_code == 200
    assert_matches(client, shown, BOOKING, "get")

    intake_token = body["intake_urls"]["client"].rsplit("/", 1)[1]
    intake = client.get(f"/api/v1/intakes/{intake_token}")
    assert intake.status_code == 200
    assert_matches(client, intake, "/api/v1/intakes/{token}", "get")
    first = intake.get_json()["sections"][0]
    saved = client.put(f"/api/v1/intakes/{intake_token}/sections/{first['id']}",
                       json={"answers": {}, "complete": False})
    assert saved.status_code == 200
    assert_matches(client, saved, "/api/v1/intakes/{token}/sections/{section_id}", "put")
    # A suicide item answered yes: the answer carries crisis resources, which the document describes.
    sent = client.post(f"/api/v1/intakes/{intake_token}",
                       json={"answers": valid_answers(suicide_thoughts=True, suicide_now=False)})
    assert sent.status_code == 201, sent.get_json()
    assert "crisis_resources" in sent.get_json()
    assert_matches(client, sent, "/api/v1/intakes/{token}", "post")
    again = client.post(f"/api/v1/intakes/{intake_token}", json={"answers": valid_answers()})
    assert again.status_code == 409
    assert_matches(client, again, "/api/v1/intakes/{token}", "post")

    cancelled = client.post(f"/api/v1/bookings/{body['id']}/cancel", json={"token": token, "reason": "Plans changed"})
    assert cancelled.status_code == 200
    assert_matches(client, cancelled, f"{BOOKING}/cancel", "post")
    gone = client.get(f"/api/v1/bookings/{body['id']}?token={token}")
    assert gone.status_code == 410
    assert_matches(client, gone, BOOKING, "get")
    refused = client.post(f"/api/v1/bookings/{body['id']}/reschedule", json={"token": token, "start": "x"})
    assert refused.status_code == 422
    assert_matches(client, refused, f"{BOOKING}/reschedule", "post")
    closed = client.get(f"/api/v1/intakes/{intake_token}")
    assert closed.status_code == 410
    assert_matches(client, closed, "/api/v1/intakes/{token}", "get")
