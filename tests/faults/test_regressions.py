"""Regression tests, in-process and fast, for the defects the fault tests found:

- a database that can't be reached made every request a 500 with a traceback in the log (now 503, one line);
- Redis unreachable made every rate-limited request (booking, sign-in) a 500 (now limits are counted in the
  process's memory until Redis is back, and still apply).
"""
from __future__ import annotations

import logging

import pytest

from practice import create_app
from practice.database import dispose_engines
from tests.faults.stack import add_counselors, booking_body, first_start
from tests.peers import free_port


@pytest.fixture(params=["sqlite", "postgres"])
def unreachable_database(request, tmp_path):
    """A database URL nothing answers on: a SQLite file in a folder that doesn't exist, or a closed port."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}"
    return f"postgresql://postgres@127.0.0.1:{free_port()}/practice"


def test_an_unreachable_database_answers_503_and_logs_one_line(tmp_path, unreachable_database, caplog):
    from tests.conftest import _base_config

    app = create_app(_base_config(tmp_path, unreachable_database))
    client = app.test_client()
    caplog.set_level(logging.ERROR)

    response = client.post("/api/v1/bookings", json=booking_body("fault-0", first_start(), 1))
    assert response.status_code == 503
    assert response.get_json() == {"error": "unavailable",
                                   "message": "We can't reach our records just now. Please try again in a minute."}
    assert response.headers["Retry-After"] == "30"
    assert client.get("/api/v1/counselors").status_code == 503
    page = client.get("/counselors")
    assert page.status_code == 503
    assert "Please try again in a minute" in page.get_data(as_text=True)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in errors] == [
        "database unavailable on POST /api/v1/bookings (OperationalError)",
        "database unavailable on GET /api/v1/counselors (OperationalError)",
        "database unavailable on GET /counselors (OperationalError)"]
    assert not any(record.exc_info for record in errors)  # no traceback
    dispose_engines(app)


def test_a_database_error_that_is_not_an_outage_is_still_a_500(app, client, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from practice.api import openapi

    def broken(*_args, **_kwargs):
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(openapi, "document", broken)
    response = client.get("/api/v1/openapi.json")
    assert (response.status_code, response.get_json()) == (500, {"error": "internal_error"})


@pytest.fixture
def redis_down_config(app_config):
    return {**app_config, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "RATELIMIT_ENABLED": True,
            "BOOKING_RATE_LIMIT": "3 per minute", "MAIL_DELIVERY": "none"}


def test_with_redis_unreachable_bookings_are_still_taken_and_still_rate_limited(redis_down_config):
    app = create_app(redis_down_config)
    with app.app_context():
        counselors = add_counselors()
    client = app.test_client()
    statuses = [client.post("/api/v1/bookings", json=booking_body(counselors[k], first_start(), k)).status_code
                for k in range(4)]
    assert statuses == [201, 201, 201, 429]  # counted in this process's memory meanwhile
    dispose_engines(app)


def test_the_worker_logs_an_outage_as_one_line_a_round_not_a_traceback(app, caplog):
    from practice.worker import run_round

    app.config.update(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", MAIL_DELIVERY="queue")  # nothing listens
    caplog.set_level(logging.ERROR, logger="practice.worker")
    done = run_round()
    assert done["run queued jobs"] == -1 and done["deliver email"] == 0  # the other jobs still ran
    [record] = [r for r in caplog.records if r.name == "practice.worker"]
    assert record.getMessage() == "job 'run queued jobs': Redis unreachable (ConnectionError); next round tries again"
    assert record.exc_info is None


def test_redis_lost_mid_burst_ends_the_burst_instead_of_stalling_the_round(app, tmp_path, monkeypatch):
    """RQ's own worker waits for a lost Redis as long as it takes (retrying 1, 2, 4 ... 60 s apart); inside a
    round that held up the mail sweep and every other job for the whole outage."""
    import threading

    import redis as redis_client
    from rq import Queue

    from practice.jobs import run_queued_jobs
    from practice.worker import run_round
    from tests.faults.stack import PrivateRedis

    server = PrivateRedis(tmp_path)
    server.start()
    try:
        app.config.update(REDIS_URL=server.url)

        def lost(*_args, **_kwargs):  # Redis goes away between two jobs of a burst
            raise redis_client.ConnectionError("Connection closed by server.")

        monkeypatch.setattr(Queue, "dequeue_any", lost)
        outcome = {}

        def burst():
            with app.app_context():
                outcome["ran"] = run_queued_jobs(now=None)

        thread = threading.Thread(target=burst, daemon=True)
        thread.start()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the burst is still waiting for Redis"
        assert outcome == {"ran": 0}
        monkeypatch.undo()
        assert run_round()["run queued jobs"] == 0  # and the next round uses Redis as before
    finally:
        server.stop()


@pytest.mark.postgres
def test_after_a_database_restart_only_one_request_finds_a_dead_connection(postgres_template, tmp_path):
    """Both of a process's connection pools hold connections that a restart of PostgreSQL closes. The first
    request to use one answers 503 (the database really was gone) and SQLAlchemy drops that pool's connections;
    the other pool's are dropped with them, so the next request, whichever pool it uses, is served."""
    import psycopg

    from tests.conftest import _base_config, _pg
    from tests.faults.stack import drop_database, make_database

    url = make_database(postgres_template)
    try:
        app = create_app({**_base_config(tmp_path, url), "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1}})
        with app.app_context():
            counselors = add_counselors()
        client = app.test_client()
        slots = f"/api/v1/counselors/{counselors[0]}/slots"
        assert client.get(slots).status_code == 200  # a connection in the read-only pool
        assert client.post("/api/v1/bookings", json=booking_body(counselors[0], first_start(), 1)).status_code == 201
        # What a restart does to the app's connections, without stopping the server every test shares.
        _pg(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{url.rsplit('/', 1)[1]}'")

        failed = client.post("/api/v1/bookings", json=booking_body(counselors[1], first_start(), 2))
        assert failed.status_code == 503
        assert client.get(slots).status_code == 200  # the read-only pool's dead connection was dropped too
        assert client.post("/api/v1/bookings", json=booking_body(counselors[1], first_start(), 2)).status_code == 201
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM booking").fetchone() == (2,)
        dispose_engines(app)
    finally:
        drop_database(url)


def test_only_a_lost_database_counts_as_unreachable():
    """A deadlock or a constraint is the server answering (it has an SQLSTATE): still a defect to look into."""
    import psycopg
    from sqlalchemy.exc import IntegrityError, OperationalError

    from practice.database import unreachable

    assert unreachable(OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")))
    assert not unreachable(OperationalError("UPDATE ...", {}, psycopg.errors.DeadlockDetected("deadlock")))
    assert not unreachable(IntegrityError("INSERT ...", {}, psycopg.errors.UniqueViolation("duplicate key")))
    assert not unreachable(ValueError("not a database error"))
