"""The database guarantee: many processes released together never leave two live bookings on one counselor's time.

Real processes (fork), each with its own app and connections, wait at a barrier and then post at once. Run on
SQLite (BEGIN IMMEDIATE) and PostgreSQL (exclusion constraint).
"""
from __future__ import annotations

import multiprocessing
import os
import time
from datetime import datetime, timezone

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from practice import clock
from practice.booking.models import LIVE_STATUSES, Booking
from practice.database import dispose_engines
from practice.extensions import db
from tests.factories import make_counselor
from tests.scheduling.helpers import give_hours

pytestmark = pytest.mark.slow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
WORKERS = 8


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def app_config(app_config):
    app_config["MAIL_DELIVERY"] = "none"  # the outbox rows are written; nothing is sent in this test
    return app_config


def _client_payload(n: int, start: str, service: str) -> dict:
    body = {"counselor": "race", "service": service, "start": start, "timezone": "America/New_York",
            "client": {"name": f"Client {n}", "email": f"client{n}@example.org", "state": "NY"}}
    if service == "couple-trial":
        body["partner"] = {"name": f"Partner {n}", "email": f"partner{n}@example.org"}
    return body


def _race_worker(config, barrier, results, n, method, url, payload):
    """In a child process: a fresh app and connection, then wait for the others and fire."""
    from practice import clock as child_clock
    from practice import create_app

    child_clock.now = lambda: NOW
    app = create_app(config)
    client = app.test_client()
    client.get("/healthz")  # open the database connection before the starting gun
    barrier.wait(timeout=60)
    response = client.open(url, method=method, json=payload)
    results.put((n, response.status_code, response.get_json()))


def _race(app_config, requests: list[tuple[str, str, dict]]) -> list[tuple[int, int, dict]]:
    db.session.remove()
    dispose_engines(current_app)  # no connection crosses the fork
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(requests)), ctx.Queue()
    processes = [ctx.Process(target=_race_worker, args=(app_config, barrier, results, n, method, url, payload))
                 for n, (method, url, payload) in enumerate(requests)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return outcomes


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="race", timezone="America/New_York", licenses=("NY",))
    for service in c.services:
        service.price = 0  # free: confirmed at once, so the winner holds a live booking with no payment step
    db.session.commit()
    give_hours(c, {0: [("09:00", "17:00")]}, notice_minutes=0)  # Mondays
    return c


def _live_count() -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(Booking).where(Booking.status.in_(LIVE_STATUSES)))


def test_same_slot_exactly_one_wins_and_losers_get_409(app, app_config, counselor):
    start = "2026-12-07T10:00:00-05:00"
    outcomes = _race(app_config, [("POST", "/api/v1/bookings", _client_payload(n, start, "individual-trial"))
                                  for n in range(WORKERS)])
    statuses = sorted(status for _, status, _ in outcomes)
    assert statuses == [201] + [409] * (WORKERS - 1), outcomes
    assert all(body == {"error": "slot_unavailable"} for _, status, body in outcomes if status == 409)
    assert _live_count() == 1


def _burn(stop) -> None:  # a process that keeps one core busy until told to stop
    while not stop.is_set():
        sum(range(10_000))


@pytest.fixture
def both_cores_busy():
    """Another process per core, busy the whole time: a loaded 2-core machine, as a practice's server may be."""
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    burners = [ctx.Process(target=_burn, args=(stop,), daemon=True) for _ in range(max(2, os.cpu_count() or 2))]
    for burner in burners:
        burner.start()
    yield
    stop.set()
    for burner in burners:
        burner.join(timeout=10)


def test_under_cpu_load_every_loser_waits_and_gets_409(app, app_config, counselor, both_cores_busy):
    """24 clients for one slot while both cores are busy: writers of one calendar take turns (the calendar lock),
    so nobody is told the practice is busy (503) for having lost a race."""
    start = "2026-12-07T10:00:00-05:00"
    before = _statistics() if db.engine.dialect.name == "postgresql" else None
    outcomes = _race(app_config, [("POST", "/api/v1/bookings", _client_payload(n, start, "individual-trial"))
                                  for n in range(24)])
    statuses = sorted(status for _, status, _ in outcomes)
    assert statuses == [201] + [409] * 23, outcomes
    assert _live_count() == 1
    if db.engine.dialect.name == "postgresql":
        # The losers waited for the winner and were refused by the check: none of them wrote a row for the
        # constraint to throw back (without the lock, 22 to 24 rows are inserted here, and it is the
        # constraint's aborted inserts that deadlock).
        inserted, deadlocks = _statistics()
        assert inserted - before[0] == 1
        assert deadlocks - before[1] == 0


def _statistics() -> tuple[int, int]:
    """Booking rows ever inserted (committed or rolled back: PostgreSQL's statistics count both) and deadlocks
    in this database, once the racers' connections have gone (a backend reports its statistics as it exits)."""
    others = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND pid <> pg_backend_pid()")
    for _ in range(100):
        db.session.remove()
        if db.session.scalar(others) == 0:
            break
        time.sleep(0.05)
    time.sleep(0.2)  # the last one's exit may still be writing its counts
    db.session.remove()
    inserted = db.session.scalar(text("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'booking'"))
    deadlocks = db.session.scalar(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))
    return inserted, deadlocks


def test_overlapping_slots_of_different_lengths_collide(app, app_config, counselor):
    # 10:00 couples (50 min + 10 buffer) and 10:30 individual (30 min) overlap; 11:00 individual is only inside
    # the couple session's buffer. Whoever commits first wins; the rest must lose cleanly.
    requests = []
    for n in range(WORKERS):
        start, service = [("2026-12-07T10:00:00-05:00", "couple-trial"),
                          ("2026-12-07T10:30:00-05:00", "individual-trial")][n % 2]
        requests.append(("POST", "/api/v1/bookings", _client_payload(n, start, service)))
    outcomes = _race(app_config, requests)
    statuses = [status for _, status, _ in outcomes]
    assert statuses.count(201) == 1, outcomes
    assert statuses.count(409) == WORKERS - 1, outcomes
    assert _live_count() == 1


def test_reschedule_into_a_taken_slot_races_cleanly(app, app_config, counselor, client):
    # Six clients each hold their own booking, an hour apart (buffers respected); all try to move into the
    # same free time, 16:00, at once.
    tokens = []
    for n in range(6):
        response = client.post("/api/v1/bookings",
                               json=_client_payload(n, f"2026-12-07T{9 + n:02d}:00:00-05:00", "individual-trial"))
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        tokens.append((body["id"], body["manage_url"].split("token=")[1]))
    target = "2026-12-07T16:00:00-05:00"
    outcomes = _race(app_config, [("POST", f"/api/v1/bookings/{bid}/reschedule", {"token": tok, "start": target})
                                  for bid, tok in tokens])
    statuses = sorted(status for _, status, _ in outcomes)
    assert statuses == [200] + [409] * (len(tokens) - 1), outcomes
    db.session.remove()
    at_target = db.session.scalar(select(func.count()).select_from(Booking).where(
        Booking.starts_at == datetime(2026, 12, 7, 21, 0, tzinfo=timezone.utc), Booking.status.in_(LIVE_STATUSES)))
    assert at_target == 1
    assert _live_count() == len(tokens)  # the losers kept their own bookings
