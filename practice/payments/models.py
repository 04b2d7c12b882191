"""What the practice knows of money: a booking's payment, its refunds, the Stripe events already applied, and
the good-faith estimate given before paying.

Stripe is the source of truth for money; these rows are what the practice acted on. Only the webhook
(verified) marks a payment as succeeded. Nothing here names a condition or an answer: Stripe receives the
booking id and a neutral description only.
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Integer, String, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.booking.models import Booking
from practice.clock import now
from practice.crypto import EncryptedJSON, EncryptedText
from practice.extensions import db


class PaymentStatus(str, enum.Enum):
    awaiting = "awaiting"  # a PaymentIntent exists (or is being made); nothing has succeeded yet
    succeeded = "succeeded"
    failed = "failed"  # the last attempt was declined; the client may try again while the hold lasts
    refunded = "refunded"
    partially_refunded = "partially_refunded"


def _enum(cls, name):
    return Enum(cls, name=name, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class Payment(db.Model):
    """The one payment of a paid booking: its PaymentIntent at Stripe, and what happened to it."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refunded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("booking.id", ondelete="RESTRICT"), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Lets the browser confirm the PaymentIntent; kept encrypted like every secret the database holds.
    client_secret: Mapped[str | None] = mapped_column(EncryptedText)
    amount: Mapped[int] = mapped_column(Integer)  # minor units, as charged
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))
    amount_refunded: Mapped[int] = mapped_column(Integer, default=0)
    # The cancellation policy as it stood when the client chose to pay ({"notice_hours", "kind", "fee",
    # "percent"}): a later change of the practice's settings does not change what this client was promised.
    cancellation_policy: Mapped[dict | None] = mapped_column(JSON)
    # Stripe's words for the last decline ("Your card was declined."): shown to the client, nothing else.
    failure_message: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    succeeded_at: Mapped[datetime | None]

    booking: Mapped[Booking] = relationship()
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")

    @classmethod
    def of_booking(cls, booking_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
        """The booking's payment, if it has one. for_update: read afresh and locked until the transaction ends
        (PostgreSQL; on SQLite a writer already holds the database's write lock)."""
        query = select(cls).where(cls.booking_id == booking_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return db.session.scalar(query)

    @property
    def refundable(self) -> int:
        """What is left to give back: paid, less what was refunded or is being refunded."""
        if self.status not in (PaymentStatus.succeeded, PaymentStatus.partially_refunded):
            return 0
        pending = sum(r.amount for r in self.refunds if r.state == RefundState.pending)
        return max(0, self.amount - self.amount_refunded - pending)

    def note_refunded(self, total: int, *, now: datetime) -> None:
        """Stripe says `total` of this payment has been refunded in all (a refund's answer, or charge.refunded,
        in any order): never less than was known."""
        self.amount_refunded = min(self.amount, max(self.amount_refunded, total))
        if self.amount_refunded >= self.amount:
            self.status = PaymentStatus.refunded
        elif self.amount_refunded > 0:
            self.status = PaymentStatus.partially_refunded
        self.updated_at = now


class RefundState(str, enum.Enum):
    pending = "pending"  # saved with its cause; Stripe has not been asked yet (or the ask failed: retried)
    succeeded = "succeeded"
    failed = "failed"  # Stripe refused it for good: staff must look


class Refund(db.Model):
    """Money given back: by the cancellation policy, by staff (with a reason), or for a payment that came too
    late for a time already taken. Written in the transaction of its cause, then sent to Stripe after the commit
    with an idempotency key of its own id, so it is asked for once however often it is retried."""

    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("kind IN ('cancellation', 'staff', 'late_payment')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id", ondelete="RESTRICT"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(EncryptedText, default="")  # staff's words may name the person: encrypted
    requested_by: Mapped[str] = mapped_column(String(300))  # "client", "system", or a staff member
    state: Mapped[RefundState] = mapped_column(_enum(RefundState, "refund_state"), index=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str | None] = mapped_column(String(300))
    # A staff form's one-time key: the same form sent twice (a double click) makes one refund.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    completed_at: Mapped[datetime | None]

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class ProcessedStripeEvent(db.Model):
    """A Stripe event already applied: saved in the same transaction as its change, so a repeat does nothing."""

    __tablename__ = "processed_stripe_event"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # evt_...
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(default=now)


class GoodFaithEstimate(db.Model):
    """The good-faith estimate (45 CFR 149.610) given to a self-pay client before paying, as it was given:
    later changes of prices or details do not alter it. Its content names the client and their date of birth,
    so it is encrypted."""

    __tablename__ = "good_faith_estimate"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("booking.id", ondelete="CASCADE"), unique=True)
    content: Mapped[dict] = mapped_column(EncryptedJSON)
    issued_at: Mapped[datetime]

    booking: Mapped[Booking] = relationship()
