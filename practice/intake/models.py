"""Intakes (one per person on a booking), the routing decision of each booking, and self-booking blocks.

What is health information and how it is kept (INTAKE.md, principle 5):
- `Intake.answers` (the draft, then the submitted answers) and `RoutingDecision.flags`, `.reasons`, `.scores`
  and `.override_reason` are encrypted (EncryptedJSON / EncryptedText, keys from ENCRYPTION_KEYS, rotation
  by `flask --app app rotate-keys`). The database only ever sees ciphertext.
- Left plain, as the minimum the practice needs to run its queue in SQL: the decision's `track`, `urgent`,
  `partial`, `blocks_self_booking` and `rule` (ordering "urgent first", filtering, counting), an intake's
  `sections_done` (which pages of the questionnaire are finished: progress, not answers) and timestamps.
  `track` and `urgent` do say something (a safety review is recommended); they are shown only to staff, and
  the tables are reached only through the app, which audits every view.
- A self-booking block is keyed by email with a neutral reason code (`staff_review`): the booking service
  must find it without decrypting anything, and the code never names why.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.booking.models import Booking, Participant
from practice.clock import now
from practice.crypto import EncryptedJSON, EncryptedText
from practice.extensions import db

TRACKS = ("couples", "couples_with_individual", "discernment", "individual", "safety_review")
# A link works for LINK_DAYS after it is issued, and in any case until a day after the session (also when the
# session is moved later): long enough to answer at one's own pace, not forever.
LINK_DAYS = 30
AFTER_SESSION = timedelta(days=1)


class Intake(db.Model):
    """One person's private questionnaire for one booking, reached through a link of their own."""

    __tablename__ = "intake"
    __table_args__ = (CheckConstraint("format IN ('individual', 'couple')", name="format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("booking_participant.id", ondelete="CASCADE"),
                                                unique=True)
    # SHA-256 of the link's random 192-bit secret (practice.booking.tokens); re-issuing replaces it.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    format: Mapped[str] = mapped_column(String(16))  # the booking's format when the intake was issued
    answers: Mapped[dict] = mapped_column(EncryptedJSON, default=dict)  # draft, then the submitted answers
    sections_done: Mapped[list] = mapped_column(JSON, default=list)  # section ids, in questionnaire order
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    submitted_at: Mapped[datetime | None]

    participant: Mapped[Participant] = relationship()

    @property
    def booking(self) -> Booking:
        return self.participant.booking

    @property
    def role(self) -> str:
        return self.participant.role

    def link_expires_at(self) -> datetime:
        return max(self.expires_at, self.booking.ends_at + AFTER_SESSION)


class RoutingDecision(db.Model):
    """The engine's recommendation for a booking, from every intake submitted so far, and what staff decided.

    Partners are numbered by their place on the booking, whoever submitted first: partner index 0 ("partner 1"
    in reasons) is the client who booked, index 1 ("partner 2") the invited partner; a score list has `null`
    where that person's intake has not arrived.
    """

    __tablename__ = "routing_decision"
    __table_args__ = (
        CheckConstraint("track IN ('couples', 'couples_with_individual', 'discernment', 'individual', "
                        "'safety_review')", name="track"),
        CheckConstraint("override_track IS NULL OR override_track IN ('couples', 'couples_with_individual', "
                        "'discernment', 'individual', 'safety_review')", name="override_track"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("booking.id", ondelete="CASCADE"), unique=True)
    # Plain, for the queue (see the module's docstring).
    track: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    blocks_self_booking: Mapped[bool] = mapped_column(Boolean, default=False)
    rule: Mapped[str] = mapped_column(String(8))
    # Health information: encrypted.
    flags: Mapped[list] = mapped_column(EncryptedJSON)
    reasons: Mapped[list] = mapped_column(EncryptedJSON)
    scores: Mapped[dict] = mapped_column(EncryptedJSON)
    decided_at: Mapped[datetime] = mapped_column(index=True)
    # What staff made of it. A new recommendation (the partner's intake arrived) clears these: review again.
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="RESTRICT"))
    accepted_at: Mapped[datetime | None]
    override_track: Mapped[str | None] = mapped_column(String(32))
    override_reason: Mapped[str | None] = mapped_column(EncryptedText)
    # Front desk is done with it (decided, counselor settled): it leaves the queue's "to do" list. A new
    # recommendation clears it, like the decision.
    processed_at: Mapped[datetime | None]
    processed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="RESTRICT"))
    # Optimistic locking: every UPDATE checks and bumps it, so two staff acting on one intake from pages they
    # opened at the same version cannot both win; the second is shown what the first did (StaleDataError).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    booking: Mapped[Booking] = relationship()
    accepted_by = relationship("User", foreign_keys=[accepted_by_id])
    processed_by = relationship("User", foreign_keys=[processed_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def final_track(self) -> str:
        return self.override_track or self.track


class SelfBookingBlock(db.Model):
    """Online booking refused for an email until staff lift it (a suicide_acute intake: INTAKE.md, R0)."""

    __tablename__ = "self_booking_block"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  # lower-case, as Client.email
    reason: Mapped[str] = mapped_column(String(20), default="staff_review")  # neutral on purpose
    intake_id: Mapped[int | None] = mapped_column(ForeignKey("intake.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    lifted_at: Mapped[datetime | None]
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="RESTRICT"))
