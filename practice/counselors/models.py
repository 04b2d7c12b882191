"""Counselors, their licenses, what they offer, and their services."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.clock import now
from practice.counselors.vocabulary import TAG_KINDS
from practice.database import Slug
from practice.extensions import db


class Counselor(db.Model):
    __tablename__ = "counselor"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[Slug] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(120))
    pronouns: Mapped[str] = mapped_column(String(40), default="")
    credentials: Mapped[str] = mapped_column(String(80), default="")  # e.g. "LMFT" or "PhD, LMFT"
    headline: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name; weekly hours are kept in this zone
    photo: Mapped[str | None] = mapped_column(String(80))  # file name under UPLOAD_DIR, chosen by us
    accepts_individual: Mapped[bool] = mapped_column(Boolean, default=True)
    accepts_couples: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    npi: Mapped[str] = mapped_column(String(10), default="")  # National Provider Identifier (good-faith estimates)
    # Where sessions happen, as invites say: a telehealth link, else the practice's address.
    telehealth_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    licenses: Mapped[list[License]] = relationship(
        back_populates="counselor", cascade="all, delete-orphan", order_by="License.state"
    )
    tags: Mapped[list[CounselorTag]] = relationship(
        back_populates="counselor", cascade="all, delete-orphan", order_by="CounselorTag.code"
    )
    services: Mapped[list[Service]] = relationship(
        back_populates="counselor", cascade="all, delete-orphan",
        order_by="(Service.is_trial.desc(), Service.format, Service.duration_minutes)",
    )

    def tag_codes(self, kind: str) -> list[str]:
        vocabulary = TAG_KINDS[kind]
        codes = {tag.code for tag in self.tags if tag.kind == kind}
        return [code for code in vocabulary if code in codes]  # vocabulary order, not insertion order

    @property
    def specialties(self) -> list[str]:
        return self.tag_codes("specialty")

    @property
    def modalities(self) -> list[str]:
        return self.tag_codes("modality")

    @property
    def languages(self) -> list[str]:
        return self.tag_codes("language")

    @property
    def formats(self) -> list[str]:
        return [f for f, ok in (("individual", self.accepts_individual), ("couple", self.accepts_couples)) if ok]

    @property
    def license_states(self) -> list[str]:
        return [lic.state for lic in self.licenses]

    @property
    def active_services(self) -> list[Service]:
        return [s for s in self.services if s.active and s.format in self.formats]

    def __repr__(self) -> str:
        return f"<Counselor {self.slug}>"


class License(db.Model):
    __tablename__ = "counselor_license"
    __table_args__ = (UniqueConstraint("counselor_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(2), index=True)  # USPS code
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20), default="")  # LMFT, LMHC, ... for this state

    counselor: Mapped[Counselor] = relationship(back_populates="licenses")


class CounselorTag(db.Model):
    """One specialty, modality or language of a counselor; a row each so filters are plain indexed SQL."""

    __tablename__ = "counselor_tag"
    __table_args__ = (CheckConstraint("kind IN ('specialty', 'modality', 'language')", name="kind"),)

    counselor_id: Mapped[int] = mapped_column(
        ForeignKey("counselor.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)

    counselor: Mapped[Counselor] = relationship(back_populates="tags")


class Service(db.Model):
    """Something a counselor can be booked for: a trial or regular session, individual or couple."""

    __tablename__ = "service"
    __table_args__ = (
        UniqueConstraint("counselor_id", "slug"),
        CheckConstraint("format IN ('individual', 'couple')", name="format"),
        CheckConstraint("duration_minutes BETWEEN 10 AND 240", name="duration"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 120", name="buffer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselor.id", ondelete="CASCADE"), index=True)
    slug: Mapped[Slug]
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(16))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer, default=0)  # minor units (cents)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    is_trial: Mapped[bool] = mapped_column(Boolean, default=False)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # For good-faith estimates: the billing code (CPT, e.g. 90791, 90834, 90847) and how many sessions of it a
    # usual course has (1 for a trial).
    service_code: Mapped[str] = mapped_column(String(10), default="")
    expected_sessions: Mapped[int] = mapped_column(Integer, default=1)

    counselor: Mapped[Counselor] = relationship(back_populates="services")

    @property
    def is_free(self) -> bool:
        return self.price == 0
