"""Staff give a booking to another counselor from the intake page's suggestions: under the calendar guard, at
the booking's own time when the new counselor is free then, else at one of their free times; each person is
emailed their own new link; a counselor busy then, without the session, or at another price is refused."""
from __future__ import annotations

import html
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from practice import clock
from practice.audit.models import AuditEvent
from practice.auth.service import start_session
from practice.booking import assign as assign_module
from practice.booking.models import Booking, BookingStatus
from practice.extensions import db
from practice.intake.models import RoutingDecision
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.intake.conftest import counselor_with_hours
from tests.intake.helpers import MON_10, book, text_of, valid_answers
from tests.scheduling.helpers import add_booking

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MON_10_UTC = datetime.fromisoformat(MON_10).astimezone(timezone.utc)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config, "MAIL_DELIVERY": "inline"}


@pytest.fixture
def ana(app):
    return counselor_with_hours("ana", name="Ana Example")


@pytest.fixture
def bea(app):
    return counselor_with_hours("bea", name="Bea Other")


@pytest.fixture
def desk(app, client):
    """A front-desk member signed in on `client`."""
    user = make_user(role="frontdesk")
    with app.test_request_context():
        start_session(user, now=clock.now())
        token = user.session_token
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = token, True
    return user


@pytest.fixture
def booked(client, ana, smtp_server):
    """A couple at Ana's Monday 10:00, with the booker's intake in (so the page suggests counselors)."""
    made = book(client, smtp_server)
    response = client.post(f"/api/v1/intakes/{made.intake['client']}", json={"answers": valid_answers()})
    assert response.status_code == 201
    return made


def version(booking_id: str) -> str:
    return str(db.session.scalar(select(RoutingDecision.version)
                                 .where(RoutingDecision.booking_id == uuid.UUID(booking_id))))


def booking(booking_id: str) -> Booking:
    return db.session.get(Booking, uuid.UUID(booking_id), populate_existing=True)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def mails_with(smtp_server, subject: str, count: int):
    for _ in range(20):
        found = [m for m in smtp_server.messages if subject in m["Subject"]]
        if len(found) >= count:
            return found
        try:
            smtp_server.wait_for(len(smtp_server.messages) + 1, timeout=0.5)
        except AssertionError:
            pass
    raise AssertionError(f"expected {count} messages about {subject!r}")


def test_the_booking_goes_to_the_new_counselor_at_its_time_and_each_person_is_told(
        client, booked, ana, bea, desk, smtp_server):
    page_ = page(client.get(f"/staff/intakes/{booked.id}"))
    assert f'<option value="{bea.id}">Bea Other, LMFT</option>' in page_
    response = client.post(f"/staff/intakes/{booked.id}/assign",
                           data={"counselor": str(bea.id), "version": version(booked.id)})
    assert response.status_code == 303
    moved = booking(booked.id)
    assert (moved.counselor_id, moved.starts_at, moved.status) == (bea.id, MON_10_UTC, BookingStatus.confirmed)
    assert moved.service.counselor_id == bea.id and moved.service.slug == "couple-trial"
    assert moved.ics_sequence == 1
    assert "The booking is now with Bea Other, at the same time." in page(client.get(f"/staff/intakes/{booked.id}"))

    mails = mails_with(smtp_server, "Your session is now with Bea Other", 2)
    assert sorted(m["To"].addresses[0].addr_spec for m in mails) == ["robin@example.org", "sam@example.org"]
    tokens = {}
    for mail in mails:
        body = text_of(mail)
        assert "in place of Ana Example" in body and "Monday, December 7, 2026 at 10:00 AM EST" in body
        [token] = re.findall(rf"/bookings/{booked.id}\?token=([A-Za-z0-9_-]+)", body)  # their own link only
        tokens[mail["To"].addresses[0].addr_spec] = token
    assert len(set(tokens.values())) == 2
    for token in tokens.values():
        shown = client.get(f"/api/v1/bookings/{booked.id}?token={token}")
        assert shown.status_code == 200 and "bea" in str(shown.get_json())
    old = client.get(f"/api/v1/bookings/{booked.id}?token={booked.manage['client']}")
    assert old.status_code != 200  # the old link was replaced
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "booking.reassign")).all()
    assert event.actor_id == desk.id and event.detail == {"from_counselor": ana.id, "to_counselor": bea.id,
                                                          "moved": False}


def test_a_busy_counselor_is_refused_then_one_of_their_free_times_is_chosen(client, booked, ana, bea, desk,
                                                                            smtp_server):
    add_booking(bea, bea.services[0], MON_10_UTC)  # Bea is busy at the booking's time
    refused = client.post(f"/staff/intakes/{booked.id}/assign",
                          data={"counselor": str(bea.id), "version": version(booked.id)})
    assert refused.status_code == 422
    text_ = page(refused)
    assert "Bea Other isn't free at this session's time. Choose one of their free times below." in text_
    offered = re.findall(r'<option value="(2026-12-0[0-9]T[^"]+)">([^<]+)</option>', refused.get_data(as_text=True))
    assert offered and all("EST" in label for _, label in offered)
    assert MON_10_UTC.isoformat() not in [value for value, _ in offered]
    assert booking(booked.id).counselor_id == ana.id  # nothing moved

    taken = client.post(f"/staff/intakes/{booked.id}/assign", data={
        "counselor": str(bea.id), "start": MON_10_UTC.isoformat(), "version": version(booked.id)})
    assert taken.status_code == 409 and booking(booked.id).counselor_id == ana.id

    eleven = (MON_10_UTC + timedelta(hours=1)).isoformat()
    assert eleven in [value for value, _ in offered]
    done = client.post(f"/staff/intakes/{booked.id}/assign",
                       data={"counselor": str(bea.id), "start": eleven, "version": version(booked.id)})
    assert done.status_code == 303
    moved = booking(booked.id)
    assert (moved.counselor_id, moved.starts_at) == (bea.id, MON_10_UTC + timedelta(hours=1))
    [mail, _] = mails_with(smtp_server, "Your session is now with Bea Other", 2)
    assert "New time: Monday, December 7, 2026 at 11:00 AM EST" in text_of(mail)
    assert "It was: Monday, December 7, 2026 at 10:00 AM EST" in text_of(mail)


def test_a_counselor_at_another_price_or_without_the_session_is_refused(client, booked, ana, desk):
    cara = counselor_with_hours("cara", name="Cara Dear")
    next(s for s in cara.services if s.format == "couple").price = 9000
    dan = counselor_with_hours("dan", name="Dan Solo")
    for service in dan.services:
        if service.format == "couple":
            service.active = False
    db.session.commit()
    dearer = client.post(f"/staff/intakes/{booked.id}/assign",
                         data={"counselor": str(cara.id), "version": version(booked.id)})
    assert dearer.status_code == 422
    assert "costs a different amount" in page(dearer) and "Cancel this booking" in page(dearer)
    missing = client.post(f"/staff/intakes/{booked.id}/assign",
                          data={"counselor": str(dan.id), "version": version(booked.id)})
    assert missing.status_code == 422 and "Dan Solo offers no trial couples session" in page(missing)
    stranger = make_counselor(slug="eve", name="Eve Elsewhere", licenses=("CA",))
    not_offered = client.post(f"/staff/intakes/{booked.id}/assign",
                              data={"counselor": str(stranger.id), "version": version(booked.id)})
    assert not_offered.status_code == 422  # not among the suggestions (not licensed in NY)
    assert booking(booked.id).counselor_id == ana.id


def test_both_calendars_are_locked_in_ascending_order_before_anything_is_read(app, booked, ana, bea, desk,
                                                                              monkeypatch):
    locked = []
    real_lock = assign_module.lock_calendar
    monkeypatch.setattr(assign_module, "lock_calendar", lambda cid: (locked.append(cid), real_lock(cid)))
    # from Bea (the higher id) back to Ana: still Ana's calendar first
    assign_module.reassign(uuid.UUID(booked.id), bea.id, actor=desk, now=NOW)
    assign_module.reassign(uuid.UUID(booked.id), ana.id, actor=desk, now=NOW)
    assert ana.id < bea.id and locked == [ana.id, bea.id, ana.id, bea.id]
    assert booking(booked.id).counselor_id == ana.id and booking(booked.id).ics_sequence == 2
