"""Pushing sessions to a counselor's own CalDAV calendar, against a real server (Radicale)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from practice.booking.models import Booking
from practice.calendar.identity import event_uid
from practice.calendar.models import CalDAVConnection, CalDAVEvent
from practice.extensions import db
from practice.worker import jobs
from tests.calendar.radicale import events_in, free_port, new_calendar, radicale  # noqa: F401  (the fixture)
from tests.calendar.test_feed import MON_10, MON_14, NOW, book, free_counselor
from tests.conftest import freeze_clock
from tests.factories import make_user

PASSWORD = "s3cret-app-password"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def app_config(app_config):
    return {**app_config, "FEED_ALLOWED_NETWORKS": ["127.0.0.0/8"]}  # Radicale runs on this machine


@pytest.fixture
def ana(app, auth):
    counselor = free_counselor("ana")
    user = make_user(role="counselor", counselor=counselor)
    assert auth.login(user.email).status_code == 302
    return counselor


def connect(client, url: str):
    return client.post("/staff/counselors/ana/calendar/caldav",
                       data={"caldav-url": url, "caldav-username": "ana", "caldav-password": PASSWORD})


def push(now=NOW) -> int:
    return jobs()["push to calendars"](now=now)


def manage_token(booked: dict) -> str:
    return booked["manage_url"].split("token=")[1]


def page_text(client) -> str:
    body = client.get("/staff/counselors/ana/calendar").get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", body).replace("&#39;", "'").split())


def test_a_session_is_created_moved_and_deleted_in_the_counselors_calendar(client, ana, radicale, app):
    url = new_calendar(radicale)
    assert connect(client, url).status_code == 303
    assert "Calendar connected" in page_text(client)
    booked = book(client, "ana", MON_10, couple=True)
    assert events_in(url) == []  # nothing is sent inside the booking's own request

    assert push() == 1

    [event] = events_in(url)
    booking = db.session.get(Booking, uuid.UUID(booked["id"]))
    assert str(event["uid"]) == event_uid(booking, app.config)
    assert str(event["summary"]) == "Session: R. C. & S. P."
    assert event["sequence"] == 0
    assert event.decoded("dtstart") == datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)
    assert "ATTENDEE" not in event and "ORGANIZER" not in event
    assert push() == 0  # in step: nothing more to do

    moved = client.post(f"/api/v1/bookings/{booked['id']}/reschedule",
                        json={"token": manage_token(booked), "start": MON_14})
    assert moved.status_code == 200, moved.get_json()
    assert push() == 1
    [event] = events_in(url)
    assert str(event["uid"]) == event_uid(booking, app.config)
    assert event["sequence"] > 0
    assert event.decoded("dtstart") == datetime(2026, 12, 7, 19, 0, tzinfo=timezone.utc)

    cancelled = client.post(f"/api/v1/bookings/{booked['id']}/cancel",
                            json={"token": manage_token(moved.get_json())})  # a move gives fresh links
    assert cancelled.status_code == 200, cancelled.get_json()
    assert push() == 1
    assert events_in(url) == []
    assert "Last change sent" in page_text(client)


def test_connecting_checks_the_calendar_and_keeps_the_password_encrypted(client, ana, radicale):
    refused = connect(client, radicale + "ana/no-such-calendar/")
    assert refused.status_code == 303
    assert "There is no calendar at that address" in page_text(client)
    assert db.session.scalar(select(CalDAVConnection)) is None

    url = new_calendar(radicale)
    connect(client, url)

    raw = db.session.execute(text("SELECT password FROM caldav_connection")).scalar_one()
    assert PASSWORD.encode() not in (raw if isinstance(raw, bytes) else str(raw).encode())
    assert PASSWORD not in client.get("/staff/counselors/ana/calendar").get_data(as_text=True)

    assert client.post("/staff/counselors/ana/calendar/caldav/remove").status_code == 303
    assert db.session.scalar(select(CalDAVConnection)) is None


def test_sessions_booked_before_connecting_are_sent_too(client, ana, radicale):
    book(client, "ana", MON_10)
    url = new_calendar(radicale)
    connect(client, url)
    assert push() == 1
    assert [str(e["summary"]) for e in events_in(url)] == ["Session: R. C."]


def test_switching_to_another_calendar_sends_the_sessions_there(client, ana, radicale):
    first = new_calendar(radicale)
    connect(client, first)
    book(client, "ana", MON_10)
    assert push() == 1 and len(events_in(first)) == 1
    second = new_calendar(radicale)
    assert connect(client, second).status_code == 303
    assert push() == 1
    assert [str(e["summary"]) for e in events_in(second)] == ["Session: R. C."]
    assert db.session.scalar(select(CalDAVEvent.href)).startswith(second)  # nothing more goes to the old one


def test_an_unreachable_server_is_shown_and_tried_again_later(client, ana, radicale):
    url = new_calendar(radicale)
    connect(client, url)
    connection = db.session.scalar(select(CalDAVConnection))
    connection.url = f"http://127.0.0.1:{free_port()}/ana/gone/"  # the server is down
    db.session.commit()
    book(client, "ana", MON_10)

    assert push() == 1

    event = db.session.scalar(select(CalDAVEvent))
    assert event.attempts == 1 and event.last_error
    assert event.next_attempt_at > NOW
    shown = page_text(client)
    assert "couldn't be sent" in shown and "could not be reached" in shown
    assert PASSWORD not in shown
    assert push(NOW + timedelta(seconds=10)) == 0  # waits before trying again

    connection = db.session.scalar(select(CalDAVConnection))
    connection.url = url  # the server is back
    db.session.commit()
    assert push(NOW + timedelta(minutes=2)) == 1

    assert [str(e["summary"]) for e in events_in(url)] == ["Session: R. C."]
    db.session.expire_all()
    event = db.session.scalar(select(CalDAVEvent))
    assert event.last_error is None and event.attempts == 0
    assert db.session.scalar(select(CalDAVConnection)).last_error is None
    assert "couldn't be sent" not in page_text(client)


@pytest.mark.parametrize("address", ["https://example.com:99999/cal/", "https://example.com:abc/",
                                     "https://a..b/cal/", "https://[::1/", "https://" + "x" * 64 + ".example/",
                                     "https://example.com/" + "c" * 500])
def test_an_address_that_is_not_one_is_a_clear_form_error(address):
    from practice.calendar.caldav_sync import CalDAVInvalid, _checked_url

    with pytest.raises(CalDAVInvalid):
        _checked_url(address)


def test_a_calendar_server_that_redirects_is_not_followed(app):
    """A redirect could lead a checked public address to a private one, password and all."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from practice.calendar.caldav_sync import CalDAVFailure, Login, _put

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            seen.append(self.path)
            self.send_response(307)
            self.send_header("Location", f"/elsewhere-{len(seen)}/x.ics")  # followed, it would be asked again
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["FEED_ALLOWED_NETWORKS"] = ["127.0.0.0/8"]
    try:
        base = f"http://127.0.0.1:{server.server_port}/cal/"
        with pytest.raises(CalDAVFailure):
            _put(Login(base, "ana", PASSWORD), base + "x.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["/cal/x.ics"]  # asked once; the redirect was not followed


def test_a_session_given_to_another_counselor_leaves_the_first_calendar_and_joins_theirs(client, ana, radicale):
    from practice.booking import assign

    url = new_calendar(radicale)
    connect(client, url)
    booked = book(client, "ana", MON_10)
    assert push() == 1 and len(events_in(url)) == 1
    bea = free_counselor("bea")
    other = new_calendar(radicale)
    db.session.add(CalDAVConnection(counselor_id=bea.id, url=other, username="ana", password=PASSWORD,
                                    active=True, created_at=NOW))
    db.session.commit()
    desk = make_user(role="frontdesk")
    assign.reassign(uuid.UUID(booked["id"]), bea.id, actor=desk, now=NOW)

    assert push() == 2  # deleted from Ana's, created in Bea's
    assert events_in(url) == []
    assert [str(e["summary"]) for e in events_in(other)] == ["Session: R. C."]
    assert push() == 0
