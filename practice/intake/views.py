"""A person's private intake, in pages: one section at a time, review, send; and the button on the booking page.

    GET  /intake/<token>                  the next section to answer (or ?step=<section id>, ?step=review)
    POST /intake/<token>                  save a section (action=next) or send everything (action=submit)
    POST /intake/from-booking/<id>        a fresh intake link for the person whose booking link is posted

Each handler reads its input, opens the intake by its link, calls intake.service (the only writer) and
renders or redirects; opening a page never changes anything. Works without JavaScript: the suicide follow-up
is shown by the server once one of its questions is answered yes (intake.js only shows it sooner).

What a page shows is computed from this person's own intake and booking only, never from the other partner's
answers or the couple's routing (INTAKE.md, principle 1). After sending, the link shows a plain thank-you: the
crisis resources and any suggestion are shown in the response to the sending itself, so a link opened later
by someone else reveals nothing.
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from practice import clock
from practice.access import public
from practice.booking import service as booking_service
from practice.core.intake import IntakeInvalid, Questionnaire, Section
from practice.extensions import csrf, limiter
from practice.intake import service
from practice.intake.display import answer_sections
from practice.intake.forms import form_value, section_answers
from practice.intake.models import Intake

bp = Blueprint("intake", __name__)

REVIEW = "review"
LINK_PROBLEMS = {
    "unknown": (404, "This link doesn't open a questionnaire",
                "The link may be incomplete, or a newer link may have replaced it. Use the newest email we sent "
                "you, or open your booking page and choose \u201cStart my private questionnaire\u201d."),
    "expired": (410, "This link has expired",
                "Questionnaire links work for a while after they are sent and until a day after the session. "
                "Open your booking page to get a fresh one, or call the practice."),
    "cancelled": (410, "This booking was cancelled",
                  "The booking this questionnaire belongs to was cancelled, so there is nothing to fill in."),
}


def _rate_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


limited_posts = limiter.limit(_rate_limit, key_func=lambda: request.remote_addr or "", methods=["POST"])


@bp.after_request
def _private_pages(response):
    """Pages behind a link: never cached, and the link never sent on to another site as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.app_context_processor
def _intake_helpers():
    return {"intake_progress": lambda participant: service.progress(service.intake_of(participant))}


# --- the questionnaire ----------------------------------------------------------------------------------

@bp.route("/intake/<token>", methods=["GET", "POST"])
@public
@limited_posts
def page(token: str):
    now = clock.now()
    try:
        intake = service.open_intake(token, now=now)
    except service.IntakeLinkInvalid as exc:
        return _link_problem(exc.reason)
    if intake.submitted_at is not None:
        return render_template("intake/thanks.html", intake=intake, just_sent=False)
    questions = service.questionnaire(intake.format)
    if request.method == "POST":
        if request.form.get("action") == "submit":
            return _submit(token, intake, questions)
        return _save_section(token, intake, questions)
    step = request.args.get("step") or _next_step(intake, questions)
    if step == REVIEW:
        return _review_page(token, intake, questions)
    section = _section(questions, step) or questions.sections[0]
    return _section_page(token, intake, questions, section, values=intake.answers or {})


def _next_step(intake: Intake, questions: Questionnaire) -> str:
    done = set(intake.sections_done or ())
    return next((s.id for s in questions.sections if s.id not in done), REVIEW)


def _section(questions: Questionnaire, section_id: str | None) -> Section | None:
    return next((s for s in questions.sections if s.id == section_id), None)


def _save_section(token: str, intake: Intake, questions: Questionnaire):
    now = clock.now()
    section = _section(questions, request.form.get("section"))
    if section is None:
        return redirect(url_for("intake.page", token=token), 303)
    answers = section_answers(section, request.form)
    # The follow-up's first step: a suicide question answered yes on a page that didn't show the follow-up
    # yet. Keep what was answered and show the page again with the follow-up (and the crisis resources).
    first_step = request.form.get("followup_shown") != "1" and any(
        item.show_if is not None and item.show_if.is_met(answers) and item.id not in answers
        for item in section.items)
    try:
        service.save_section(token, section.id, answers, now=now, complete=not first_step)
    except IntakeInvalid as invalid:
        return _section_page(token, intake, questions, section, values=answers, errors=invalid.errors), 422
    except service.IntakeAlreadySubmitted:
        return redirect(url_for("intake.page", token=token), 303)
    except service.IntakeLinkInvalid as exc:
        return _link_problem(exc.reason)
    if first_step:
        return redirect(url_for("intake.page", token=token, step=section.id, _anchor="followup"), 303)
    index = questions.sections.index(section)
    following = questions.sections[index + 1].id if index + 1 < len(questions.sections) else REVIEW
    return redirect(url_for("intake.page", token=token, step=following), 303)


def _submit(token: str, intake: Intake, questions: Questionnaire):
    try:
        sent = service.submit(token, intake.answers or {}, now=clock.now())
    except IntakeInvalid as invalid:
        return _review_page(token, intake, questions, errors=invalid.errors), 422
    except service.IntakeAlreadySubmitted:
        return redirect(url_for("intake.page", token=token), 303)
    except service.IntakeLinkInvalid as exc:
        return _link_problem(exc.reason)
    # Rendered here rather than after a redirect: the crisis resources and the suggestion belong to this
    # response only (see the module's docstring).
    return render_template("intake/thanks.html", intake=sent.intake, just_sent=True, crisis=sent.crisis,
                           crisis_resources=service.crisis_resources(), suggestion=sent.suggestion,
                           directory_url=_directory_url(sent.intake, sent.suggestion))


def _directory_url(intake: Intake, suggestion: service.Suggestion | None) -> str | None:
    if suggestion is None:
        return None
    state = intake.participant.client.state
    return url_for("counselors.directory", format=suggestion.format, **({"state": state} if state else {}))


# --- rendering ------------------------------------------------------------------------------------------

def _steps(questions: Questionnaire) -> list[str]:
    return [s.id for s in questions.sections] + [REVIEW]


def _common(token: str, intake: Intake, questions: Questionnaire, step: str) -> dict:
    steps = _steps(questions)
    return dict(token=token, intake=intake, questions=questions, step=step, step_number=steps.index(step) + 1,
                step_count=len(steps), done=set(intake.sections_done or ()), form_value=form_value,
                crisis_resources=service.crisis_resources(), couple=intake.format == "couple")


def _section_page(token: str, intake: Intake, questions: Questionnaire, section: Section, *, values: dict,
                  errors: dict | None = None):
    index = questions.sections.index(section)
    followups = {item.id for item in section.items if item.show_if is not None and item.show_if.is_met(values)}
    return render_template(
        "intake/section.html", **_common(token, intake, questions, section.id), section=section, values=values,
        errors=errors or {}, followups=followups,
        crisis=service.has_positive_suicide_item(values) or service.has_positive_suicide_item(intake.answers or {}),
        previous=questions.sections[index - 1].id if index > 0 else None,
        is_last=index == len(questions.sections) - 1,
    )


def _review_page(token: str, intake: Intake, questions: Questionnaire, *, errors: dict | None = None):
    answers = intake.answers or {}
    return render_template(
        "intake/review.html", **_common(token, intake, questions, REVIEW),
        sections=answer_sections(answers, intake.format), errors=errors or {},
        missing=[s for s in questions.sections if s.id not in set(intake.sections_done or ())],
        crisis=service.has_positive_suicide_item(answers),
    )


def _link_problem(reason: str):
    status, title, message = LINK_PROBLEMS.get(reason, LINK_PROBLEMS["unknown"])
    return render_template("intake/link_problem.html", title=title, message=message, status=status,
                           reason=reason), status


# --- from the booking page ------------------------------------------------------------------------------

@bp.post("/intake/from-booking/<booking_id>")
@public
@csrf.exempt  # the booking link's token in the body is the authority, and the embed's frame has no cookies
@limited_posts
def from_booking(booking_id: str):
    """The booking page's "Start my private questionnaire": a fresh link of this person's own, then there."""
    try:
        token = service.issue_from_manage_link(booking_id, request.form.get("token"), now=clock.now())
    except booking_service.LinkInvalid as exc:
        return _link_problem("expired" if exc.reason == "expired" else
                             "cancelled" if exc.reason == "revoked_cancelled" else "unknown")
    except service.IntakeLinkInvalid as exc:
        return _link_problem(exc.reason)
    return redirect(url_for("intake.page", token=token), 303)


from practice.intake import staff_views  # noqa: E402,F401  (the staff pages, on this blueprint)
