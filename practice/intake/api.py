"""A person's intake over the JSON API: the questions (with their saved draft), a section's draft, and sending.

The link's token is the only authority, so the blueprint is CSRF-exempt like the booking API. Responses
depend only on this person's own intake and booking, never on the other partner's answers.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from practice import clock
from practice.access import public
from practice.core.intake import IntakeInvalid, Item, Questionnaire
from practice.extensions import limiter
from practice.intake import service
from practice.intake.models import Intake

bp = Blueprint("intake_api", __name__, url_prefix="/api/v1")

ERRORS = {"unknown": ("not_found", 404), "expired": ("expired", 410), "cancelled": ("booking_cancelled", 410)}

limited = limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"],
                        key_func=lambda: request.remote_addr or "")


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(service.IntakeLinkInvalid)
def _link_invalid(exc: service.IntakeLinkInvalid):
    error, status = ERRORS.get(exc.reason, ERRORS["unknown"])
    return jsonify(error=error), status


@bp.errorhandler(service.IntakeAlreadySubmitted)
def _already_submitted(_exc):
    return jsonify(error="already_submitted", message="These answers were sent already."), 409


@bp.errorhandler(IntakeInvalid)
def _invalid(exc: IntakeInvalid):
    return jsonify(errors=exc.errors), 422


def item_json(item: Item) -> dict:
    body = {"id": item.id, "type": item.type, "text": item.text, "required": item.required,
            "options": [{"value": o.value, "label": o.label} for o in item.options]}
    if item.hint:
        body["hint"] = item.hint
    if item.type == "number":
        body.update(min=item.min, max=item.max)
    if item.max_length is not None:
        body["max_length"] = item.max_length
    if item.show_if is not None:
        body["show_if"] = {"any_true": list(item.show_if.any_true)}
    return body


def questionnaire_json(questions: Questionnaire) -> list[dict]:
    return [{"id": s.id, "title": s.title, "intro": s.intro, "items": [item_json(i) for i in s.items]}
            for s in questions.sections]


def intake_json(intake: Intake) -> dict:
    submitted = intake.submitted_at is not None
    return {
        "format": intake.format,
        "role": intake.role,
        "version": service.load_items().version,
        "sections": questionnaire_json(service.questionnaire(intake.format)),
        # Once sent, the link no longer shows the answers: a link opened later may be in other hands.
        "answers": {} if submitted else (intake.answers or {}),
        "sections_done": list(intake.sections_done or ()),
        "submitted": submitted,
        "expires_at": intake.link_expires_at().isoformat(),
    }


def _answers_from_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "answers" not in body:
        raise IntakeInvalid({"answers": ['Send a JSON object {"answers": {...}}.']})
    return body["answers"]


@bp.get("/intakes/<token>")
@public
@limited
def get_intake(token: str):
    """One person's intake: the questions for them, and what they saved so far.
    ---
    get:
      operationId: getIntake
      tags: [Intake]
      summary: Read an intake with its link's token
      description: >
        The questions in the practice's own wording for this person's format (section by section; `suicide_now`
        carries `show_if`: ask it only once one of those items is answered yes), the draft saved so far, and
        whether the answers were sent. After sending, `answers` is empty.
      parameters:
        - {in: path, name: token, required: true, schema: {type: string}}
      responses:
        200:
          description: the questions for this person, and their draft
          content:
            application/json:
              schema: Intake
          links:
            section:
              operationId: saveIntakeSection
              parameters:
                token: $request.path.token
                section_id: '$response.body#/sections/0/id'
            submit:
              operationId: submitIntake
              parameters: {token: $request.path.token}
        404: NotFound
        410: IntakeGone
        429: TooManyRequests
    """
    intake = service.open_intake(token, now=clock.now())
    return jsonify(intake_json(intake))


@bp.put("/intakes/<token>/sections/<section_id>")
@public
@limited
def save_section(token: str, section_id: str):
    """Save one section's answers as a draft (replacing that section's earlier draft).
    ---
    put:
      operationId: saveIntakeSection
      tags: [Intake]
      summary: Save a section of an intake
      parameters:
        - {in: path, name: token, required: true, schema: {type: string}}
        - {in: path, name: section_id, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: IntakeSectionIn
      responses:
        200:
          description: saved; the sections done so far
          content:
            application/json:
              schema: IntakeSectionSaved
        404: NotFound
        409: AlreadySubmitted
        410: IntakeGone
        413: PayloadTooLarge
        422:
          description: '`{"errors": {item id: [messages]}}`: an unknown section or answers not accepted;
            nothing was saved'
          content:
            application/json:
              schema: ValidationError
        429: TooManyRequests
    """
    now = clock.now()
    service.open_intake(token, now=now)  # 404/410 before looking at the body
    answers = _answers_from_body()
    complete = request.get_json(silent=True).get("complete", True) is not False
    intake = service.save_section(token, section_id, answers, now=now, complete=complete)
    return jsonify(sections_done=list(intake.sections_done or ()))


@bp.post("/intakes/<token>")
@public
@limited
def submit_intake(token: str):
    """Send one person's complete answers.
    ---
    post:
      operationId: submitIntake
      tags: [Intake]
      summary: Submit an intake
      description: >
        Validates every answer (field-level errors, nothing stored on error). When a suicide item is answered
        yes the response carries `crisis_resources`, to be shown at once. `suggestion` is a gentle note when
        the booked format may not be what this person is looking for, else null.
      parameters:
        - {in: path, name: token, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: IntakeAnswersIn
      responses:
        201:
          description: sent
          content:
            application/json:
              schema: IntakeSubmitted
        404: NotFound
        409: AlreadySubmitted
        410: IntakeGone
        413: PayloadTooLarge
        422:
          description: '`{"errors": {item id: [messages]}}`: nothing was stored'
          content:
            application/json:
              schema: ValidationError
        429: TooManyRequests
    """
    now = clock.now()
    service.open_intake(token, now=now)  # 404/410 before looking at the body
    answers = _answers_from_body()
    sent = service.submit(token, answers, now=now)
    body = {"submitted": True, "submitted_at": sent.intake.submitted_at.isoformat(),
            "suggestion": sent.suggestion.to_json() if sent.suggestion else None}
    if sent.crisis:
        crisis = service.crisis_resources()
        body["crisis_resources"] = {"heading": crisis.heading, "message": crisis.message, "lines": list(crisis.lines)}
    return jsonify(body), 201
