"""This practice's cancellation policy (its settings and CANCELLATION_NOTICE_HOURS) applied to a booking or a
price, and the helpers that let the booking pages say what it means before paying and on the manage page.

The rule itself is pure (practice.core.cancellation); this module only reads what it needs for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, current_app
from sqlalchemy import select

from practice import clock
from practice.auth.models import PracticeSettings
from practice.booking import display
from practice.booking.models import Booking
from practice.core.cancellation import CancellationPolicy, CancellationTerms, describe, explain, terms
from practice.extensions import db
from practice.payments.models import Payment, PaymentStatus, Refund
from practice.web.filters import money

# Only template helpers: it has no routes.
bp = Blueprint("payment_policy", __name__)

PAID = (PaymentStatus.succeeded, PaymentStatus.partially_refunded, PaymentStatus.refunded)


def practice_policy(settings: PracticeSettings | None = None) -> CancellationPolicy:
    settings = settings or PracticeSettings.current()
    return CancellationPolicy(notice=timedelta(hours=current_app.config["CANCELLATION_NOTICE_HOURS"]),
                              kind=settings.late_cancel_policy, fee=settings.late_cancel_fee,
                              percent=settings.late_cancel_percent)


def snapshot(policy: CancellationPolicy) -> dict:
    """The policy as kept with a payment (Payment.cancellation_policy)."""
    return {"notice_hours": policy.notice / timedelta(hours=1), "kind": policy.kind, "fee": policy.fee,
            "percent": policy.percent}


def policy_of(payment: Payment | None) -> CancellationPolicy:
    """The policy a payment was made under (what the client was shown before paying); the practice's current
    one for a payment made before policies were kept, or no payment yet."""
    kept = payment.cancellation_policy if payment is not None else None
    if not kept:
        return practice_policy()
    return CancellationPolicy(notice=timedelta(hours=kept["notice_hours"]), kind=kept["kind"], fee=kept["fee"],
                              percent=kept["percent"])


@dataclass(frozen=True)
class ShownTerms:
    """A booking's (or a price's) terms with the sentence that says them to the client."""
    terms: CancellationTerms
    currency: str
    text: str


def terms_for_price(price: int, currency: str, starts_at: datetime, zone: str, *,
                    now: datetime | None = None) -> ShownTerms | None:
    """Before booking: what cancelling will mean once this price is paid. None for a free session."""
    if price <= 0:
        return None
    return _shown(terms(price, 0, starts_at=starts_at, policy=practice_policy()), currency, zone, now=now)


def terms_for_booking(booking: Booking, zone: str, *, now: datetime | None = None) -> ShownTerms | None:
    """What cancelling this booking now or later gives back: from its payment when it has been paid (less
    what was refunded or is being refunded), else from its price. None for a free session, or when nothing is
    left to refund."""
    payment = Payment.of_booking(booking.id)
    if payment is not None and payment.status in PAID:
        paid, already, currency = payment.amount, payment.amount - payment.refundable, payment.currency
    else:
        paid, already, currency = booking.service.price, 0, booking.service.currency
    if paid <= 0:
        return None
    shown = _shown(terms(paid, already, starts_at=booking.starts_at, policy=policy_of(payment)), currency, zone,
                   now=now)
    return shown if shown.text else None


def _shown(t: CancellationTerms, currency: str, zone: str, *, now: datetime | None) -> ShownTerms:
    text = explain(t, now=now or clock.now(), money=lambda cents: money(cents, currency),
                   deadline=display.when(t.deadline, zone))
    return ShownTerms(terms=t, currency=currency, text=text)


def policy_text() -> str:
    """The practice's policy in general (the policies page)."""
    return describe(practice_policy(), money=money)


@dataclass(frozen=True)
class CancellationRefund:
    """What a cancelled booking's client is told about their money."""
    amount: int
    currency: str
    state: str  # pending (on its way), succeeded, failed (staff will see to it), none (the policy refunds nothing)


def refund_on_cancellation(booking: Booking) -> CancellationRefund | None:
    """The refund its cancellation started, or "none" when it was paid and the policy kept what was left; None
    when nothing was paid (or all of it was refunded before)."""
    payment = Payment.of_booking(booking.id)
    if payment is None or payment.status not in PAID:
        return None
    # A payment that arrived after its booking was cancelled is refunded in full by the webhook ("late_payment").
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == payment.id,
                                                    Refund.kind.in_(("cancellation", "late_payment")))
                               .order_by(Refund.id.desc()).limit(1))
    if refund is None:
        if payment.status == PaymentStatus.refunded:  # given back before the cancellation: nothing to say
            return None
        return CancellationRefund(amount=0, currency=payment.currency, state="none")
    return CancellationRefund(amount=refund.amount, currency=payment.currency, state=refund.state.value)


def refund_json(booking: Booking) -> dict | None:
    """The API's answer to a cancellation: {"refund": {"amount", "currency", "status"}} for a paid booking
    (status pending, succeeded, failed, or none when the policy refunds nothing), else None."""
    refund = refund_on_cancellation(booking)
    if refund is None:
        return None
    return {"refund": {"amount": refund.amount, "currency": refund.currency, "status": refund.state}}


@bp.app_context_processor
def _policy_helpers():
    return {"cancellation_terms_for_price": terms_for_price, "cancellation_terms_for_booking": terms_for_booking,
            "cancellation_policy_text": policy_text, "refund_on_cancellation": refund_on_cancellation}
