"""The booking API's shapes: input validated here (422 with field errors), output described for OpenAPI."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates

from practice.counselors.vocabulary import US_STATES


def _zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (KeyError, ValueError):
        raise ValidationError("Unknown time zone. Use an IANA name such as America/Chicago.") from None


# The API's answers to "will you use insurance?" -> Booking.uses_insurance.
INSURANCE_ANSWERS = {"self_pay": False, "insurance": True}


class PersonIn(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = fields.Email(required=True, validate=validate.Length(max=254))


class ClientIn(PersonIn):
    state = fields.String(required=True, metadata={"description": "USPS code of the state the client lives in.",
                                                   "example": "NY"})
    phone = fields.String(load_default="", validate=validate.Length(max=40))

    @validates("state")
    def _state(self, value: str, **_) -> None:
        if value.upper() not in US_STATES:
            raise ValidationError("Use the two-letter code of a US state, e.g. NY.")


class BookingIn(Schema):
    class Meta:
        unknown = EXCLUDE

    counselor = fields.String(required=True, metadata={"description": "Counselor slug.", "example": "maya-okafor"})
    service = fields.String(required=True, metadata={"description": "Service slug.", "example": "couple-trial"})
    start = fields.AwareDateTime(required=True, metadata={
        "description": "A start from the slots endpoint, ISO 8601 with its offset."})
    timezone = fields.String(required=True, validate=_zone, metadata={
        "description": "The client's IANA time zone, used for how times are shown to them."})
    client = fields.Nested(ClientIn, required=True)
    partner = fields.Nested(PersonIn, load_default=None, allow_none=True, metadata={
        "description": "Required for a couple service: the partner gets their own private links."})
    insurance = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        list(INSURANCE_ANSWERS), error="Answer \"self_pay\" (you'll pay yourself) or \"insurance\"."), metadata={
        "description": "For a paid service: whether the client will pay themselves (self_pay) or use insurance. "
                       "A self-pay client is given a good-faith estimate of the costs before paying. Left out: "
                       "not answered (no estimate yet). Ignored for free services.",
        "example": "self_pay"})
    date_of_birth = fields.Date(load_default=None, allow_none=True, error_messages={
        "invalid": "Give the date of birth as YYYY-MM-DD, for example 1988-04-23."}, metadata={
        "description": "The client's date of birth (YYYY-MM-DD): required with insurance=self_pay, as the "
                       "good-faith estimate names it. Kept only in the estimate, encrypted.",
        "example": "1988-04-23"})


class RescheduleIn(Schema):
    class Meta:
        unknown = EXCLUDE

    token = fields.String(required=True)
    start = fields.AwareDateTime(required=True)


class CancelIn(Schema):
    class Meta:
        unknown = EXCLUDE

    token = fields.String(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class PaymentOut(Schema):
    required = fields.Boolean(required=True)
    amount = fields.Integer(required=True, metadata={"description": "Minor units (cents)."})
    currency = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "not_required (free), awaiting (pay to confirm before the hold runs out), succeeded, "
                       "failed (the last attempt was declined: try again while the hold lasts), refunded, "
                       "partially_refunded."})
    hold_expires_at = fields.String(allow_none=True, metadata={"description": "When an unpaid hold is released."})
    client_secret = fields.String(allow_none=True, metadata={
        "description": "Paid sessions, to the person who booked while payment is due: the Stripe PaymentIntent's "
                       "client secret, for stripe.confirmCardPayment. Absent for free sessions."})
    publishable_key = fields.String(allow_none=True, metadata={
        "description": "Paid sessions: the Stripe publishable key to load Stripe.js with. Absent for free sessions."})
    failure_message = fields.String(metadata={"description": "Why the last payment attempt was declined."})


class RefundOut(Schema):
    amount = fields.Integer(required=True, metadata={"description": "Minor units (cents) given back."})
    currency = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "pending, succeeded, failed (the practice makes it by hand) or none (the policy keeps it all)."})


class BookingOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "held, pending_payment, confirmed, completed, no_show or cancelled."})
    counselor = fields.String(required=True)
    service = fields.String(required=True)
    start = fields.String(required=True, metadata={"description": "ISO 8601 in the client's zone, with offset."})
    end = fields.String(required=True)
    timezone = fields.String(required=True)
    role = fields.String(metadata={"description": "Whose link this is: client or partner (GET only)."})
    manage_url = fields.String(allow_none=True, metadata={"description": "This person's private page."})
    invite_url = fields.String(allow_none=True, metadata={"description": "The calendar invite (.ics)."})
    intake_urls = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The client's own private intake link ({\"client\": url}); a partner's reaches the partner by email only."})
    payment = fields.Nested(PaymentOut, required=True)
    may_change = fields.Boolean(metadata={"description": "Whether this link may reschedule or cancel."})
    free_change_until = fields.String(allow_none=True, metadata={
        "description": "Until when cancelling or rescheduling is free under the practice's policy."})
    refund = fields.Nested(RefundOut, metadata={
        "description": "A cancelled paid booking: what is being given back under the cancellation policy."})


def flatten(messages: dict, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors as DESIGN's flat {"client.email": [...]} form."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}{key}" if key != "_schema" else (prefix.rstrip(".") or "body")
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat.setdefault(name, []).extend(value if isinstance(value, list) else [str(value)])
    return flat
