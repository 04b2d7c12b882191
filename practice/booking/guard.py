"""The way into a counselor's calendar: every path that creates, moves or cancels a booking runs inside
`calendar_write`, takes `lock_calendar` before it checks anything, and `claim`s the time before it writes.

Writers of one counselor's calendar go one after another, so a client who loses a race waits a moment and
then sees the winner's booking (409), never a deadlock or an error:
- PostgreSQL: a transaction-scoped advisory lock on the counselor (pg_advisory_xact_lock), released by the
  commit or rollback. Each statement after it sees what earlier writers committed (READ COMMITTED), and the
  exclusion constraint on live bookings still has the last word (a violation is SlotUnavailable too).
- SQLite: the transaction begins with the database's write lock (BEGIN IMMEDIATE), before its first read.
A deadlock or a busy database that is left (e.g. against the worker's own updates) is retried a few times,
then reported as BookingBusy; nothing is written by an attempt that fails.
"""
from __future__ import annotations

import random
import time
import uuid
from datetime import datetime
from typing import Callable, TypeVar

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from practice.booking.errors import BookingBusy, SlotUnavailable
from practice.booking.models import HOLD_EXPIRED, LIVE_STATUSES, Booking, BookingStatus, live_booking_filter
from practice.database import begin_write
from practice.extensions import db
from practice.scheduling.booked import NO_BOOKING

RETRIES = 3
# pg_advisory_xact_lock(class, id): the first key says which kind of thing the second one numbers, so these
# locks never meet another use of advisory locks in the same database.
CALENDAR_LOCK_CLASS = 1

T = TypeVar("T")


def calendar_write(work: Callable[[], T], *, keep_loaded: bool = False) -> T:
    """Run `work()` in a write transaction of db.session and commit it; retry a deadlock or a busy SQLite.

    keep_loaded: what the transaction loaded and wrote stays loaded after the commit (rather than expired, the
    session's default), so the caller can answer from the rows it has just written without reading them back.
    Only for work that loads nothing it changes behind the session's back.
    """
    for attempt in range(RETRIES):
        _begin(fresh=attempt > 0)
        try:
            result = work()
            _commit(keep_loaded=keep_loaded)
            return result
        except IntegrityError as exc:
            db.session.rollback()
            if _sqlstate(exc) == "23P01":  # exclusion_violation: an overlapping live booking won
                raise SlotUnavailable() from None
            raise
        except DBAPIError as exc:
            db.session.rollback()
            if not _is_retryable(exc):
                raise
            if attempt == RETRIES - 1:
                raise BookingBusy() from None
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # nosec B311  # jitter, not a secret
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")  # the last attempt returns or raises


def _commit(*, keep_loaded: bool) -> None:
    session = db.session()  # the request's Session itself: expire_on_commit is read by its commit
    expire = session.expire_on_commit
    session.expire_on_commit = expire and not keep_loaded
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _begin(*, fresh: bool) -> None:
    """SQLite: a new transaction that holds the write lock from its first statement. PostgreSQL: the session's
    transaction as it is (what it read stays loaded; lock_calendar does the locking), or a new one after a
    failed attempt."""
    if fresh or db.session.get_bind().dialect.name == "sqlite":
        begin_write(db.session)


def lock_calendar(counselor_id: int) -> None:
    """Wait for, then hold until the transaction ends, the right to write this counselor's calendar. Call it
    before reading anything the write depends on. (On SQLite the write lock is already held.)"""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_LOCK, {"lock_counselor": counselor_id})


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _is_retryable(exc: DBAPIError) -> bool:
    if _sqlstate(exc) in ("40P01", "40001"):  # deadlock, serialization failure
        return True
    return "database is locked" in str(exc.orig)


# The guard's statements, built once: building a statement (and its cache key) costs more than running these.
# A moved booking does not clash with itself (`moving`, or NO_BOOKING when nothing moves). Parameters are named
# unlike the columns: in an UPDATE, a parameter named after a column would set it.
_LOCK = select(func.pg_advisory_xact_lock(CALENDAR_LOCK_CLASS, bindparam("lock_counselor")))
_OVERLAPS = and_(Booking.counselor_id == bindparam("claim_counselor"), Booking.starts_at < bindparam("claim_until"),
                 Booking.blocked_until > bindparam("claim_start"), Booking.id != bindparam("claim_moving"))
# Every booking in a live status that overlaps, and whether it still holds its time (a hold that ran out does
# not, but its row still meets the exclusion constraint until it is released).
_IN_THE_WAY = (select(Booking.id, live_booking_filter(bindparam("claim_now")).label("holds_time"))
               .where(_OVERLAPS, Booking.status.in_(LIVE_STATUSES)))
_RELEASE = (
    update(Booking)
    .where(Booking.id.in_(bindparam("claim_released", expanding=True)), Booking.status == BookingStatus.held,
           Booking.hold_expires_at <= bindparam("claim_now"))
    .values(status=BookingStatus.cancelled, cancelled_at=bindparam("claim_now"), cancelled_by="system",
            cancel_reason=HOLD_EXPIRED, updated_at=bindparam("claim_now"))
    .execution_options(synchronize_session=False)
)


def claim(counselor_id: int, start: datetime, blocked_until: datetime, *, now: datetime,
          moving: uuid.UUID | None = None) -> None:
    """Before the write, under lock_calendar: refuse any live overlap (SlotUnavailable), and release the
    overlapping holds that ran out. One read when nothing is in the way, as is usual."""
    params = {"claim_counselor": counselor_id, "claim_start": start, "claim_until": blocked_until, "claim_now": now,
              "claim_moving": moving or NO_BOOKING}
    in_the_way = db.session.execute(_IN_THE_WAY, params).all()
    if any(row.holds_time for row in in_the_way):
        raise SlotUnavailable()
    if in_the_way:
        db.session.execute(_RELEASE, {"claim_released": [row.id for row in in_the_way], "claim_now": now})
