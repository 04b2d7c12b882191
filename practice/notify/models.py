"""The outbox: every email the practice sends, written in the transaction of the change that caused it.

A message moves pending -> sending (claimed by one deliverer, with a lease) -> sent, or back to pending with a
later next_attempt_at when the mail server fails for now, or to failed when it refuses for good or attempts run
out. A message is rendered when delivered, from its template and its encrypted context, which may hold signed
links (tokens): they live here encrypted and in the delivered message, never in logs.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from practice.clock import now
from practice.crypto import EncryptedJSON
from practice.extensions import db


class OutboxState(str, enum.Enum):
    pending = "pending"  # waiting for its next attempt (next_attempt_at)
    sending = "sending"  # claimed by one deliverer until claimed_until; after that it is due again
    sent = "sent"
    failed = "failed"  # refused for good by the server, or out of attempts: someone has to look


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("state <> 'sending' OR claimed_until IS NOT NULL", name="lease"),
        # The deliverers' question: what is due now? (pending by next attempt, or sending with a lapsed lease)
        Index("ix_outbox_message_due", "state", "next_attempt_at"),
        # Rendered when delivered (template and context), or, for rows queued before that, rendered bodies.
        CheckConstraint("(template IS NOT NULL AND context IS NOT NULL) "
                        "OR (subject IS NOT NULL AND text_body IS NOT NULL AND html_body IS NOT NULL)", name="content"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    kind: Mapped[str] = mapped_column(String(60), index=True)  # e.g. "booking_confirmed"; safe to log
    to_email: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    # templates/email/<template>.* and what it is rendered with, when the message is delivered (outbox.py). The
    # context carries the reader's signed links: encrypted, like everything else a token could be taken from.
    template: Mapped[str | None] = mapped_column(String(60))
    context: Mapped[dict | None] = mapped_column(EncryptedJSON)
    # Rendered bodies: only in rows queued before migration 0006.
    subject: Mapped[str | None] = mapped_column(String(300))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # Small files such as calendar invites, as outbox.load_attachment reads them: {"filename", "content_type",
    # "content_b64"}, or for an invite made when the message is delivered {"filename", "content_type", "calendar"}.
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[OutboxState] = mapped_column(
        Enum(OutboxState, name="outbox_state", native_enum=False, length=10, create_constraint=True,
             values_callable=lambda e: [m.value for m in e], validate_strings=True),
        default=OutboxState.pending,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # counted when claimed, so a crash counts too
    next_attempt_at: Mapped[datetime] = mapped_column(default=now)
    claimed_until: Mapped[datetime | None]  # the lease of the one deliverer sending it now
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))  # the server's reply or the exception; never a body
    # RFC 5322 Message-ID made when queued: a resend after a crash carries the same id, so mail systems and
    # clients can recognise the duplicate.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    # The same logical message is queued once: e.g. "booking_confirmed:<booking id>:<sequence>".
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    def __repr__(self) -> str:  # ids and kinds only: repr() ends up in logs and tracebacks
        return f"<OutboxMessage {self.id} {self.kind} {self.state.value if self.state else None}>"
