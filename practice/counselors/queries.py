"""Reading counselors: the directory's filters and the lookups pages and the API share.

Each listing is one SELECT for the counselors plus one per related collection (selectinload), however many
counselors match: no query per counselor.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from practice.counselors.models import Counselor, CounselorTag, License, Service
from practice.counselors.vocabulary import FORMATS, LANGUAGES, MODALITIES, SPECIALTIES, US_STATES
from practice.extensions import db

# Filter name (as in URLs and the API) -> the vocabulary its value comes from. One place for both.
FILTERS: dict[str, dict[str, str]] = {
    "specialty": SPECIALTIES,
    "modality": MODALITIES,
    "format": FORMATS,
    "state": US_STATES,
    "language": LANGUAGES,
}

UNKNOWN_VALUE = "Unknown {name} '{value}'. Choose one of: {choices}."
ONE_VALUE = "Give one {name} at a time."
EMPTY_VALUE = "Give a {name}, or leave the parameter out to list counselors of any {name}."


@dataclass(frozen=True)
class DirectoryFilters:
    """What a visitor narrowed the directory to; None means "any"."""

    specialty: str | None = None
    modality: str | None = None
    format: str | None = None
    state: str | None = None
    language: str | None = None

    def active(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def __bool__(self) -> bool:
        return bool(self.active())


def parse_filters(args: Mapping, *, lenient: bool = True) -> tuple[DirectoryFilters, dict[str, list[str]]]:
    """Filters from query parameters (a MultiDict or a plain mapping), and errors for values we don't know.

    When `lenient` (the directory's page), empty values mean "any", as its GET form sends them for
    untouched selects, and values are forgiven their spaces and letter case. The API (lenient=False)
    takes only the values its document lists: an empty value is reported, and a code must be exact. States
    are matched in any case on both, as the document says. A filter whose value is unknown is left out and
    reported, so the caller chooses: the page still lists, the API answers 422.
    """
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, vocabulary in FILTERS.items():
        given = args.getlist(name) if hasattr(args, "getlist") else [args[name]] if name in args else []
        given = [v or "" for v in given]
        if lenient:
            given = [v.strip() for v in given if v.strip()]
        elif any(not v.strip() for v in given):
            errors[name] = [EMPTY_VALUE.format(name=name)]
            continue
        if not given:
            continue
        if len(set(given)) > 1:
            errors[name] = [ONE_VALUE.format(name=name)]
            continue
        value = given[0].upper() if name == "state" else given[0].lower() if lenient else given[0]
        if value not in vocabulary:
            errors[name] = [UNKNOWN_VALUE.format(name=name, value=given[0][:60], choices=", ".join(vocabulary))]
            continue
        values[name] = value
    return DirectoryFilters(**values), errors


def _with_profile() -> tuple:
    """Everything a card, a profile or the API shows, loaded in one query per collection."""
    return (selectinload(Counselor.licenses), selectinload(Counselor.tags), selectinload(Counselor.services))


def _tag(kind: str, code: str):
    return Counselor.tags.any((CounselorTag.kind == kind) & (CounselorTag.code == code))


def directory_query(filters: DirectoryFilters) -> Select:
    query = select(Counselor).where(Counselor.active).options(*_with_profile()).order_by(Counselor.name, Counselor.id)
    if filters.specialty:
        query = query.where(_tag("specialty", filters.specialty))
    if filters.modality:
        query = query.where(_tag("modality", filters.modality))
    if filters.language:
        query = query.where(_tag("language", filters.language))
    if filters.state:
        query = query.where(Counselor.licenses.any(License.state == filters.state))
    if filters.format == "individual":
        query = query.where(Counselor.accepts_individual)
    elif filters.format == "couple":
        query = query.where(Counselor.accepts_couples)
    return query


def directory(filters: DirectoryFilters = DirectoryFilters()) -> list[Counselor]:
    """Active counselors matching every given filter, by name."""
    return list(db.session.scalars(directory_query(filters)))


def public_counselor(slug: str) -> Counselor | None:
    """An active counselor's profile, or None (unknown and inactive look the same to the public)."""
    return db.session.scalar(
        select(Counselor).where(Counselor.slug == slug, Counselor.active).options(*_with_profile())
    )


def counselor_by_slug(slug: str) -> Counselor | None:
    """Any counselor, active or not: for staff pages."""
    return db.session.scalar(select(Counselor).where(Counselor.slug == slug).options(*_with_profile()))


def all_counselors() -> list[Counselor]:
    """Every counselor, inactive ones too, for the staff list."""
    return list(db.session.scalars(
        select(Counselor).options(*_with_profile()).order_by(Counselor.active.desc(), Counselor.name)
    ))


def service_of(counselor: Counselor, service_slug: str) -> Service | None:
    return next((s for s in counselor.services if s.slug == service_slug), None)
