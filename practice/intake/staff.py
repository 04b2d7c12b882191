"""What staff see of a booking's intakes: the queue, the summary for everyone, the answers for a few.

Minimum necessary (INTAKE.md, principle 5): front desk gets the routing (track, urgency, flags, scores, reasons)
and each person's progress; the full answers are read only by admins and the booking's own counselor. Every
opening is audited, as `intake.view_summary` or, when answers are shown, `intake.view_answers` per intake.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from practice.audit import service as audit
from practice.booking.convert import sessions_from as converted_sessions
from practice.booking.models import Booking, Participant
from practice.extensions import db
from practice.intake import matching
from practice.intake.display import AnswerSection, answer_sections
from practice.intake.models import Intake, RoutingDecision, SelfBookingBlock
from practice.intake.service import ROLE_INDEX, Progress, active_blocks, progress


class NotAllowed(Exception):
    """This staff member may not open this booking's intakes (404 for them: no hint it exists)."""


def may_open(user, booking: Booking) -> bool:
    return user.office_or_counselor(booking.counselor_id)


def may_see_answers(user, booking: Booking) -> bool:
    """Clinical: the booking's counselor, or an admin; never the front desk."""
    return user.admin_or_counselor(booking.counselor_id)


def may_decide(user, booking: Booking) -> bool:
    return may_open(user, booking)


def may_lift_block(user) -> bool:
    return user.in_office


def may_manage(user) -> bool:
    """Mark done, assign a counselor, split a couple booking: front desk and admins (the routes say so too)."""
    return user.in_office


def convert_refusal(booking: Booking, decision: RoutingDecision | None, *, now: datetime) -> str | None:
    """Why this booking can't be split into individual sessions from its intake page, or None.

    Only a live couple booking whose intake points away from joint sessions (INTAKE.md: a safety review, R1's
    separate individual assessments, or individual therapy) is split this way."""
    from practice.booking.convert import convertible

    refused = convertible(booking, now=now)
    if refused:
        return refused
    if decision is None or decision.final_track not in ("safety_review", "individual"):
        return ("Only a couples booking whose intake points to a safety review or to individual therapy is "
                "split into individual sessions. If that is what's needed, override the recommendation first.")
    return None


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
    sessions: tuple[Booking, ...] = ()  # the individual sessions this couple booking was split into
    made_from: Booking | None = None  # the couple booking this session was split from


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
    matches = tuple(matches_for(booking, decision))
    made_from = db.session.get(Booking, booking.converted_from_id) if booking.converted_from_id else None
    summary = IntakeSummary(booking, decision, tuple(people), matches, tuple(active_blocks(booking)),
                            shows_answers, tuple(converted_sessions(booking.id)), made_from)
    return summary


def matches_for(booking: Booking, decision: RoutingDecision | None) -> list[matching.Match]:
    """The counselors who fit the booking's decision (those a booking may be given to), best first."""
    if decision is None:
        return []
    client = booking.participant("client")
    return matching.matching_counselors(decision.final_track, [f["code"] for f in decision.flags],
                                        state=client.client.state if client else None)


def individual_matches(booking: Booking, decision: RoutingDecision | None) -> dict[str, list[matching.Match]]:
    """For splitting a couple booking: per person (role), the counselors licensed in their state who see
    individuals, fitted to the decision's track and that person's own flags. A partner's state is not asked
    when booking, so the booker's stands in for it."""
    client = booking.participant("client")
    fallback = client.client.state if client else None
    track = decision.final_track if decision is not None and matching.TRACK_FORMAT[decision.final_track] == \
        "individual" else "individual"
    found = {}
    for participant in booking.participants:
        place = ROLE_INDEX[participant.role]
        codes = [f["code"] for f in (decision.flags if decision is not None else ()) if f.get("partner") == place]
        found[participant.role] = matching.matching_counselors(track, codes,
                                                               state=participant.client.state or fallback)
    return found


@dataclass(frozen=True)
class QueueFlag:
    code: str
    severity: str
    partner: int | None  # 0: the client who booked, 1: the invited partner, None: the couple


@dataclass(frozen=True)
class QueueRow:
    booking: Booking
    decision: RoutingDecision

    @property
    def flags(self) -> list[QueueFlag]:
        """Urgent first, then concerns, then the rest, each in the engine's order."""
        order = {"urgent": 0, "concern": 1, "info": 2}
        flags = [QueueFlag(f["code"], f.get("severity", "info"), f.get("partner")) for f in self.decision.flags or ()]
        return sorted(flags, key=lambda f: order.get(f.severity, 3))

    @property
    def processed(self) -> bool:
        return self.decision.processed_at is not None


QUEUE_SHOWS = ("todo", "processed", "all")


class QueueFilterInvalid(ValueError):
    """A `show` the queue doesn't know (422)."""


def queue(viewer, *, show: str = "todo", now: datetime, limit: int = 200) -> list[QueueRow]:
    """Bookings with at least one intake in: urgent first (a suicide or partner-violence flag), then by the
    session's date, soonest first, sessions already past after the upcoming ones (the latest first).

    `show`: "todo" (not yet marked done), "processed" or "all". A counselor sees their own bookings only.
    The decision's flags and reasons are decrypted for the list (front desk may see them); the reading is
    audited like any other: the caller commits (see summary_for)."""
    if show not in QUEUE_SHOWS:
        raise QueueFilterInvalid(show)
    past = case((Booking.starts_at < now, 1), else_=0)
    query = (select(RoutingDecision, Booking).join(Booking, Booking.id == RoutingDecision.booking_id)
             .options(selectinload(Booking.counselor), selectinload(Booking.service),
                      selectinload(Booking.participants).selectinload(Participant.client),
                      selectinload(RoutingDecision.accepted_by), selectinload(RoutingDecision.processed_by))
             .order_by(RoutingDecision.urgent.desc(), past,
                       case((Booking.starts_at >= now, Booking.starts_at)),
                       case((Booking.starts_at < now, Booking.starts_at)).desc(), RoutingDecision.id)
             .limit(limit))
    if show == "todo":
        query = query.where(RoutingDecision.processed_at.is_(None))
    elif show == "processed":
        query = query.where(RoutingDecision.processed_at.is_not(None))
    if viewer.role == "counselor":
        query = query.where(Booking.counselor_id == viewer.counselor_id)
    rows = [QueueRow(booking, decision) for decision, booking in db.session.execute(query)]
    audit.record("intake.view_queue", record_type="booking", actor=viewer, detail={"rows": len(rows), "show": show})
    return rows
