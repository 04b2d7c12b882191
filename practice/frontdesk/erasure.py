"""Deleting a client's record when the retention rule allows it (practice.core.retention; README,
RECORD_RETENTION_YEARS).

A person is every Client row with their email. Each domain erases its own rows (practice.booking.erasure,
practice.intake.erasure, practice.payments.erasure, practice.notify.erasure); this module checks the rule and
runs them in one transaction, with the audit record (`client.erase`, with the reason and the counts), so
either all of it happens or none. The audit log itself stays: its entries carry record ids, never a client's
name or email.
"""
from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import select

from practice.audit import service as audit
from practice.booking import erasure as booking_erasure
from practice.booking.models import LIVE_STATUSES, Booking, BookingStatus, Client, Participant
from practice.core.retention import BookingFacts, Verdict, may_erase
from practice.database import begin_write
from practice.extensions import db
from practice.intake import erasure as intake_erasure
from practice.notify import erasure as notify_erasure
from practice.payments import erasure as payments_erasure


class ErasureRefused(Exception):
    """The rule does not allow it (yet); str() says why, for the admin."""


def booking_facts(email: str, *, now: datetime) -> list[BookingFacts]:
    """Every booking of the person with this email, as the rule reads them."""
    rows = db.session.execute(
        select(Booking.status, Booking.starts_at, Booking.ends_at, Booking.hold_expires_at)
        .join(Participant, Participant.booking_id == Booking.id).join(Client, Client.id == Participant.client_id)
        .where(Client.email == email, Client.erased_at.is_(None))).all()
    return [BookingFacts(status=status.value, starts_at=starts, ends_at=ends,
                         live=status in LIVE_STATUSES and (status != BookingStatus.held
                                                           or (expires is not None and expires > now)))
            for status, starts, ends, expires in rows]


def verdict(email: str, *, now: datetime, years: int, zone: tzinfo) -> Verdict:
    return may_erase(booking_facts(email, now=now), now=now, years=years, zone=zone)


def erase_person(client: Client, *, reason: str, actor, now: datetime, years: int, zone: tzinfo) -> dict[str, int]:
    """Erase every record of the person `client` is one of, if the rule allows it now; commits. ErasureRefused
    (nothing written) when it does not. Returns the counts of what was erased or changed."""
    client_id, email = client.id, client.email
    begin_write(db.session)
    # Locked (PostgreSQL) and read again inside the transaction: two admins deleting at once, or a booking
    # confirmed meanwhile, are seen here.
    clients = db.session.scalars(select(Client).where(Client.email == email, Client.erased_at.is_(None))
                                 .with_for_update().execution_options(populate_existing=True)).all()
    if not email or not clients:
        db.session.rollback()
        raise ErasureRefused("This record has already been deleted.")
    decided = verdict(email, now=now, years=years, zone=zone)
    if not decided.allowed:
        db.session.rollback()
        raise ErasureRefused(decided.reason)
    ids = [c.id for c in clients]
    places = db.session.execute(select(Participant.id, Participant.booking_id, Participant.role)
                                .where(Participant.client_id.in_(ids))).all()
    counts: dict[str, int] = {}
    counts.update(intake_erasure.erase_intakes([p.id for p in places], [email]))
    counts.update(payments_erasure.erase_estimates([p.booking_id for p in places if p.role == "client"]))
    counts.update(notify_erasure.erase_messages([email]))
    counts.update(booking_erasure.erase_clients(ids, now=now))  # last: the steps above find the rows by email
    audit.record("client.erase", record_type="client", record_id=client_id, actor=actor,
                 detail={"reason": reason, "bookings": len({p.booking_id for p in places}), **counts})
    db.session.commit()
    return counts
