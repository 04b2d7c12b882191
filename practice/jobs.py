"""Work that runs soon after a commit, outside the request: how it starts (MAIL_DELIVERY's modes), the RQ queue
on Redis, and the after-commit hook that starts it.

A kind of row to handle after its transaction commits (an outbox message to deliver, a "resend my link"
request) is an `AfterCommit(what, task)`, where `task` names a function of practice.tasks by its dotted path,
`task(row_id)`. Once the session's transaction commits, its rows start by MAIL_DELIVERY (see `delivery_mode`):
    queue   an RQ job on REDIS_URL per row, carrying only the id, run by `flask worker` (the default with Redis)
    thread  a daemon thread in the committing process (the default otherwise: `make run` needs nothing else)
    inline  before commit() returns, in the committing thread (tests: deterministic)
    none    nothing; the next `flask worker` round does it (tests that only look at the rows)
The database stays the source of truth: each worker round also sweeps what is due, so a lost thread or job only
delays its work. Tasks are named, not imported, so that the domains that write rows need not know the tasks,
which use them (practice.tasks is where they meet).
"""
from __future__ import annotations

import logging
import threading
from importlib import import_module
from typing import Callable

from flask import Flask, current_app
from redis import Redis
from rq import Queue, SimpleWorker
from rq.worker import WorkerStatus
from sqlalchemy import event
from sqlalchemy.orm import Session

from config import ConfigError

log = logging.getLogger(__name__)

DELIVERY_MODES = ("queue", "thread", "inline", "none")
QUEUE_NAME = "practice"
MAX_JOBS_PER_ROUND = 500  # then the round's other jobs get their turn


def delivery_mode(config) -> str:
    """MAIL_DELIVERY, or by default "queue" with REDIS_URL and "thread" without."""
    mode = (config.get("MAIL_DELIVERY") or "").strip().lower()
    if not mode:
        return "queue" if config.get("REDIS_URL") else "thread"
    if mode not in DELIVERY_MODES:
        raise ConfigError(f"MAIL_DELIVERY: expected one of {', '.join(DELIVERY_MODES)}, got {mode!r}")
    if mode == "queue" and not config.get("REDIS_URL"):
        raise ConfigError("MAIL_DELIVERY: 'queue' needs REDIS_URL")
    return mode


def _task(path: str) -> Callable[[int], object]:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def start_soon(app: Flask, what: str, task: str, ids: list[int]) -> None:
    """Run the task `task(id)` soon for each of these committed rows, by MAIL_DELIVERY's mode. Whatever this
    does not do, the worker's next round does."""
    mode = delivery_mode(app.config)
    if mode == "none":
        return
    if mode == "inline":
        _run(app, what, task, ids)
    elif mode == "thread":
        threading.Thread(target=_run, args=(app, what, task, ids), name=f"{what} handling", daemon=True).start()
    else:
        try:
            queue = job_queue(app)
            for row_id in ids:
                queue.enqueue(task, row_id, description=f"{what} {row_id}", result_ttl=0,
                              failure_ttl=7 * 24 * 3600)
        except Exception as exc:  # noqa: BLE001 - Redis down: the worker's round does them instead
            log.warning("could not enqueue %s %s (%s); the worker's round will see to them", what, ids,
                        type(exc).__name__)


def _run(app: Flask, what: str, task: str, ids: list[int]) -> None:
    with app.app_context():
        for row_id in ids:
            try:
                _task(task)(row_id)
            except Exception as exc:  # noqa: BLE001 - the worker's round retries; a thread must not die noisily
                log.error("%s %s: handling stopped (%s); the worker's round will retry", what, row_id,
                          type(exc).__name__)


class AfterCommit:
    """Rows of one kind written in a session's transaction, to be handled by `task` soon after it commits
    (start_soon), and forgotten if it rolls back."""

    kinds: list[AfterCommit] = []

    def __init__(self, what: str, task: str):
        self.what, self.task, self.key = what, task, f"practice.after_commit.{what}"
        AfterCommit.kinds.append(self)

    def add(self, session, row_id: int) -> None:
        """Handle this row once the session's open transaction commits."""
        session.info.setdefault(self.key, set()).add(row_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a savepoint was released; the transaction goes on
        return
    for kind in AfterCommit.kinds:
        ids = sorted(session.info.pop(kind.key, ()))
        if not ids:
            continue
        try:
            start_soon(current_app._get_current_object(), kind.what, kind.task, ids)
        except Exception as exc:  # noqa: BLE001 - the commit is done; never undo the caller's success over this
            reason = str(exc) if isinstance(exc, ConfigError) else type(exc).__name__  # a setting's error is safe
            log.error("could not start handling %s %s (%s); the worker's sweep will send them", kind.what, ids,
                      reason)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction ended; rolled back, its rows never existed
        for kind in AfterCommit.kinds:
            session.info.pop(kind.key, None)


# --- the RQ queue on Redis --------------------------------------------------------------------------------

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

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """RQ's public step (rq pinned: re-read it on an upgrade), for a burst, without its wait for a lost Redis: RQ retries for as long as Redis is gone (up to a
        minute apart), which would hold up the rest of the round (the mail sweep, expired holds, refunds) for
        the whole outage. Here the burst ends at once and the next round tries Redis again."""
        self.set_state(WorkerStatus.IDLE)
        self.heartbeat()
        # One queue: the order RQ keeps for several queues (a private list) does not matter here.
        result = self.queue_class.dequeue_any(self.queues, timeout, connection=self.connection,
                                              job_class=self.job_class, serializer=self.serializer,
                                              death_penalty_class=self.death_penalty_class)
        if result is not None:
            job, queue = result
            self.reorder_queues(reference_queue=queue)
            job.redis_server_version = self.get_redis_server_version()
        self.heartbeat()
        return result


def run_queued_jobs(*, now) -> int:
    """Worker job: run what is waiting on the RQ queue, if there is one. Returns how many jobs ran."""
    if not current_app.config.get("REDIS_URL"):
        return 0
    connection = redis_connection(current_app._get_current_object())
    worker = RoundWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
    worker.work(burst=True, logging_level="WARNING", max_jobs=MAX_JOBS_PER_ROUND)
    return worker.jobs_run
