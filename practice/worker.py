"""`flask --app app worker`: runs the background jobs in rounds until stopped.

Each job is a function of `now` that does whatever is due and returns how much it did. State lives in the
database, so any number of workers can run, and a worker that dies loses nothing.
"""
from __future__ import annotations

import logging
import signal
import time
from typing import Callable

import click
import redis
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import DBAPIError

from practice import clock
from practice.database import unreachable
from practice.extensions import db

log = logging.getLogger(__name__)


def jobs() -> dict[str, Callable]:
    from practice.booking.service import process_link_requests, release_expired_holds
    from practice.calendar.caldav_sync import push_due_events
    from practice.jobs import run_queued_jobs
    from practice.notify.delivery import deliver_due
    from practice.notify.reminders import queue_due_reminders
    from practice.payments.refunds import send_due_refunds
    from practice.scheduling.feeds import refresh_due_feeds

    return {
        "release expired holds": release_expired_holds,
        "refresh calendar feeds": refresh_due_feeds,
        "run queued jobs": run_queued_jobs,  # the RQ queue on REDIS_URL, in burst mode; 0 without Redis
        "send requested links": process_link_requests,  # "resend my link" requests nothing else handled yet
        "send reminders": queue_due_reminders,  # before delivery, so a round queues and sends them
        "deliver email": deliver_due,  # the sweep: whatever the queue or a thread did not send
        "send refunds": send_due_refunds,  # refunds still pending: never sent, or waiting to be tried again
        "push to calendars": push_due_events,  # sessions to counselors' CalDAV calendars, retried after failures
    }


def run_round(now=None) -> dict[str, int]:
    """One round of every job; a job that fails is logged and the others still run."""
    done = {}
    for name, job in jobs().items():
        try:
            done[name] = job(now=now or clock.now())
        except Exception as exc:  # noqa: BLE001 - one broken job must not stop the others
            try:
                db.session.rollback()
            except DBAPIError:  # the connection is gone already; remove() below discards the session
                pass
            peer = _unreachable(exc)
            if peer:  # an outage, not a defect: one line per job, not a traceback every round while it lasts
                log.error("job %r: %s unreachable (%s); next round tries again", name, peer, type(exc).__name__)
            else:
                log.exception("job %r failed", name)
            done[name] = -1
    db.session.remove()
    return done


def _unreachable(exc: Exception) -> str | None:
    """Which peer a job's failure says is down ("the database", "Redis"), or None for any other failure."""
    if unreachable(exc):
        return "the database"
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return "Redis"
    return None


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one round of due jobs and exit (for cron or tests).")
@with_appcontext
def worker_command(once: bool) -> None:
    """Run background jobs: calendar feed refresh, and more as the practice grows."""
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    interval = current_app.config["WORKER_INTERVAL_SECONDS"]
    click.echo(f"worker: running {', '.join(jobs())} every {interval}s" if not once else "worker: one round")
    while True:
        done = run_round()
        if any(done.values()):
            click.echo("worker: " + ", ".join(f"{name}: {count}" for name, count in done.items() if count))
        if once or stopping:
            return
        for _ in range(interval * 10):
            if stopping:
                return
            time.sleep(0.1)
