"""Benchmark: the slot engine and the slots endpoint at practice scale, on SQLite and PostgreSQL.

    .venv/bin/python bench/slots.py            # both engines (PostgreSQL at TEST_POSTGRES_URL or localhost)
    .venv/bin/python bench/slots.py --sqlite-only

A practice of 200 counselors with a 90-day horizon, 20,000 live bookings and 5,000 imported busy events.
Prints p50/p95 of: the engine for one counselor's next 30 days; the endpoint for the same (in-process WSGI
client, so the figure is the app's own cost, not the network's; each request in its own app context and
session, as in production); the bare SQL that fetches that counselor's bookings and busy rows (a connection of
the app's pool, in a transaction, as SQLAlchemy gives it) and the endpoint/SQL ratio, their samples taken in
turn; on PostgreSQL also the same SQL in autocommit on a pool of its own, as the endpoint reads; queries per
request for 10 vs 1,000 bookings; the 90-day/30-day endpoint ratio; "next available" across all 200
counselors; and, on PostgreSQL, the 30-day endpoint beside 20,000 and then 1,000,000 past (completed or
cancelled) bookings, and the ratio of the two p50s: history must not slow the slots. Figures: bench/README.md.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, event, insert, select, text  # noqa: E402

from practice import clock, create_app  # noqa: E402
from practice.database import app_engines, dispose_engines  # noqa: E402
from practice.booking.models import Booking, BookingStatus  # noqa: E402
from practice.counselors.models import Counselor, CounselorTag, License, Service  # noqa: E402
from practice.extensions import db  # noqa: E402
from practice.scheduling import service as scheduling  # noqa: E402
from practice.scheduling.models import (  # noqa: E402
    CalendarFeed, ExternalBusy, SchedulingPolicy, WeeklyHours,
)

COUNSELORS, BOOKINGS, BUSY, HORIZON_DAYS = 200, 20_000, 5_000, 90
NOW = datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc)
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
RUNS = 200


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, runs=RUNS) -> list[float]:
    for _ in range(10):
        fn()  # warm caches and connections
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def timed_together(*fns, runs=RUNS) -> list[list[float]]:
    """Like timed() for several functions, taking their samples in turn so that background load on the machine
    weighs on each alike (the endpoint/SQL ratio compares them)."""
    for _ in range(10):
        for fn in fns:
            fn()
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, samples in zip(fns, out):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
    return out


def fmt(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples):6.2f} ms   p95 {pct(samples, 0.95):6.2f} ms"


def populate(rng: random.Random) -> None:
    """Bulk rows: hours Mon-Fri with a lunch break, bookings and busy events spread over the horizon."""
    counselors = [{"id": i, "slug": f"c{i}", "name": f"Counselor {i}", "pronouns": "", "credentials": "LMFT",
                   "headline": "", "bio": "", "timezone": ZONES[i % len(ZONES)], "photo": None,
                   "accepts_individual": True, "accepts_couples": True, "active": True,
                   "created_at": NOW, "updated_at": NOW} for i in range(1, COUNSELORS + 1)]
    db.session.execute(insert(Counselor), counselors)
    db.session.execute(insert(License), [{"counselor_id": i, "state": "NY", "number": str(i), "kind": "LMFT"}
                                         for i in range(1, COUNSELORS + 1)])
    db.session.execute(insert(CounselorTag), [{"counselor_id": i, "kind": "specialty", "code": "trust_issues"}
                                              for i in range(1, COUNSELORS + 1)])
    db.session.execute(insert(Service), [
        {"id": i, "counselor_id": i, "slug": "individual-trial", "name": "Trial", "description": "",
         "format": "individual", "duration_minutes": 50, "price": 0, "currency": "USD", "is_trial": True,
         "buffer_minutes": 10, "active": True} for i in range(1, COUNSELORS + 1)])
    hours = []
    for i in range(1, COUNSELORS + 1):
        for weekday in range(5):
            hours.append({"counselor_id": i, "weekday": weekday, "start_time": datetime.min.time().replace(hour=9),
                          "end_time": datetime.min.time().replace(hour=12)})
            hours.append({"counselor_id": i, "weekday": weekday, "start_time": datetime.min.time().replace(hour=13),
                          "end_time": datetime.min.time().replace(hour=18)})
    db.session.execute(insert(WeeklyHours), hours)
    db.session.execute(insert(SchedulingPolicy), [
        {"counselor_id": i, "notice_minutes": 60, "horizon_days": HORIZON_DAYS, "slot_step_minutes": 15,
         "max_sessions_per_day": None} for i in range(1, COUNSELORS + 1)])
    db.session.commit()
    # Feeds hold encrypted URLs, so they go through the ORM.
    db.session.add_all(CalendarFeed(id=i, counselor_id=i, url=f"https://cal.example/{i}.ics")
                       for i in range(1, COUNSELORS + 1))
    db.session.commit()

    rows = []
    for n in range(BOOKINGS):  # one per hour-slot, so none overlap: 100 per counselor over the horizon
        counselor = n % COUNSELORS + 1
        k = n // COUNSELORS
        start = NOW + timedelta(days=k * HORIZON_DAYS / 100, hours=rng.choice([14, 15, 16, 18, 19, 20]))
        start = start.replace(minute=0, second=0, microsecond=0)
        rows.append({"id": uuid.UUID(int=rng.getrandbits(128)), "counselor_id": counselor, "service_id": counselor,
                     "starts_at": start, "ends_at": start + timedelta(minutes=50),
                     "blocked_until": start + timedelta(minutes=60), "status": BookingStatus.confirmed,
                     "hold_expires_at": None, "client_timezone": "UTC", "ics_sequence": 0,
                     "created_at": NOW, "updated_at": NOW})
    db.session.execute(insert(Booking), rows)
    busy = []
    for n in range(BUSY):
        counselor = n % COUNSELORS + 1
        start = NOW + timedelta(days=rng.uniform(0, HORIZON_DAYS))
        busy.append({"feed_id": counselor, "counselor_id": counselor, "starts_at": start,
                     "ends_at": start + timedelta(minutes=rng.choice([30, 60, 90]))})
    db.session.execute(insert(ExternalBusy), busy)
    db.session.commit()


# Past bookings (completed, or cancelled one in five) of the 200 counselors, every three hours back from NOW,
# made by the database itself from generate_series: set-based, so a million rows take seconds. (psycopg
# placeholders: a literal % is written %%.)
HISTORY_SQL = """
    INSERT INTO booking (id, counselor_id, service_id, starts_at, ends_at, blocked_until, status, client_timezone,
                         ics_sequence, reschedule_count, created_at, updated_at)
    SELECT gen_random_uuid(), c, c, s, s + interval '50 minutes', s + interval '60 minutes',
           CASE WHEN g %% 5 = 0 THEN 'cancelled' ELSE 'completed' END, 'UTC', 0, 0, s, s
    FROM (SELECT g, g %% %(counselors)s + 1 AS c, %(now)s - (g / %(counselors)s + 1) * interval '3 hours' AS s
          FROM generate_series(%(first)s::integer, %(last)s::integer) AS g) AS history
"""


def add_history(url: str, first: int, last: int) -> float:
    """Past bookings number first..last (from 0), then ANALYZE, as autovacuum would soon after such a load.
    Returns the seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(HISTORY_SQL, {"counselors": COUNSELORS, "now": NOW, "first": first, "last": last})
        conn.execute("ANALYZE booking")
    return time.perf_counter() - started

def count_queries(app, fn) -> int:
    count = 0

    def before(*_):
        nonlocal count
        count += 1

    engines = app_engines(app)  # the slots endpoint reads on the app's read-only engine (PostgreSQL)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)
    return count


def add_query_count_counselors() -> None:
    """Two more counselors, open all week: one with 10 bookings and one with 1,000."""
    for extra_cid, n in ((COUNSELORS + 1, 10), (COUNSELORS + 2, 1000)):
        db.session.add(Counselor(id=extra_cid, slug=f"q{n}", name="Q", timezone="UTC", credentials=""))
        db.session.flush()
        db.session.add(Service(id=extra_cid, counselor_id=extra_cid, slug="individual-trial", name="T",
                               format="individual", duration_minutes=50, is_trial=True, buffer_minutes=10))
        db.session.add_all(WeeklyHours(counselor_id=extra_cid, weekday=d, start_time=datetime.min.time(),
                                       end_time=datetime.max.time().replace(microsecond=0)) for d in range(7))
        db.session.execute(insert(Booking), [
            {"id": uuid.uuid4(), "counselor_id": extra_cid, "service_id": extra_cid,
             "starts_at": NOW + timedelta(hours=2 * i), "ends_at": NOW + timedelta(hours=2 * i, minutes=50),
             "blocked_until": NOW + timedelta(hours=2 * i, minutes=60), "status": BookingStatus.confirmed,
             "hold_expires_at": None, "client_timezone": "UTC", "ics_sequence": 0, "created_at": NOW,
             "updated_at": NOW} for i in range(n)])
    db.session.commit()


def run(label: str, url: str, tmp: Path) -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(tmp / label),
                      "RATELIMIT_ENABLED": False, "ENCRYPTION_KEYS": ["bHqgnV2hF6oB2qjv2oZq6qCwY5h5tq2b0CvsrS1Xv1Q="]})
    clock.now = lambda: NOW  # the benchmark's world stands still
    slug, cid = "c17", 17
    with app.app_context():
        upgrade()
        populate(random.Random(7))
        add_query_count_counselors()
        engine = db.engine

        window = scheduling.engine.Interval(NOW, NOW + timedelta(days=30))
        counselor = db.session.get(Counselor, cid)
        svc = counselor.services[0]
        schedule = scheduling.load_schedules([counselor], window=window, now=NOW,
                                             policies={cid: db.session.get(SchedulingPolicy, cid)})[cid]
        engine_ms = timed(lambda: schedule.free_slots(svc, window=window, now=NOW))
        starts_ms = timed(lambda: schedule.free_slot_starts(svc, window=window, now=NOW))
        db.session.remove()

    # Requests run outside any app context of ours, as in production: each pushes its own, so its session (a
    # pooled connection and a transaction) begins and ends with the request, like the bare query's below.
    client = app.test_client()
    tz = ZONES[cid % len(ZONES)]
    thirty = f"/api/v1/counselors/{slug}/slots?service=individual-trial&from=2026-12-07&to=2027-01-05&tz={tz}"
    ninety = f"/api/v1/counselors/{slug}/slots?service=individual-trial&from=2026-12-07&to=2027-03-06&tz={tz}"
    assert client.get(thirty).status_code == 200
    n_slots = len(client.get(thirty).get_json()["slots"])

    bare = text("SELECT starts_at, blocked_until FROM booking WHERE counselor_id = :c "
                "AND status IN ('held', 'pending_payment', 'confirmed') AND blocked_until > :lo AND starts_at < :hi "
                "UNION ALL SELECT starts_at, ends_at FROM external_busy WHERE counselor_id = :c "
                "AND ends_at > :lo AND starts_at < :hi")
    params = {"c": cid, "lo": NOW - timedelta(days=1), "hi": NOW + timedelta(days=31)}
    if engine.dialect.name == "sqlite":
        params = {k: (v.replace(tzinfo=None) if isinstance(v, datetime) else v) for k, v in params.items()}

    def bare_query():
        with engine.connect() as conn:
            conn.execute(bare, params).all()

    # The same query the way the endpoint reads on PostgreSQL: autocommit, on a pool of its own, so its
    # statement stays prepared. Printed beside the target's figure, so the ratio can be read against both.
    lean = create_engine(engine.url, isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else None

    def bare_query_autocommit():
        with lean.connect() as conn:
            conn.execute(bare, params).all()

    endpoint_30, endpoint_90, sql_ms, *lean_ms = timed_together(
        lambda: client.get(thirty), lambda: client.get(ninety), bare_query,
        *([bare_query_autocommit] if lean is not None else []))
    if lean is not None:
        lean.dispose()

    # Queries per request: the counselor with 10 bookings and the one with 1,000 (on SQLite this counts the BEGIN
    # the app sends itself; on PostgreSQL the endpoint sends none).
    q10 = count_queries(app, lambda: client.get("/api/v1/counselors/q10/slots?from=2026-12-07&to=2027-03-06&tz=UTC"))
    q1000 = count_queries(app,
                          lambda: client.get("/api/v1/counselors/q1000/slots?from=2026-12-07&to=2027-03-06&tz=UTC"))

    def first_available():
        with app.app_context():  # a request's worth of work: its own session
            matching = db.session.scalars(
                select(Counselor).where(Counselor.active, Counselor.id.in_(
                    select(CounselorTag.counselor_id).where(CounselorTag.kind == "specialty",
                                                            CounselorTag.code == "trust_issues")))
            ).all()
            found = scheduling.next_available(matching, format="individual", now=NOW)
            assert len(found) == COUNSELORS

    next_ms = timed(first_available, runs=50)

    # History: the same 30-day request beside 20,000 past bookings, then beside 1,000,000 (PostgreSQL).
    history = None
    if engine.dialect.name == "postgresql":
        load_small = add_history(url, 0, 19_999)
        small = timed(lambda: client.get(thirty))
        load_large = add_history(url, 20_000, 999_999)
        large = timed(lambda: client.get(thirty))
        history = small, large, load_small, load_large
    dispose_engines(app)  # no connection left open on the database main() drops next

    e30, e90 = statistics.median(endpoint_30), statistics.median(endpoint_90)
    print(f"\n== {label}: {COUNSELORS} counselors, {BOOKINGS:,} bookings, {BUSY:,} busy events, "
          f"{HORIZON_DAYS}-day horizon")
    print(f"engine, one counselor, next 30 days ({n_slots} slots)   {fmt(engine_ms)}   (target p95 < 5 ms)")
    print(f"  the same, starts only (what the endpoint uses)   {fmt(starts_ms)}")
    print(f"endpoint /slots, 30 days                          {fmt(endpoint_30)}   (target p95 < 5 ms)")
    print(f"endpoint /slots, 90 days                          {fmt(endpoint_90)}")
    print(f"bare SQL (bookings + busy rows of that counselor) {fmt(sql_ms)}")
    print(f"ratio endpoint p50 / bare SQL p50                 {e30 / statistics.median(sql_ms):6.2f}   (target <= 3)")
    if lean_ms:
        print(f"  bare SQL, autocommit on a pool of its own       {fmt(lean_ms[0])}")
        print(f"  ratio endpoint p50 / that p50                   {e30 / statistics.median(lean_ms[0]):6.2f}")
    print(f"ratio 90-day / 30-day endpoint p50                {e90 / e30:6.2f}   (target <= 3.5)")
    print(f"SQL queries per slots request: 10 bookings -> {q10}, 1,000 bookings -> {q1000}   (target: equal, <= 3)")
    print(f"next available across {COUNSELORS} counselors            {fmt(next_ms)}   (target p95 < 100 ms)")
    if history:
        small, large, load_small, load_large = history
        print(f"endpoint /slots, 30 days, 20,000 past bookings    {fmt(small)}   (loaded in {load_small:.1f} s)")
        print(f"endpoint /slots, 30 days, 1,000,000 past bookings {fmt(large)}   (loaded in {load_large:.1f} s)")
        print(f"ratio p50 with 1,000,000 / with 20,000 past        "
              f"{statistics.median(large) / statistics.median(small):6.2f}   (target <= 1.2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run("SQLite", f"sqlite:///{tmp}/bench.sqlite3", tmp)
        if not args.sqlite_only:
            admin = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
            name = f"practice_bench_{os.getpid()}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                run("PostgreSQL", admin.rsplit("/", 1)[0] + "/" + name, tmp)
            finally:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
