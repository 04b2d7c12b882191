"""The JSON API under /api/v1. Each view's YAML docstring is its entry in the OpenAPI document (see openapi.py)."""
from flask import Blueprint, abort, current_app, jsonify, request

from practice.api import openapi
from practice.api.schemas import CounselorListSchema, CounselorSchema
from practice.access import public
from practice.counselors import queries

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/counselors")
@public
def list_counselors():
    """Counselors in the directory.
    ---
    get:
      operationId: listCounselors
      tags: [Counselors]
      summary: List active counselors, optionally filtered
      description: >
        Every filter is optional and takes one value; counselors must match all filters given. Inactive
        counselors are never listed. The answer is an object so that paging can be added without breaking clients.
      parameters:
        - in: query
          schema: CounselorFilterSchema
      responses:
        200:
          description: The matching counselors, by name (possibly none).
          content:
            application/json:
              schema: CounselorListSchema
          links:
            counselor:
              operationId: getCounselor
              parameters: {slug: '$response.body#/counselors/0/slug'}
            slots:
              operationId: listSlots
              parameters: {slug: '$response.body#/counselors/0/slug'}
        422:
          description: >
            A filter's value is not one the practice knows, is empty (leave the parameter out for "any"), or a
            filter was given twice. Nothing is listed.
          content:
            application/json:
              schema: ValidationErrorSchema
    """
    filters, errors = queries.parse_filters(request.args, lenient=False)
    if errors:
        return jsonify(errors=errors), 422
    return CounselorListSchema().dump({"counselors": queries.directory(filters)})


@bp.get("/counselors/<slug>")
@public
def get_counselor(slug: str):
    """One counselor.
    ---
    get:
      operationId: getCounselor
      tags: [Counselors]
      summary: One active counselor, with licenses and bookable services
      parameters:
        - in: path
          name: slug
          required: true
          schema:
            type: string
          description: The counselor's slug, as in `slug` of a listed counselor.
      responses:
        200:
          description: The counselor.
          content:
            application/json:
              schema: CounselorSchema
          links:
            slots:
              operationId: listSlots
              description: The free slots of the counselor's first service, in the counselor's zone.
              parameters:
                slug: '$response.body#/slug'
                query.service: '$response.body#/services/0/slug'
                query.tz: '$response.body#/timezone'
        404:
          description: 'No active counselor has this slug: `{"error": "not_found"}`.'
          content:
            application/json:
              schema: ErrorSchema
    """
    counselor = queries.public_counselor(slug) or abort(404)
    return CounselorSchema().dump(counselor)


@bp.get("/openapi.json")
@public
def openapi_document():
    return jsonify(openapi.document(current_app))
