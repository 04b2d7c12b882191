"""Staff give a booking to another counselor (from the intake page's suggestions), keeping its start when the new
counselor is free then, or moving it to one of their free starts.

Runs under the guard like every other move of a booking (booking.guard): both counselors' calendars are locked,
in ascending id order so that two moves between the same pair never wait on each other, before anything is
read; the new counselor's time is checked (is_free) and claimed. The booking keeps its id, its people and what
was paid, so a counselor whose session of that kind costs something else is refused: staff cancel and rebook
instead. Each person gets a fresh link, by the email booking_reassigned's receivers queue.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo


from practice.audit import service as audit
from practice.booking.change import counselor_of, issue_link, reread, revoke_links
from practice.booking.errors import ActionRefused, BookingInvalid, SlotUnavailable
from practice.booking.guard import calendar_write, claim, lock_calendar
from practice.booking.models import LIVE_STATUSES, Booking, BookingStatus
from practice.booking.signals import booking_reassigned
from practice.counselors.models import Counselor, Service
from practice.extensions import db
from practice.scheduling.models import SchedulingPolicy
from practice.scheduling.service import is_free, slots_for

STARTS_AHEAD_DAYS = 14  # how far ahead the pages offer a counselor's free starts
STARTS_SHOWN = 40


class StartNeeded(BookingInvalid):
    """The new counselor is not free at the booking's time: staff choose one of their free starts (422)."""

    def __init__(self, counselor: Counselor):
        super().__init__({"start": [f"{counselor.name} isn't free at this session's time. Choose one of their free "
                                    "times below."]})
        self.counselor_id = counselor.id


@dataclass(frozen=True)
class Reassigned:
    booking: Booking
    old_counselor: Counselor
    moved: bool  # the start changed too
    tokens: dict[str, str]  # role -> the new manage token


def matching_service(counselor: Counselor, *, format: str, is_trial: bool) -> Service | None:
    """The counselor's active service that a booking of this format (and trial or not) would become."""
    if format not in counselor.formats:
        return None
    found = [s for s in counselor.services if s.active and s.format == format and s.is_trial == is_trial]
    return min(found, key=lambda s: s.id) if found else None


def free_starts(counselor: Counselor, service: Service, *, now: datetime, zone: str,
                exclude_booking: uuid.UUID | None = None, days: int = STARTS_AHEAD_DAYS,
                limit: int = STARTS_SHOWN) -> list[datetime]:
    """The counselor's next free starts of `service` (UTC), as the booking pages offer them, for staff to pick."""
    today = now.astimezone(ZoneInfo(zone)).date()
    found = slots_for(counselor.slug, service.slug, start_day=today, end_day=today + timedelta(days=days - 1),
                      zone=zone, now=now, exclude_booking=exclude_booking)
    return [slot.start.astimezone(timezone.utc) for slot in (found.slots if found else [])][:limit]


def reassign(booking_id: uuid.UUID, counselor_id: int, *, new_start: datetime | None = None, actor, now: datetime,
             also: Callable[[Booking], None] | None = None) -> Reassigned:
    """Give the booking to counselor `counselor_id`, at its own start or at `new_start`, committed.

    Refuses (ActionRefused) a booking that is over or cancelled, the counselor it already has at the same time,
    a counselor with no matching service or a different price; StartNeeded when they are not free at the
    booking's start and no other start was chosen; SlotUnavailable when the chosen start is not free.
    `also(booking)` runs in the same transaction (the intake page's version check); what it raises undoes all.
    """
    if new_start is not None:
        if new_start.tzinfo is None:
            raise BookingInvalid({"start": ["Choose one of the times offered."]})
        new_start = new_start.astimezone(timezone.utc)
    old_counselor_id = counselor_of(booking_id)

    def work() -> Reassigned:
        for calendar in sorted({old_counselor_id, counselor_id}):
            lock_calendar(calendar)
        current = reread(booking_id)
        if current.counselor_id != old_counselor_id:
            raise ActionRefused("Someone gave this booking to another counselor a moment ago. Here it is as it "
                                "stands now.")
        if current.status not in LIVE_STATUSES or current.starts_at <= now:
            raise ActionRefused("Only an upcoming booking that is still on can go to another counselor.")
        if current.status == BookingStatus.held and current.hold_expires_at <= now:
            raise ActionRefused("This booking was held for payment and the hold ran out, so its time is no longer "
                                "kept. The client is welcome to book again.")
        counselor = db.session.get(Counselor, counselor_id)
        if counselor is None or not counselor.active:
            raise BookingInvalid({"counselor": ["Choose one of the counselors offered."]})
        start = new_start or current.starts_at
        if counselor.id == current.counselor_id and start == current.starts_at:
            raise BookingInvalid({"counselor": [f"This booking is already with {counselor.name} at that time."]})
        old_service = current.service
        service = matching_service(counselor, format=old_service.format, is_trial=old_service.is_trial)
        kind = ("trial " if old_service.is_trial else "") + ("couples" if old_service.format == "couple"
                                                               else "individual")
        if service is None:
            raise BookingInvalid({"counselor": [f"{counselor.name} offers no {kind} session, so this booking can't "
                                                "go to them."]})
        if (service.price, service.currency) != (old_service.price, old_service.currency):
            raise BookingInvalid({"counselor": [
                f"{counselor.name}'s {kind} session costs a different amount from this booking's, so it can't "
                "simply move. Cancel this booking (with its refund) and book the new counselor instead."]})
        policy = db.session.get(SchedulingPolicy, counselor.id)
        if not is_free(counselor, service, start, now=now, policy=policy, exclude_booking=current.id):
            if new_start is None:
                raise StartNeeded(counselor)
            raise SlotUnavailable()
        end = start + timedelta(minutes=service.duration_minutes)
        blocked_until = end + timedelta(minutes=service.buffer_minutes)
        claim(counselor.id, start, blocked_until, now=now, moving=current.id)
        old_counselor, old_start = current.counselor, current.starts_at
        current.counselor, current.service = counselor, service
        current.starts_at, current.ends_at, current.blocked_until = start, end, blocked_until
        current.ics_sequence += 1
        current.updated_at = now
        tokens = {}
        for participant in current.participants:
            revoke_links(participant, now=now, reason="reissued")
            tokens[participant.role] = issue_link(participant, now=now)
        db.session.flush()
        booking_reassigned.send(current, old_counselor=old_counselor, old_start=old_start, tokens=tokens, now=now)
        audit.record("booking.reassign", record_type="booking", record_id=current.id, actor=actor,
                     detail={"from_counselor": old_counselor.id, "to_counselor": counselor.id,
                             "moved": start != old_start})
        if also is not None:
            also(current)
        return Reassigned(current, old_counselor, start != old_start, tokens)

    return calendar_write(work)
