"""Giving money back: by the cancellation policy when a booking is cancelled, and by staff (in full or in part,
with a reason, audited); then asking Stripe for it.

A refund is first a `Refund` row (pending), written in the transaction of its cause: a cancellation and its
refund are saved together, or neither is. After the commit it is sent to Stripe (practice.jobs: inline, a
thread or an RQ job by MAIL_DELIVERY's mode) and the worker's round ("send refunds") sends whatever is still
pending, so a lost thread only delays it.

Never twice: a sender first claims the row by raising its `attempts` from the number it read (one sender wins),
and asks Stripe with the idempotency key `refund-<id>`. A retry (attempts > 0: an earlier sender may have been
answered and then died) first looks for a refund at Stripe carrying this row's id in its metadata and adopts it.

A temporary failure (Stripe unreachable, rate-limited, its own error) leaves the row pending; it is tried again
2, 4, 8 ... minutes (at most an hour apart) after the previous try, counted from when it was saved, up to
MAX_ATTEMPTS. A refusal (an invalid request: the payment is gone, already refunded) fails it at once, with
Stripe's message, for staff to see on the booking's refund page. Stripe is told the booking's and the refund's
ids only: never a reason (staff write those) nor anything about the session.
"""
from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
from sqlalchemy import func, select, update

from practice.audit import service as audit
from practice.booking.models import Booking
from practice.core.cancellation import notice_text, refund_on_cancel
from practice.database import begin_write
from practice.extensions import db
from practice.jobs import AfterCommit
from practice.payments.models import Payment, PaymentStatus, Refund, RefundState
from practice.payments.policy import policy_of
from practice.payments.stripe_api import client, configured
from practice.web.filters import money

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # about seven hours of trying; then staff see it as failed
MAX_PER_ROUND = 200
REFUNDABLE = (PaymentStatus.succeeded, PaymentStatus.partially_refunded)
# Stripe's answers that mean it took the refund (a card refund may stay "pending" at Stripe for a while).
ACCEPTED = ("succeeded", "pending", "requires_action")
PERMANENT = (stripe.InvalidRequestError, stripe.CardError)

_SENDS = AfterCommit("refund", "practice.tasks.send_refund")  # the worker's "send refunds" round is their net


class RefundRefused(ValueError):
    """A staff refund that cannot be made; the message is for the person asking, `field` the form field."""

    def __init__(self, message: str, field: str = "amount"):
        super().__init__(message)
        self.field = field


def send_after_commit(refund: Refund) -> None:
    """Send this refund (added to the session, flushed) to Stripe once its transaction commits."""
    _SENDS.add(db.session, refund.id)


# --- refunds by the cancellation policy -------------------------------------------------------------------

def policy_amount(payment: Payment, booking: Booking, *, now: datetime) -> int:
    """What the payment's own cancellation policy gives back if the client cancels `booking` at `now`."""
    return refund_on_cancel(payment.amount, payment.amount - payment.refundable, starts_at=booking.starts_at,
                            now=now, policy=policy_of(payment))


def refund_for_cancellation(booking: Booking, *, now: datetime, choice=None, actor=None) -> Refund | None:
    """Inside the cancel's own transaction (booking_cancelled): a paid booking's refund by the practice's
    policy when its client cancelled, in full when the practice did. None when nothing is to be refunded.

    choice: staff's booking.staff.RefundChoice when staff cancelled ("policy": as if the client had cancelled;
    "full"; "amount": exactly that much, for its written reason, 0 included), made in the name of `actor`.
    An amount above what is left is refused (RefundRefused), which undoes the cancel with it."""
    payment = Payment.of_booking(booking.id, for_update=True)  # two refunds never both take what is left
    if payment is None or payment.status not in REFUNDABLE:
        if choice is not None and choice.how == "amount" and choice.amount:
            raise RefundRefused("This booking has no payment to refund, so only $0 can be chosen.")
        return None
    paid, left = payment.amount, payment.refundable
    by_policy = booking.cancelled_by == "client" if choice is None else choice.how == "policy"
    if by_policy:
        policy = policy_of(payment)  # what the client was promised when they paid
        amount = refund_on_cancel(paid, paid - left, starts_at=booking.starts_at, now=now, policy=policy)
        early = now <= booking.starts_at - policy.notice
        reason = (f"Cancelled by the client at least {notice_text(policy.notice)} ahead: refunded in full."
                  if early else f"Cancelled by the client less than {notice_text(policy.notice)} ahead: "
                                "refunded by the late-cancellation policy.")
        if choice is not None:  # staff chose the policy: the same rule, said as what happened
            reason = (f"Cancelled by staff at least {notice_text(policy.notice)} ahead; by the cancellation "
                      "policy, refunded in full." if early else
                      f"Cancelled by staff less than {notice_text(policy.notice)} ahead; refunded by the "
                      "late-cancellation policy, as if the client had cancelled.")
    elif choice is not None and choice.how == "amount":
        if choice.amount > left:
            raise RefundRefused(f"You can refund at most {money(left, payment.currency)}, what is left of this "
                                "payment once earlier refunds are taken off.")
        amount, reason = choice.amount, f"Cancelled by the practice; amount chosen by staff: {choice.reason.strip()}"
    else:
        amount, reason = left, "Cancelled by the practice: refunded in full."
    if amount <= 0:
        return None
    requested_by = booking.cancelled_by or "client"
    if actor is not None and hasattr(actor, "email"):
        requested_by = f"{actor.name} ({actor.email})"
    refund = Refund(payment=payment, amount=amount, kind="cancellation", reason=reason[:500],
                    requested_by=requested_by[:300], state=RefundState.pending, attempts=0, created_at=now)
    db.session.add(refund)
    db.session.flush()
    audit.record("payment.refund", record_type="booking", record_id=booking.id, actor=actor,
                 detail={"kind": "cancellation", "refund": refund.id, "amount": amount,
                         "currency": payment.currency})
    send_after_commit(refund)
    return refund


# --- refunds by staff -------------------------------------------------------------------------------------

def staff_refund(booking_id: uuid.UUID, *, amount: int | None, reason: str, actor, now: datetime,
                 request_key: str | None = None) -> Refund:
    """Refund `amount` (None: all that is left) of the booking's payment, for `reason`, and commit. Refuses
    (RefundRefused) no reason, nothing left, or more than is left. `request_key`: the form's one-time key; a
    request with a key already used returns the refund it made (a double click refunds once)."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused("Say why this refund is being made.", field="reason")
    if len(reason) > 500:
        raise RefundRefused("Keep the reason under 500 characters.", field="reason")
    begin_write(db.session)
    try:
        payment = Payment.of_booking(booking_id, for_update=True)
        if request_key:
            made = db.session.scalar(select(Refund).where(Refund.request_key == request_key))
            if made is not None and payment is not None and made.payment_id == payment.id:
                db.session.rollback()
                return made
        left = payment.refundable if payment is not None else 0
        if left == 0:
            raise RefundRefused("There is nothing left to refund on this payment.")
        amount = left if amount is None else amount
        if amount <= 0:
            raise RefundRefused("Enter an amount above $0.")
        if amount > left:
            raise RefundRefused(f"You can refund at most {money(left, payment.currency)}, what is left of this "
                                "payment once earlier refunds are taken off.")
        who = f"{actor.name} ({actor.email})" if hasattr(actor, "email") else str(actor)
        refund = Refund(payment=payment, amount=amount, kind="staff", reason=reason, requested_by=who[:300],
                        state=RefundState.pending, attempts=0, created_at=now, request_key=request_key or None)
        db.session.add(refund)
        db.session.flush()
        audit.record("payment.refund", record_type="booking", record_id=booking_id, actor=actor,
                     detail={"kind": "staff", "refund": refund.id, "amount": amount, "currency": payment.currency})
        send_after_commit(refund)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return refund


# --- sending to Stripe ------------------------------------------------------------------------------------

def next_try_at(created_at: datetime, attempts: int) -> datetime:
    """When a pending refund tried `attempts` times may be tried again: 2, 4, 8 ... minutes (at most an hour)
    after each try, counted from when it was saved (the row keeps no time of its last try)."""
    return created_at + sum((timedelta(minutes=min(2 ** n, 60)) for n in range(1, attempts + 1)), timedelta(0))


def _due(created_at: datetime, attempts: int, now: datetime) -> bool:
    # Never tried: at once, whatever this machine's clock says beside the one that saved it.
    return attempts == 0 or now >= next_try_at(created_at, attempts)


@dataclass(frozen=True)
class _Ask:
    refund_id: int
    amount: int
    payment_intent: str | None
    booking_id: uuid.UUID
    attempt: int  # this one's number, from 1


@contextmanager
def _transaction():
    """A short transaction of its own, apart from db.session (the caller's may be mid-commit: this runs right
    after it). On SQLite it takes the write lock first, so a read never has to be upgraded."""
    with db.session.session_factory(expire_on_commit=False) as session, session.begin():
        session.connection(execution_options={"sqlite_immediate": True})
        yield session


def send_refund(refund_id: int, *, now: datetime) -> bool:
    """Ask Stripe for this refund if it is pending and due, once however many senders try. True when Stripe
    took it."""
    if not configured():
        log.warning("refund %s waits: Stripe is not configured", refund_id)
        return False
    ask = _claim(refund_id, now=now)
    if ask is None:
        return False
    try:
        answer = _ask_stripe(ask)
    except stripe.StripeError as exc:
        _record_failure(ask, exc, now=now)
        return False
    status = getattr(answer, "status", None)
    if status not in ACCEPTED:
        _finish(ask, state=RefundState.failed, failure=f"Stripe did not make the refund (its status: {status}).",
                now=now)
        log.error("refund %s: Stripe answered %s", ask.refund_id, status)
        return False
    _record_success(ask, answer.id, now=now)
    return True


def send_due_refunds(*, now: datetime) -> int:
    """Worker job: send every pending refund whose time has come. Returns how many Stripe took."""
    if not configured():
        return 0
    rows = db.session.execute(select(Refund.id, Refund.created_at, Refund.attempts)
                              .where(Refund.state == RefundState.pending).order_by(Refund.id)
                              .limit(MAX_PER_ROUND)).all()
    db.session.rollback()  # nothing held open while Stripe is asked
    return sum(send_refund(row.id, now=now) for row in rows if _due(row.created_at, row.attempts, now))


def _claim(refund_id: int, *, now: datetime) -> _Ask | None:
    with _transaction() as session:
        row = session.execute(
            select(Refund.state, Refund.attempts, Refund.created_at, Refund.amount, Payment.stripe_payment_intent_id,
                   Payment.booking_id).join(Payment, Payment.id == Refund.payment_id).where(Refund.id == refund_id)
        ).one_or_none()
        if row is None or row.state != RefundState.pending or not _due(row.created_at, row.attempts, now):
            return None
        claimed = session.execute(
            update(Refund).where(Refund.id == refund_id, Refund.state == RefundState.pending,
                                 Refund.attempts == row.attempts)
            .values(attempts=row.attempts + 1).execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:  # another sender got there first
            return None
    return _Ask(refund_id=refund_id, amount=row.amount, payment_intent=row.stripe_payment_intent_id,
                booking_id=row.booking_id, attempt=row.attempts + 1)


def _ask_stripe(ask: _Ask):
    if not ask.payment_intent:
        raise stripe.InvalidRequestError("This payment has no Stripe PaymentIntent to refund.", param="payment_intent")
    stripe_client = client()
    if ask.attempt > 1:
        for earlier in stripe_client.v1.refunds.list(params={"payment_intent": ask.payment_intent,
                                                             "limit": 100}).auto_paging_iter():
            metadata = getattr(earlier, "metadata", None)
            if metadata is not None and "refund_id" in metadata and metadata["refund_id"] == str(ask.refund_id):
                return earlier
    return stripe_client.v1.refunds.create(
        params={"payment_intent": ask.payment_intent, "amount": ask.amount,
                "metadata": {"booking_id": str(ask.booking_id), "refund_id": str(ask.refund_id)}},
        options={"idempotency_key": f"refund-{ask.refund_id}"},
    )


def _record_success(ask: _Ask, stripe_refund_id: str, *, now: datetime) -> None:
    with _transaction() as session:
        refund = session.get(Refund, ask.refund_id, with_for_update=True, populate_existing=True)
        if refund.state != RefundState.pending:
            return
        refund.state, refund.stripe_refund_id = RefundState.succeeded, stripe_refund_id
        refund.completed_at, refund.failure = now, None
        payment = session.get(Payment, refund.payment_id, with_for_update=True, populate_existing=True)
        session.flush()
        # Our own sum: Stripe's charge.refunded (the webhook) may come before or after; note_refunded keeps the
        # larger, so the order does not matter.
        total = session.scalar(select(func.coalesce(func.sum(Refund.amount), 0))
                               .where(Refund.payment_id == payment.id, Refund.state == RefundState.succeeded))
        payment.note_refunded(int(total), now=now)
    log.info("refund %s: made at Stripe (%s)", ask.refund_id, stripe_refund_id)


def _record_failure(ask: _Ask, exc: stripe.StripeError, *, now: datetime) -> None:
    detail = f"{type(exc).__name__}: {exc.user_message or 'no message'}"[:300]
    if isinstance(exc, PERMANENT) or ask.attempt >= MAX_ATTEMPTS:
        _finish(ask, state=RefundState.failed, failure=detail, now=now)
        log.error("refund %s failed on attempt %s (%s)", ask.refund_id, ask.attempt, type(exc).__name__)
    else:
        _finish(ask, state=RefundState.pending, failure=detail, now=None)
        log.warning("refund %s not made on attempt %s (%s); it will be tried again", ask.refund_id, ask.attempt,
                    type(exc).__name__)


def _finish(ask: _Ask, *, state: RefundState, failure: str, now: datetime | None) -> None:
    with _transaction() as session:
        session.execute(update(Refund).where(Refund.id == ask.refund_id, Refund.state == RefundState.pending)
                        .values(state=state, failure=failure, completed_at=now)
                        .execution_options(synchronize_session=False))
