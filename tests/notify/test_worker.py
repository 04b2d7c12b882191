"""`flask worker` delivers: its sweep, its RQ queue on Redis, and two workers at once sending each message once."""
from __future__ import annotations

import signal
import threading
from collections import Counter
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue

from practice import clock
from practice.extensions import db
from practice.notify.delivery import deliver_due
from practice.notify.models import OutboxMessage, OutboxState
from practice.jobs import QUEUE_NAME, run_queued_jobs
from tests.notify.conftest import queue_link

REDIS = "redis://127.0.0.1:6379"


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config}


@pytest.fixture
def redis_url():
    """A Redis database of this test's own (claimed with a marker key among 1..15), flushed before and after."""
    for number in range(1, 16):
        client = Redis.from_url(f"{REDIS}/{number}")
        if client.set("practice-test-claimed", "1", nx=True, ex=600):
            client.flushdb()
            client.set("practice-test-claimed", "1", ex=600)
            try:
                yield f"{REDIS}/{number}"
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    pytest.fail("no free Redis database among 1..15 for this test")


@pytest.fixture
def keep_signal_handlers():
    """`flask worker` installs SIGINT/SIGTERM handlers for its loop; give pytest its own back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def states() -> Counter:
    db.session.rollback()
    return Counter(db.session.scalars(db.select(OutboxMessage.state)))


def test_worker_once_delivers_due_email(app, runner, smtp_server, keep_signal_handlers):
    queue_link()
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "deliver email: 1" in result.output
    assert len(smtp_server.received) == 1 and states() == {OutboxState.sent: 1}


def test_with_redis_a_commit_enqueues_a_job_that_the_rq_worker_runs(app, smtp_server, redis_url):
    app.config.update(REDIS_URL=redis_url, MAIL_DELIVERY="")  # default with Redis: the queue
    message = queue_link()
    db.session.commit()
    queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
    assert queue.count == 1 and smtp_server.received == []  # waiting on Redis, not sent by the web process
    assert queue.jobs[0].args == (message.id,) or list(queue.jobs[0].args) == [message.id]  # the id only

    assert run_queued_jobs(now=clock.now()) == 1  # RQ's worker, in burst mode, in this process
    assert queue.count == 0
    assert [mail["Message-ID"] for mail in smtp_server.messages] == [message.message_id]
    assert states() == {OutboxState.sent: 1}
    assert deliver_due(now=clock.now() + timedelta(hours=1)) == 0  # the sweep finds nothing left


def test_worker_round_runs_the_queue(app, runner, smtp_server, redis_url, keep_signal_handlers):
    app.config.update(REDIS_URL=redis_url, MAIL_DELIVERY="queue")
    queue_link()
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "run queued jobs: 1" in result.output and "deliver email" not in result.output
    assert len(smtp_server.received) == 1


def test_with_redis_down_the_commit_stands_and_the_sweep_sends(app, smtp_server, caplog):
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0", MAIL_DELIVERY="queue")  # nothing listens on port 1
    queue_link()
    db.session.commit()
    assert "could not enqueue" in caplog.text
    assert deliver_due(now=clock.now()) == 1
    assert len(smtp_server.received) == 1


def test_two_workers_at_once_send_each_message_exactly_once(app, smtp_server):
    for n in range(30):
        queue_link(to=f"client{n}@example.com")
    db.session.commit()
    now = clock.now()
    start = threading.Barrier(2)
    sent_by_worker: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            with app.app_context():
                start.wait()
                sent_by_worker.append(deliver_due(now=now))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(sent_by_worker) == 30
    ids = Counter(mail["Message-ID"] for mail in smtp_server.messages)
    assert len(ids) == 30 and set(ids.values()) == {1}
    assert states() == {OutboxState.sent: 30}


def test_a_resend_request_goes_to_redis_as_its_id_only_and_the_worker_sends_the_links(app, client, smtp_server,
                                                                                        redis_url):
    """'Resend my link' with Redis: the request's row id is the job (no address in Redis); the worker's RQ
    round looks the bookings up, and the request's row is gone afterwards."""
    from practice.booking.models import LinkRequest

    app.config.update(REDIS_URL=redis_url, MAIL_DELIVERY="queue", WTF_CSRF_ENABLED=False)
    assert client.post("/bookings/resend", data={"email": "Nobody@Example.org"}).status_code == 200
    connection = Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    request_id = db.session.scalar(db.select(LinkRequest.id))
    assert queue.count == 1 and list(queue.jobs[0].args) == [request_id]
    assert run_queued_jobs(now=clock.now()) == 1
    db.session.rollback()
    assert db.session.scalar(db.select(LinkRequest.id)) is None  # handled: nothing about the address is kept
    assert smtp_server.received == []  # an address without bookings gets nothing
