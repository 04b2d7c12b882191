"""PostgreSQL, Redis and the mail server stop for a while, during traffic, and come back.

- PostgreSQL (a private server: the shared one is never stopped): while it is down, the API and the pages answer
  503 with a plain message, never a 500 or a traceback; once it is back, they serve again, and nothing committed
  before the stop (bookings answered 201, their emails) is lost; every confirmation is delivered once.
- Redis (private): rate limits and the mail queue live there. While it is down, the web process keeps serving
  (bookings answer 201) and the mail those bookings queued is still delivered, once each, by the worker's sweep.
- Then the mail server: while it is down, messages wait in the outbox (pending, with the failure recorded, not
  failed); once it is back they arrive once each. (One test for both: one production setup to start.)
"""
from __future__ import annotations

import re
import shutil
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from tests.faults.stack import (COUNSELORS, PrivatePostgres, Stack, booking_body, first_start, running_stack,
                                temporary_directory, wait_until)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _slot(stack: Stack, k: int):
    return stack.counselors[k % COUNSELORS], first_start() + timedelta(minutes=30 * (k // COUNSELORS))


def _book(stack: Stack, k: int):
    counselor, at = _slot(stack, k)
    return stack.request("POST", "/api/v1/bookings", booking_body(counselor, at, k))


def _delivered_once(stack: Stack, *, timeout: float = 40) -> Counter:
    """Wait until every outbox message reached the mail server, then two more worker rounds; the copies."""
    expected = {message_id for (message_id,) in stack.query("SELECT message_id FROM outbox_message")}
    wait_until(lambda: {r.message["Message-ID"] for r in stack.smtp.received} >= expected, timeout=timeout,
               what=f"all {len(expected)} messages delivered")
    time.sleep(2)  # two more worker rounds (WORKER_INTERVAL_SECONDS=1): nothing more is sent
    copies = Counter(r.message["Message-ID"] for r in stack.smtp.received)
    assert set(copies) == expected
    assert set(copies.values()) == {1}, copies
    assert stack.query("SELECT DISTINCT state FROM outbox_message") == [("sent",)]
    return copies


# --- PostgreSQL -------------------------------------------------------------------------------------------------

@pytest.fixture
def private_postgres_stack():
    from tests.conftest import _migrate

    tmp = temporary_directory()
    postgres = PrivatePostgres(tmp / "postgres")
    try:
        postgres.init()
        _migrate(tmp, postgres.url)
        with running_stack(tmp, postgres.url) as stack:
            stack.postgres = postgres
            yield stack
    finally:
        postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_postgres_stopped_during_traffic_gives_503s_and_loses_nothing_committed(private_postgres_stack):
    stack = private_postgres_stack
    web = stack.start_web()
    worker = stack.start("worker")
    answers: list[tuple[int, int, object]] = []
    stop = threading.Event()

    def traffic(offset: int) -> None:
        k = offset
        while not stop.is_set():
            try:
                status, body = _book(stack, k)
            except OSError as exc:
                status, body = -1, repr(exc)
            answers.append((k, status, body))
            k += 2

    threads = [threading.Thread(target=traffic, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    wait_until(lambda: sum(status == 201 for _k, status, _b in answers) >= 6, timeout=60,
               what="bookings before the stop")
    slots = f"/api/v1/counselors/{stack.counselors[0]}/slots"
    assert stack.request("GET", slots)[0] == 200  # the read-only pool has a connection too, now
    stack.postgres.stop("immediate")  # mid-traffic, as a crash of the database server
    down = len(answers)
    wait_until(lambda: sum(status == 503 for _k, status, _b in answers[down:]) >= 4, timeout=30,
               what="bookings answered 503 while PostgreSQL is down")
    outage = [(status, body) for _k, status, body in answers[down:]]
    # Pages and other endpoints too, while it is down.
    assert stack.request("GET", "/healthz") == (503, {"status": "error", "database": "unreachable"})
    for path in ("/api/v1/counselors", "/counselors"):
        status, body = stack.request("GET", path)
        outage.append((status, body))
        assert status == 503, (path, status, body)
    page = stack.request("GET", "/counselors")[1]
    assert "Please try again in a minute" in page and "Traceback" not in page
    # The worker rides it out: its rounds go on, each job saying in a line that the database is unreachable.
    wait_until(lambda: "job 'deliver email': the database unreachable (OperationalError)" in worker.output(),
               timeout=20, what="a worker round during the outage")
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    # Every answer was a booking, a conflict or a 503 that says what happened; none was a 500.
    statuses = Counter(status for _k, status, _b in answers)
    assert set(statuses) <= {201, 409, 503}, statuses
    for status, body in outage:
        if status == 503 and isinstance(body, dict):
            assert body["error"] in ("unavailable", "busy"), body
    assert "Traceback" not in web.output()

    stack.postgres.start()
    # It serves again at once: the first requests after the restart already answer, on both connection pools.
    status, body = stack.request("GET", slots)
    assert status == 200, body
    status, body = _book(stack, 10_000)
    assert status == 201, body
    booked = {body["id"] for _k, status, body in answers if status == 201} | {body["id"]}
    in_db = {booking_id for (booking_id,) in stack.query("SELECT id::text FROM booking")}
    assert booked <= in_db  # nothing answered 201 was lost with the crash
    assert len(stack.query("SELECT 1 FROM outbox_message")) == len(in_db)
    _delivered_once(stack)
    assert "Traceback" not in web.output()
    assert not re.search(r"job '[^']+' failed", worker.output())  # no outage was logged as a defect
    print(f"answers {dict(statuses)}")


# --- Redis, then the mail server -----------------------------------------------------------------------------

def test_redis_then_the_mail_server_stopped_mail_waits_and_arrives_once(stack):
    web = stack.start_web()
    worker = stack.start("worker")
    # Redis stops while the worker is running an RQ job (the mail server holds its message meanwhile).
    stack.smtp.hold(1, keep=True)
    status, body = _book(stack, 0)
    assert status == 201, body
    wait_until(lambda: stack.smtp.holding, timeout=30, what="the worker sending the first message")
    stack.redis.stop()
    stack.smtp.release()
    for k in range(1, 5):  # rate limits can't be counted and the RQ jobs can't be queued: it still books
        status, body = _book(stack, k)
        assert status == 201, body
    assert stack.request("GET", "/api/v1/counselors")[0] == 200
    assert stack.request("GET", "/counselors")[0] == 200
    _delivered_once(stack)  # sent by the worker's sweep, Redis still down
    assert len(stack.smtp.received) == 5

    stack.redis.start()  # back (empty: it keeps nothing): the queue works again
    status, body = _book(stack, 5)
    assert status == 201, body
    _delivered_once(stack)
    assert len(stack.smtp.received) == 6
    assert "Traceback" not in web.output()
    # The worker went on with its other jobs (the sweep sent the mail above) and reported the outage in a line
    # a round, not a traceback a round. (RQ itself logs one traceback when Redis goes away under a running job.)
    assert "job 'run queued jobs': Redis unreachable (ConnectionError)" in worker.output()
    assert "job 'run queued jobs' failed" not in worker.output()

    stack.smtp.stop()
    for k in range(6, 10):
        status, body = _book(stack, k)
        assert status == 201, body
    # Each was tried (the RQ job right after the commit) and now waits for its next try, its failure recorded.
    waiting = "SELECT count(*) FROM outbox_message WHERE state = 'pending' AND attempts = 1"
    wait_until(lambda: stack.query(waiting)[0][0] == 4, timeout=30, what="a first attempt at each message")
    rows = stack.query("SELECT last_error IS NOT NULL, next_attempt_at > now() FROM outbox_message "
                       "WHERE state = 'pending'")
    assert set(rows) == {(True, True)}, rows

    stack.smtp.start()
    # The backoff after a first failure is a minute: the test moves the next tries to now instead of waiting.
    stack.query("UPDATE outbox_message SET next_attempt_at = now() WHERE state = 'pending' RETURNING id")
    _delivered_once(stack)
    assert len(stack.smtp.received) == 10
