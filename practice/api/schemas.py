"""What the JSON API sends, as marshmallow schemas: they serialize responses and, through apispec, describe them
in /api/v1/openapi.json, so the document and the answers cannot drift apart.
"""
from __future__ import annotations

from flask import current_app, url_for
from marshmallow import Schema, fields, pre_dump
from marshmallow.validate import OneOf

from practice.counselors.models import Counselor
from practice.counselors.queries import FILTERS
from practice.core.intake import FORMATS as INTAKE_FORMATS, ITEM_TYPES
from practice.counselors.vocabulary import FORMATS, LANGUAGES, MODALITIES, SPECIALTIES, US_STATES


def absolute_url(endpoint: str, **values) -> str:
    """A link for people outside the app: always from BASE_URL, never from the request's Host."""
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


class LicenseSchema(Schema):
    state = fields.String(required=True, validate=OneOf(list(US_STATES)),
                          metadata={"description": "USPS code of the state the license is from.", "example": "NY"})
    number = fields.String(required=True, metadata={"description": "License number, as issued by the state."})


class ServiceSchema(Schema):
    slug = fields.String(required=True, metadata={"description": "Identifies the service for booking.",
                                                  "example": "couple-trial"})
    name = fields.String(required=True, metadata={"example": "Couples trial session"})
    format = fields.String(required=True, validate=OneOf(list(FORMATS)),
                           metadata={"description": "Who the session is for: one person, or a couple."})
    duration_minutes = fields.Integer(required=True, metadata={"example": 50})
    price = fields.Integer(required=True, metadata={
        "description": "In minor units of `currency` (cents): 6000 is $60.00. 0 means free.", "example": 6000})
    currency = fields.String(required=True, metadata={"description": "ISO 4217 code.", "example": "USD"})
    is_trial = fields.Boolean(required=True, metadata={
        "description": "A first session for new clients to see whether the counselor is a good fit."})


def _codes(vocabulary: dict[str, str], what: str) -> fields.List:
    return fields.List(fields.String(validate=OneOf(list(vocabulary))), required=True,
                       metadata={"description": f"{what} codes, in the practice's vocabulary order."})


class CounselorSchema(Schema):
    slug = fields.String(required=True, metadata={"example": "maya-okafor"})
    name = fields.String(required=True)
    pronouns = fields.String(required=True, metadata={"description": "Empty when not given."})
    credentials = fields.String(required=True, metadata={"example": "LMFT"})
    headline = fields.String(required=True)
    bio = fields.String(required=True, metadata={"description": "Plain text; paragraphs separated by a blank line."})
    timezone = fields.String(required=True, metadata={"description": "IANA time zone the counselor works in.",
                                                      "example": "America/New_York"})
    photo_url = fields.String(required=True, allow_none=True,
                              metadata={"description": "Absolute URL of the photo, or null when there is none."})
    licenses = fields.List(fields.Nested(LicenseSchema), required=True)
    specialties = _codes(SPECIALTIES, "Specialty")
    modalities = _codes(MODALITIES, "Modality")
    languages = _codes(LANGUAGES, "Language")
    formats = fields.List(fields.String(validate=OneOf(list(FORMATS))), required=True,
                          metadata={"description": "Whether the counselor sees individuals, couples or both."})
    services = fields.List(fields.Nested(ServiceSchema), required=True,
                           metadata={"description": "Services that can be booked now (inactive ones are left out)."})
    profile_url = fields.String(required=True, metadata={"description": "Absolute URL of the public profile page."})

    @pre_dump
    def _from_counselor(self, counselor: Counselor, **kwargs) -> dict:
        return {
            "slug": counselor.slug,
            "name": counselor.name,
            "pronouns": counselor.pronouns or "",
            "credentials": counselor.credentials or "",
            "headline": counselor.headline or "",
            "bio": counselor.bio or "",
            "timezone": counselor.timezone,
            "photo_url": absolute_url("counselors.photo", name=counselor.photo) if counselor.photo else None,
            "licenses": counselor.licenses,
            "specialties": counselor.specialties,
            "modalities": counselor.modalities,
            "languages": counselor.languages,
            "formats": counselor.formats,
            "services": counselor.active_services,
            "profile_url": absolute_url("counselors.profile", slug=counselor.slug),
        }


class CounselorListSchema(Schema):
    counselors = fields.List(fields.Nested(CounselorSchema), required=True,
                             metadata={"description": "Active counselors matching every filter, by name."})


class ErrorSchema(Schema):
    """Every error of the API that is not about fields: a stable code, and for some a sentence for a person."""

    error = fields.String(required=True, metadata={
        "description": "A stable code to act on, such as not_found, link_expired or slot_unavailable.",
        "example": "not_found"})
    message = fields.String(metadata={"description": "A plain sentence for the person, where one helps."})


class ValidationErrorSchema(Schema):
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "Messages for each parameter or field that was not accepted.",
                                   "example": {"specialty": ["Unknown specialty 'x'. Choose one of: ..."]}})


class BookingValidationErrorSchema(ValidationErrorSchema):
    alternatives = fields.List(fields.String(), metadata={
        "description": "When the counselor is not licensed in the client's state: slugs of counselors who are "
                       "and who offer this kind of session."})


def _filter(name: str, description: str) -> fields.String:
    return fields.String(validate=OneOf(list(FILTERS[name])), metadata={"description": description})


class CounselorFilterSchema(Schema):
    """The directory's filters as query parameters. Documents them; queries.parse_filters checks them from the
    same vocabularies as the web directory's, which alone also forgives empty values, spaces and letter case."""

    specialty = _filter("specialty", "Only counselors with this specialty.")
    modality = _filter("modality", "Only counselors who use this approach.")
    state = _filter("state", "Only counselors licensed in this state (USPS code; any letter case).")
    language = _filter("language", "Only counselors who hold sessions in this language.")
    format = _filter("format", "Only counselors who see individuals (`individual`) or couples (`couple`).")


class SlotSchema(Schema):
    start = fields.String(required=True, metadata={"description": "ISO 8601 in the requested zone, with offset.",
                                                   "example": "2026-12-07T09:00:00-06:00"})
    end = fields.String(required=True, metadata={"example": "2026-12-07T09:50:00-06:00"})


class SlotListSchema(Schema):
    timezone = fields.String(required=True, metadata={"description": "The IANA zone the times are shown in."})
    counselor = fields.String(required=True)
    service = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)
    slots = fields.List(fields.Nested(SlotSchema), required=True)


# --- intake: documentation only (practice.intake.api builds these answers itself) ---------------------------

class IntakeOptionSchema(Schema):
    value = fields.Raw(required=True, metadata={"description": "What to send as the answer: a string or a number."})
    label = fields.String(required=True)


class IntakeShowIfSchema(Schema):
    any_true = fields.List(fields.String(), required=True, metadata={
        "description": "Ask this item only once one of these items is answered yes."})


class IntakeItemSchema(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True, validate=OneOf(list(ITEM_TYPES)))
    text = fields.String(required=True)
    required = fields.Boolean(required=True)
    options = fields.List(fields.Nested(IntakeOptionSchema), required=True)
    hint = fields.String()
    min = fields.Float(allow_none=True, metadata={"description": "`number` items: the least accepted."})
    max = fields.Float(allow_none=True, metadata={"description": "`number` items: the most accepted."})
    max_length = fields.Integer(metadata={"description": "`text` items: the longest answer accepted."})
    show_if = fields.Nested(IntakeShowIfSchema)


class IntakeSectionSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    intro = fields.String(required=True, allow_none=True)
    items = fields.List(fields.Nested(IntakeItemSchema), required=True)


class IntakeSchema(Schema):
    format = fields.String(required=True, validate=OneOf(list(INTAKE_FORMATS)))
    role = fields.String(required=True, validate=OneOf(["client", "partner"]))
    version = fields.Raw(required=True, metadata={"description": "The questionnaire's version."})
    sections = fields.List(fields.Nested(IntakeSectionSchema), required=True)
    answers = fields.Dict(required=True, metadata={
        "description": "The draft saved so far, by item id; empty once the answers were sent."})
    sections_done = fields.List(fields.String(), required=True)
    submitted = fields.Boolean(required=True)
    expires_at = fields.String(required=True, metadata={"description": "When the link stops working (ISO 8601)."})


class IntakeSectionInSchema(Schema):
    answers = fields.Dict(required=True, metadata={"description": "This section's answers, by item id."})
    complete = fields.Boolean(load_default=True, metadata={
        "description": "false: keep as a draft without marking the section done."})


class IntakeSectionSavedSchema(Schema):
    sections_done = fields.List(fields.String(), required=True)


class IntakeAnswersInSchema(Schema):
    answers = fields.Dict(required=True, metadata={"description": "Every answer, by item id."})


class IntakeSuggestionSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    format = fields.String(required=True)


class CrisisResourcesSchema(Schema):
    heading = fields.String(required=True)
    message = fields.String(required=True)
    lines = fields.List(fields.String(), required=True)


class IntakeSubmittedSchema(Schema):
    submitted = fields.Boolean(required=True)
    submitted_at = fields.String(required=True)
    suggestion = fields.Nested(IntakeSuggestionSchema, required=True, allow_none=True, metadata={
        "description": "A gentle note when the booked format may not be what this person is looking for."})
    crisis_resources = fields.Nested(CrisisResourcesSchema, metadata={
        "description": "Present when a suicide item was answered yes: show it at once."})
