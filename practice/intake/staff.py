"""What staff see of a booking's intakes: the queue, the summary for everyone, the answers for a few.

Minimum necessary (INTAKE.md, principle 5): front desk gets the routing (track, urgency, flags, scores, reasons)
and each person's progress; the full answers are read only by admins and the booking's own counselor. Every
opening is audited, as `intake.view_summary` or, when answers are shown, `intake.view_answers` per intake.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import load_only, selectinload

from practice.audit import service as audit
from practice.booking.models import Booking, Participant
from practice.extensions import db
from practice.intake import matching
from practice.intake.display import AnswerSection, answer_sections
from practice.intake.models import Intake, RoutingDecision, SelfBookingBlock
from practice.intake.service import Progress, active_blocks, progress


class NotAllowed(Exception):
    """This staff member may not open this booking's intakes (404 for them: no hint it exists)."""


def may_open(user, booking: Booking) -> bool:
    return user.role in ("admin", "frontdesk") or (user.role == "counselor"
                                                   and user.counselor_id == booking.counselor_id)


def may_see_answers(user, booking: Booking) -> bool:
    return user.role == "admin" or (user.role == "counselor" and user.counselor_id == booking.counselor_id)


def may_decide(user, booking: Booking) -> bool:
    return may_open(user, booking)


def may_lift_block(user) -> bool:
    return user.role in ("admin", "frontdesk")


@dataclass(frozen=True)
class Person:
    role: str
    name: str
    intake_id: int | None
    progress: Progress
    submitted_at: datetime | None
    answers: tuple[AnswerSection, ...] | None  # None: not for this viewer, or nothing submitted yet


@dataclass(frozen=True)
class IntakeSummary:
    booking: Booking
    decision: RoutingDecision | None
    people: tuple[Person, ...]
    matches: tuple[matching.Match, ...]
    blocks: tuple[SelfBookingBlock, ...]
    shows_answers: bool


def open_booking(booking_id: str | uuid.UUID, viewer) -> Booking:
    """The booking, if this staff member may open its intakes (NotAllowed otherwise, also when unknown)."""
    try:
        booking_uuid = booking_id if isinstance(booking_id, uuid.UUID) else uuid.UUID(str(booking_id))
    except ValueError:
        raise NotAllowed() from None
    booking = db.session.scalar(select(Booking).where(Booking.id == booking_uuid).options(
        selectinload(Booking.participants).selectinload(Participant.client)))
    if booking is None or not may_open(viewer, booking):
        raise NotAllowed()
    return booking


def summary_for(booking_id: str | uuid.UUID, viewer, *, now: datetime) -> IntakeSummary:
    """A booking's intakes as this staff member may see them, with the views added to the audit log.

    The caller commits once the page is rendered and before sending it: no audit record, no page.
    """
    booking = open_booking(booking_id, viewer)
    decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking.id))
    intakes = {i.participant_id: i for i in db.session.scalars(
        select(Intake).where(Intake.participant_id.in_([p.id for p in booking.participants])))}
    shows_answers = may_see_answers(viewer, booking)
    people = []
    audit.record("intake.view_summary", record_type="booking", record_id=booking.id, actor=viewer)
    for participant in booking.participants:
        intake = intakes.get(participant.id)
        answers = None
        if shows_answers and intake is not None and intake.submitted_at is not None:
            answers = answer_sections(intake.answers or {}, intake.format, with_values=True)
            audit.record("intake.view_answers", record_type="intake", record_id=intake.id, actor=viewer,
                         detail={"role": participant.role})
        people.append(Person(participant.role, participant.client.name, intake.id if intake else None,
                             progress(intake), intake.submitted_at if intake else None, answers))
    matches: tuple = ()
    if decision is not None:
        client = booking.participant("client")
        matches = tuple(matching.matching_counselors(decision.final_track, [f["code"] for f in decision.flags],
                                                     state=client.client.state if client else None))
    summary = IntakeSummary(booking, decision, tuple(people), matches, tuple(active_blocks(booking)),
                            shows_answers)
    return summary


@dataclass(frozen=True)
class QueueRow:
    booking: Booking
    decision: RoutingDecision


def queue(viewer, *, limit: int = 200) -> list[QueueRow]:
    """Bookings with at least one intake in: urgent first, then the newest recommendation; a counselor sees
    their own bookings only. Loads the plain columns only (track, urgency, review): nothing is decrypted for the
    list. The reading is audited like any other: the caller commits (see summary_for)."""
    query = (select(RoutingDecision, Booking).join(Booking, Booking.id == RoutingDecision.booking_id)
             .options(load_only(RoutingDecision.booking_id, RoutingDecision.track, RoutingDecision.urgent,
                                RoutingDecision.partial, RoutingDecision.blocks_self_booking,
                                RoutingDecision.decided_at, RoutingDecision.accepted_at,
                                RoutingDecision.override_track),
                      selectinload(Booking.counselor), selectinload(Booking.service),
                      selectinload(Booking.participants).selectinload(Participant.client))
             .order_by(RoutingDecision.urgent.desc(), RoutingDecision.decided_at.desc()).limit(limit))
    if viewer.role == "counselor":
        query = query.where(Booking.counselor_id == viewer.counselor_id)
    rows = [QueueRow(booking, decision) for decision, booking in db.session.execute(query)]
    audit.record("intake.view_queue", record_type="booking", actor=viewer, detail={"rows": len(rows)})
    return rows
