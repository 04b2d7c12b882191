"""Booking a session: a free start of a counselor's service, for one person or a couple.

book() checks the request, then, under the counselor's calendar lock (booking.guard), checks the start is
still offered and writes the booking with each person's client row and manage link, in one transaction.
Whatever other domains do about a new booking (intake links, confirmation emails) they do on
`booking_created`, in that same transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, bindparam, exists, select

from practice.audit import service as audit
from practice.booking.errors import BookingInvalid, SlotUnavailable
from practice.booking.guard import calendar_write, claim, lock_calendar
from practice.booking.models import Booking, BookingStatus, Client, ManageToken, Participant
from practice.booking.signals import booking_created, booking_requested
from practice.booking.tokens import hash_token, new_token
from practice.counselors.models import Counselor, License, Service
from practice.counselors.vocabulary import US_STATES
from practice.extensions import db
from practice.scheduling.models import SchedulingPolicy
from practice.scheduling.service import is_free

START_NEEDS_OFFSET = "Give the time with its UTC offset, e.g. 2026-12-07T10:00:00-05:00."


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
    # Asked for paid sessions only: whether the client will use insurance (None: not answered) and, when they
    # pay themselves, their date of birth, for the good-faith estimate. The booking keeps only the answer; the
    # date of birth reaches booking_created's receivers and is stored nowhere by booking.
    uses_insurance: bool | None = None
    date_of_birth: date | None = None


@dataclass
class BookingCreated:
    booking: Booking
    tokens: dict[str, str] = field(default_factory=dict)  # role -> plaintext manage token, shown once
    # role -> the person's private intake link, filled in on booking_created by whoever issues intakes.
    intake_urls: dict[str, str] = field(default_factory=dict)
    # What was asked for, for receivers that need more than the booking keeps (the good-faith estimate).
    request: BookingRequest | None = None


def book(req: BookingRequest, *, now: datetime) -> BookingCreated:
    """Book a free start, committed: the booking, each person's client row and manage link, the audit record,
    and whatever booking_created's receivers add (intake links, the confirmation of a free session)."""
    if req.start.tzinfo is None:
        raise BookingInvalid({"start": [START_NEEDS_OFFSET]})
    start = req.start.astimezone(timezone.utc)

    def work() -> BookingCreated:
        counselor, service, policy, licensed = _chosen(req)
        booking_requested.send(req)  # a receiver may refuse it (BookingInvalid)
        _check_rules(req, counselor, service, licensed=licensed, now=now)
        end = start + timedelta(minutes=service.duration_minutes)
        blocked_until = end + timedelta(minutes=service.buffer_minutes)
        lock_calendar(counselor.id)
        if not is_free(counselor, service, start, now=now, policy=policy):
            raise SlotUnavailable()
        claim(counselor.id, start, blocked_until, now=now)
        free = service.price == 0
        hold = timedelta(minutes=current_app.config["BOOKING_HOLD_MINUTES"])
        booking = Booking(
            id=uuid.uuid4(), counselor=counselor, service=service, starts_at=start, ends_at=end,
            blocked_until=blocked_until, client_timezone=req.timezone,
            status=BookingStatus.confirmed if free else BookingStatus.held,
            hold_expires_at=None if free else now + hold, confirmed_at=now if free else None,
            policies_accepted_at=now, ics_sequence=0, reschedule_count=0, created_at=now, updated_at=now,
            uses_insurance=None if free else req.uses_insurance,
        )
        tokens = {}
        for role, person in [("client", req.client)] + ([("partner", req.partner)] if req.partner else []):
            tokens[role] = new_token()
            booking.participants.append(Participant(
                role=role, client=_client(person, now=now),
                tokens=[ManageToken(token_hash=hash_token(tokens[role]), created_at=now)]))
        db.session.add(booking)
        created = BookingCreated(booking, tokens, request=req)
        booking_created.send(created, now=now)
        audit.record("booking.create", record_type="booking", record_id=booking.id,
                     detail={"status": booking.status.value, "service": service.slug})
        return created

    # The booking, its people, links and emails are answered from as written; the counselor, service and rules
    # as read under the calendar lock.
    return calendar_write(work, keep_loaded=True)


def _client(person: PersonIn, *, now: datetime) -> Client:
    return Client(name=person.name.strip(), email=person.email.strip().lower(), phone=(person.phone or "").strip(),
                  state=(person.state or "").upper() or None, created_at=now)


# Built once, like the guard's statements: making it (and its cache key) on every booking cost more than running it.
_CHOSEN = (
    select(Counselor, Service, SchedulingPolicy,
           exists().where(License.counselor_id == Counselor.id, License.state == bindparam("chosen_state"))
           .label("licensed"))
    .outerjoin(SchedulingPolicy, SchedulingPolicy.counselor_id == Counselor.id)
    .outerjoin(Service, and_(Service.counselor_id == Counselor.id, Service.slug == bindparam("chosen_service")))
    .where(Counselor.slug == bindparam("chosen_counselor"), Counselor.active)
)


def _chosen(req: BookingRequest) -> tuple[Counselor, Service, SchedulingPolicy | None, bool]:
    """The active counselor asked for, the service asked for, its booking rules (None: the defaults), and
    whether it is licensed in the client's state: one statement."""
    row = db.session.execute(_CHOSEN, {"chosen_counselor": req.counselor, "chosen_service": req.service,
                                       "chosen_state": (req.client.state or "").upper()}).first()
    if row is None:
        raise BookingInvalid({"counselor": ["There is no counselor with that name taking bookings."]})
    counselor, service, policy, is_licensed = row
    if service is None or not service.active or service.format not in counselor.formats:
        raise BookingInvalid({"service": [f"{counselor.name} doesn't offer that session. Choose one of: "
                                          f"{', '.join(s.slug for s in counselor.active_services)}."]})
    return counselor, service, policy, bool(is_licensed)


def licensed_alternatives(state: str, *, format: str) -> list[Counselor]:
    """Active counselors licensed in `state` who offer a trial of this format."""
    offers_format = select(Service.counselor_id).where(Service.format == format, Service.is_trial, Service.active)
    accepts = Counselor.accepts_couples if format == "couple" else Counselor.accepts_individual
    return list(db.session.scalars(
        select(Counselor).join(License)
        .where(License.state == state, Counselor.active, accepts, Counselor.id.in_(offers_format))
        .order_by(Counselor.name)
    ).unique())


def _check_rules(req: BookingRequest, counselor: Counselor, service: Service, *, licensed: bool,
                 now: datetime) -> None:
    errors: dict[str, list[str]] = {}
    alternatives: list[str] = []
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
    elif not licensed:
        others = [c for c in licensed_alternatives(state, format=service.format) if c.id != counselor.id]
        alternatives = [c.slug for c in others]
        names = ", ".join(c.name for c in others) or "none at the moment"
        errors["client.state"] = [f"{counselor.name} isn't licensed in {US_STATES[state]}, so they can't see you "
                                  f"there. Counselors licensed in {US_STATES[state]}: {names}."]
    if not req.accepted_policies:
        errors["accept_policies"] = ["Please read and accept the practice's policies to book."]
    if service.price > 0 and req.uses_insurance is False:
        problem = date_of_birth_problem(req.date_of_birth, today=now.date())
        if problem:
            errors["date_of_birth"] = [problem]
    if errors:
        raise BookingInvalid(errors, alternatives=alternatives)


OLDEST_AGE_YEARS = 120


def date_of_birth_problem(born: date | None, *, today: date) -> str | None:
    """Why a self-pay client's date of birth can't go on their good-faith estimate, or None."""
    if born is None:
        return ("Enter your date of birth. Because you're paying yourself, we give you a good-faith estimate of "
                "the costs, and it has to name your date of birth.")
    if born >= today:
        return "Enter your date of birth: it should be a date in the past."
    if born.year < today.year - OLDEST_AGE_YEARS:
        return "Check the year of your date of birth: it looks further back than it could be."
    return None
