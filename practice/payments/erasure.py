"""Erasing a person from the payment tables (practice.frontdesk.erasure).

Good-faith estimates name the client who booked and their date of birth: deleted. Payments and refunds stay
for the accounts (Stripe keeps its own records of them, and the books must add up); they hold amounts, states
and Stripe's ids, nothing that names the person. Runs in the caller's transaction; the caller commits.
"""
from __future__ import annotations

import uuid
from typing import Iterable

from sqlalchemy import delete

from practice.extensions import db
from practice.payments.models import GoodFaithEstimate


def erase_estimates(booked_ids: Iterable[uuid.UUID]) -> dict[str, int]:
    """Delete the estimates of these bookings (the ones the person booked). Returns the count."""
    ids = sorted(set(booked_ids))
    if not ids:
        return {"estimates": 0}
    deleted = db.session.execute(delete(GoodFaithEstimate).where(GoodFaithEstimate.booking_id.in_(ids))
                                 .execution_options(synchronize_session=False)).rowcount
    return {"estimates": deleted}
