"""Good-faith estimates (45 CFR 149.610): made for a self-pay client when a paid session is booked, and kept.

`issue_estimate` runs on booking_created (practice.reactions), inside the booking's own transaction: the
estimate is saved with the booking, or neither is. Its content is a snapshot made by practice.core.estimate,
so a later change of prices, codes or details does not alter what the client was given. The content names
the client's date of birth, which is kept nowhere else: it is encrypted (GoodFaithEstimate.content), and never
logged, audited or emailed.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from practice.audit import service as audit
from practice.auth.models import PracticeSettings
from practice.booking.models import Booking
from practice.core.estimate import (ClientFacts, CounselorFacts, EstimateFacts, PracticeFacts, ServiceFacts,
                                    build_estimate)
from practice.extensions import db
from practice.payments.models import GoodFaithEstimate


def needs_estimate(booking: Booking) -> bool:
    """A paid session whose client said they will pay themselves."""
    return booking.service.price > 0 and booking.uses_insurance is False


def issue_estimate(created, *, now: datetime) -> GoodFaithEstimate | None:
    """The good-faith estimate of a newly booked session, added to the booking's transaction; None when the
    booking needs none. `created` is booking's BookingCreated, whose request carries the date of birth."""
    booking = created.booking
    request = created.request
    if not needs_estimate(booking) or request is None or request.date_of_birth is None:
        return None
    client = booking.participant("client").client
    content = build_estimate(_facts(booking, client_name=client.name, date_of_birth=request.date_of_birth,
                                    now=now))
    estimate = GoodFaithEstimate(booking_id=booking.id, content=content, issued_at=now)
    db.session.add(estimate)
    audit.record("estimate.issue", record_type="booking", record_id=booking.id,
                 detail={"total": content["total"], "currency": content["currency"]})
    return estimate


def _facts(booking: Booking, *, client_name: str, date_of_birth, now: datetime) -> EstimateFacts:
    trial, counselor = booking.service, booking.counselor
    # The course a client would go on to: the counselor's regular sessions of the same kind (individual or
    # couple), priced in the same currency so that one total can be given.
    course = [s for s in counselor.active_services
              if s.id != trial.id and not s.is_trial and s.format == trial.format and s.currency == trial.currency]
    settings = PracticeSettings.current()
    zone = ZoneInfo(booking.client_timezone or counselor.timezone)
    return EstimateFacts(
        client=ClientFacts(name=client_name, date_of_birth=date_of_birth),
        trial=_service(trial, sessions=1),
        course=[_service(s, sessions=s.expected_sessions) for s in sorted(course, key=lambda s: (s.price, s.id))],
        currency=trial.currency,
        counselor=CounselorFacts(name=counselor.name, credentials=counselor.credentials or "",
                                 npi=counselor.npi or "", tin=""),
        practice=PracticeFacts(name=settings.practice_name, npi=settings.npi or "", tin=settings.tin or "",
                               address=settings.address or ""),
        session_on=booking.starts_at.astimezone(zone).date(),
        issued_on=now.astimezone(zone).date(),
    )


def _service(service, *, sessions: int) -> ServiceFacts:
    return ServiceFacts(code=service.service_code or "", name=service.name, price=service.price,
                        expected_sessions=max(1, sessions or 1))


def estimate_of(booking_id: uuid.UUID) -> GoodFaithEstimate | None:
    return db.session.scalar(select(GoodFaithEstimate).where(GoodFaithEstimate.booking_id == booking_id))


def open_estimate(booking_id: uuid.UUID, *, shown_as: str) -> GoodFaithEstimate | None:
    """A booking's estimate, about to be shown to its client ("page" or "pdf"); the showing is audited and
    committed, as it is health information. None (nothing written) when there is none."""
    estimate = estimate_of(booking_id)
    if estimate is None:
        return None
    audit.record("estimate.view", record_type="booking", record_id=booking_id, detail={"as": shown_as})
    db.session.commit()
    return estimate
