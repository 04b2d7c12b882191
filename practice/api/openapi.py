"""The OpenAPI 3 document of /api/v1, generated from the code: routes from Flask's URL map, operations from the
views' YAML docstrings (apispec's FlaskPlugin), shapes from the marshmallow schemas (MarshmallowPlugin).

Every view of the `api` blueprint whose docstring has a `---` section is documented; adding an endpoint with such
a docstring is all it takes to appear here. Built on first request and kept for the life of the process.

Each operation lists every status it answers, with a JSON schema for each (tests/api/test_openapi.py checks the
list; tests/api/test_schemathesis.py the answers). Responses' `links` lead from one operation to the next; a
manage or intake token travels inside a URL of the answer, so those links read it with schemathesis's
`#regex:` extractor, which other tools show as the expression it is.
"""
from __future__ import annotations

import copy

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask

from practice.api import schemas

OPENAPI_VERSION = "3.0.3"
# Blueprints under /api/v1 whose documented views make up the API.
API_BLUEPRINTS = ("api", "scheduling_api", "booking_api", "intake_api", "payments_api")
API_VERSION = "1.0.0"
_CACHE_KEY = "practice.openapi"

# Named once here so their component names are stable. Nested schemas come before the schemas that nest them.
COMPONENTS = {
    "License": schemas.LicenseSchema,
    "Service": schemas.ServiceSchema,
    "Counselor": schemas.CounselorSchema,
    "CounselorList": schemas.CounselorListSchema,
    "Error": schemas.ErrorSchema,
    "Slot": schemas.SlotSchema,
    "SlotList": schemas.SlotListSchema,
    "ValidationError": schemas.ValidationErrorSchema,
    "BookingValidationError": schemas.BookingValidationErrorSchema,
    "Intake": schemas.IntakeSchema,
    "IntakeSectionIn": schemas.IntakeSectionInSchema,
    "IntakeSectionSaved": schemas.IntakeSectionSavedSchema,
    "IntakeAnswersIn": schemas.IntakeAnswersInSchema,
    "IntakeSubmitted": schemas.IntakeSubmittedSchema,
}



def _error() -> dict:
    return {"application/json": {"schema": "Error"}}


# Answers many operations share, named once; a view's docstring refers to one by name (`404: NotFound`).
RESPONSES = {
    "NotFound": {"description": 'Nothing here for this request: `{"error": "not_found"}`. Something that exists '
                                "but is not yours looks the same.", "content": _error()},
    "TooManyRequests": {
        "description": "Too many requests from this address (the limit is per minute and per hour): "
                       '`{"error": "too_many_requests", "message": ...}`. Wait the seconds in Retry-After.',
        "content": _error(),
        "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                    "schema": {"type": "integer"}}},
    },
    "LinkGone": {"description": "The manage link no longer opens the booking: `{\"error\": \"link_revoked_reissued\"}` "
                                "(a newer link was sent), `link_revoked_cancelled` (the booking was cancelled) or "
                                "`link_expired` (a day after the session).", "content": _error()},
    "PartnerLink": {"description": "A partner's link can view the booking but not change it: "
                                   '`{"error": "not_allowed", "message": ...}`.', "content": _error()},
    "IntakeGone": {"description": 'The intake link no longer works: `{"error": "expired"}` or '
                                  '`{"error": "booking_cancelled"}`.', "content": _error()},
    "AlreadySubmitted": {"description": 'These answers were sent already: `{"error": "already_submitted", '
                                        '"message": ...}`.', "content": _error()},
    "PayloadTooLarge": {"description": 'The body is over the size the API accepts: '
                                       '`{"error": "request_entity_too_large"}`.', "content": _error()},
    "Unavailable": {
        "description": 'Nothing was done; try again in a moment: `{"error": "unavailable", "message": ...}` when '
                       "the practice's records cannot be reached (with Retry-After), or, where an operation "
                       'writes a booking, `{"error": "busy", "message": ...}` when many people are booking at once.',
        "content": _error(),
        "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                    "schema": {"type": "integer"}}},
    },
    "InternalError": {"description": 'Something went wrong on our side: `{"error": "internal_error"}`. Nothing '
                                     "about it is shown; it is logged for the practice.", "content": _error()},
}


def document(app: Flask) -> dict:
    """The document as a dict, built once per app."""
    cached = app.extensions.get(_CACHE_KEY)
    if cached is None:
        cached = app.extensions[_CACHE_KEY] = build(app)
    return cached


def build(app: Flask) -> dict:
    spec = APISpec(
        title="Practice API",
        version=API_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[FlaskPlugin(), MarshmallowPlugin()],
        info={"description": "The public JSON API of the practice: its counselors and what they offer. "
                             "Prices are in minor units (cents); times are ISO 8601 with an offset.\n\n"
                             "Every answer is JSON, errors too. Bad input is 422 with `errors`, a message list "
                             "per parameter or field; anything else is `error`, a stable code, sometimes with a "
                             "`message` for a person. Each operation lists the statuses it answers; besides "
                             'them, a path the API does not have is 404 `{"error": "not_found"}`, and a method a '
                             'path does not take is 405 `{"error": "method_not_allowed"}` with an Allow header.'},
        servers=[{"url": app.config["BASE_URL"]}],
    )
    spec.tag({"name": "Counselors", "description": "The public directory."})
    spec.tag({"name": "Scheduling", "description": "When a counselor can be booked."})
    spec.tag({"name": "Bookings", "description": "Booking, paying, rescheduling and cancelling, with a manage "
                                                 "link's token."})
    spec.tag({"name": "Intake", "description": "Each person's private questionnaire, with their intake link's "
                                               "token."})
    for name, schema in COMPONENTS.items():
        spec.components.schema(name, schema=schema)
    for name, response in RESPONSES.items():
        spec.components.response(name, copy.deepcopy(response))  # apispec resolves names in place
    for endpoint in sorted(app.view_functions):
        view = app.view_functions[endpoint]
        if endpoint.split(".")[0] in API_BLUEPRINTS and "---" in (view.__doc__ or ""):
            spec.path(view=view, app=app)
    document = spec.to_dict()
    # Any operation can fail unexpectedly, or find the database out of reach; the answers are then always the
    # same JSON (practice/__init__.py's error handlers).
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault("500", {"$ref": "#/components/responses/InternalError"})
            operation["responses"].setdefault("503", {"$ref": "#/components/responses/Unavailable"})
    return document
