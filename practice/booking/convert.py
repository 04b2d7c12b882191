"""Staff split a couple booking into a separate individual session for each partner, when safety requires it
(INTAKE.md, R1: no joint session; separate individual assessments).

One transaction under the guard: every involved counselor's calendar is locked (ascending ids, so two such
changes never wait on each other), the couple booking is cancelled by the practice (its payment is refunded in
full by booking_cancelled's receiver; the cancellation email is not sent: `converted=True`), and each partner
gets a confirmed individual session of their own, with their own manage link, claimed like any booking. The
new sessions remember where they came from (converted_from_id); the intakes stay with the couple booking.
booking_converted's receivers tell each person about their own new session only.

The staff member's reason is the couple booking's cancel reason (encrypted, after CONVERTED), which only staff
see: never the people, nor an email, nor the audit log (whose rows can't be erased or re-encrypted).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import select

from practice.audit import service as audit
from practice.booking.assign import matching_service
from practice.booking.change import counselor_of, issue_link, mark_cancelled, reread
from practice.booking.errors import ActionRefused, BookingInvalid
from practice.booking.guard import calendar_write, claim, lock_calendar
from practice.booking.models import LIVE_STATUSES, Booking, BookingStatus, Participant
from practice.booking.signals import booking_converted
from practice.counselors.models import Counselor
from practice.extensions import db
from practice.scheduling.models import SchedulingPolicy
from practice.scheduling.service import is_free

CONVERTED = "changed to individual sessions"  # how the couple booking's cancel_reason starts


@dataclass(frozen=True)
class Placement:
    """Where one partner's individual session goes: `role` is their place on the couple booking."""
    role: str
    counselor_id: int
    start: datetime


@dataclass(frozen=True)
class Converted:
    couple: Booking
    sessions: dict[str, Booking]  # role on the couple booking -> that person's new session
    tokens: dict[str, str]  # role on the couple booking -> the manage token of their new session


def sessions_from(booking_id: uuid.UUID) -> list[Booking]:
    """The individual sessions a couple booking was split into."""
    return list(db.session.scalars(select(Booking).where(Booking.converted_from_id == booking_id)
                                   .order_by(Booking.starts_at)))


def convertible(booking: Booking, *, now: datetime) -> str | None:
    """Why this booking can't be split into individual sessions, or None when it can."""
    if booking.service.format != "couple":
        return "Only a couples booking can be changed into individual sessions."
    if booking.status not in LIVE_STATUSES or booking.starts_at <= now:
        return "Only an upcoming couples booking that is still on can be changed into individual sessions."
    if booking.status != BookingStatus.confirmed:  # the new sessions are confirmed: so must the old one be
        return ("This couples booking is not confirmed yet (it is waiting for payment), so it can't be changed "
                "into individual sessions. Cancel it instead, and book individual sessions.")
    return None


def convert(booking_id: uuid.UUID, placements: list[Placement], *, reason: str, actor, now: datetime,
            also: Callable[[Booking], None] | None = None) -> Converted:
    """Cancel the couple booking and give each partner their placement, committed.

    BookingInvalid (field errors keyed "<role>" or "reason") for a placement that can't be made: no reason, a
    counselor who isn't active or has no individual trial session, a start that isn't free (including the two
    sessions overlapping on one counselor). ActionRefused for a booking that isn't a live, upcoming couple one.
    `also(couple)` runs in the same transaction (the intake page's version check).
    """
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["Say why the sessions are being separated. It stays in the practice's records only."]
    elif len(reason) > 2000:
        errors["reason"] = ["Keep the reason to 2,000 characters or fewer."]
    if errors:
        raise BookingInvalid(errors)
    couple_counselor = counselor_of(booking_id)

    def work() -> Converted:
        for calendar in sorted({couple_counselor, *(p.counselor_id for p in placements)}):
            lock_calendar(calendar)
        couple = reread(booking_id)
        refused = convertible(couple, now=now)
        if refused:
            raise ActionRefused(refused)
        roles = {p.role for p in couple.participants}
        if sorted(p.role for p in placements) != sorted(roles):
            raise BookingInvalid({"reason": ["Choose a session for each partner."]})

        # The couple booking goes first, so that its own time is free for the new sessions.
        # booking_cancelled's receivers: the refund in full (the practice cancelled) and the calendar copy; the
        # cancellation email stays unsent (converted=True): booking_converted's message replaces it.
        mark_cancelled(couple, by="staff", reason=f"{CONVERTED}: {reason}", now=now, converted=True)
        db.session.flush()

        sessions, tokens, problems = {}, {}, {}
        for placement in placements:
            person = couple.participant(placement.role)
            counselor = db.session.get(Counselor, placement.counselor_id)
            service = (matching_service(counselor, format="individual", is_trial=True)
                       if counselor is not None and counselor.active else None)
            if service is None:
                problems[placement.role] = ["Choose one of the counselors offered."]
                continue
            start = placement.start.astimezone(timezone.utc)
            if not is_free(counselor, service, start, now=now, policy=db.session.get(SchedulingPolicy, counselor.id)):
                problems[placement.role] = [f"{counselor.name} is no longer free at that time (or the other "
                                            "session already takes it). Choose another time."]
                continue
            end = start + timedelta(minutes=service.duration_minutes)
            blocked_until = end + timedelta(minutes=service.buffer_minutes)
            claim(counselor.id, start, blocked_until, now=now)
            session = Booking(
                id=uuid.uuid4(), counselor=counselor, service=service, starts_at=start, ends_at=end,
                blocked_until=blocked_until, status=BookingStatus.confirmed, hold_expires_at=None,
                client_timezone=couple.client_timezone, confirmed_at=now,
                policies_accepted_at=couple.policies_accepted_at, ics_sequence=0, reschedule_count=0,
                created_at=now, updated_at=now, uses_insurance=None, converted_from_id=couple.id)
            participant = Participant(role="client", client=person.client)
            session.participants.append(participant)
            token = issue_link(participant, now=now)
            db.session.add(session)
            db.session.flush()  # the next placement's check and claim see this session
            sessions[placement.role], tokens[placement.role] = session, token
        if problems:
            raise BookingInvalid(problems)

        booking_converted.send(couple, sessions=sessions, tokens=tokens, now=now)
        audit.record("booking.convert", record_type="booking", record_id=couple.id, actor=actor,
                     detail={"sessions": {role: str(s.id) for role, s in sessions.items()}})
        for role, session in sessions.items():
            audit.record("booking.create", record_type="booking", record_id=session.id, actor=actor,
                         detail={"status": session.status.value, "service": session.service.slug,
                                 "converted_from": str(couple.id)})
        if also is not None:
            also(couple)
        return Converted(couple, sessions, tokens)

    return calendar_write(work)
