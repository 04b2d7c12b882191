"""Booking use cases: book, reschedule, cancel, find by link, resend links, release expired holds.

The only writer of bookings, their participants and their manage tokens. Every path that creates or moves a
booking goes through `_claim` before it writes: on SQLite inside a write transaction that took the write lock
(BEGIN IMMEDIATE) before anything was read; on PostgreSQL the exclusion constraint refuses an overlap that a
concurrent writer commits first (a new booking is written by one statement, its own transaction; a move in a
transaction). Either way a loser sees SlotUnavailable, never an error page.
"""
from __future__ import annotations

import logging
import random
import time as time_module
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, bindparam, exists, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import selectinload

from practice.audit import service as audit
from practice.booking.models import (
    LIVE_STATUSES, NO_BOOKING, Booking, BookingStatus, Client, LinkRequest, ManageToken, Participant,
    live_booking_filter,
)
from practice.booking.tokens import hash_token, looks_like_token, new_token
from practice.counselors.models import Counselor, License, Service
from practice.counselors.vocabulary import US_STATES
from practice.database import HotStatement, insert_batch, record
from practice.extensions import db
from practice.intake.service import SELF_BOOKING_BLOCKED, blocked_email_key, self_booking_block_exists
from practice.notify.outbox import AfterCommit
from practice.scheduling.models import SchedulingPolicy
from practice.scheduling.service import BookingRules, is_free

log = logging.getLogger(__name__)

RETRIES = 3


# --- errors the views turn into responses ---------------------------------------------------------------

class BookingInvalid(ValueError):
    """Bad input or a broken rule; `errors` maps field names to messages (422)."""

    def __init__(self, errors: dict[str, list[str]], *, alternatives: list[str] | None = None):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        self.alternatives = alternatives or []


class SlotUnavailable(Exception):
    """The time is taken (or no longer bookable) (409)."""


class BookingBusy(Exception):
    """The database stayed busy through every retry (503): nothing was written."""


class LinkInvalid(Exception):
    """A manage link that does not open this booking; `reason` says why, for a clear page."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # unknown, revoked_cancelled, revoked_reissued, expired


class ActionRefused(Exception):
    """An action this link or this booking's state does not allow; the message is for the person (403/409)."""

    def __init__(self, message: str, *, status: int = 409):
        super().__init__(message)
        self.status = status


# --- input ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PersonIn:
    name: str
    email: str
    state: str | None = None
    phone: str = ""


@dataclass(frozen=True)
class BookingRequest:
    counselor: str  # slug
    service: str  # slug
    start: datetime  # aware
    timezone: str  # the client's zone, for how times are shown to them
    client: PersonIn
    partner: PersonIn | None = None
    accepted_policies: bool = True  # the API takes acceptance as implied by the call; the web form asks


@dataclass
class BookingCreated:
    booking: Booking
    tokens: dict[str, str] = field(default_factory=dict)  # role -> plaintext token, shown once
    intake_tokens: dict[str, str] = field(default_factory=dict)  # role -> intake link token (practice.intake)


@dataclass(frozen=True)
class LinkAccess:
    booking: Booking
    participant: Participant

    @property
    def may_change(self) -> bool:
        """Only the person who booked reschedules or cancels; a partner's link can view and answer an intake."""
        return self.participant.role == "client"


# --- transactions ---------------------------------------------------------------------------------------

def _write_transaction():
    """On SQLite, start a fresh transaction that holds the write lock before its first read.

    PostgreSQL needs no such lock: the exclusion constraint refuses an overlap at insert, so the work goes on
    on the session's connection as it is: a move in the request's transaction (the objects it loaded stay
    loaded), a new booking in autocommit (`_statements_on_their_own`; a retry after a deadlock runs in a
    transaction, which changes nothing for a write of one statement).
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.rollback()
        db.session.connection(execution_options={"sqlite_immediate": True})


def _statements_on_their_own() -> None:
    """On PostgreSQL, from here to the session's commit each statement is a transaction of its own (autocommit).

    For a use case whose writes are one statement (book): its reads take a snapshot each at READ COMMITTED
    anyway, and a transaction around them would add only a BEGIN and a COMMIT round trip. The session's
    connection goes back to transactions at the session's next commit or rollback (when it returns to the
    pool). What the request did with the session before is dropped here. SQLite: nothing changes
    (_write_transaction takes its lock).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.rollback()
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _is_exclusion_violation(exc: DBAPIError) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == "23P01"


def _is_retryable(exc: DBAPIError) -> bool:
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if state in ("40P01", "40001"):  # deadlock, serialization failure
        return True
    return "database is locked" in str(exc.orig) if exc.orig is not None else False


def _in_write_transaction(work):
    """Run `work()` in a write transaction and commit; retry deadlocks and a busy SQLite a few times."""
    for attempt in range(RETRIES):
        if attempt:
            db.session.rollback()
        _write_transaction()
        try:
            result = work()
            db.session.commit()
            return result
        except IntegrityError as exc:
            db.session.rollback()
            if _is_exclusion_violation(exc):
                raise SlotUnavailable() from None
            raise
        except OperationalError as exc:
            db.session.rollback()
            if _is_retryable(exc) and attempt < RETRIES - 1:
                time_module.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                continue
            if _is_retryable(exc):
                raise BookingBusy() from None
            raise
        except DBAPIError as exc:
            db.session.rollback()
            if _is_retryable(exc) and attempt < RETRIES - 1:
                continue
            raise
        except BaseException:
            db.session.rollback()
            raise
    raise BookingBusy()


# The guard's statements, built once. A moved booking does not clash with itself (`moving`, or NO_BOOKING when
# nothing moves).
# (Parameters named unlike the columns: in an UPDATE, a parameter named after a column would set it.)
_OVERLAPS = and_(Booking.counselor_id == bindparam("claim_counselor"), Booking.starts_at < bindparam("claim_until"),
                 Booking.blocked_until > bindparam("claim_start"))
_RELEASE_EXPIRED = (
    update(Booking)
    .where(_OVERLAPS, Booking.status == BookingStatus.held, Booking.hold_expires_at <= bindparam("claim_now"),
           Booking.id != bindparam("claim_moving"))  # a move never releases the booking being moved
    .values(status=BookingStatus.cancelled, cancelled_at=bindparam("claim_now"), cancelled_by="system",
            cancel_reason="hold expired", updated_at=bindparam("claim_now"))
)
# A live overlap: holds that ran out don't count (they are released, or being released, by the statement above).
_CLASH = (select(Booking.id)
          .where(_OVERLAPS, live_booking_filter(bindparam("claim_now")), Booking.id != bindparam("claim_moving"))
          .limit(1))
# PostgreSQL, one round trip: the release runs as a CTE, which PostgreSQL carries out whether or not the query
# reads it. The query itself sees the table as the statement began, so it leaves run-out holds out by itself
# (not by the CTE's result: a hold another transaction released meanwhile is not in it).
_RELEASE_THEN_CLASH = HotStatement(_CLASH.add_cte(_RELEASE_EXPIRED.cte("released")))


def _claim(counselor_id: int, start: datetime, blocked_until: datetime, *, now: datetime,
           moving: uuid.UUID | None = None) -> None:
    """Before the write: free overlapping holds that ran out, then refuse any live overlap. Inside the write
    transaction on SQLite (it holds the lock); on PostgreSQL the exclusion constraint still decides a race."""
    params = {"claim_counselor": counselor_id, "claim_start": start, "claim_until": blocked_until, "claim_now": now,
              "claim_moving": moving or NO_BOOKING}
    if db.session.get_bind().dialect.name == "postgresql":
        clash = _RELEASE_THEN_CLASH.rows(params)
    else:
        db.session.execute(_RELEASE_EXPIRED, params, execution_options={"synchronize_session": False})
        clash = db.session.execute(_CLASH, params).all()
    if clash:
        raise SlotUnavailable()


# --- rules ----------------------------------------------------------------------------------------------

# What book() reads before it writes, in one round trip: an active counselor by slug, its booking rules (NULLs
# when it has none), the service asked for (NULLs when it has no such service), whether it is licensed in the
# client's state, and whether the booker's address is blocked from booking online (practice.intake). Only the
# columns the booking uses, read as rows (practice.database.record), not loaded as entities.
_COUNSELOR_COLUMNS = (Counselor.id, Counselor.slug, Counselor.name, Counselor.timezone, Counselor.accepts_individual,
                      Counselor.accepts_couples, Counselor.active)
_SERVICE_COLUMNS = (Service.id, Service.counselor_id, Service.slug, Service.name, Service.format,
                    Service.duration_minutes, Service.buffer_minutes, Service.price, Service.currency,
                    Service.is_trial, Service.active)
_POLICY_COLUMNS = (SchedulingPolicy.notice_minutes, SchedulingPolicy.horizon_days,
                   SchedulingPolicy.slot_step_minutes, SchedulingPolicy.max_sessions_per_day)
_COUNSELOR = HotStatement(
    select(*(c.label(f"counselor_{c.key}") for c in _COUNSELOR_COLUMNS),
           *(c.label(f"service_{c.key}") for c in _SERVICE_COLUMNS),
           *_POLICY_COLUMNS,
           exists().where(License.counselor_id == Counselor.id, License.state == bindparam("client_state"))
           .label("licensed"),
           self_booking_block_exists(bindparam("booker_email")).label("blocked"))
    .outerjoin(SchedulingPolicy, SchedulingPolicy.counselor_id == Counselor.id)
    .outerjoin(Service, and_(Service.counselor_id == Counselor.id, Service.slug == bindparam("service_slug")))
    .where(Counselor.slug == bindparam("slug"), Counselor.active)
)


@dataclass(frozen=True)
class _Chosen:
    counselor: Counselor  # records (practice.database.record) of the columns above
    service: Service
    policy: BookingRules | None
    licensed: bool  # in the client's state
    booker_blocked: bool


def _load_counselor_service(req: BookingRequest) -> _Chosen:
    rows = _COUNSELOR.rows({
        "slug": req.counselor, "service_slug": req.service, "client_state": (req.client.state or "").upper(),
        "booker_email": blocked_email_key(req.client.email),
    })
    if not rows:
        raise BookingInvalid({"counselor": ["There is no counselor with that name taking bookings."]})
    row = rows[0]
    n_counselor, n_service, n_policy = len(_COUNSELOR_COLUMNS), len(_SERVICE_COLUMNS), len(_POLICY_COLUMNS)
    counselor = record(Counselor, **{c.key: v for c, v in zip(_COUNSELOR_COLUMNS, row)})
    service = record(Service, **{c.key: v for c, v in zip(_SERVICE_COLUMNS, row[n_counselor:])})
    policy = row[n_counselor + n_service:n_counselor + n_service + n_policy]
    if service.id is None or not service.active or service.format not in counselor.formats:
        offered = db.session.get(Counselor, counselor.id).active_services
        raise BookingInvalid({"service": [f"{counselor.name} doesn't offer that session. Choose one of: "
                                          f"{', '.join(s.slug for s in offered)}."]})
    return _Chosen(counselor, service, None if policy[0] is None else BookingRules(*policy), bool(row.licensed),
                   bool(row.blocked))


def licensed_alternatives(state: str, *, format: str) -> list[Counselor]:
    """Active counselors licensed in `state` who offer a trial of this format."""
    offers_format = select(Service.counselor_id).where(Service.format == format, Service.is_trial, Service.active)
    accepts = Counselor.accepts_couples if format == "couple" else Counselor.accepts_individual
    return list(db.session.scalars(
        select(Counselor).join(License)
        .where(License.state == state, Counselor.active, accepts, Counselor.id.in_(offers_format))
        .order_by(Counselor.name)
    ).unique())


def _check_rules(req: BookingRequest, chosen: _Chosen) -> None:
    counselor, service = chosen.counselor, chosen.service
    errors: dict[str, list[str]] = {}
    alternatives: list[str] = []
    # Staff must speak with this person first (an urgent intake). Only the booker's own address is checked
    # (booker_blocked): refusing a partner's would tell the booker something about the partner's answers.
    if chosen.booker_blocked:
        raise BookingInvalid({"client.email": [SELF_BOOKING_BLOCKED]})
    if service.format == "couple" and req.partner is None:
        errors["partner"] = ["A couples session needs your partner's name and email, so they get their own "
                             "private link."]
    if service.format == "individual" and req.partner is not None:
        errors["partner"] = ["This is an individual session. Leave out the partner, or choose a couples session."]
    if req.partner is not None and req.partner.email.strip().lower() == req.client.email.strip().lower():
        errors["partner.email"] = ["Your partner needs their own email address, so their answers stay private."]
    state = (req.client.state or "").upper()
    if state not in US_STATES:
        errors["client.state"] = ["Choose the state you live in."]
    elif not chosen.licensed:
        others = [c for c in licensed_alternatives(state, format=service.format) if c.id != counselor.id]
        alternatives = [c.slug for c in others]
        names = ", ".join(c.name for c in others) or "none at the moment"
        errors["client.state"] = [f"{counselor.name} isn't licensed in {US_STATES[state]}, so they can't see you "
                                  f"there. Counselors licensed in {US_STATES[state]}: {names}."]
    if not req.accepted_policies:
        errors["accept_policies"] = ["Please read and accept the practice's policies to book."]
    if errors:
        raise BookingInvalid(errors, alternatives=alternatives)


def _check_slot(counselor: Counselor, service: Service, policy: SchedulingPolicy | BookingRules | None,
                start: datetime, *, now: datetime, moving: Booking | None = None) -> None:
    """The start must be one the engine offers right now (hours, notice, horizon, busy), or it is taken."""
    if not is_free(counselor, service, start, now=now, policy=policy, exclude_booking=moving.id if moving else None):
        raise SlotUnavailable()


def _person(p: PersonIn, *, now: datetime) -> Client:
    return record(Client, name=p.name.strip(), email=p.email.strip().lower(), phone=(p.phone or "").strip(),
                  state=(p.state or "").upper() or None, created_at=now)


def _revoke_links(participant: Participant, *, now: datetime, reason: str) -> None:
    """End every live link of this person; an old link then says why (cancelled, or a newer one was sent)."""
    for token_row in participant.tokens:
        if token_row.revoked_at is None:
            token_row.revoked_at, token_row.revoked_reason = now, reason


def _issue_token(participant: Participant, *, now: datetime) -> str:
    token = new_token()
    participant.tokens.append(ManageToken(token_hash=hash_token(token), created_at=now))
    return token


# --- use cases ------------------------------------------------------------------------------------------

def book(req: BookingRequest, *, now: datetime) -> BookingCreated:
    """Book a free start: the booking, each person's client row, manage link and intake link, the
    confirmation email(s) of a free service and the audit record, all written together (one statement on
    PostgreSQL, one transaction on SQLite)."""
    if req.start.tzinfo is None:
        raise BookingInvalid({"start": ["Give the time with its UTC offset, e.g. 2026-12-07T10:00:00-05:00."]})
    _statements_on_their_own()
    try:
        chosen = _load_counselor_service(req)
        _check_rules(req, chosen)
        counselor, service, policy = chosen.counselor, chosen.service, chosen.policy
        start = req.start.astimezone(ZoneInfo("UTC"))
        _check_slot(counselor, service, policy, start, now=now)
    except BaseException:
        db.session.rollback()  # the connection goes back to transactions for whatever the caller does next
        raise
    end = start + timedelta(minutes=service.duration_minutes)
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    free = service.price == 0
    counselor_id = counselor.id

    def work() -> BookingCreated:
        _claim(counselor_id, start, blocked_until, now=now)
        # Everything the booking writes goes out as one batch: one statement on PostgreSQL, where the
        # exclusion constraint has the last word on the overlap.
        # The objects are records (practice.database.record): written by the batch, read by the response and
        # the emails, never objects of the session.
        with insert_batch() as batch:
            booking = record(
                Booking, id=uuid.uuid4(), counselor=counselor, service=service, counselor_id=counselor_id,
                service_id=service.id, starts_at=start, ends_at=end, blocked_until=blocked_until,
                client_timezone=req.timezone, status=BookingStatus.confirmed if free else BookingStatus.held,
                hold_expires_at=None if free else now + timedelta(minutes=current_app.config["BOOKING_HOLD_MINUTES"]),
                ics_sequence=0, created_at=now, updated_at=now, confirmed_at=now if free else None,
                policies_accepted_at=now, cancelled_at=None, cancelled_by=None, cancel_reason=None,
                reschedule_count=0, participants=[],
            )
            batch.add_object(booking)
            tokens = {}
            for role, person in [("client", req.client)] + ([("partner", req.partner)] if req.partner else []):
                client = _person(person, now=now)
                token = tokens[role] = new_token()
                manage_token = record(ManageToken, token_hash=hash_token(token), created_at=now, revoked_at=None,
                                      revoked_reason=None)
                participant = record(Participant, booking_id=booking.id, role=role, booking=booking, client=client,
                                     tokens=[manage_token])
                booking.participants.append(participant)
                participant_id = batch.add_object(participant, client_id=batch.add_object(client))
                batch.add_object(manage_token, participant_id=participant_id)
            from practice.intake.service import issue_intakes

            # Each person's own private intake link: a new booking has no intakes yet, so none is looked for.
            intake_tokens = issue_intakes(booking, now=now, new_booking=True)
            audit.record("booking.create", record_type="booking", record_id=booking.id,
                         detail={"status": booking.status.value, "service": service.slug})
            if free:
                from practice.booking import notices

                notices.booking_confirmed(booking, tokens, intake_tokens=intake_tokens)
        return BookingCreated(booking, tokens, intake_tokens)

    return _in_write_transaction(work)


def open_link(booking_id: str | uuid.UUID, token: str | None, *, now: datetime) -> LinkAccess:
    """The booking and the person a link belongs to. Reading only: opening a link never changes anything."""
    try:
        booking_uuid = booking_id if isinstance(booking_id, uuid.UUID) else uuid.UUID(str(booking_id))
    except ValueError:
        raise LinkInvalid("unknown") from None
    if not looks_like_token(token):
        raise LinkInvalid("unknown")
    row = db.session.execute(
        select(ManageToken, Participant).join(Participant)
        .where(ManageToken.token_hash == hash_token(token), Participant.booking_id == booking_uuid)
    ).first()
    if row is None:
        raise LinkInvalid("unknown")
    token_row, participant = row
    if token_row.revoked_at is not None:
        raise LinkInvalid(f"revoked_{token_row.revoked_reason}")
    booking = participant.booking
    # A link serves until a day after the session; after that there is nothing left to manage.
    if now > booking.ends_at + timedelta(days=1):
        raise LinkInvalid("expired")
    return LinkAccess(booking, participant)


def _require_change_allowed(access: LinkAccess, *, now: datetime) -> None:
    if not access.may_change:
        raise ActionRefused("Only the person who made the booking can change it. Ask them, or call the practice.",
                            status=403)
    booking = access.booking
    if booking.status == BookingStatus.cancelled:
        raise ActionRefused("This booking was cancelled, so it can't be changed. You're welcome to book again.")
    if booking.status not in LIVE_STATUSES:
        raise ActionRefused("This session has already taken place.")
    if booking.starts_at <= now:
        raise ActionRefused("This session has already started, so it can't be changed online.")
    if booking.status == BookingStatus.held and booking.hold_expires_at <= now:
        raise ActionRefused("This booking was held for payment and the hold ran out, so the time is no longer "
                            "kept. You're welcome to book again.")


def within_free_change_window(booking: Booking, *, now: datetime) -> bool:
    return booking.starts_at - now >= timedelta(hours=current_app.config["CANCELLATION_NOTICE_HOURS"])


def reschedule(booking_id, token: str, new_start: datetime, *, now: datetime,
               expected_start: datetime | None = None) -> BookingCreated:
    """Move a booking to a new free start; it keeps its id and its people.

    Each person gets a fresh link with the new time; an old link then says plainly that a newer one was sent.
    `expected_start` is the start the person saw: a page or link older than the last change is refused rather
    than moving the booking a second time.
    """
    access = open_link(booking_id, token, now=now)
    _require_change_allowed(access, now=now)
    booking = access.booking
    if expected_start is not None and booking.starts_at != expected_start:
        raise ActionRefused("This booking was changed since this page was opened. Here it is as it stands now.")
    if new_start.tzinfo is None:
        raise BookingInvalid({"start": ["Give the time with its UTC offset, e.g. 2026-12-07T10:00:00-05:00."]})
    new_start = new_start.astimezone(ZoneInfo("UTC"))
    if new_start == booking.starts_at:
        raise BookingInvalid({"start": ["That's the time you already have."]})
    service, counselor = booking.service, booking.counselor
    _check_slot(counselor, service, db.session.get(SchedulingPolicy, counselor.id), new_start, now=now,
                moving=booking)
    old_start = booking.starts_at
    end = new_start + timedelta(minutes=service.duration_minutes)
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    booking_id = booking.id

    def work():
        current = db.session.get(Booking, booking_id, populate_existing=True)
        # Re-checked under the lock: a second submit of the same old page finds the booking already moved.
        if current.starts_at != old_start or current.status not in LIVE_STATUSES:
            raise ActionRefused("This booking was changed a moment ago. Here it is as it stands now.")
        _claim(counselor.id, new_start, blocked_until, now=now, moving=booking_id)
        current.starts_at, current.ends_at, current.blocked_until = new_start, end, blocked_until
        current.ics_sequence += 1
        current.reschedule_count += 1
        current.updated_at = now
        tokens = {}
        for participant in current.participants:
            _revoke_links(participant, now=now, reason="reissued")
            tokens[participant.role] = _issue_token(participant, now=now)
        db.session.flush()
        from practice.booking import notices

        notices.booking_rescheduled(current, old_start, tokens)
        audit.record("booking.reschedule", record_type="booking", record_id=current.id,
                     detail={"by": access.participant.role})
        return BookingCreated(current, tokens)

    return _in_write_transaction(work)


def cancel(booking_id, token: str, reason: str = "", *, now: datetime) -> Booking:
    access = open_link(booking_id, token, now=now)
    _require_change_allowed(access, now=now)
    booking_id = access.booking.id

    def work():
        current = db.session.get(Booking, booking_id, populate_existing=True)
        if current.status not in LIVE_STATUSES:
            raise ActionRefused("This booking was already cancelled.")
        current.status = BookingStatus.cancelled
        current.cancelled_at, current.cancelled_by = now, "client"
        current.cancel_reason = (reason or "").strip()[:500] or None
        current.ics_sequence += 1
        current.updated_at = now
        for participant in current.participants:
            _revoke_links(participant, now=now, reason="cancelled")
        db.session.flush()
        from practice.booking import notices

        notices.booking_cancelled(current)
        audit.record("booking.cancel", record_type="booking", record_id=current.id, detail={"by": "client"})
        return current

    return _in_write_transaction(work)


def resend_links(email: str, *, now: datetime) -> None:
    """Send fresh links for every upcoming live booking of this email. Says nothing about whether there are any."""
    email = (email or "").strip().lower()
    if "@" not in email:
        return
    participants = db.session.scalars(
        select(Participant).join(Client).join(Booking)
        .where(Client.email == email, Booking.status.in_(LIVE_STATUSES), Booking.ends_at > now)
        .options(selectinload(Participant.tokens))
    ).all()
    if not participants:
        return
    links = []
    for participant in participants:
        _revoke_links(participant, now=now, reason="reissued")
        links.append((participant, _issue_token(participant, now=now)))
    from practice.booking import notices

    notices.links_resent(email, links)
    audit.record("booking.links_resent", record_type="client", record_id="", detail={"count": len(links)})
    db.session.commit()


def _link_request_handling():
    from practice.notify.queue import enqueue_link_requests

    return process_link_request, enqueue_link_requests


_LINK_REQUESTS = AfterCommit("link request", _link_request_handling)  # the worker's round is their safety net


def request_links(email: str, *, now: datetime) -> None:
    """"Resend my link": record the request, committed; the links go out after the response.

    Whatever the address, the request does the same work (one row) and answers the same, so neither its answer
    nor its time tells anyone whether the address has bookings. `process_link_request` then sends the links,
    by MAIL_DELIVERY's mode (as email is), or the worker's next round does.
    """
    request = LinkRequest(email=(email or "").strip().lower(), requested_at=now)
    db.session.add(request)
    db.session.flush()
    _LINK_REQUESTS.add(db.session, request.id)
    db.session.commit()


def process_link_request(request_id: int, *, now: datetime) -> bool:
    """Send the links one request asked for and delete it (the address is not kept). False when another
    worker has it or did it."""
    _write_transaction()
    query = select(LinkRequest).where(LinkRequest.id == request_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    request = db.session.scalar(query)
    if request is None:
        db.session.rollback()
        return False
    db.session.delete(request)
    resend_links(request.email, now=now)  # commits the deletion with the links it sends
    db.session.commit()  # when there were none
    return True


def process_link_requests(*, now: datetime) -> int:
    """Worker job: the requests no thread or queue job has handled yet (oldest first)."""
    ids = db.session.scalars(select(LinkRequest.id).order_by(LinkRequest.requested_at).limit(500)).all()
    db.session.rollback()
    return sum(process_link_request(request_id, now=now) for request_id in ids)


def release_expired_holds(*, now: datetime) -> int:
    """Worker job: holds whose time ran out give their slot back."""
    result = db.session.execute(
        update(Booking)
        .where(Booking.status == BookingStatus.held, Booking.hold_expires_at <= now)
        .values(status=BookingStatus.cancelled, cancelled_at=now, cancelled_by="system",
                cancel_reason="hold expired")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount or 0

