"""Erasing a person from the booking tables, when the retention rule allows it (practice.frontdesk.erasure).

The Client rows stay, so that each booking still has its people and its payment still adds up; what named the
person goes: the name becomes "Deleted client", email and phone are blanked, the state of residence is
forgotten and `erased_at` says when. Their manage links are deleted (a link can then open nothing), and so are
"resend my link" requests from their address. A reason for cancelling that they wrote themselves goes from the
bookings they made; reasons staff or the system wrote stay (they are the practice's notes, like a refund's).
Runs in the caller's transaction; the caller commits.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import delete, func, select, update

from practice.booking.models import Booking, Client, LinkRequest, ManageToken, Participant
from practice.extensions import db

ERASED_NAME = "Deleted client"


def erase_clients(client_ids: Iterable[int], *, now: datetime) -> dict[str, int]:
    """Blank these Client rows and end their links. Returns what was changed, as counts."""
    ids = sorted(set(client_ids))
    clients = db.session.scalars(select(Client).where(Client.id.in_(ids))).all() if ids else []
    emails = sorted({c.email.strip().lower() for c in clients if c.email})
    participant_ids = select(Participant.id).where(Participant.client_id.in_(ids))
    links = db.session.execute(delete(ManageToken).where(ManageToken.participant_id.in_(participant_ids))
                               .execution_options(synchronize_session=False)).rowcount if ids else 0
    requests = db.session.execute(delete(LinkRequest).where(func.lower(LinkRequest.email).in_(emails))
                                  .execution_options(synchronize_session=False)).rowcount if emails else 0
    reasons = db.session.execute(
        update(Booking).where(Booking.id.in_(select(Participant.booking_id).where(Participant.client_id.in_(ids),
                                                                                 Participant.role == "client")),
                              Booking.cancelled_by == "client", Booking.cancel_reason.is_not(None))
        .values(cancel_reason=None).execution_options(synchronize_session=False)).rowcount if ids else 0
    for client in clients:
        client.name, client.email, client.phone, client.state = ERASED_NAME, "", "", None
        client.erased_at = now
    db.session.flush()
    return {"client_records": len(clients), "manage_links": links, "link_requests": requests,
            "cancel_reasons": reasons}
