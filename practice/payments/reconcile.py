"""Reconciliation with Stripe (`flask --app app payments reconcile --days N`): both sides of the last N days,
gathered for practice.core.reconciliation to compare.

Stripe's side: the PaymentIntents created since then (`created[gte]`), with their charges' refunded amounts.
The practice's side: payment rows made or paid since then, and the rows of every intent or booking Stripe
names. A row marked paid whose intent is not in Stripe's list (made just before the period, say) is looked up
at Stripe one by one, so only an intent Stripe really does not have is reported as not found.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
from sqlalchemy import or_, select

from practice.core.reconciliation import PAID_HERE, AtStripe, Difference, Here, differences
from practice.extensions import db
from practice.payments.models import Payment
from practice.payments.stripe_api import client


@dataclass(frozen=True)
class Reconciliation:
    since: datetime
    intents: int  # at Stripe, created in the period
    payments: int  # rows here that were compared
    differences: list[Difference]


def reconcile(*, days: int, now: datetime) -> Reconciliation:
    """Compare the last `days` days. Raises PaymentsUnavailable without keys, stripe.StripeError when Stripe
    can't be asked."""
    if days < 1:
        raise ValueError("days must be 1 or more")
    since = now - timedelta(days=days)
    stripe_client = client()
    listed = [_at_stripe(intent, stripe_client) for intent in stripe_client.v1.payment_intents.list(
        params={"created": {"gte": int(since.timestamp())}, "limit": 100, "expand": ["data.latest_charge"]},
    ).auto_paging_iter()]
    rows = _rows_for(since, listed)
    listed_ids = {s.intent_id for s in listed}
    looked_up = [found for row in rows if row.status in PAID_HERE and row.intent_id
                 and row.intent_id not in listed_ids
                 and (found := _look_up(row.intent_id, stripe_client)) is not None]
    return Reconciliation(since=since, intents=len(listed), payments=len(rows),
                          differences=differences(listed + looked_up, rows))


def _rows_for(since: datetime, listed: list[AtStripe]) -> list[Here]:
    intent_ids = [s.intent_id for s in listed]
    booking_ids = [parsed for s in listed if (parsed := _uuid(s.booking_id)) is not None]
    found = db.session.scalars(select(Payment).where(or_(
        Payment.created_at >= since, Payment.succeeded_at >= since,
        Payment.stripe_payment_intent_id.in_(intent_ids), Payment.booking_id.in_(booking_ids),
    )).order_by(Payment.id)).all()
    return [Here(intent_id=p.stripe_payment_intent_id, booking_id=str(p.booking_id), status=p.status.value,
                 amount=p.amount, currency=p.currency, amount_refunded=p.amount_refunded) for p in found]


def _look_up(intent_id: str, stripe_client: stripe.StripeClient) -> AtStripe | None:
    try:
        intent = stripe_client.v1.payment_intents.retrieve(intent_id, params={"expand": ["latest_charge"]})
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None  # Stripe has no such intent: reported as "extra"
        raise
    return _at_stripe(intent, stripe_client)


def _at_stripe(intent, stripe_client: stripe.StripeClient) -> AtStripe:
    metadata = getattr(intent, "metadata", None)
    booking_id = metadata["booking_id"] if metadata is not None and "booking_id" in metadata else None
    return AtStripe(intent_id=intent.id, status=intent.status, amount=int(intent.amount),
                    currency=str(intent.currency), amount_refunded=_refunded(intent, stripe_client),
                    booking_id=booking_id)


def _refunded(intent, stripe_client: stripe.StripeClient) -> int:
    charge = getattr(intent, "latest_charge", None)
    if charge is None:
        return 0
    if isinstance(charge, str):  # not expanded: ask for the charge itself
        charge = stripe_client.v1.charges.retrieve(charge)
    return int(getattr(charge, "amount_refunded", 0) or 0)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
