"""Counselors' own calendar feeds, served by a real local HTTP server, block the right slots."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.scheduling import service
from practice.scheduling.feeds import refresh_due_feeds, refresh_feed, request_refresh
from practice.scheduling.fetch import FetchError, FetchPolicy, fetch_feed
from practice.scheduling.ics_import import busy_intervals
from practice.scheduling.models import CalendarFeed, ExternalBusy
from tests.factories import make_counselor
from tests.scheduling.helpers import give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)

# A weekly Monday 10:00-11:00 New York meeting with: one date excluded (EXDATE 12-14), one instance moved
# (12-21 to 15:00-16:00), one instance cancelled (12-28); an all-day busy event on Tue 12-08; a free
# (transparent) event on Mon 12-07 09:00; and a cancelled one-off on Mon 12-07 11:00.
FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//Feed//EN\r
BEGIN:VTIMEZONE\r
TZID:America/New_York\r
BEGIN:STANDARD\r
DTSTART:20071104T020000\r
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r
TZOFFSETFROM:-0400\r
TZOFFSETTO:-0500\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:20070311T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r
TZOFFSETFROM:-0500\r
TZOFFSETTO:-0400\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:weekly@test\r
DTSTAMP:20261101T000000Z\r
SUMMARY:Supervision with a private name\r
DTSTART;TZID=America/New_York:20261207T100000\r
DTEND;TZID=America/New_York:20261207T110000\r
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6\r
EXDATE;TZID=America/New_York:20261214T100000\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly@test\r
DTSTAMP:20261101T000000Z\r
RECURRENCE-ID;TZID=America/New_York:20261221T100000\r
DTSTART;TZID=America/New_York:20261221T150000\r
DTEND;TZID=America/New_York:20261221T160000\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly@test\r
DTSTAMP:20261101T000000Z\r
RECURRENCE-ID;TZID=America/New_York:20261228T100000\r
DTSTART;TZID=America/New_York:20261228T100000\r
DTEND;TZID=America/New_York:20261228T110000\r
STATUS:CANCELLED\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:allday@test\r
DTSTAMP:20261101T000000Z\r
DTSTART;VALUE=DATE:20261208\r
DTEND;VALUE=DATE:20261209\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:free@test\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261207T140000Z\r
DTEND:20261207T150000Z\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cancelled@test\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261207T160000Z\r
DTEND:20261207T170000Z\r
STATUS:CANCELLED\r
END:VEVENT\r
END:VCALENDAR\r
"""


class FeedServer:
    """A tiny calendar host: serves `body` at /cal.ics, or fails on demand, and counts requests."""

    def __init__(self):
        self.body, self.status, self.requests = FEED, 200, 0
        self.content_length = None  # what the Content-Length header says; None: the body's true length
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/cal.ics")
                    self.end_headers()
                    return
                self.send_response(outer.status)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", outer.content_length or str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cal.ics"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        yield server


@pytest.fixture
def app_config(app_config):
    app_config["FEED_ALLOWED_NETWORKS"] = ["127.0.0.1/32"]
    return app_config


def ny(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo("America/New_York")).astimezone(timezone.utc)


def test_recurring_events_exceptions_all_day_and_free_events():
    busy = busy_intervals(FEED, window_start=NOW, window_end=NOW + timedelta(days=60), zone="America/New_York")
    assert busy == [
        (ny(7, 10), ny(7, 11)),                # first weekly instance; free and cancelled one-offs ignored
        (ny(8, 0), ny(9, 0)),                  # all-day: the counselor's whole local day
        (ny(21, 15), ny(21, 16)),              # moved instance; 12-14 excluded, 12-28 cancelled
        (ny(4, 10, month=1).replace(year=2027), ny(4, 11, month=1).replace(year=2027)),
        (ny(11, 10, month=1).replace(year=2027), ny(11, 11, month=1).replace(year=2027)),
    ]


def test_imported_feed_blocks_slots(app, feed_server):
    counselor = make_counselor(slug="ana", timezone="America/New_York")
    give_hours(counselor, {0: [("09:00", "12:00")], 1: [("09:00", "12:00")]})
    feed = CalendarFeed(counselor_id=counselor.id, url=feed_server.url)
    db.session.add(feed)
    db.session.commit()

    assert refresh_due_feeds(now=NOW) == 1
    assert feed.last_error is None and feed.last_success_at == NOW
    result = service.slots_for("ana", "individual-trial", start_day=date(2026, 12, 7), end_day=date(2026, 12, 8),
                               zone="America/New_York", now=NOW)
    local = [s.start.astimezone(ny(7, 0).tzinfo).isoformat() for s in result.slots]
    # Monday: 10:00-11:00 busy plus the 10-minute buffer; Tuesday: all-day event, nothing.
    assert [s.start for s in result.slots] == [ny(7, 9), ny(7, 11, 30)], local
    # Only times are kept: no titles anywhere in the stored rows.
    assert db.session.scalar(select(ExternalBusy).limit(1)).starts_at is not None


def test_failed_fetch_keeps_the_last_good_copy_and_says_why(app, feed_server):
    counselor = make_counselor(timezone="America/New_York")
    feed = CalendarFeed(counselor_id=counselor.id, url=feed_server.url)
    db.session.add(feed)
    db.session.commit()
    assert refresh_feed(feed, now=NOW)
    kept = db.session.query(ExternalBusy).count()
    assert kept > 0

    feed_server.status = 500
    assert not refresh_feed(feed, now=NOW + timedelta(hours=1))
    assert "500" in feed.last_error
    assert feed.last_success_at == NOW
    assert db.session.query(ExternalBusy).count() == kept

    feed_server.status, feed_server.body = 200, b"<html>not a calendar</html>"
    assert not refresh_feed(feed, now=NOW + timedelta(hours=2))
    assert "calendar" in feed.last_error
    assert db.session.query(ExternalBusy).count() == kept


def test_refresh_now_is_picked_up_on_the_next_round(app, feed_server):
    counselor = make_counselor(timezone="America/New_York")
    feed = CalendarFeed(counselor_id=counselor.id, url=feed_server.url)
    db.session.add(feed)
    db.session.commit()
    assert refresh_due_feeds(now=NOW) == 1
    assert refresh_due_feeds(now=NOW + timedelta(minutes=1)) == 0  # fresh: nothing due
    request_refresh(feed, now=NOW + timedelta(minutes=2))
    assert refresh_due_feeds(now=NOW + timedelta(minutes=2)) == 1
    assert feed.refresh_requested_at is None


def test_worker_round_refreshes_feeds(app, feed_server, runner):
    counselor = make_counselor(timezone="America/New_York")
    db.session.add(CalendarFeed(counselor_id=counselor.id, url=feed_server.url))
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert feed_server.requests == 1


def test_internal_addresses_are_refused_unless_allowed(feed_server):
    strict = FetchPolicy()
    for url in (feed_server.url, "http://localhost/x.ics", "http://10.0.0.1/x.ics", "http://169.254.169.254/latest",
                "http://[::1]/x.ics"):
        with pytest.raises(FetchError, match="private network"):
            fetch_feed(url, policy=strict)
    assert fetch_feed(feed_server.url, policy=FetchPolicy(allowed_networks=("127.0.0.1/32",))).status == 200


def test_redirect_is_checked_again(feed_server):
    allowed = FetchPolicy(allowed_networks=("127.0.0.1/32",))
    result = fetch_feed(feed_server.url.replace("/cal.ics", "/redirect"), policy=allowed)
    assert result.body == FEED


def test_oversized_feed_is_refused(feed_server):
    feed_server.body = b"X" * 20_000
    with pytest.raises(FetchError, match="larger than"):
        fetch_feed(feed_server.url, policy=FetchPolicy(max_bytes=10_000, allowed_networks=("127.0.0.1/32",)))


def test_a_content_length_that_is_no_number_is_not_believed(feed_server):
    """"²" is a digit to str.isdigit and not a number to int(): the body is read, and its size decides."""
    allowed = FetchPolicy(max_bytes=10_000, allowed_networks=("127.0.0.1/32",))
    feed_server.content_length = "\u00b2"
    assert fetch_feed(feed_server.url, policy=allowed).body == FEED
    feed_server.body = b"X" * 20_000
    with pytest.raises(FetchError, match="larger than"):
        fetch_feed(feed_server.url, policy=allowed)


@pytest.mark.parametrize("url", ["ftp://example.org/cal.ics", "file:///etc/passwd", "not a url", "javascript:x"])
def test_only_web_addresses_are_accepted(url):
    with pytest.raises(FetchError, match="https://"):
        fetch_feed(url, policy=FetchPolicy())
