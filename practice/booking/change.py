"""Changing a booking from a person's manage link: open it, reschedule it, cancel it; and holds that ran out.

Opening a link only reads (mail scanners open links). Only the person who booked may change the booking; a
partner's link views it. A change runs under the counselor's calendar lock (booking.guard), re-reads the
booking there, and revokes every old link: each person gets a fresh one, by the emails that
booking_rescheduled and booking_cancelled's receivers queue in the same transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select, update

from practice.audit import service as audit
from practice.booking.create import START_NEEDS_OFFSET, BookingCreated
from practice.booking.errors import ActionRefused, BookingInvalid, LinkInvalid, SlotUnavailable
from practice.booking.guard import calendar_write, claim, lock_calendar
from practice.booking.models import HOLD_EXPIRED, LIVE_STATUSES, Booking, BookingStatus, ManageToken, Participant
from practice.booking.signals import booking_cancelled, booking_confirmed, booking_rescheduled
from practice.booking.tokens import hash_token, looks_like_token, new_token
from practice.extensions import db
from practice.scheduling.models import SchedulingPolicy
from practice.scheduling.service import is_free


@dataclass(frozen=True)
class LinkAccess:
    booking: Booking
    participant: Participant

    @property
    def may_change(self) -> bool:
        """Only the person who booked reschedules or cancels; a partner's link can view and answer an intake."""
        return self.participant.role == "client"


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


def free_change_until(booking: Booking) -> datetime:
    """The last moment the booking can be changed or cancelled for free: CANCELLATION_NOTICE_HOURS before it."""
    return booking.starts_at - timedelta(hours=current_app.config["CANCELLATION_NOTICE_HOURS"])


def within_free_change_window(booking: Booking, *, now: datetime) -> bool:
    return now <= free_change_until(booking)


def revoke_links(participant: Participant, *, now: datetime, reason: str) -> None:
    """End every live link of this person; an old link then says why (cancelled, or a newer one was sent)."""
    for token_row in participant.tokens:
        if token_row.revoked_at is None:
            token_row.revoked_at, token_row.revoked_reason = now, reason


def issue_link(participant: Participant, *, now: datetime) -> str:
    """A new manage link for this person (revoke the old ones first); the plaintext token, shown once."""
    token = new_token()
    participant.tokens.append(ManageToken(token_hash=hash_token(token), created_at=now))
    return token


NO_SUCH_BOOKING = "There is no such booking."


def counselor_of(booking_id: uuid.UUID) -> int:
    """Whose calendar the booking is in: the lock to take before reading it again (ActionRefused, 404, when
    there is no such booking)."""
    counselor_id = db.session.scalar(select(Booking.counselor_id).where(Booking.id == booking_id))
    if counselor_id is None:
        raise ActionRefused(NO_SUCH_BOOKING, status=404)
    return counselor_id


def reread(booking_id: uuid.UUID) -> Booking:
    """The booking as it stands now, read under the calendar lock (ActionRefused, 404, if it is gone)."""
    current = db.session.get(Booking, booking_id, populate_existing=True)
    if current is None:
        raise ActionRefused(NO_SUCH_BOOKING, status=404)
    return current


def move(current: Booking, new_start: datetime, *, now: datetime) -> dict[str, str]:
    """Under the calendar lock, with `current` re-read there: move the booking to `new_start` if it is offered
    (SlotUnavailable otherwise), give each person a fresh link in place of the old ones, and send
    booking_rescheduled. Returns role -> the new manage token. Shared by the client's and the staff's paths."""
    service, counselor = current.service, current.counselor
    if not is_free(counselor, service, new_start, now=now, exclude_booking=current.id,
                   policy=db.session.get(SchedulingPolicy, counselor.id)):
        raise SlotUnavailable()
    old_start = current.starts_at
    end = new_start + timedelta(minutes=service.duration_minutes)
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    claim(counselor.id, new_start, blocked_until, now=now, moving=current.id)
    current.starts_at, current.ends_at, current.blocked_until = new_start, end, blocked_until
    current.ics_sequence += 1
    current.reschedule_count += 1
    current.updated_at = now
    tokens = {}
    for participant in current.participants:
        revoke_links(participant, now=now, reason="reissued")
        tokens[participant.role] = issue_link(participant, now=now)
    booking_rescheduled.send(current, old_start=old_start, tokens=tokens, now=now)
    return tokens


def mark_cancelled(current: Booking, *, by: str, reason: str, now: datetime, **signal_kwargs) -> None:
    """Under the calendar lock: cancel the live booking `current`, end every link, and send booking_cancelled
    (with `signal_kwargs`, e.g. staff's refund choice). Shared by the client's and the staff's paths."""
    current.status = BookingStatus.cancelled
    current.cancelled_at, current.cancelled_by = now, by
    current.cancel_reason = (reason or "").strip() or None  # each form checks its length; the column is encrypted
    current.ics_sequence += 1
    current.updated_at = now
    for participant in current.participants:
        revoke_links(participant, now=now, reason="cancelled")
    booking_cancelled.send(current, now=now, **signal_kwargs)


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
        raise BookingInvalid({"start": [START_NEEDS_OFFSET]})
    new_start = new_start.astimezone(timezone.utc)
    if new_start == booking.starts_at:
        raise BookingInvalid({"start": ["That's the time you already have."]})
    old_start, booking_id, counselor_id = booking.starts_at, booking.id, booking.counselor_id
    role = access.participant.role

    def work() -> BookingCreated:
        lock_calendar(counselor_id)
        current = reread(booking_id)
        # Re-checked under the lock: a second submit of the same old page finds the booking already moved.
        if current.starts_at != old_start or current.status not in LIVE_STATUSES:
            raise ActionRefused("This booking was changed a moment ago. Here it is as it stands now.")
        tokens = move(current, new_start, now=now)
        audit.record("booking.reschedule", record_type="booking", record_id=current.id, detail={"by": role})
        return BookingCreated(current, tokens)

    return calendar_write(work)


def cancel(booking_id, token: str, reason: str = "", *, now: datetime) -> Booking:
    access = open_link(booking_id, token, now=now)
    _require_change_allowed(access, now=now)
    booking_id, counselor_id = access.booking.id, access.booking.counselor_id

    def work() -> Booking:
        lock_calendar(counselor_id)
        current = reread(booking_id)
        if current.status not in LIVE_STATUSES:
            raise ActionRefused("This booking was already cancelled.")
        mark_cancelled(current, by="client", reason=reason, now=now)
        audit.record("booking.cancel", record_type="booking", record_id=current.id, detail={"by": "client"})
        return current

    return calendar_write(work)


def confirm_paid(booking_id: uuid.UUID, *, now: datetime) -> str:
    """The booking's payment succeeded: confirm it. Runs inside the caller's calendar_write (whoever records the
    payment in the same transaction), and takes the calendar lock itself. Returns what happened:

        "confirmed"  confirmed now; each person gets a new manage link, by booking_confirmed's receivers
        "already"    it was confirmed before (a repeated or late notice): nothing changes
        "taken"      the hold had run out and its time is no longer free (or has passed): not confirmed
        "cancelled"  the booking was cancelled by someone before the payment arrived: not confirmed
    A payment that arrives after its hold ran out still confirms the booking when the time is free.
    """
    counselor_id = counselor_of(booking_id)
    lock_calendar(counselor_id)
    current = reread(booking_id)
    if current.status in (BookingStatus.confirmed, BookingStatus.completed, BookingStatus.no_show):
        return "already"
    released = current.status == BookingStatus.cancelled and (current.cancelled_by, current.cancel_reason) == (
        "system", HOLD_EXPIRED)
    if current.status == BookingStatus.cancelled and not released:
        return "cancelled"
    late = released or (current.status == BookingStatus.held and current.hold_expires_at <= now)
    if late:  # its time was given up: take it again only if it is still offered, as a new booking would
        if current.starts_at <= now or not is_free(
                current.counselor, current.service, current.starts_at, now=now, exclude_booking=current.id,
                policy=db.session.get(SchedulingPolicy, counselor_id)):
            return "taken"
        try:
            claim(counselor_id, current.starts_at, current.blocked_until, now=now, moving=current.id)
        except SlotUnavailable:
            return "taken"
    current.status = BookingStatus.confirmed
    current.confirmed_at, current.hold_expires_at = now, None
    current.cancelled_at = current.cancelled_by = current.cancel_reason = None
    current.updated_at = now
    tokens = {participant.role: issue_link(participant, now=now) for participant in current.participants}
    booking_confirmed.send(current, tokens=tokens, now=now)
    audit.record("booking.confirm", record_type="booking", record_id=current.id,
                 detail={"by": "payment", "late": late})
    return "confirmed"


def release_expired_holds(*, now: datetime) -> int:
    """Worker job: holds whose time ran out give their slot back."""
    result = db.session.execute(
        update(Booking)
        .where(Booking.status == BookingStatus.held, Booking.hold_expires_at <= now)
        .values(status=BookingStatus.cancelled, cancelled_at=now, cancelled_by="system",
                cancel_reason=HOLD_EXPIRED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount or 0
