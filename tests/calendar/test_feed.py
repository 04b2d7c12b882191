"""The counselor's private feed: what a calendar app subscribed to it sees, and who can see it."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.extensions import db
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.scheduling.helpers import give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MON_10 = "2026-12-07T10:00:00-05:00"
MON_14 = "2026-12-07T14:00:00-05:00"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def app_config(app_config, request):
    if "rate_limits_on" in request.fixturenames:
        return {**app_config, "RATELIMIT_ENABLED": True, "BOOKING_RATE_LIMIT": "3 per minute"}
    return app_config


@pytest.fixture
def rate_limits_on():
    """Asked for by a test that needs the app built with rate limits (see app_config)."""


def free_counselor(slug: str, zone: str = "America/New_York"):
    counselor = make_counselor(slug=slug, name=f"{slug.title()} Counselor", timezone=zone)
    for service in counselor.services:
        service.price = 0  # free sessions are confirmed at once, with no payment in the way
    give_hours(counselor, {0: [("09:00", "17:00")]}, notice_minutes=60)
    return counselor


def book(http, counselor: str, start: str, *, couple=False, name="Robin Quinn Client", email="robin@example.org"):
    body = {"counselor": counselor, "service": "couple-trial" if couple else "individual-trial", "start": start,
            "timezone": "America/New_York", "client": {"name": name, "email": email, "state": "NY"}}
    if couple:
        body["partner"] = {"name": "Sam Partner", "email": "sam.partner@example.org"}
    response = http.post("/api/v1/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def feed_path(runner, slug: str, *extra: str) -> str:
    result = runner.invoke(args=["feed-url", slug, *extra])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert re.fullmatch(r"http://practice\.test/calendar/[A-Za-z0-9_-]{32}\.ics", url), url
    return url.removeprefix("http://practice.test")


@pytest.fixture
def ana(app):
    return free_counselor("ana")


def test_feed_shows_own_sessions_by_initials_in_the_counselors_zone(client, runner, ana):
    ben = free_counselor("ben", zone="America/Chicago")
    book(client, "ana", MON_10)
    book(client, "ana", MON_14, couple=True)
    book(client, "ben", "2026-12-07T12:00:00-05:00", name="Other Person", email="other@example.org")

    response = client.get(feed_path(runner, "ana"))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    calendar = Calendar.from_ical(response.data)
    assert "Sessions at" in str(calendar["X-WR-CALNAME"])
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert [str(e["summary"]) for e in events] == ["Session: R. C.", "Session: R. C. & S. P."]
    first = events[0]
    assert first["dtstart"].params["TZID"] == "America/New_York"
    assert first.decoded("dtstart").hour == 10 and first.decoded("dtend").minute == 30
    assert first.decoded("dtstart") == datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)
    assert "ATTENDEE" not in first and "ORGANIZER" not in first
    text = response.get_data(as_text=True).lower()
    for secret in ("robin", "quinn", "sam partner", "example.org", "other", "trial", "couple", "trust"):
        assert secret not in text, secret
    assert ben.slug not in text


def test_same_address_until_rotated_and_rotation_kills_the_old_one(client, runner, ana):
    book(client, "ana", MON_10)
    first = feed_path(runner, "ana")
    assert feed_path(runner, "ana") == first  # printing it again makes no new one

    rotated = feed_path(runner, "ana", "--rotate")

    assert rotated != first
    assert client.get(first).status_code == 404
    assert client.get(rotated).status_code == 200


def test_unknown_or_malformed_token_is_404(client, ana):
    assert client.get("/calendar/" + "A" * 32 + ".ics").status_code == 404
    assert client.get("/calendar/short.ics").status_code == 404
    assert client.get("/calendar/%00%ff.ics").status_code == 404


def test_cli_refuses_an_unknown_counselor(runner, app):
    result = runner.invoke(args=["feed-url", "nobody"])
    assert result.exit_code == 2
    assert "nobody" in result.output


def test_counselor_makes_and_rotates_the_address_from_their_calendar_page(client, auth, runner, ana):
    user = make_user(role="counselor", counselor=ana)
    assert auth.login(user.email).status_code == 302
    page = client.get("/staff/counselors/ana/calendar")
    assert "Subscribe in your calendar app" in page.get_data(as_text=True)
    assert "/calendar/" not in re.sub(r'action="[^"]*"', "", page.get_data(as_text=True)).replace(
        "/staff/counselors/ana/calendar", "")  # no address until one is asked for

    made = client.post("/staff/counselors/ana/calendar/subscription")
    assert made.status_code == 303
    first = feed_path(runner, "ana")
    assert f"http://practice.test{first}" in client.get("/staff/counselors/ana/calendar").get_data(as_text=True)

    client.post("/staff/counselors/ana/calendar/subscription")

    assert client.get(first).status_code == 404
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("calendar_feed.%"))).all()
    assert sorted(actions) == ["calendar_feed.created", "calendar_feed.rotated"]
    assert all(first.split("/")[-1].removesuffix(".ics") not in str(e.detail)
               for e in db.session.scalars(select(AuditEvent)))


def test_front_desk_and_other_counselors_cannot_see_or_rotate_it(client, auth, runner, ana):
    url = feed_path(runner, "ana")
    desk = make_user(role="frontdesk")
    assert auth.login(desk.email).status_code == 302
    page = client.get("/staff/counselors/ana/calendar")
    assert page.status_code == 200 and url not in page.get_data(as_text=True)
    assert client.post("/staff/counselors/ana/calendar/subscription").status_code == 403
    auth.logout()
    other = make_user(role="counselor", counselor=free_counselor("cleo"))
    assert auth.login(other.email).status_code == 302
    assert client.post("/staff/counselors/ana/calendar/subscription").status_code == 403
    assert client.get(url).status_code == 200  # still the same address


def test_guessing_addresses_is_rate_limited(rate_limits_on, client, ana):
    answers = [client.get(f"/calendar/{'A' * 31}{n}.ics").status_code for n in range(4)]
    assert answers == [404, 404, 404, 429]
