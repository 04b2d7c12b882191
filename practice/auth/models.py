"""Staff accounts, their server-side sessions, and practice-wide security settings."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.access import ROLES
from practice.clock import now
from practice.counselors.models import Counselor
from practice.crypto import EncryptedText
from practice.extensions import db

DEFAULT_PRACTICE_NAME = "Harbor Trust Counseling"
ROLE_LABELS = {"admin": "Admin", "frontdesk": "Front desk", "counselor": "Counselor"}


class User(db.Model):
    __tablename__ = "staff_user"
    __table_args__ = (
        # Spelled from ROLES; the migrations spell the same list out, so a new role needs a migration too.
        CheckConstraint("role IN ({})".format(", ".join(f"'{role}'" for role in ROLES)), name="role"),
        # A counselor account speaks for exactly one counselor profile; other roles for none.
        CheckConstraint("(role = 'counselor') = (counselor_id IS NOT NULL)", name="counselor_link"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    counselor_id: Mapped[int | None] = mapped_column(
        ForeignKey("counselor.id", ondelete="RESTRICT"), unique=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_login_at: Mapped[datetime | None] = mapped_column()

    counselor: Mapped[Counselor | None] = relationship()

    # Flask-Login: the id it keeps in the cookie is the staff session's token, set at login (see auth.service).
    session_token = None  # not a column
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    # Who works with whose sessions: the rules every staff page applies, here once.
    @property
    def in_office(self) -> bool:
        """Admins and the front desk, who work with every counselor's sessions and clients."""
        return self.role in ("admin", "frontdesk")

    def is_counselor_for(self, counselor_id: int | None) -> bool:
        return self.role == "counselor" and self.counselor_id is not None and self.counselor_id == counselor_id

    def office_or_counselor(self, counselor_id: int | None) -> bool:
        """That counselor's sessions, hours and intakes: the office, or the counselor themself."""
        return self.in_office or self.is_counselor_for(counselor_id)

    def admin_or_counselor(self, counselor_id: int | None) -> bool:
        """What is the counselor's own (their profile, calendars, their clients' answers): them, or an admin."""
        return self.role == "admin" or self.is_counselor_for(counselor_id)

    def may_edit_counselor(self, counselor: Counselor) -> bool:
        return self.admin_or_counselor(counselor.id)


class StaffSession(db.Model):
    """A signed-in browser. Only a hash of its token is stored; ending the row ends the session."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    ended_at: Mapped[datetime | None] = mapped_column()
    # Two-step verification done in this session (a password alone gives a session that can only finish it).
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=False)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


LATE_CANCEL_DEFAULTS = dict(npi="", tin="", address="", late_cancel_policy="fee_percent", late_cancel_fee=0,
                            late_cancel_percent=50)


class PracticeSettings(db.Model):
    """Practice-wide settings an admin changes in the app (one row)."""

    __tablename__ = "practice_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_name: Mapped[str] = mapped_column(String(120), default=DEFAULT_PRACTICE_NAME)
    require_two_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who the practice is, as a good-faith estimate must say.
    npi: Mapped[str] = mapped_column(String(10), default="")
    tin: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    # Cancelling later than CANCELLATION_NOTICE_HOURS before the session: "fee_none" (refunded in full all the
    # same), "fee_fixed" (late_cancel_fee is kept), "fee_percent" (late_cancel_percent of the price is kept) or
    # "no_refund". Earlier cancellations are always refunded in full.
    late_cancel_policy: Mapped[str] = mapped_column(String(20), default="fee_percent")
    late_cancel_fee: Mapped[int] = mapped_column(Integer, default=0)  # minor units
    late_cancel_percent: Mapped[int] = mapped_column(Integer, default=50)

    @classmethod
    def current(cls, session=None) -> PracticeSettings:
        """The saved settings, or the defaults when none were saved yet, read on `session` (db.session by
        default). Reading never writes."""
        return ((session or db.session).get(cls, 1)
                or cls(id=1, practice_name=DEFAULT_PRACTICE_NAME, require_two_factor=False, **LATE_CANCEL_DEFAULTS))

    @classmethod
    def for_update(cls) -> PracticeSettings:
        """The row to change, added to the session when it did not exist yet."""
        settings = db.session.get(cls, 1)
        if settings is None:
            settings = cls(id=1, practice_name=DEFAULT_PRACTICE_NAME, require_two_factor=False, **LATE_CANCEL_DEFAULTS)
            db.session.add(settings)
        return settings
