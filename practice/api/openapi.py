"""The OpenAPI 3 document of /api/v1, generated from the code: routes from Flask's URL map, operations from the
views' YAML docstrings (apispec's FlaskPlugin), shapes from the marshmallow schemas (MarshmallowPlugin).

Every view of the `api` blueprint whose docstring has a `---` section is documented; adding an endpoint with such
a docstring is all it takes to appear here. Built on first request and kept for the life of the process.
"""
from __future__ import annotations

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
                             "Prices are in minor units (cents); times are ISO 8601 with an offset."},
        servers=[{"url": app.config["BASE_URL"]}],
    )
    spec.tag({"name": "Counselors", "description": "The public directory."})
    for name, schema in COMPONENTS.items():
        spec.components.schema(name, schema=schema)
    for endpoint in sorted(app.view_functions):
        view = app.view_functions[endpoint]
        if endpoint.split(".")[0] in API_BLUEPRINTS and "---" in (view.__doc__ or ""):
            spec.path(view=view, app=app)
    return spec.to_dict()
