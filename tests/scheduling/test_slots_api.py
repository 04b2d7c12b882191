"""GET /api/v1/counselors/{slug}/slots: the engine wired to the database, in the viewer's zone."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from practice import clock
from practice.booking.models import BookingStatus
from practice.database import app_engines
from practice.extensions import db
from practice.scheduling.models import DateOverride, ExternalBusy, CalendarFeed, TimeOff
from tests.factories import make_counselor
from tests.scheduling.helpers import add_booking, give_hours

# Monday 2026-12-07, 06:00 UTC: before a New York working day.
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", timezone="America/New_York")
    give_hours(c, {0: [("09:00", "12:00")], 1: [("13:00", "15:00")]})
    return c


def starts(response):
    return [slot["start"] for slot in response.get_json()["slots"]]


def test_slots_are_in_the_viewers_zone_with_offsets(client, counselor):
    response = client.get("/api/v1/counselors/ana/slots?service=individual-trial&from=2026-12-07&to=2026-12-07"
                          "&tz=America/Los_Angeles")
    assert response.status_code == 200
    body = response.get_json()
    assert body["timezone"] == "America/Los_Angeles"
    # 30-minute trial, 10-minute buffer applies only around bookings; 9:00-12:00 New York = 6:00-9:00 LA.
    assert starts(response) == ["2026-12-07T06:00:00-08:00", "2026-12-07T06:30:00-08:00",
                                "2026-12-07T07:00:00-08:00", "2026-12-07T07:30:00-08:00",
                                "2026-12-07T08:00:00-08:00", "2026-12-07T08:30:00-08:00"]
    assert body["slots"][0]["end"] == "2026-12-07T06:30:00-08:00"


def test_booking_and_its_buffer_block_slots(client, counselor):
    service = counselor.services[0]  # individual trial, 30 min, buffer 10
    add_booking(counselor, service, datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc))  # 10:00-10:30 NY
    response = client.get("/api/v1/counselors/ana/slots?service=individual-trial&from=2026-12-07&to=2026-12-07"
                          "&tz=America/New_York")
    # 9:30 would end at 10:00, but the buffer needs 10 minutes before the booking; 10:30 is inside its buffer.
    assert starts(response) == ["2026-12-07T09:00:00-05:00", "2026-12-07T11:00:00-05:00",
                                "2026-12-07T11:30:00-05:00"]


def test_expired_hold_does_not_block(client, counselor):
    service = counselor.services[0]
    add_booking(counselor, service, datetime(2026, 12, 7, 14, 0, tzinfo=timezone.utc), status=BookingStatus.held,
                hold_expires_at=NOW - timedelta(minutes=1))
    response = client.get("/api/v1/counselors/ana/slots?service=individual-trial&from=2026-12-07&to=2026-12-07"
                          "&tz=America/New_York")
    assert "2026-12-07T09:00:00-05:00" in starts(response)


def test_cancelled_booking_does_not_block(client, counselor):
    service = counselor.services[0]
    add_booking(counselor, service, datetime(2026, 12, 7, 14, 0, tzinfo=timezone.utc), status=BookingStatus.cancelled)
    response = client.get("/api/v1/counselors/ana/slots?service=individual-trial&from=2026-12-07&to=2026-12-07"
                          "&tz=America/New_York")
    assert "2026-12-07T09:00:00-05:00" in starts(response)


def test_external_busy_blocks_availability(client, counselor):
    feed = CalendarFeed(counselor_id=counselor.id, url="https://calendar.example/private.ics")
    db.session.add(feed)
    db.session.flush()
    db.session.add(ExternalBusy(feed_id=feed.id, counselor_id=counselor.id,
                                starts_at=datetime(2026, 12, 7, 14, 0, tzinfo=timezone.utc),
                                ends_at=datetime(2026, 12, 7, 16, 0, tzinfo=timezone.utc)))
    db.session.commit()
    response = client.get("/api/v1/counselors/ana/slots?service=individual-trial&from=2026-12-07&to=2026-12-07"
                          "&tz=America/New_York")
    assert starts(response) == ["2026-12-07T11:30:00-05:00"]  # 9-11 busy, 11:00 inside the busy buffer


def test_partial_day_time_off_blocks_only_that_range(client, counselor):
    db.session.add(TimeOff(counselor_id=counselor.id, starts_at=datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc),
                           ends_at=datetime(2026, 12, 7, 16, 0, tzinfo=timezone.utc)))
    db.session.commit()
    response = client.get("/api/v1/counselors/ana/slots?service=individual-trial&from=2026-12-07&to=2026-12-07"
                          "&tz=America/New_York")
    assert starts(response) == ["2026-12-07T09:00:00-05:00", "2026-12-07T09:30:00-05:00",
                                "2026-12-07T11:00:00-05:00", "2026-12-07T11:30:00-05:00"]


def test_date_override_replaces_weekly_hours(client, counselor):
    from datetime import date, time

    db.session.add(DateOverride(counselor_id=counselor.id, day=date(2026, 12, 7), start_time=time(16),
                                end_time=time(17)))
    db.session.add(DateOverride(counselor_id=counselor.id, day=date(2026, 12, 8)))  # day off
    db.session.commit()
    response = client.get("/api/v1/counselors/ana/slots?service=individual-trial&from=2026-12-07&to=2026-12-08"
                          "&tz=America/New_York")
    assert starts(response) == ["2026-12-07T16:00:00-05:00", "2026-12-07T16:30:00-05:00"]


def test_afternoon_hours_not_shifted_on_dst_change_date(client, app, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 1, tzinfo=timezone.utc))
    c = make_counselor(slug="dst", timezone="America/New_York")
    give_hours(c, {6: [("13:00", "14:00")]})  # Sundays; 2026-03-08 is the spring-forward Sunday
    response = client.get("/api/v1/counselors/dst/slots?service=individual-trial&from=2026-03-08&to=2026-03-15"
                          "&tz=America/New_York")
    assert starts(response) == ["2026-03-08T13:00:00-04:00", "2026-03-08T13:30:00-04:00",
                                "2026-03-15T13:00:00-04:00", "2026-03-15T13:30:00-04:00"]


def test_bad_parameters_are_422_with_field_errors(client, counselor):
    cases = {
        "tz=Mars/Olympus": "tz",
        "from=2026-13-01": "from",
        "from=2026-12-07&to=2026-12-01": "to",
        "from=2026-12-01&to=2027-06-01": "to",
        "service=nope": "service",
    }
    for query, field in cases.items():
        response = client.get(f"/api/v1/counselors/ana/slots?{query}")
        assert response.status_code == 422, query
        assert list(response.get_json()["errors"]) == [field]


@pytest.mark.parametrize("query, field", [
    ("tz=" + "A" * 300, "tz"),  # longer than a file name: ZoneInfo raised OSError
    ("from=9999-12-31", "from"),  # the default `to`, two weeks on, overflowed
    ("from=0001-01-01&to=0001-01-01&tz=Pacific/Kiritimati", "from"),  # a day before year 1 in UTC
])
def test_parameters_that_were_server_errors_are_422(client, counselor, query, field):
    # Found by schemathesis against /api/v1/openapi.json.
    response = client.get(f"/api/v1/counselors/ana/slots?{query}")
    assert response.status_code == 422, response.data
    assert list(response.get_json()["errors"]) == [field]


def test_dates_within_ten_years_are_answered(client, counselor):
    response = client.get("/api/v1/counselors/ana/slots?from=2036-11-01&to=2036-11-30")
    assert response.status_code == 200 and starts(response) == []
    refused = client.get("/api/v1/counselors/ana/slots?from=2036-12-31")
    assert refused.get_json() == {"errors": {"from": ["Ask for dates within ten years of today."]}}


def test_unknown_counselor_is_404(client, app):
    assert client.get("/api/v1/counselors/nobody/slots").status_code == 404
    assert client.get("/api/v1/counselors/nobody/slots?tz=UTC").status_code == 404


def _listening(app, name, listener, fn) -> None:
    """Run fn with `listener` on event `name` of every engine of the app (the slots API reads on its own)."""
    engines = app_engines(app)
    for engine in engines:
        event.listen(engine, name, listener)
    try:
        fn()
    finally:
        for engine in engines:
            event.remove(engine, name, listener)


def _count_queries(app, fn) -> int:
    count = 0

    def before(_conn, _cursor, statement, *_args):
        nonlocal count
        count += not statement.startswith("BEGIN")  # SQLite's explicit BEGIN is not a query

    _listening(app, "before_cursor_execute", before, fn)
    return count


def test_slots_are_read_without_a_transaction_on_postgresql(client, app, counselor):
    """On PostgreSQL the read-only slots request reads in autocommit on the read-only engine, never on the main
    pool (whose connections end every request with a ROLLBACK); it still sees what others committed."""
    reads = []  # for each statement: (on the main engine?, in a transaction?)
    add_booking(counselor, counselor.services[0], datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc))  # 10:00 NY
    url = "/api/v1/counselors/ana/slots?service=individual-trial&from=2026-12-07&to=2026-12-07&tz=America/New_York"

    def before(conn, _cursor, statement, *_args):
        dbapi = conn.connection.driver_connection
        in_transaction = (not dbapi.autocommit) if db.engine.dialect.name == "postgresql" else dbapi.in_transaction
        reads.append((conn.engine is db.engine, in_transaction))

    def request():
        response = client.get(url)
        assert response.status_code == 200
        assert "2026-12-07T09:00:00-05:00" in starts(response)
        assert "2026-12-07T10:00:00-05:00" not in starts(response)

    _listening(app, "before_cursor_execute", before, request)
    if db.engine.dialect.name == "postgresql":
        assert reads == [(False, False), (False, False)]
    else:
        assert reads and all(on_main and in_transaction for on_main, in_transaction in reads[1:])  # after BEGIN


def test_query_count_does_not_grow_with_bookings(client, app):
    few, many = make_counselor(slug="few"), make_counselor(slug="many")
    for c, n in ((few, 10), (many, 1000)):
        give_hours(c, {d: [("08:00", "20:00")] for d in range(7)})
        service = c.services[0]
        db.session.add_all(
            __import__("practice.booking.models", fromlist=["Booking"]).Booking(
                counselor_id=c.id, service_id=service.id, status=BookingStatus.confirmed,
                starts_at=NOW + timedelta(hours=i), ends_at=NOW + timedelta(hours=i, minutes=30),
                blocked_until=NOW + timedelta(hours=i, minutes=40))
            for i in range(n))
    db.session.commit()
    db.session.expire_all()
    url = "/api/v1/counselors/{}/slots?service=individual-trial&from=2026-12-07&to=2027-01-05&tz=UTC"
    queries_few = _count_queries(app, lambda: client.get(url.format("few")))
    queries_many = _count_queries(app, lambda: client.get(url.format("many")))
    assert queries_few == queries_many <= 3


def test_compiled_reads_give_the_same_rows_as_core(app, counselor):
    """The schedule reads (on PostgreSQL one array parameter for the counselors, `= ANY`) return what the
    portable statement (an expanding IN) returns, every kind of row included, times as the same instants."""
    from datetime import date, time

    from practice.scheduling import service

    other = make_counselor(slug="ben", timezone="America/Chicago")
    give_hours(other, {2: [("10:00", "11:00")]})
    feed = CalendarFeed(counselor_id=counselor.id, url="https://calendar.example/private.ics")
    db.session.add(feed)
    db.session.flush()
    db.session.add_all([
        ExternalBusy(feed_id=feed.id, counselor_id=counselor.id, starts_at=NOW + timedelta(hours=5),
                     ends_at=NOW + timedelta(hours=6)),
        TimeOff(counselor_id=counselor.id, starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=3)),
        DateOverride(counselor_id=counselor.id, day=date(2026, 12, 9), start_time=time(8), end_time=time(9)),
        DateOverride(counselor_id=other.id, day=date(2026, 12, 10)),
    ])
    db.session.commit()
    for c in (counselor, other):
        add_booking(c, c.services[0], NOW + timedelta(days=1, hours=9))
    held = add_booking(counselor, counselor.services[0], NOW + timedelta(days=1, hours=12),
                       status=BookingStatus.held, hold_expires_at=NOW + timedelta(minutes=5))
    add_booking(counselor, counselor.services[0], NOW + timedelta(days=1, hours=14), status=BookingStatus.held,
                hold_expires_at=NOW - timedelta(minutes=5))  # ran out: holds nothing
    add_booking(counselor, counselor.services[0], NOW + timedelta(days=1, hours=16),
                status=BookingStatus.cancelled)
    params = {"ids": [counselor.id, other.id], "now": NOW, "lo": NOW - timedelta(days=1),
              "hi": NOW + timedelta(days=10), "first_day": date(2026, 12, 6), "last_day": date(2026, 12, 17),
              "exclude_booking": service.NO_BOOKING}

    def normal(rows):
        return sorted((tuple(v.astimezone(timezone.utc) if isinstance(v, datetime) else v for v in row)
                       for row in rows), key=repr)

    # On PostgreSQL the array form against the portable one; on SQLite both are the same, and the counts below
    # still hold.
    own, portable = service.schedule_statement(db.engine.dialect.name), service.schedule_statement("sqlite")
    compiled = normal(db.session.execute(own, params))
    assert compiled == normal(db.session.execute(portable, params))
    assert {row[1] for row in compiled} == {"b", "e", "t", "w", "o"} and len(compiled) == 10
    moving = {**params, "exclude_booking": held.id}  # a booking being moved does not count
    assert normal(db.session.execute(own, moving)) == normal(db.session.execute(portable, moving))
    assert len(normal(db.session.execute(own, moving))) == 9
    # One counselor's schedule (its own statement) is that counselor's rows of the same.
    of_one = {**params, "id": counselor.id}
    assert (normal(db.session.execute(service.schedule_statement(db.engine.dialect.name, one=True), of_one))
            == [row for row in compiled if row[0] == counselor.id])
