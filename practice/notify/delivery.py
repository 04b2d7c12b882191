"""Delivering the outbox: claim a due message with a lease, send it, record what happened.

Never twice: a message is sent only by the deliverer whose claim moved it from due to `sending`, and that claim
is one atomic statement (a conditional UPDATE; on PostgreSQL the candidate row is also locked with FOR UPDATE
SKIP LOCKED, so concurrent workers pass each other by instead of queueing). No database transaction is open
while the mail server is talked to.

One window remains, as in any outbox: a deliverer that dies after the server accepted a message and before it
recorded `sent` leaves the claim to lapse (LEASE), and the message is sent again. That copy carries the same
Message-ID and Date, so mail systems and clients can tell it is the same message.

Retries: a temporary failure (network, 4xx) tries again after 1, 2, 4, 8 ... minutes (at most an hour between
tries) until MAIL_MAX_ATTEMPTS attempts were made; a permanent refusal (5xx to the recipient or the message)
fails at once. Failed messages stay in the table with last_error for staff to look at.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from practice.extensions import db
from practice.jobs import AfterCommit
from practice.notify import transport
from practice.notify.models import OutboxMessage, OutboxState

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # far longer than one send (transport.SMTP_TIMEOUT_SECONDS per operation)
MAX_BACKOFF = timedelta(hours=1)
MAX_PER_ROUND = 200  # a worker round also has other jobs to do; the rest go next round
RETRYABLE = (OutboxState.failed, OutboxState.pending)  # never one being sent: that could send it twice

_RETRIES = AfterCommit("outbox retry", "practice.tasks.deliver_message")  # the worker's sweep is their net


class RetryRefused(Exception):
    """This message can't be sent again now (it is being sent, or was sent)."""


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 1, 2, 4, 8 ... minutes, at most an hour."""
    return min(timedelta(minutes=2 ** min(attempts - 1, 10)), MAX_BACKOFF)


def deliver_due(*, now: datetime) -> int:
    """Worker job: send every message that is due (new, retry time reached, or lease lapsed). Returns how many."""
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    _give_up_on_lapsed(now, max_attempts)
    sent = 0
    for _ in range(MAX_PER_ROUND):
        message = _claim(now)
        if message is None:
            break
        sent += _attempt(message, now=now, max_attempts=max_attempts)
    return sent


def deliver_message(message_id: int, *, now: datetime) -> bool:
    """Send this message now if it is still waiting for its first attempt, or is due. True when it was sent.

    Used right after the commit that queued it (thread, RQ job, inline); anyone else delivering it first
    simply makes this a no-op.
    """
    message = _claim(now, message_id=message_id)
    if message is None:
        return False
    return bool(_attempt(message, now=now, max_attempts=current_app.config["MAIL_MAX_ATTEMPTS"]))


def retry(message_id: int, *, now: datetime) -> OutboxMessage:
    """Staff: send a failed (or still waiting) message again now, in db.session's transaction (the caller audits
    and commits). Its attempts are kept, so the outbox shows how often it was tried; a message that had used
    them all up gets one more attempt. Delivery starts after the commit, or in the worker's next round.
    """
    retried = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.state.in_(RETRYABLE))
        .values(state=OutboxState.pending, next_attempt_at=now, claimed_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if retried != 1:  # one statement, so a deliverer claiming it meanwhile can't be overtaken
        raise RetryRefused("This message is being sent or has been sent, so it can't be sent again.")
    _RETRIES.add(db.session, message_id)
    log.info("outbox: message %s set to be sent again", message_id)
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


# --- claiming ------------------------------------------------------------------------------------------------

def _due(now: datetime):
    return or_(
        and_(OutboxMessage.state == OutboxState.pending, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.state == OutboxState.sending, OutboxMessage.claimed_until < now),
    )


@contextmanager
def _transaction():
    """A short transaction of its own, apart from the caller's db.session (which may be mid-commit).

    On SQLite it starts with the write lock (BEGIN IMMEDIATE), so a claim never has to upgrade a read.
    """
    with db.session.session_factory(expire_on_commit=False) as session, session.begin():
        session.connection(execution_options={"sqlite_immediate": True})
        yield session


def _claim(now: datetime, *, message_id: int | None = None) -> OutboxMessage | None:
    """Move one due message (or this one) to `sending` with a lease; None when there is nothing to claim."""
    if message_id is None:
        condition = _due(now)
    else:  # right after queueing: no waiting on next_attempt_at, whatever this machine's clock says
        first_try = and_(OutboxMessage.state == OutboxState.pending, OutboxMessage.attempts == 0)
        condition = and_(OutboxMessage.id == message_id, or_(first_try, _due(now)))
    with _transaction() as session:
        candidates = select(OutboxMessage.id).where(condition).order_by(OutboxMessage.next_attempt_at,
                                                                        OutboxMessage.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        candidate = session.scalar(candidates)
        if candidate is None:
            return None
        claimed = session.execute(
            update(OutboxMessage).where(OutboxMessage.id == candidate, condition)
            .values(state=OutboxState.sending, claimed_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:  # another deliverer got there first
            return None
        return session.get(OutboxMessage, candidate)


def _give_up_on_lapsed(now: datetime, max_attempts: int) -> None:
    """A message whose deliverer died mid-send as often as it may be tried is failed, not tried forever."""
    with _transaction() as session:
        given_up = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.sending, OutboxMessage.claimed_until < now,
                   OutboxMessage.attempts >= max_attempts)
            .values(state=OutboxState.failed, claimed_until=None,
                    last_error="gave up: the deliverer stopped during the last attempt")
            .returning(OutboxMessage.id, OutboxMessage.kind)
            .execution_options(synchronize_session=False)
        ).all()
    for message_id, kind in given_up:
        log.error("outbox: message %s (%s) failed: its deliverer stopped mid-send %s times", message_id, kind,
                  max_attempts)


# --- one attempt ---------------------------------------------------------------------------------------------

def _attempt(message: OutboxMessage, *, now: datetime, max_attempts: int) -> int:
    """Send a claimed message and record the outcome. Returns 1 when sent, else 0."""
    try:
        where = transport.send(message, current_app.config)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded; the message is not lost
        _record_failure(message, transport.describe_failure(exc), now=now, max_attempts=max_attempts)
        return 0
    _finish(message.id, state=OutboxState.sent, sent_at=now, last_error=None)
    if current_app.config.get("SMTP_HOST"):
        log.info("outbox: message %s (%s) sent to %s, attempt %s", message.id, message.kind, where,
                 message.attempts)
    else:  # a warning: shown by default (`make run`), and in production it means no mail leaves the machine
        log.warning("outbox: SMTP_HOST is not set; message %s (%s) written to %s", message.id, message.kind, where)
    return 1


def _record_failure(message: OutboxMessage, failure: transport.Failure, *, now: datetime,
                    max_attempts: int) -> None:
    if failure.permanent or message.attempts >= max_attempts:
        _finish(message.id, state=OutboxState.failed, last_error=failure.detail[:500])
        reason = "refused for good" if failure.permanent else f"gave up after {message.attempts} attempts"
        log.error("outbox: message %s (%s) failed, %s (%s)", message.id, message.kind, reason, failure.label)
        return
    retry_at = now + backoff(message.attempts)
    _finish(message.id, state=OutboxState.pending, next_attempt_at=retry_at, last_error=failure.detail[:500])
    log.warning("outbox: message %s (%s) not sent on attempt %s (%s); next try at %s", message.id,
                message.kind, message.attempts, failure.label, retry_at.isoformat(timespec="seconds"))


def _finish(message_id: int, **values) -> None:
    """Record the outcome of our claim (only while the message is still `sending`)."""
    with _transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == OutboxState.sending)
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
