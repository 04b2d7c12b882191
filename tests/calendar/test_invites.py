"""Each person's calendar invite: by email through a real SMTP server, and as invite.ics behind their link.

Invites are parsed back with icalendar and checked the way a calendar app reads them: METHOD and the MIME
part's method, UID kept for the booking's life, SEQUENCE raised on each change, times in the counselor's zone
with its VTIMEZONE (also on a daylight-saving change day), who is named, and what is not said.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from practice.auth.models import PracticeSettings
from practice.booking.models import Booking, BookingStatus
from practice.extensions import db
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.scheduling.helpers import give_hours
from tests.smtp import smtp_server  # noqa: F401  (the real SMTP server fixture)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MON_10 = "2026-12-07T10:00:00-05:00"
MON_14 = "2026-12-07T14:00:00-05:00"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config, "MAIL_DELIVERY": "inline"}


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", name="Ana Reyes", timezone="America/New_York", licenses=("NY",))
    for service in c.services:
        service.price = 0  # confirmed at once: the invite comes with the confirmation
    make_user(role="counselor", email="ana@practice.example", counselor=c)
    settings = PracticeSettings.for_update()
    settings.practice_name, settings.address = "Harbor Counseling", "12 River Street, Albany, NY 12207"
    db.session.commit()
    give_hours(c, {0: [("09:00", "17:00")], 6: [("09:00", "17:00")]}, notice_minutes=60)
    return c


def book(http, start=MON_10, service="individual-trial", timezone_="America/New_York"):
    body = {"counselor": "ana", "service": service, "start": start, "timezone": timezone_,
            "client": {"name": "Robin Client", "email": "robin@example.org", "state": "NY"}}
    if service == "couple-trial":
        body["partner"] = {"name": "Sam Partner", "email": "sam@example.org"}
    response = http.post("/api/v1/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def token_of(url: str) -> str:
    return url.split("token=")[1]


def calendar_part(mail):
    """The message's iMIP part: (its method parameter, the parsed VCALENDAR, its one VEVENT)."""
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_content_charset() == "utf-8"
    cal = Calendar.from_ical(part.get_content())
    [event] = cal.walk("VEVENT")
    return part.get_param("method"), cal, event


def link_in(mail) -> str:
    return re.search(r"http://practice\.test/bookings/\S+", mail.get_body(("plain",)).get_content()).group(0)


def attendees(event) -> list[str]:
    found = event.get("attendee")
    return sorted(str(a) for a in (found if isinstance(found, list) else [found]))


def test_booking_reschedule_and_cancel_send_request_request_cancel_with_one_uid(client, counselor, smtp_server):
    body = book(client)
    [confirmed] = smtp_server.wait_for(1)
    method, cal, event = calendar_part(confirmed)
    assert method == "REQUEST" and str(cal["method"]) == "REQUEST"
    uid = f"{body['id']}@practice.example"
    assert str(event["uid"]) == uid and event["sequence"] == 0
    assert event.decoded("dtstart") == datetime(2026, 12, 7, 10, 0, tzinfo=NEW_YORK)
    assert event.decoded("dtend") == datetime(2026, 12, 7, 10, 30, tzinfo=NEW_YORK)
    assert str(event["status"]) == "CONFIRMED"
    # The mail has it twice, as Gmail's and Outlook's do: the invite part and a file for other mail apps.
    assert confirmed.get_content_type() == "multipart/mixed"
    [alternative] = [p for p in confirmed.walk() if p.get_content_type() == "multipart/alternative"]
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html", "text/calendar"]
    [ics_file] = [p for p in confirmed.iter_attachments()]
    assert ics_file.get_filename() == "invite.ics" and ics_file.get_content_type() == "application/ics"
    assert Calendar.from_ical(ics_file.get_content())["method"] == "REQUEST"

    token = token_of(link_in(confirmed))
    moved = client.post(f"/api/v1/bookings/{body['id']}/reschedule", json={"token": token, "start": MON_14})
    assert moved.status_code == 200, moved.get_json()
    rescheduled = smtp_server.wait_for(2)[1]
    method, cal, event = calendar_part(rescheduled)
    assert method == "REQUEST" and str(cal["method"]) == "REQUEST"
    assert str(event["uid"]) == uid and event["sequence"] == 1
    assert event.decoded("dtstart") == datetime(2026, 12, 7, 14, 0, tzinfo=NEW_YORK)

    token = token_of(link_in(rescheduled))
    assert client.post(f"/api/v1/bookings/{body['id']}/cancel", json={"token": token}).status_code == 200
    cancelled = smtp_server.wait_for(3)[2]
    method, cal, event = calendar_part(cancelled)
    assert method == "CANCEL" and str(cal["method"]) == "CANCEL"
    assert str(event["uid"]) == uid and event["sequence"] == 2
    assert str(event["status"]) == "CANCELLED"
    assert event.decoded("dtstart") == datetime(2026, 12, 7, 14, 0, tzinfo=NEW_YORK)
    assert not event.walk("VALARM")  # nothing to be reminded of


def test_invite_is_neutral_names_the_practice_and_carries_an_alarm_and_the_place(client, counselor, smtp_server):
    book(client)
    [mail] = smtp_server.wait_for(1)
    _method, cal, event = calendar_part(mail)
    assert str(event["summary"]) == "Session at Harbor Counseling"
    organizer = event["organizer"]
    assert str(organizer) == "mailto:hello@practice.example" and organizer.params["CN"] == "Harbor Counseling"
    assert str(event["location"]) == "12 River Street, Albany, NY 12207"
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("trigger") == -timedelta(hours=1) and str(alarm["action"]) == "DISPLAY"
    for attendee in event["attendee"]:
        assert attendee.params["RSVP"] == "FALSE"
    text = cal.to_ical().decode()
    unfolded = text.replace("\r\n ", "")
    # Nothing about what the session is for, and no link with a token (calendars are synced elsewhere).
    for word in ("trial", "Individual", "trust", "token=", "/bookings/"):
        assert word not in unfolded
    assert "Ana Reyes" in unfolded and "link in your email" in unfolded


def test_each_partner_gets_an_invite_naming_only_themselves_and_the_counselor(client, counselor, smtp_server):
    book(client, service="couple-trial")
    mails = {mail["To"]: mail for mail in smtp_server.wait_for(2)}
    robin = mails["Robin Client <robin@example.org>"]
    sam = mails["Sam Partner <sam@example.org>"]
    _m, robin_cal, robin_event = calendar_part(robin)
    _m, sam_cal, sam_event = calendar_part(sam)
    assert attendees(robin_event) == ["mailto:ana@practice.example", "mailto:robin@example.org"]
    assert attendees(sam_event) == ["mailto:ana@practice.example", "mailto:sam@example.org"]
    assert "sam@example.org" not in robin_cal.to_ical().decode() and "Sam" not in robin_cal.to_ical().decode()
    assert "robin@example.org" not in sam_cal.to_ical().decode() and "Robin" not in sam_cal.to_ical().decode()
    assert robin_event["uid"] == sam_event["uid"] and robin_event["sequence"] == sam_event["sequence"] == 0


def test_without_a_counselor_account_only_the_person_is_named(client, app, smtp_server):
    c = make_counselor(slug="ana", timezone="America/New_York", licenses=("NY",),
                       telehealth_url="https://video.example.org/room/ana")
    c.services[0].price = 0
    db.session.commit()
    give_hours(c, {0: [("09:00", "17:00")]}, notice_minutes=60)
    book(client)
    [mail] = smtp_server.wait_for(1)
    _m, _cal, event = calendar_part(mail)
    assert attendees(event) == ["mailto:robin@example.org"]
    assert str(event["location"]) == "https://video.example.org/room/ana"  # the telehealth link is the place


def test_a_session_on_the_day_clocks_go_forward_is_at_the_right_local_and_utc_time(client, counselor, smtp_server,
                                                                                  frozen_clock):
    frozen_clock["now"] = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    # Sunday March 8, 2026: New York moves from EST (-05:00) to EDT (-04:00) at 2 a.m. A client in Los Angeles
    # books; the invite is written in the counselor's zone all the same.
    book(client, start="2026-03-08T07:00:00-07:00", timezone_="America/Los_Angeles")
    [mail] = smtp_server.wait_for(1)
    _m, cal, event = calendar_part(mail)
    start = event["dtstart"]
    assert start.params["TZID"] == "America/New_York"
    assert start.dt.replace(tzinfo=None) == datetime(2026, 3, 8, 10, 0)  # 10:00 local, on the wall clock
    assert event.decoded("dtstart").astimezone(timezone.utc) == datetime(2026, 3, 8, 14, 0, tzinfo=timezone.utc)
    assert "DTSTART;TZID=America/New_York:20260308T100000" in cal.to_ical().decode()
    [vtimezone] = cal.walk("VTIMEZONE")
    assert str(vtimezone["tzid"]) == "America/New_York"
    switches = {(sub.name, sub.decoded("dtstart").date()) for sub in vtimezone.subcomponents}
    assert ("DAYLIGHT", datetime(2026, 3, 8).date()) in switches
    [daylight] = [s for s in vtimezone.subcomponents if s.name == "DAYLIGHT"
                  and s.decoded("dtstart").year == 2026]
    assert daylight["tzoffsetto"].td == timedelta(hours=-4)


def test_a_session_on_the_day_clocks_go_back_is_at_the_right_utc_time(client, counselor, smtp_server,
                                                                      frozen_clock):
    frozen_clock["now"] = datetime(2026, 10, 20, 12, 0, tzinfo=timezone.utc)
    book(client, start="2026-11-01T09:00:00-05:00")  # Sunday November 1, 2026: back to EST at 2 a.m.
    [mail] = smtp_server.wait_for(1)
    _m, _cal, event = calendar_part(mail)
    assert event.decoded("dtstart").astimezone(timezone.utc) == datetime(2026, 11, 1, 14, 0, tzinfo=timezone.utc)
    assert event["dtstart"].params["TZID"] == "America/New_York"


# --- invite.ics behind each person's link ---------------------------------------------------------------

def test_each_person_downloads_their_own_invite(client, counselor, smtp_server):
    body = book(client, service="couple-trial")
    mails = {mail["To"]: mail for mail in smtp_server.wait_for(2)}
    for address, own, other in (("Robin Client <robin@example.org>", "robin@example.org", "sam@example.org"),
                                ("Sam Partner <sam@example.org>", "sam@example.org", "robin@example.org")):
        token = token_of(link_in(mails[address]))
        response = client.get(f"/bookings/{body['id']}/invite.ics?token={token}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Content-Disposition"] == 'attachment; filename="invite.ics"'
        assert response.headers["Cache-Control"] == "no-store"
        cal = Calendar.from_ical(response.data)
        [event] = cal.walk("VEVENT")
        assert str(cal["method"]) == "REQUEST" and str(event["uid"]) == f"{body['id']}@practice.example"
        assert f"mailto:{own}" in attendees(event) and other not in response.data.decode()


def test_the_api_gives_the_client_their_invite_url(client, counselor):
    body = book(client)
    assert body["invite_url"] == (f"http://practice.test/bookings/{body['id']}/invite.ics?token="
                                  f"{token_of(body['manage_url'])}")
    assert client.get(body["invite_url"].removeprefix("http://practice.test")).status_code == 200


def test_the_manage_page_offers_the_invite(client, counselor):
    body = book(client)
    page = client.get(body["manage_url"].removeprefix("http://practice.test")).get_data(as_text=True)
    assert "Add to your calendar" in page
    assert f"/bookings/{body['id']}/invite.ics?token={token_of(body['manage_url'])}" in page


def test_a_link_that_opens_nothing_gives_no_invite(client, counselor, smtp_server):
    body = book(client)
    assert client.get(f"/bookings/{body['id']}/invite.ics?token=nope").status_code == 404
    assert client.get("/bookings/not-a-uuid/invite.ics?token=nope").status_code == 404
    assert client.get(f"/bookings/{body['id']}/invite.ics").status_code == 404
    token = token_of(body["manage_url"])
    assert client.post(f"/api/v1/bookings/{body['id']}/cancel", json={"token": token}).status_code == 200
    gone = client.get(f"/bookings/{body['id']}/invite.ics?token={token}")
    assert gone.status_code == 410  # its CANCEL went out by email; a revoked link opens nothing


def test_a_held_booking_has_no_invite_yet(client, counselor):
    [couple] = [service for service in counselor.services if service.slug == "couple-trial"]
    couple.price = 7500
    db.session.commit()
    body = book(client, service="couple-trial")
    assert body["status"] == "held" and body["invite_url"] is None
    response = client.get(f"/bookings/{body['id']}/invite.ics?token={token_of(body['manage_url'])}")
    assert response.status_code == 409 and "confirmed yet" in response.get_data(as_text=True)


def test_a_cancelled_booking_whose_link_still_opens_gives_the_cancel(client, counselor, app):
    body = book(client)
    booking = db.session.get(Booking, uuid.UUID(body["id"]))
    booking.status, booking.ics_sequence = BookingStatus.cancelled, 1  # e.g. cancelled by the practice
    db.session.commit()
    response = client.get(f"/bookings/{body['id']}/invite.ics?token={token_of(body['manage_url'])}")
    cal = Calendar.from_ical(response.data)
    [event] = cal.walk("VEVENT")
    assert str(cal["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED" and event["sequence"] == 1


def test_no_alarm_when_turned_off(app, counselor, client, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "INVITE_ALARM_MINUTES", 0)
    book(client)
    [mail] = smtp_server.wait_for(1)
    _m, _cal, event = calendar_part(mail)
    assert not event.walk("VALARM")


def test_without_an_smtp_server_the_invites_are_in_the_local_mail_folder(app, counselor, client, tmp_path,
                                                                         monkeypatch):
    from email import message_from_bytes, policy

    monkeypatch.setitem(app.config, "SMTP_HOST", "")  # as `make run` has it
    body = book(client)
    [eml] = (tmp_path / "outbox").glob("*.eml")
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    method, _cal, event = calendar_part(mail)
    assert method == "REQUEST" and str(event["uid"]) == f"{body['id']}@practice.example"


def test_an_emailed_invite_is_kept_as_its_event_and_made_when_it_is_delivered(client, counselor, smtp_server):
    from practice.calendar import invites
    from practice.notify.models import OutboxMessage

    body = book(client)
    [confirmed] = smtp_server.wait_for(1)
    [row] = db.session.query(OutboxMessage).all()
    [kept] = row.attachments
    assert "content_b64" not in kept and kept["calendar"]["method"] == "REQUEST"
    assert kept["calendar"]["events"][0]["uid"] == f"{body['id']}@practice.example"
    # What went out is what the booking's invite is, stamped when it was made.
    booking = db.session.get(Booking, uuid.UUID(body["id"]))
    [ics_file] = [p for p in confirmed.iter_attachments()]
    assert ics_file.get_content() == invites.invites(booking, now=NOW)["client"].content
