"""Staff's changes to one booking: reschedule, cancel (with a refund choice), mark attendance, resend links.

Every one goes the client's way through the calendar (booking.guard): `calendar_write`, `lock_calendar` before
any read the change depends on, the booking re-read under the lock, `claim` before a move. Each is audited with
the staff member who acted. A form carries the booking's `ics_sequence` as it was when the page was opened: a
change since then (another staff member, the client) refuses the form rather than acting on what nobody saw.

Who may do what is the view's to check (front desk and admins; a counselor marks attendance on their own
sessions only); these functions check the booking's state.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, TypeVar


from practice.audit import service as audit
from practice.booking.change import (
    NO_SUCH_BOOKING, counselor_of, issue_link, mark_cancelled, move, reread, revoke_links,
)
from practice.booking.create import START_NEEDS_OFFSET, BookingCreated
from practice.booking.errors import ActionRefused, BookingInvalid
from practice.booking.guard import calendar_write, lock_calendar
from practice.booking.models import LIVE_STATUSES, Booking, BookingStatus
from practice.booking.signals import links_reissued

T = TypeVar("T")

CHANGED = "This booking changed since you opened it. Here it is as it stands now; check it and try again."
ATTENDANCE = (BookingStatus.completed, BookingStatus.no_show)
REFUND_HOWS = ("policy", "full", "amount")


@dataclass(frozen=True)
class RefundChoice:
    """What staff chose to give back when they cancel a paid booking (booking_cancelled's `refund=`).

    policy  as if the client had cancelled: the payment's own policy snapshot decides
    full    everything that is left (the practice cancelled)
    amount  an override: exactly `amount` cents (0 included), for the written `reason`
    """

    how: str
    amount: int | None = None
    reason: str = ""

    def __post_init__(self):
        if self.how not in REFUND_HOWS:
            raise ValueError(f"unknown refund choice {self.how!r}")
        if self.how == "amount" and (self.amount is None or self.amount < 0 or not self.reason.strip()):
            raise ValueError("an override needs an amount of 0 or more and a reason")

    def as_detail(self) -> dict:
        """For the audit log. The reason for an amount is kept (encrypted) by the refund it makes; an amount of 0
        makes none, so the log is the one place that says why nothing was given back."""
        detail: dict = {"how": self.how}
        if self.how == "amount":
            detail["amount"] = self.amount
            if self.amount == 0:
                detail["reason"] = self.reason.strip()
        return detail


def _uuid(booking_id) -> uuid.UUID:
    try:
        return booking_id if isinstance(booking_id, uuid.UUID) else uuid.UUID(str(booking_id))
    except ValueError:
        raise ActionRefused(NO_SUCH_BOOKING, status=404) from None


def _change(booking_id, *, expected_sequence: int | None, refusal: Callable[[Booking], str | None],
            apply: Callable[[Booking], T]) -> T:
    """Every staff change, one way, in one transaction (guard.calendar_write): under the counselor's calendar
    lock, the booking read again; a change made since the page was shown refused (CHANGED, when the page sent
    its `expected_sequence`); then the action's own `refusal` (ActionRefused), and only then `apply`."""
    booking_uuid = _uuid(booking_id)
    counselor_id = counselor_of(booking_uuid)

    def work() -> T:
        lock_calendar(counselor_id)
        current = reread(booking_uuid)
        if expected_sequence is not None and current.ics_sequence != expected_sequence:
            raise ActionRefused(CHANGED)
        refused = refusal(current)
        if refused is not None:
            raise ActionRefused(refused)
        return apply(current)

    return calendar_write(work)


def move_refusal(booking: Booking, *, now: datetime) -> str | None:
    """Why staff can't move this booking now, or None. The page uses it to offer the form; the
    service checks it again under the lock."""
    if booking.status == BookingStatus.cancelled:
        return "This booking is cancelled."
    if booking.status not in LIVE_STATUSES:
        return "This session has already taken place."
    if booking.status == BookingStatus.held and booking.hold_expires_at is not None \
            and booking.hold_expires_at <= now:
        return "The client's hold on this time ran out before they paid, so there is nothing to change."
    if booking.starts_at <= now:
        return "This session has already started."
    return None


def cancel_refusal(booking: Booking) -> str | None:
    """Why staff can't cancel this booking, or None. Unlike a move, a session that has started may still be
    cancelled (the counselor could not hold it, say), so that it can be refunded."""
    if booking.status == BookingStatus.cancelled:
        return "This booking is already cancelled."
    if booking.status not in LIVE_STATUSES:
        return "This session has already taken place; mark its attendance instead."
    return None


def reschedule(booking_id, new_start: datetime, *, actor, now: datetime,
               expected_sequence: int | None) -> BookingCreated:
    """Move the booking to `new_start`, which must be one of the counselor's free slots for its service
    (SlotUnavailable otherwise). Each person gets a fresh link, by booking_rescheduled as when a client moves it."""
    _uuid(booking_id)  # an id that can name no booking is a 404 before the start is looked at
    if new_start.tzinfo is None:
        raise BookingInvalid({"start": [START_NEEDS_OFFSET]})
    new_start = new_start.astimezone(timezone.utc)

    def apply(current: Booking) -> BookingCreated:
        if new_start == current.starts_at:
            raise BookingInvalid({"start": ["That is the time the session already has."]})
        if new_start <= now:
            raise BookingInvalid({"start": ["Choose a time that hasn't passed yet."]})
        old_start = current.starts_at
        tokens = move(current, new_start, now=now)
        audit.record("booking.reschedule", record_type="booking", record_id=current.id, actor=actor,
                     detail={"by": "staff", "from": old_start.isoformat(), "to": new_start.isoformat()})
        return BookingCreated(current, tokens)

    return _change(booking_id, expected_sequence=expected_sequence,
                   refusal=lambda current: move_refusal(current, now=now), apply=apply)


def cancel(booking_id, *, reason: str, refund: RefundChoice, actor, now: datetime,
           expected_sequence: int | None) -> Booking:
    """Cancel the booking for `reason` (required), refunding a paid one as `refund` says: the refund is written
    by booking_cancelled's receiver in this same transaction (payments.refunds), so both are saved or neither.
    A refund the payment can't give (more than is left) is refused there, and nothing is cancelled."""
    reason = (reason or "").strip()
    if not reason:
        raise BookingInvalid({"reason": ["Say why the booking is being cancelled."]})
    if len(reason) > 500:
        raise BookingInvalid({"reason": ["Keep the reason under 500 characters."]})

    def apply(current: Booking) -> Booking:
        mark_cancelled(current, by="staff", reason=reason, now=now, refund=refund, actor=actor)
        audit.record("booking.cancel", record_type="booking", record_id=current.id, actor=actor,
                     detail={"by": "staff", "refund": refund.as_detail()})  # the reason: in the booking
        return current

    return _change(booking_id, expected_sequence=expected_sequence, refusal=cancel_refusal, apply=apply)


def attendance_refusal(booking: Booking, outcome: BookingStatus | None = None, *, now: datetime) -> str | None:
    """Why this session can't be marked (as `outcome`) now, or None."""
    if booking.status == BookingStatus.cancelled:
        return "This booking was cancelled, so there is no attendance to record."
    if booking.status not in (BookingStatus.confirmed, *ATTENDANCE):
        return "Only a confirmed session can be marked as held or missed."
    if booking.starts_at > now:
        return "This session hasn't started yet. Mark it once it has."
    if outcome is not None and booking.status == outcome:
        return "The session is already marked that way."
    return None


def mark_attendance(booking_id, outcome: BookingStatus | str, *, actor, now: datetime,
                    expected_sequence: int | None = None) -> Booking:
    """Record that a confirmed session that has started was held (completed) or missed (no_show), or correct
    one to the other. Under the calendar lock like every change of a booking's status."""
    try:
        outcome = BookingStatus(outcome)
    except ValueError:
        outcome = None
    if outcome not in ATTENDANCE:
        raise BookingInvalid({"outcome": ["Choose whether the session was held or missed."]})

    def apply(current: Booking) -> Booking:
        before = current.status
        current.status = outcome
        current.updated_at = now
        audit.record("booking.attendance", record_type="booking", record_id=current.id, actor=actor,
                     detail={"from": before.value, "to": outcome.value})
        return current

    return _change(booking_id, expected_sequence=expected_sequence,
                   refusal=lambda current: attendance_refusal(current, outcome, now=now), apply=apply)


def links_refusal(booking: Booking, *, now: datetime) -> str | None:
    """Why links can't be sent again for this booking now, or None."""
    if booking.status not in LIVE_STATUSES:
        return "Links are sent only for bookings that are still to come."
    if booking.status == BookingStatus.held and booking.hold_expires_at is not None \
            and booking.hold_expires_at <= now:
        return "The client's hold on this time ran out, so the booking has no links to send."
    if now > booking.ends_at + timedelta(days=1):
        return "This session is over, so its links no longer open anything."
    return None


def resend_links(booking_id, *, actor, now: datetime) -> int:
    """End each person's manage links and email each one a fresh link of their own (links_reissued, one
    message per person, to that person's address only). Returns how many people were sent one."""

    def apply(current: Booking) -> int:  # under the lock: a move at the same moment re-issues links too
        sent = 0
        for participant in current.participants:
            revoke_links(participant, now=now, reason="reissued")
            if not participant.client.email:  # an erased record: nobody to send it to
                continue
            token = issue_link(participant, now=now)
            links_reissued.send(participant.client.email, links=[(participant, token)], now=now, by_staff=True)
            sent += 1
        audit.record("booking.links_resent", record_type="booking", record_id=current.id, actor=actor,
                     detail={"by": "staff", "people": sent})
        return sent

    return _change(booking_id, expected_sequence=None, refusal=lambda current: links_refusal(current, now=now),
                   apply=apply)
