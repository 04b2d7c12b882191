"""The job queue on Redis (RQ), used when REDIS_URL is set: delivery starts seconds after a commit.

The web process enqueues `deliver_job(message_id)` (and `link_request_job(request_id)` for "resend my link") on
the "practice" queue; a job carries only the id (nothing a message says, nor an address, goes to Redis).
`flask worker` runs the queue itself: each round starts RQ's in-process worker in burst mode
(`run_queued_jobs`), so production needs no separate `rq worker` (though one works too: `rq worker --url
$REDIS_URL practice` with the app importable). The database stays the source of truth: a job lost with Redis
only delays its work until the worker's next round.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue, SimpleWorker

from practice import clock

QUEUE_NAME = "practice"
MAX_JOBS_PER_ROUND = 500  # then the round's other jobs get their turn


def redis_connection(app: Flask) -> Redis:
    """One client per app and URL (redis-py pools connections and is safe across threads and forks)."""
    url = app.config["REDIS_URL"]
    clients = app.extensions.setdefault("practice.redis", {})
    if url not in clients:
        # Short timeouts: a request that enqueues must not hang on a Redis that is down.
        clients[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return clients[url]


def job_queue(app: Flask) -> Queue:
    return Queue(QUEUE_NAME, connection=redis_connection(app))


def enqueue_delivery(app: Flask, message_ids: list[int]) -> None:
    _enqueue(app, deliver_job, "deliver outbox message", message_ids)


def enqueue_link_requests(app: Flask, request_ids: list[int]) -> None:
    _enqueue(app, link_request_job, "send the links of request", request_ids)


def _enqueue(app: Flask, job, description: str, ids: list[int]) -> None:
    queue = job_queue(app)
    for row_id in ids:
        queue.enqueue(job, row_id, description=f"{description} {row_id}", result_ttl=0, failure_ttl=7 * 24 * 3600)


def deliver_job(message_id: int) -> bool:
    """The RQ job: deliver one message (a no-op when someone already did)."""
    from practice.notify.delivery import deliver_message

    return _in_app(deliver_message, message_id)


def link_request_job(request_id: int) -> bool:
    """The RQ job: send the links one "resend my link" request asked for (a no-op when someone already did)."""
    from practice.booking.service import process_link_request

    return _in_app(process_link_request, request_id)


def _in_app(handle, row_id: int):
    if has_app_context():  # inside `flask worker`
        return handle(row_id, now=clock.now())
    with _standalone_app().app_context():  # a plain `rq worker`
        return handle(row_id, now=clock.now())


_app: Flask | None = None


def _standalone_app() -> Flask:
    global _app
    if _app is None:
        from practice import create_app

        _app = create_app()
    return _app


class RoundWorker(SimpleWorker):
    """RQ's worker, run in burst mode inside a `flask worker` round.

    Jobs run in this process (no fork: the app and its connection pools are already here). `flask worker`
    keeps its own SIGINT/SIGTERM handling (it stops after the round), and there is no command channel: the
    burst ends on its own when the queue is empty.
    """

    jobs_run = 0

    def execute_job(self, job, queue):
        self.jobs_run += 1
        super().execute_job(job, queue)

    def _install_signal_handlers(self):
        pass

    def subscribe(self):
        pass


def run_queued_jobs(*, now: datetime) -> int:
    """Worker job: run what is waiting on the RQ queue, if there is one. Returns how many jobs ran."""
    if not current_app.config.get("REDIS_URL"):
        return 0
    connection = redis_connection(current_app._get_current_object())
    worker = RoundWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
    worker.work(burst=True, logging_level="WARNING", max_jobs=MAX_JOBS_PER_ROUND)
    return worker.jobs_run
