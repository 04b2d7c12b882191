"""Erasing a person from the email tables (practice.frontdesk.erasure).

Every outbox message to their address goes, whatever its state: its row holds the address, their name and
(encrypted) their links. A deliverer sending one at that moment finds nothing left to mark. Session reminder
rows (practice.calendar.models.SessionReminder) hold a booking id and a time only, so they stay. Runs in the
caller's transaction; the caller commits.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import delete, func

from practice.extensions import db
from practice.notify.models import OutboxMessage


def erase_messages(emails: Iterable[str]) -> dict[str, int]:
    """Delete the messages sent or waiting to be sent to these addresses. Returns the count."""
    addresses = sorted({e.strip().lower() for e in emails if e and e.strip()})
    if not addresses:
        return {"messages": 0}
    deleted = db.session.execute(delete(OutboxMessage).where(func.lower(OutboxMessage.to_email).in_(addresses))
                                 .execution_options(synchronize_session=False)).rowcount
    return {"messages": deleted}
