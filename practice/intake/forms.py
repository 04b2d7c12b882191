"""Forms: a questionnaire section as posted by the page, and the staff's decision forms.

The questions come from the data file, so a section's form is read item by item rather than declared as a
Flask-WTF class; values are turned into the types core.intake validates (numbers, booleans, lists) and a value
that can't be turned is passed on as given, so validation answers with its plain message.
"""
from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from practice.core.intake import Section
from practice.intake.models import TRACKS

_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
YES_NO = {"true": True, "false": False}

TRACK_LABELS = {
    "couples": "Couples therapy",
    "couples_with_individual": "Couples therapy with individual support",
    "discernment": "Discernment counseling",
    "individual": "Individual therapy",
    "safety_review": "Safety review",
}


def form_value(value: Any) -> str:
    """How a stored value is written in a form field (True -> "true"), so pages can mark what is chosen."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def section_answers(section: Section, form: MultiDict) -> dict[str, Any]:
    """The answers a section's page sent, typed; blank fields are left out (not answered).

    A multiple-choice item whose boxes are all unticked was answered "none of these" (the page always shows
    its boxes), so it is an empty list rather than missing.
    """
    answers: dict[str, Any] = {}
    for item in section.items:
        if item.type == "multi_choice":
            answers[item.id] = [v for v in form.getlist(item.id) if v]
            continue
        raw = form.get(item.id)
        if raw is None or not raw.strip():
            continue
        raw = raw.strip() if item.type != "text" else raw
        if item.type in ("freq5", "scale"):
            answers[item.id] = int(raw) if _INTEGER.fullmatch(raw) else raw
        elif item.type == "yesno":
            answers[item.id] = YES_NO.get(raw, raw)
        elif item.type == "number":
            answers[item.id] = (int(raw) if _INTEGER.fullmatch(raw) else float(raw) if _NUMBER.fullmatch(raw)
                                else raw)
        else:
            answers[item.id] = raw
    return answers


# Short labels for the queue's flag badges (INTAKE.md, "Flags"); codes not listed read as their words.
FLAG_LABELS = {
    "suicide_acute": "Suicide: now",
    "suicide_risk": "Suicide risk",
    "ipv_risk": "Partner violence",
    "coercive_control": "Coercive control",
    "unsafe_together": "Unsafe together",
    "ongoing_affair": "Ongoing affair",
    "mixed_agenda": "Mixed agenda",
    "both_leaving": "Both leaving",
    "relationship_distress": "Distress",
    "depression_screen": "Depression screen",
    "anxiety_screen": "Anxiety screen",
    "substance_concern": "Substance use",
    "past_wounds": "Past wounds",
}
URGENT_FLAGS = ("suicide_acute", "suicide_risk", "ipv_risk")
QUEUE_VIEWS = {"todo": "To do", "processed": "Done", "all": "All"}


def flag_label(code: str) -> str:
    if code in FLAG_LABELS:
        return FLAG_LABELS[code]
    words = code.removeprefix("trust_").replace("_", " ")
    return ("Trust: " if code.startswith("trust_") else "") + words[:1].upper() + words[1:]


class _Versioned(FlaskForm):
    # The decision's version the page was rendered at: a change from an older page is refused (409). The intake
    # page holds several of these forms: it renders their hidden fields without ids (macros.html hidden_fields).
    version = HiddenField()


class DecisionForm(_Versioned):
    action = RadioField("Decision", choices={"accept": "Accept the recommendation",
                                             "override": "Use another track"},
                        validators=[InputRequired("Accept, or choose another track.")])
    track = SelectField("Track to use instead", choices={"": "Choose a track", **{t: TRACK_LABELS[t] for t in TRACKS}},
                        validators=[Optional()])
    reason = TextAreaField("Why (needed to override)", validators=[Optional(), Length(max=2000)])


class ProcessedForm(_Versioned):
    pass


class AssignForm(_Versioned):
    # Choices are the page's suggestions (and, once a counselor is chosen, their free times).
    counselor = SelectField("Counselor", choices=[], validators=[InputRequired("Choose a counselor.")])
    start = SelectField("Time", choices=[], validate_choice=False, validators=[Optional()])


class ConvertForm(_Versioned):
    # Each choice is "<counselor id>|<start, ISO 8601 UTC>", grouped by counselor.
    client = SelectField("Session for partner 1", choices=[], validate_choice=False,
                         validators=[InputRequired("Choose a counselor and time for this person.")])
    partner = SelectField("Session for partner 2", choices=[], validate_choice=False,
                          validators=[InputRequired("Choose a counselor and time for this person.")])
    reason = TextAreaField("Why the sessions are being separated",
                           validators=[InputRequired("Say why the sessions are being separated."), Length(max=2000)])


class LiftBlockForm(FlaskForm):
    confirm = HiddenField(default="1")
