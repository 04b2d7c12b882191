"""Counselor use cases: the only writer of counselor, counselor_license, counselor_tag and service.

Every change is checked here (CounselorInvalid carries field errors for the form), written to the audit log with
the names of the fields that changed (never their values), and committed. A save that changes nothing writes
nothing, so running the demo seed twice leaves the database as it was.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from practice.audit import service as audit
from practice.core import provider_ids
from practice.counselors import photos
from practice.counselors.models import Counselor, CounselorTag, License, Service
from practice.counselors.vocabulary import CREDENTIALS, FORMATS, TAG_KINDS, US_STATES
from practice.extensions import db

SUPPORTED_CURRENCIES: dict[str, str] = {"USD": "US dollars", "CAD": "Canadian dollars", "EUR": "Euros",
                                        "GBP": "Pounds sterling"}
MAX_PRICE = 10_000_00  # minor units: no single session costs more than 10,000
EXPECTED_SESSIONS_RANGE = (1, 100)
DURATION_RANGE = (10, 240)  # minutes, as the database's check constraint
BUFFER_RANGE = (0, 120)
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 80


class CounselorInvalid(ValueError):
    """A change that breaks a rule: {field name: [messages for the person making it]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


# --- inputs ---------------------------------------------------------------------------------------------

@dataclass
class ProfileInput:
    name: str
    timezone: str
    pronouns: str = ""
    credentials: str = ""
    headline: str = ""
    bio: str = ""
    formats: Sequence[str] = ("individual", "couple")
    specialties: Sequence[str] = ()
    modalities: Sequence[str] = ()
    languages: Sequence[str] = ()
    active: bool | None = None  # None leaves it as it is (only admins change it)
    npi: str | None = None  # National Provider Identifier, for good-faith estimates; None leaves it as it is


@dataclass
class ServiceInput:
    name: str
    format: str
    duration_minutes: int
    price: int  # minor units
    currency: str = "USD"
    is_trial: bool = False
    buffer_minutes: int = 0
    active: bool = True
    description: str = ""
    slug: str = ""  # blank: made from the name. Fixed once created, so shared links keep working.
    # For good-faith estimates: the billing code (CPT or HCPCS, e.g. 90834) and how many sessions of it a usual
    # course has. None leaves them as they are (a new service: no code, one session).
    service_code: str | None = None
    expected_sessions: int | None = None


@dataclass
class _Errors:
    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def raise_any(self) -> None:
        if self.by_field:
            raise CounselorInvalid(self.by_field)


# --- money and names ------------------------------------------------------------------------------------

def parse_price(text: str) -> int:
    """'75', '75.00', '$1,200.50' -> minor units. ValueError with a message for anything else."""
    cleaned = (text or "").strip().replace(",", "").removeprefix("$").strip()
    if not cleaned:
        raise ValueError("Enter a price, or 0 for a free session.")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("Enter the price as a number, like 75 or 75.00.") from None
    if not amount.is_finite():
        raise ValueError("Enter the price as a number, like 75 or 75.00.")
    if amount < 0:
        raise ValueError("The price can't be negative. Use 0 for a free session.")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("Use at most two decimal places, like 75.50.")
    minor = int(amount * 100)
    if minor > MAX_PRICE:
        raise ValueError(f"The price can be at most {MAX_PRICE // 100:,}.")
    return minor


def price_as_text(minor: int) -> str:
    """Minor units as a form shows them: 7500 -> '75.00'."""
    return f"{minor // 100}.{minor % 100:02d}"


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def _unique_slug(base: str, taken: set[str]) -> str:
    base = base or "counselor"
    slug, n = base, 2
    while slug in taken:
        suffix = f"-{n}"
        slug, n = base[:SLUG_MAX - len(suffix)] + suffix, n + 1
    return slug


# --- profiles -------------------------------------------------------------------------------------------

def _clean_profile(data: ProfileInput) -> dict:
    errors = _Errors()
    clean = {
        "name": " ".join(data.name.split()),
        "pronouns": data.pronouns.strip(),
        "credentials": data.credentials.strip(),
        "headline": data.headline.strip(),
        "bio": data.bio.replace("\r\n", "\n").strip(),
        "timezone": data.timezone.strip(),
    }
    for name, limit in (("name", 120), ("pronouns", 40), ("credentials", 80), ("headline", 200), ("bio", 5000)):
        if len(clean[name]) > limit:
            errors.add(name, f"Use at most {limit} characters.")
    if not clean["name"]:
        errors.add("name", "Enter the counselor's name.")
    try:
        ZoneInfo(clean["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        errors.add("timezone", "Choose a time zone from the list.")
    formats = list(dict.fromkeys(data.formats))
    if not formats:
        errors.add("formats", "Choose at least one: individuals, couples or both.")
    for code in formats:
        if code not in FORMATS:
            errors.add("formats", f"Unknown format '{code}'.")
    clean["accepts_individual"] = "individual" in formats
    clean["accepts_couples"] = "couple" in formats
    for kind, given in (("specialty", data.specialties), ("modality", data.modalities),
                        ("language", data.languages)):
        unknown = [code for code in given if code not in TAG_KINDS[kind]]
        if unknown:
            errors.add(_TAG_FIELDS[kind], f"Unknown {kind}: {', '.join(unknown)}.")
        clean[_TAG_FIELDS[kind]] = [code for code in TAG_KINDS[kind] if code in set(given)]
    if not clean["languages"]:
        errors.add("languages", "Choose at least one language sessions can be held in.")
    if data.active is not None:
        clean["active"] = bool(data.active)
    if data.npi is not None:
        try:
            clean["npi"] = provider_ids.parse_npi(data.npi)
        except ValueError as exc:
            errors.add("npi", str(exc))
    errors.raise_any()
    return clean


_TAG_FIELDS = {"specialty": "specialties", "modality": "modalities", "language": "languages"}
_PLAIN_FIELDS = ("name", "pronouns", "credentials", "headline", "bio", "timezone", "accepts_individual",
                 "accepts_couples", "active", "npi")


def _apply_profile(counselor: Counselor, clean: dict) -> set[str]:
    changed = set()
    for name in _PLAIN_FIELDS:
        if name in clean and getattr(counselor, name) != clean[name]:
            setattr(counselor, name, clean[name])
            changed.add(name)
    for kind, name in _TAG_FIELDS.items():
        if counselor.tag_codes(kind) != clean[name]:
            _sync_tags(counselor, kind, clean[name])
            changed.add(name)
    return changed


def _sync_tags(counselor: Counselor, kind: str, codes: list[str]) -> None:
    # Rows that stay are kept as they are: deleting and re-adding the same key in one flush is asking for trouble.
    wanted = set(codes)
    have = {t.code for t in counselor.tags if t.kind == kind}
    counselor.tags = ([t for t in counselor.tags if t.kind != kind or t.code in wanted]
                      + [CounselorTag(kind=kind, code=code) for code in codes if code not in have])


def create_counselor(data: ProfileInput, *, actor, slug: str | None = None) -> Counselor:
    """A new profile; the slug comes from the name (made unique) unless one is given."""
    clean = _clean_profile(data)
    taken = set(db.session.scalars(select(Counselor.slug)))
    if slug is not None:
        if not SLUG_PATTERN.fullmatch(slug) or len(slug) > SLUG_MAX:
            raise CounselorInvalid({"slug": ["Use lower-case letters, digits and single hyphens."]})
        if slug in taken:
            raise CounselorInvalid({"slug": ["Another counselor already uses this address."]})
    else:
        slug = _unique_slug(slugify(clean["name"]), taken)
    counselor = Counselor(slug=slug, name=clean["name"], timezone=clean["timezone"],
                          active=clean.get("active", True))
    db.session.add(counselor)
    _apply_profile(counselor, clean)
    db.session.flush()
    audit.record("counselor.create", record_type="counselor", record_id=counselor.id,
                 detail={"changed": sorted(set(clean) | {"slug"})}, actor=actor)
    _commit({"name": ["Another counselor was just saved with this address. Try again."]})
    return counselor


def update_profile(counselor: Counselor, data: ProfileInput, *, actor) -> set[str]:
    """Save a profile; returns the names of the fields that changed (empty: nothing was written)."""
    clean = _clean_profile(data)
    changed = _apply_profile(counselor, clean)
    if changed:
        audit.record("counselor.update", record_type="counselor", record_id=counselor.id,
                     detail={"changed": sorted(changed)}, actor=actor)
        _commit()
    return changed


# --- licenses -------------------------------------------------------------------------------------------

def put_license(counselor: Counselor, *, state: str, number: str, kind: str = "", actor) -> bool:
    """Add the license for a state, or correct it when one is already there. True when something changed."""
    state, number, kind = state.strip().upper(), number.strip(), kind.strip()
    errors = _Errors()
    if state not in US_STATES:
        errors.add("state", "Choose a state from the list.")
    if not number:
        errors.add("number", "Enter the license number.")
    elif len(number) > 40:
        errors.add("number", "Use at most 40 characters.")
    if kind and kind not in CREDENTIALS:
        errors.add("kind", "Choose a license type from the list.")
    errors.raise_any()
    existing = next((lic for lic in counselor.licenses if lic.state == state), None)
    if existing is None:
        existing = License(state=state, number=number, kind=kind)
        counselor.licenses.append(existing)
        changed = {"state", "number", "kind"}
        action = "counselor.license_add"
    else:
        changed = {name for name, value in (("number", number), ("kind", kind)) if getattr(existing, name) != value}
        existing.number, existing.kind = number, kind
        action = "counselor.license_update"
    if not changed:
        return False
    db.session.flush()
    audit.record(action, record_type="counselor", record_id=counselor.id,
                 detail={"license_id": existing.id, "changed": sorted(changed)}, actor=actor)
    _commit({"state": ["This license was just changed by someone else. Reload and try again."]})
    return True


def remove_license(counselor: Counselor, license_id: int, *, actor) -> License | None:
    """Remove one of this counselor's licenses; None when it isn't theirs (or is already gone)."""
    found = next((lic for lic in counselor.licenses if lic.id == license_id), None)
    if found is None:
        return None
    counselor.licenses.remove(found)
    audit.record("counselor.license_remove", record_type="counselor", record_id=counselor.id,
                 detail={"license_id": license_id, "changed": ["licenses"]}, actor=actor)
    _commit()
    return found


# --- photo ----------------------------------------------------------------------------------------------

def set_photo(counselor: Counselor, upload: IO[bytes], *, actor) -> str:
    """Check and store a new photo, then drop the old file. Returns the stored name."""
    try:
        name = photos.store(photos.read_upload(upload, max_bytes=photos.max_bytes()))
    except photos.PhotoInvalid as exc:
        raise CounselorInvalid({"photo": [str(exc)]}) from None
    old = counselor.photo
    counselor.photo = name
    audit.record("counselor.photo_update", record_type="counselor", record_id=counselor.id,
                 detail={"changed": ["photo"]}, actor=actor)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        photos.delete(name)
        raise
    photos.delete(old)
    return name


def remove_photo(counselor: Counselor, *, actor) -> bool:
    old = counselor.photo
    if old is None:
        return False
    counselor.photo = None
    audit.record("counselor.photo_remove", record_type="counselor", record_id=counselor.id,
                 detail={"changed": ["photo"]}, actor=actor)
    _commit()
    photos.delete(old)
    return True


# --- services -------------------------------------------------------------------------------------------

_SERVICE_FIELDS = ("name", "description", "format", "duration_minutes", "price", "currency", "is_trial",
                   "buffer_minutes", "active", "service_code", "expected_sessions")


def _clean_service(counselor: Counselor, data: ServiceInput, *, editing: Service | None) -> dict:
    errors = _Errors()
    clean = {
        "name": " ".join(data.name.split()),
        "description": data.description.replace("\r\n", "\n").strip(),
        "format": data.format,
        "duration_minutes": data.duration_minutes,
        "price": data.price,
        "currency": (data.currency or "USD").strip().upper(),
        "is_trial": bool(data.is_trial),
        "buffer_minutes": data.buffer_minutes,
        "active": bool(data.active),
        "service_code": getattr(editing, "service_code", "") if data.service_code is None else data.service_code,
        "expected_sessions": (getattr(editing, "expected_sessions", 1) if data.expected_sessions is None
                              else data.expected_sessions),
    }
    try:
        clean["service_code"] = provider_ids.parse_service_code(clean["service_code"])
    except ValueError as exc:
        errors.add("service_code", str(exc))
    low, high = EXPECTED_SESSIONS_RANGE
    if not isinstance(clean["expected_sessions"], int) or not low <= clean["expected_sessions"] <= high:
        errors.add("expected_sessions", f"Choose a number of sessions from {low} to {high}.")
    if not clean["name"]:
        errors.add("name", "Enter a name for the service.")
    elif len(clean["name"]) > 120:
        errors.add("name", "Use at most 120 characters.")
    if len(clean["description"]) > 2000:
        errors.add("description", "Use at most 2000 characters.")
    if clean["format"] not in FORMATS:
        errors.add("format", "Choose individual or couple.")
    elif clean["active"] and clean["format"] not in counselor.formats:
        who = "individuals" if clean["format"] == "individual" else "couples"
        errors.add("format", f"This counselor's profile doesn't offer sessions for {who}. Turn that on in the "
                             "profile first.")
    low, high = DURATION_RANGE
    if not isinstance(clean["duration_minutes"], int) or not low <= clean["duration_minutes"] <= high:
        errors.add("duration_minutes", f"Choose a length from {low} to {high} minutes.")
    if not isinstance(clean["price"], int) or not 0 <= clean["price"] <= MAX_PRICE:
        errors.add("price", f"Enter a price from 0 to {MAX_PRICE // 100:,}.")
    if clean["currency"] not in SUPPORTED_CURRENCIES:
        errors.add("currency", f"Choose one of: {', '.join(SUPPORTED_CURRENCIES)}.")
    low, high = BUFFER_RANGE
    if not isinstance(clean["buffer_minutes"], int) or not low <= clean["buffer_minutes"] <= high:
        errors.add("buffer_minutes", f"Choose a buffer from {low} to {high} minutes.")
    if clean["is_trial"] and clean["active"] and clean["format"] in FORMATS:
        # One trial per format, so a client booking "a trial as a couple" never has to choose between two.
        other = next((s for s in counselor.services if s.is_trial and s.active and s.format == clean["format"]
                      and s is not editing), None)
        if other is not None:
            errors.add("is_trial", f"“{other.name}” is already the active {FORMATS[clean['format']].lower()} "
                                   "trial. Turn it off or make this one a regular session.")
    if editing is None:
        slug = (data.slug or "").strip().lower()
        taken = {s.slug for s in counselor.services}
        if slug:
            if not SLUG_PATTERN.fullmatch(slug) or len(slug) > SLUG_MAX:
                errors.add("slug", "Use lower-case letters, digits and single hyphens.")
            elif slug in taken:
                errors.add("slug", "This counselor already has a service with this address.")
        else:
            slug = _unique_slug(slugify(clean["name"]) or "session", taken)
        clean["slug"] = slug
    errors.raise_any()
    return clean


def create_service(counselor: Counselor, data: ServiceInput, *, actor) -> Service:
    clean = _clean_service(counselor, data, editing=None)
    service = Service(**clean)
    counselor.services.append(service)
    db.session.flush()
    audit.record("service.create", record_type="service", record_id=service.id,
                 detail={"counselor_id": counselor.id, "changed": sorted(clean)}, actor=actor)
    _commit({"slug": ["This counselor already has a service with this address."]})
    return service


def update_service(service: Service, data: ServiceInput, *, actor) -> set[str]:
    """Save a service; returns the names of the fields that changed (empty: nothing was written)."""
    clean = _clean_service(service.counselor, data, editing=service)
    changed = {name for name in _SERVICE_FIELDS if getattr(service, name) != clean[name]}
    if not changed:
        return changed
    for name in changed:
        setattr(service, name, clean[name])
    audit.record("service.update", record_type="service", record_id=service.id,
                 detail={"counselor_id": service.counselor_id, "changed": sorted(changed)}, actor=actor)
    _commit()
    return changed


# --- committing -----------------------------------------------------------------------------------------

def _commit(on_conflict: dict[str, list[str]] | None = None) -> None:
    """Commit; a unique key taken by a concurrent save becomes a field error instead of a 500."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if on_conflict is None:
            raise
        raise CounselorInvalid(on_conflict) from None
