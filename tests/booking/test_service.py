"""Booking through the API and the manage links: tokens, lifecycle, and the email that carries the link."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from practice.booking.models import Booking, BookingStatus, ManageToken
from practice.booking.tokens import hash_token
from practice.extensions import db
from practice.notify.models import OutboxMessage
from tests.conftest import freeze_clock
from tests.factories import make_counselor
from tests.scheduling.helpers import give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MON_10 = "2026-12-07T10:00:00-05:00"
MON_11 = "2026-12-07T11:00:00-05:00"
MON_14 = "2026-12-07T14:00:00-05:00"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config, "MAIL_DELIVERY": "inline"}


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", timezone="America/New_York", licenses=("NY", "NJ"))
    give_hours(c, {0: [("09:00", "17:00")]}, notice_minutes=60)
    return c


def book(http, start=MON_10, service="individual-trial", **extra):
    body = {"counselor": "ana", "service": service, "start": start, "timezone": "America/New_York",
            "client": {"name": "Robin Client", "email": "robin@example.org", "state": "NY"}}
    if service == "couple-trial":
        body["partner"] = {"name": "Sam Partner", "email": "sam@example.org"}
    body.update(extra)
    return http.post("/api/v1/bookings", json=body)


def token_of(url: str) -> str:
    return url.split("token=")[1]


def test_free_booking_is_confirmed_and_the_email_link_reschedules_it(client, counselor, smtp_server):
    counselor.services[0].price = 0
    db.session.commit()
    response = book(client)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "confirmed" and body["start"] == "2026-12-07T10:00:00-05:00"
    assert body["payment"] == {"required": False, "amount": 0, "currency": "USD", "status": "not_required",
                               "hold_expires_at": None}

    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "Robin Client <robin@example.org>"
    assert "Monday, December 7, 2026 at 10:00 AM EST" in mail.get_body(("plain",)).get_content()
    link = re.search(r"http://practice\.test/bookings/\S+", mail.get_body(("plain",)).get_content()).group(0)
    assert link == body["manage_url"]

    # Follow the link from the message: read it, then move the booking with its token.
    booking_id, token = link.split("/bookings/")[1].split("?token=")
    assert client.get(f"/api/v1/bookings/{booking_id}?token={token}").get_json()["status"] == "confirmed"
    moved = client.post(f"/api/v1/bookings/{booking_id}/reschedule", json={"token": token, "start": MON_14})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["id"] == booking_id  # same booking, not a new one
    assert moved.get_json()["start"] == "2026-12-07T14:00:00-05:00"
    mails = smtp_server.wait_for(2)
    assert "new time" in mails[1]["Subject"]


def test_paid_booking_is_held_with_an_expiry(client, counselor):
    response = book(client, service="couple-trial")
    body = response.get_json()
    assert response.status_code == 201 and body["status"] == "held"
    assert body["payment"]["required"] is True and body["payment"]["amount"] == 7500
    assert body["payment"]["hold_expires_at"] == "2026-12-01T07:10:00-05:00"
    assert set(body) >= {"id", "status", "start", "end", "manage_url", "payment", "intake_urls"}


def test_expired_hold_frees_the_slot_for_the_next_client(client, counselor, frozen_clock):
    assert book(client, service="couple-trial").status_code == 201
    assert book(client, service="couple-trial").status_code == 409
    frozen_clock["now"] = NOW + timedelta(minutes=11)
    assert book(client, service="couple-trial").status_code == 201


def test_a_hold_that_ran_out_cannot_be_moved_or_cancelled_and_stays_as_it_was(client, counselor, frozen_clock):
    body = book(client, service="couple-trial").get_json()
    token = token_of(body["manage_url"])
    frozen_clock["now"] = NOW + timedelta(minutes=11)  # the 10-minute hold ran out, not yet released
    for action, payload in (("reschedule", {"token": token, "start": "2026-12-07T10:30:00-05:00"}),
                            ("cancel", {"token": token})):
        refused = client.post(f"/api/v1/bookings/{body['id']}/{action}", json=payload)
        assert refused.status_code == 409 and "hold ran out" in refused.get_json()["message"]
    db.session.expire_all()
    booking = db.session.get(Booking, uuid.UUID(body["id"]))
    assert (booking.status, booking.reschedule_count) == (BookingStatus.held, 0)
    assert booking.starts_at == datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)


def test_taken_slot_is_409(client, counselor):
    assert book(client).status_code == 201
    response = book(client)
    assert response.status_code == 409 and response.get_json() == {"error": "slot_unavailable"}


def test_time_outside_hours_or_inside_notice_is_409(client, counselor, frozen_clock):
    assert book(client, start="2026-12-07T08:00:00-05:00").status_code == 409  # before hours
    assert book(client, start="2026-12-08T10:00:00-05:00").status_code == 409  # Tuesday: no hours
    frozen_clock["now"] = datetime(2026, 12, 7, 14, 30, tzinfo=timezone.utc)  # 9:30 New York, notice 60 min
    assert book(client, start=MON_10).status_code == 409


def test_bad_input_is_422_with_field_errors(client, counselor):
    response = client.post("/api/v1/bookings", json={"counselor": "ana", "service": "individual-trial",
                                                      "start": "2026-12-07T10:00:00", "timezone": "Nowhere/Else",
                                                      "client": {"name": "", "email": "nope", "state": "ZZ"}})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"start", "timezone", "client.name", "client.email", "client.state"}
    assert client.post("/api/v1/bookings", data="not json").status_code == 422


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:00-05:00"])
def test_a_start_at_the_ends_of_the_calendar_is_422_not_a_server_error(client, counselor, start):
    # Found by schemathesis: turning it into UTC, or adding the session's length, overflowed (500).
    response = book(client, start=start)
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"start": [
        "Choose a start from the free slots: this one is more than ten years from now."]}}
    body = book(client).get_json()
    moved = client.post(f"/api/v1/bookings/{body['id']}/reschedule",
                        json={"token": token_of(body["manage_url"]), "start": start})
    assert moved.status_code == 422 and list(moved.get_json()["errors"]) == ["start"]
    assert client.get(f"/api/v1/bookings/{body['id']}?token={token_of(body['manage_url'])}").get_json()["start"] \
        == MON_10


def test_an_overlong_time_zone_is_unknown_not_a_server_error(client, counselor):
    # Found by schemathesis: a name longer than a file name made ZoneInfo raise OSError (500).
    response = book(client, timezone="A" * 300, client={"name": "", "email": "r@example.org", "state": "NY"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "timezone": ["Unknown time zone. Use an IANA name such as America/Chicago."],
        "client.name": ["Length must be between 1 and 120."]}


def test_couple_service_needs_a_partner(client, counselor):
    response = book(client, service="couple-trial", partner=None)
    assert response.status_code == 422 and "partner" in response.get_json()["errors"]


def test_unlicensed_state_names_counselors_who_are(client, counselor):
    other = make_counselor(slug="tex", name="Tess Texas", licenses=("TX",))
    response = book(client, client={"name": "R", "email": "r@example.org", "state": "TX"})
    assert response.status_code == 422
    body = response.get_json()
    assert "isn't licensed in Texas" in body["errors"]["client.state"][0]
    assert "Tess Texas" in body["errors"]["client.state"][0]
    assert body["alternatives"] == [other.slug]


def test_token_is_stored_only_as_a_hash(client, counselor):
    body = book(client).get_json()
    token = token_of(body["manage_url"])
    assert len(token) >= 22  # at least 128 bits of base64url
    hashes = db.session.scalars(select(ManageToken.token_hash)).all()
    assert hash_token(token) in hashes and token not in hashes


def test_link_checks(client, counselor, frozen_clock):
    body = book(client).get_json()
    booking_id, token = body["id"], token_of(body["manage_url"])
    other = book(client, start=MON_11).get_json()
    assert client.get(f"/api/v1/bookings/{booking_id}?token={token}").status_code == 200
    # Tampered, missing, another booking's token, another booking's id.
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/api/v1/bookings/{booking_id}?token={tampered}").status_code == 404
    assert client.get(f"/api/v1/bookings/{booking_id}").status_code == 404
    assert client.get(f"/api/v1/bookings/{booking_id}?token={token_of(other['manage_url'])}").status_code == 404
    assert client.get(f"/api/v1/bookings/not-a-uuid?token={token}").status_code == 404
    # Expired a day after the session.
    frozen_clock["now"] = datetime(2026, 12, 8, 16, 0, tzinfo=timezone.utc)
    response = client.get(f"/api/v1/bookings/{booking_id}?token={token}")
    assert response.status_code == 410 and response.get_json() == {"error": "link_expired"}


def test_partner_link_cannot_change_the_booking(client, counselor, smtp_server):
    next(s for s in counselor.services if s.slug == "couple-trial").price = 0  # confirmed at once: both emailed
    db.session.commit()
    body = book(client, service="couple-trial").get_json()
    assert "partner_manage_url" not in body  # the booker never holds the partner's link
    mails = {mail["To"]: mail for mail in smtp_server.wait_for(2)}
    partner_mail = mails["Sam Partner <sam@example.org>"].get_body(("plain",)).get_content()
    partner_token = re.search(r"/bookings/\S+\?token=(\S+)", partner_mail).group(1)
    assert body["manage_url"].split("token=")[1] != partner_token
    view = client.get(f"/api/v1/bookings/{body['id']}?token={partner_token}").get_json()
    assert view["role"] == "partner" and view["may_change"] is False
    assert client.post(f"/api/v1/bookings/{body['id']}/cancel", json={"token": partner_token}).status_code == 403
    assert client.post(f"/api/v1/bookings/{body['id']}/reschedule",
                       json={"token": partner_token, "start": MON_14}).status_code == 403


def test_cancelled_booking_cannot_be_rescheduled_and_its_link_is_revoked(client, counselor):
    body = book(client).get_json()
    token = token_of(body["manage_url"])
    cancelled = client.post(f"/api/v1/bookings/{body['id']}/cancel", json={"token": token, "reason": "Ill"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/bookings/{body['id']}/reschedule", json={"token": token, "start": MON_14})
    assert again.status_code == 410 and again.get_json() == {"error": "link_revoked_cancelled"}
    # The time is free again.
    assert book(client).status_code == 201


@pytest.mark.parametrize("change", ["counselor_inactive", "service_inactive", "format_not_accepted"])
def test_no_reschedule_with_a_counselor_or_service_no_longer_bookable(client, counselor, change):
    body = book(client).get_json()
    service = next(s for s in counselor.services if s.slug == "individual-trial")
    if change == "counselor_inactive":
        counselor.active = False
    elif change == "service_inactive":
        service.active = False
    else:
        counselor.accepts_individual = False
    db.session.commit()
    moved = client.post(f"/api/v1/bookings/{body['id']}/reschedule",
                        json={"token": token_of(body["manage_url"]), "start": MON_14})
    assert moved.status_code == 409
    assert db.session.get(Booking, uuid.UUID(body["id"])).starts_at == datetime.fromisoformat(body["start"])


def test_old_link_after_reschedule_says_a_newer_link_was_sent(client, counselor):
    body = book(client).get_json()
    old = token_of(body["manage_url"])
    moved = client.post(f"/api/v1/bookings/{body['id']}/reschedule", json={"token": old, "start": MON_14})
    new = token_of(moved.get_json()["manage_url"])
    response = client.get(f"/api/v1/bookings/{body['id']}?token={old}")
    assert response.status_code == 410 and response.get_json() == {"error": "link_revoked_reissued"}
    assert client.get(f"/api/v1/bookings/{body['id']}?token={new}").status_code == 200


def test_stale_page_cannot_reschedule_twice_into_two_live_bookings(client, counselor, app):
    from practice.booking import service

    body = book(client).get_json()
    token = token_of(body["manage_url"])
    seen_start = datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)
    moved = service.reschedule(body["id"], token, datetime.fromisoformat(MON_14), now=NOW, expected_start=seen_start)
    with pytest.raises(service.LinkInvalid):  # the same old link and page, submitted again
        service.reschedule(body["id"], token, datetime.fromisoformat(MON_11), now=NOW, expected_start=seen_start)
    new_token = moved.tokens["client"]
    with pytest.raises(service.ActionRefused):  # the new link, but a page from before the move
        service.reschedule(body["id"], new_token, datetime.fromisoformat(MON_11), now=NOW, expected_start=seen_start)
    live = db.session.scalar(select(func.count()).select_from(Booking).where(
        Booking.status.in_([BookingStatus.confirmed, BookingStatus.held])))
    assert live == 1


def test_opening_a_link_changes_nothing(client, counselor):
    body = book(client).get_json()
    before = db.session.scalar(select(Booking.updated_at))
    messages = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    for _ in range(3):
        client.get(f"/api/v1/bookings/{body['id']}?token={token_of(body['manage_url'])}")
    db.session.expire_all()
    assert db.session.scalar(select(Booking.updated_at)) == before
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == messages


def test_booking_rolls_back_with_its_outbox_message(client, counselor, app, monkeypatch):
    from practice.notify import booking_mail as notices

    def broken(*_args, **_kwargs):
        raise RuntimeError("mail template broke")

    monkeypatch.setattr(notices, "booking_confirmed", broken)
    counselor.services[0].price = 0
    db.session.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert book(client).status_code == 500
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_resend_sends_fresh_links_after_the_response_and_keeps_no_address(client, counselor, smtp_server, app):
    from practice.booking.models import LinkRequest

    counselor.services[0].price = 0
    db.session.commit()
    body = book(client).get_json()
    smtp_server.wait_for(1)
    for address in ("nobody@example.org", "ROBIN@example.org"):
        assert client.post("/bookings/resend", data={"email": address}).status_code == 200
    mails = smtp_server.wait_for(2)  # handled after each commit (inline here): one email, for the known address
    assert len(mails) == 2 and mails[1]["Subject"] == "Your booking links" and "robin@example.org" in mails[1]["To"]
    assert client.get(f"/api/v1/bookings/{body['id']}?token={token_of(body['manage_url'])}").status_code == 410
    assert db.session.scalar(select(func.count()).select_from(LinkRequest)) == 0  # nothing about either address


def test_worker_releases_expired_holds(client, counselor, app, frozen_clock):
    from practice.booking.service import release_expired_holds

    book(client, service="couple-trial")
    assert release_expired_holds(now=NOW + timedelta(minutes=5)) == 0
    assert release_expired_holds(now=NOW + timedelta(minutes=10)) == 1
    assert db.session.scalar(select(Booking.status)) == BookingStatus.cancelled
