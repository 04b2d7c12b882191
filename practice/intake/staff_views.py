"""The staff side of intakes: the queue, a booking's intakes, accepting or overriding the recommendation, marking
it done, giving the booking to another counselor, splitting a couple booking into individual sessions, and
lifting a self-booking block. Access: front desk and admins for every booking, a counselor for their own (read
and decide); the full answers only for admins and the booking's counselor (practice.intake.staff). Every view
is audited.

Two staff on one intake: each form carries the decision's version as the page showed it; a change from an
older page is answered 409 with the page as it stands, what happened since and who did it, and the second
person's entries kept in their form (practice.intake.service.DecisionChanged).
"""
from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from practice import clock
from practice.access import staff
from practice.audit import service as audit
from practice.booking import assign as assigning, convert as converting, display
from practice.booking.errors import ActionRefused, BookingInvalid, SlotUnavailable
from practice.core.numbers import whole_number
from practice.extensions import db
from practice.intake import service, staff as staff_reads
from practice.intake.forms import (
    QUEUE_VIEWS, TRACK_LABELS, URGENT_FLAGS, AssignForm, ConvertForm, DecisionForm, LiftBlockForm, ProcessedForm,
    flag_label,
)
from practice.intake.matching import TRACK_FORMAT
from practice.intake.models import RoutingDecision
from practice.intake.views import bp

CHANGE_WORDS = {
    "intake.route": "an intake arrived and the recommendation was made again",
    "intake.accept": "accepted the recommendation",
    "intake.override": "chose another track",
    "intake.processed": "marked it done",
    "intake.reassigned": "gave the booking to another counselor",
    "intake.converted": "split the booking into individual sessions",
}


def _me():
    return current_user._get_current_object()


def _audited(html: str):
    """Send a page only once the audit records of what it shows are saved."""
    db.session.commit()
    return html


def _at(moment: datetime | None, *, short: bool = False) -> str:
    """A time in the practice's zone, the zone named: 'Mon, Dec 7, 2026, 10:00 AM EST'."""
    if moment is None:
        return ""
    local = moment.astimezone(clock.practice_zone())
    return local.strftime("%-I:%M %p %Z" if short else "%a, %b %-d, %Y, %-I:%M %p %Z")


def _change_sentence(change: service.Change) -> str:
    words = CHANGE_WORDS.get(change.action, "changed it")
    if change.action == "intake.route":
        return f"At {_at(change.at)}, {words}."
    return f"{change.by or 'Someone'} {words} at {_at(change.at)}."


# --- the queue ------------------------------------------------------------------------------------------

@bp.get("/staff/intakes")
@staff("admin", "frontdesk", "counselor")
def queue():
    show = request.args.get("show", "todo")
    page = dict(track_labels=TRACK_LABELS, flag_label=flag_label, urgent_flags=URGENT_FLAGS, views=QUEUE_VIEWS,
                at=_at, zone=clock.practice_zone().key, now=clock.now())
    try:
        rows = staff_reads.queue(_me(), show=show, now=page["now"])
    except staff_reads.QueueFilterInvalid:
        return render_template("intake/staff_queue.html", rows=[], show=None, **page,
                               error="That list doesn't exist. Choose To do, Done or All."), 422
    return _audited(render_template("intake/staff_queue.html", rows=rows, show=show, error=None, **page))


# --- a booking's intakes --------------------------------------------------------------------------------

@bp.get("/staff/intakes/<booking_id>")
@staff("admin", "frontdesk", "counselor")
def booking_intakes(booking_id: str):
    return _booking_page(booking_id)


def _start_choices(booking, counselor_id: str | None, *, now: datetime) -> list[tuple[str, str]]:
    """'Keep the session's time', then the chosen counselor's free times for this booking's kind of session."""
    choices = [("", "Keep the session's time")]
    counselor = None
    if (chosen := whole_number(counselor_id)) is not None:
        from practice.counselors.models import Counselor

        counselor = db.session.get(Counselor, chosen)
    if counselor is not None:
        service_ = assigning.matching_service(counselor, format=booking.service.format,
                                              is_trial=booking.service.is_trial)
        if service_ is not None:
            starts = assigning.free_starts(counselor, service_, now=now, zone=clock.practice_zone().key, exclude_booking=booking.id)
            choices += [(start.isoformat(), _at(start)) for start in starts]
    return choices


def _booking_page(booking_id: str, *, forms: dict | None = None, status: int = 200,
                  changes: list[service.Change] | None = None, errors: dict | None = None):
    me = _me()
    now = clock.now()
    try:
        summary = staff_reads.summary_for(booking_id, me, now=now)
    except staff_reads.NotAllowed:
        abort(404)
    decision, booking = summary.decision, summary.booking
    forms = forms or {}
    version = str(decision.version) if decision is not None else ""
    decision_form = forms.get("decision") or DecisionForm(formdata=None)
    processed_form = forms.get("processed") or ProcessedForm(formdata=None)
    assign_form = forms.get("assign") or AssignForm(formdata=None)
    for form in (decision_form, processed_form, assign_form):
        form.version.data = version  # a resubmission after a 409 is made knowingly, from what is shown now
    manages = staff_reads.may_manage(me)
    assign_form.counselor.choices = _assign_choices(summary.matches, booking)
    assign_form.start.choices = _start_choices(booking, assign_form.counselor.data if forms.get("assign") else None,
                                               now=now)
    html = render_template(
        "intake/staff_booking.html", s=summary, b=booking, decision=decision, form=decision_form,
        processed_form=processed_form, assign_form=assign_form,
        track_labels=TRACK_LABELS, track_format=TRACK_FORMAT, flag_label=flag_label, at=_at, zone=clock.practice_zone().key,
        may_decide=decision is not None and staff_reads.may_decide(me, booking),
        may_process=manages and decision is not None and decision.processed_at is None,
        may_assign=manages and decision is not None and booking.is_live and booking.starts_at > now
        and bool(assign_form.counselor.choices),
        convert_refusal=staff_reads.convert_refusal(booking, decision, now=now) if manages else None,
        may_convert=manages and staff_reads.convert_refusal(booking, decision, now=now) is None,
        may_lift=bool(summary.blocks) and staff_reads.may_lift_block(me), lift_form=LiftBlockForm(),
        changes=[_change_sentence(c) for c in changes] if changes is not None else None,
        errors=errors or {},
    )
    return _audited(html), status


def _assign_choices(matches, booking) -> list[tuple[str, str]]:
    return [(str(m.counselor.id), m.counselor.name + (f", {m.counselor.credentials}" if m.counselor.credentials
                                                       else ""))
            for m in matches if m.counselor.id != booking.counselor_id]


def _opened(booking_id: str, *, managing: bool = False):
    me = _me()
    try:
        booking = staff_reads.open_booking(booking_id, me)
    except staff_reads.NotAllowed:
        abort(404)
    if managing and not staff_reads.may_manage(me):
        abort(404)
    return me, booking


MISSING_VERSION = "This form is missing what it was based on. Reload the page and try again."


def _changed(booking_id: str, changed: service.DecisionChanged, forms: dict):
    """409: someone else acted first. The page as it stands, what they did, and this person's entries kept."""
    db.session.rollback()
    return _booking_page(booking_id, forms=forms, status=409, changes=changed.changes)


@bp.post("/staff/intakes/<booking_id>/decision")
@staff("admin", "frontdesk", "counselor")
def decide(booking_id: str):
    me, booking = _opened(booking_id)
    form = DecisionForm()
    valid = form.validate_on_submit()  # (validating resets every field's errors: ours come after)
    version = service.parse_version(form.version.data)
    if version is None:
        form.action.errors = [*form.action.errors, MISSING_VERSION]
    if not valid or version is None or not staff_reads.may_decide(me, booking):
        return _booking_page(booking_id, forms={"decision": form}, status=422)
    try:
        service.record_staff_decision(booking.id, actor=me, action=form.action.data,
                                      track=form.track.data or None, reason=form.reason.data,
                                      version=version, now=clock.now())
    except service.DecisionChanged as changed:
        return _changed(booking_id, changed, {"decision": form})
    except service.DecisionRefused as refused:
        for name, messages in refused.errors.items():
            field = getattr(form, name, None) if name != "version" else form.action
            field = field or form.action
            field.errors = [*field.errors, *messages]
        return _booking_page(booking_id, forms={"decision": form}, status=422)
    flash("The recommendation was accepted." if form.action.data == "accept" else
          "Your decision and its reason were saved.", "success")
    return redirect(url_for("intake.booking_intakes", booking_id=booking_id), 303)


@bp.post("/staff/intakes/<booking_id>/processed")
@staff("admin", "frontdesk")
def mark_processed(booking_id: str):
    me, booking = _opened(booking_id, managing=True)
    form = ProcessedForm()
    version = service.parse_version(form.version.data)
    if not form.validate_on_submit() or version is None:
        return _booking_page(booking_id, forms={"processed": form}, status=422,
                             errors={"processed": [MISSING_VERSION]})
    try:
        service.mark_processed(booking.id, actor=me, version=version, now=clock.now())
    except service.DecisionChanged as changed:
        return _changed(booking_id, changed, {"processed": form})
    except service.DecisionRefused as refused:
        return _booking_page(booking_id, forms={"processed": form}, status=422,
                             errors={"processed": [m for messages in refused.errors.values() for m in messages]})
    flash("Marked as done: it has left the to-do list.", "success")
    return redirect(url_for("intake.booking_intakes", booking_id=booking_id), 303)


def _parsed_start(value: str | None) -> datetime | None | bool:
    """The start a form chose (aware, UTC), None for none, False when it can't be read."""
    if not value:
        return None
    return display.parse_start(value) or False


@bp.post("/staff/intakes/<booking_id>/assign")
@staff("admin", "frontdesk")
def assign(booking_id: str):
    me, booking = _opened(booking_id, managing=True)
    decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking.id))
    form = AssignForm()
    form.counselor.choices = _assign_choices(staff_reads.matches_for(booking, decision), booking)
    forms = {"assign": form}
    if not form.validate_on_submit():
        return _booking_page(booking_id, forms=forms, status=422)
    start = _parsed_start(form.start.data)
    if start is False:
        form.start.errors = ["Choose one of the times offered."]
        return _booking_page(booking_id, forms=forms, status=422)
    version = service.parse_version(form.version.data)
    if version is None:
        form.counselor.errors = [MISSING_VERSION]
        return _booking_page(booking_id, forms=forms, status=422)

    def check_version(moved):
        service.note_booking_changed(moved.id, expected_version=version, action="reassigned", actor=me)

    try:
        done = assigning.reassign(booking.id, int(form.counselor.data), new_start=start, actor=me, now=clock.now(),
                                  also=check_version)
    except service.DecisionChanged as changed:
        return _changed(booking_id, changed, forms)
    except StaleDataError:
        return _changed(booking_id, service.stale_change(booking.id, version), forms)
    except BookingInvalid as invalid:  # StartNeeded too: the page then offers the counselor's free times
        for name, messages in invalid.errors.items():
            field = form.start if name == "start" else form.counselor
            field.errors = [*field.errors, *messages]
        return _booking_page(booking_id, forms=forms, status=422)
    except SlotUnavailable:
        form.start.errors = ["That time was taken a moment ago. Choose another of the times offered."]
        return _booking_page(booking_id, forms=forms, status=409)
    except ActionRefused as refused:
        form.counselor.errors = [str(refused)]
        return _booking_page(booking_id, forms=forms, status=refused.status)
    flash(f"The booking is now with {done.booking.counselor.name}"
          + (f", at {_at(done.booking.starts_at)}" if done.moved else ", at the same time")
          + ". Each person was emailed about the change.", "success")
    return redirect(url_for("intake.booking_intakes", booking_id=booking_id), 303)


# --- splitting a couple booking into individual sessions ----------------------------------------------

def _convert_options(booking, decision, *, now: datetime) -> dict[str, list[tuple[str, list[tuple[str, str]]]]]:
    """Per person (role): (counselor's name, [(value, time)]) for each counselor who fits them and has an
    individual trial session; a value is "<counselor id>|<start ISO>". The couple booking's own time counts
    as free (it is cancelled by the change)."""
    options = {}
    for role, matches in staff_reads.individual_matches(booking, decision).items():
        groups = []
        for match in matches:
            trial = assigning.matching_service(match.counselor, format="individual", is_trial=True)
            if trial is None:
                continue
            starts = assigning.free_starts(match.counselor, trial, now=now, zone=clock.practice_zone().key,
                                           exclude_booking=booking.id, limit=16)
            if starts:
                label = match.counselor.name + (f" (fits: {'; '.join(match.met)})" if match.met else "")
                groups.append((label, [(f"{match.counselor.id}|{s.isoformat()}", _at(s)) for s in starts]))
        options[role] = groups
    return options


def _convert_page(booking_id: str, *, form: ConvertForm | None = None, status: int = 200,
                  changes: list[service.Change] | None = None, refusal: str | None = None):
    me, booking = _opened(booking_id, managing=True)
    now = clock.now()
    decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking.id))
    refusal = refusal or staff_reads.convert_refusal(booking, decision, now=now)
    form = form or ConvertForm(formdata=None)
    form.version.data = str(decision.version) if decision is not None else ""
    audit.record("intake.view_convert", record_type="booking", record_id=booking.id, actor=me)
    html = render_template(
        "intake/staff_convert.html", b=booking, decision=decision, form=form, at=_at, zone=clock.practice_zone().key,
        track_labels=TRACK_LABELS, refusal=refusal,
        options=_convert_options(booking, decision, now=now) if refusal is None else {},
        changes=[_change_sentence(c) for c in changes] if changes is not None else None)
    return _audited(html), status


@bp.get("/staff/intakes/<booking_id>/convert")
@staff("admin", "frontdesk")
def convert_form(booking_id: str):
    return _convert_page(booking_id)


@bp.post("/staff/intakes/<booking_id>/convert")
@staff("admin", "frontdesk")
def convert(booking_id: str):
    me, booking = _opened(booking_id, managing=True)
    now = clock.now()
    decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking.id))
    form = ConvertForm()
    refusal = staff_reads.convert_refusal(booking, decision, now=now)
    if refusal:
        return _convert_page(booking_id, form=form, status=409, refusal=refusal)
    roles = [p.role for p in booking.participants]
    if not form.validate_on_submit():
        return _convert_page(booking_id, form=form, status=422)
    placements = []
    for role in roles:
        field = getattr(form, role)
        counselor_id, _, start_text = (field.data or "").partition("|")
        start = _parsed_start(start_text)
        chosen = whole_number(counselor_id)
        if chosen is None or not start:
            field.errors = [*field.errors, "Choose one of the counselors and times offered."]
            continue
        placements.append(converting.Placement(role, chosen, start))
    if len(placements) != len(roles):
        return _convert_page(booking_id, form=form, status=422)
    offered = {role: {value for _, values in groups for value, _ in values}
               for role, groups in _convert_options(booking, decision, now=now).items()}
    for role in roles:
        field = getattr(form, role)
        if field.data not in offered.get(role, set()):
            field.errors = [*field.errors, "That counselor or time isn't offered for this person. Choose one of "
                                           "those listed."]
    version = service.parse_version(form.version.data)
    if version is None:
        form.reason.errors = [*form.reason.errors, MISSING_VERSION]
    if any(getattr(form, role).errors for role in roles) or version is None:
        return _convert_page(booking_id, form=form, status=422)

    def check_version(couple):
        service.note_booking_changed(couple.id, expected_version=version, action="converted", actor=me)

    try:
        converting.convert(booking.id, placements, reason=form.reason.data, actor=me, now=now, also=check_version)
    except service.DecisionChanged as changed:
        db.session.rollback()
        return _convert_page(booking_id, form=form, status=409, changes=changed.changes)
    except StaleDataError:
        changed = service.stale_change(booking.id, version)
        return _convert_page(booking_id, form=form, status=409, changes=changed.changes)
    except BookingInvalid as invalid:
        for name, messages in invalid.errors.items():
            field = getattr(form, name, None) or form.reason
            field.errors = [*field.errors, *messages]
        return _convert_page(booking_id, form=form, status=422)
    except SlotUnavailable:
        form.reason.errors = [*form.reason.errors, "One of those times was taken a moment ago. Choose again."]
        return _convert_page(booking_id, form=form, status=409)
    except ActionRefused as refused:
        return _convert_page(booking_id, form=form, status=refused.status, refusal=str(refused))
    flash("Done: each partner now has an individual session of their own, and each was emailed about their own "
          "session only. The couples booking is cancelled and any payment for it refunded in full.", "success")
    return redirect(url_for("intake.booking_intakes", booking_id=booking_id), 303)


@bp.post("/staff/intakes/<booking_id>/lift-block")
@staff("admin", "frontdesk")
def lift_block(booking_id: str):
    me, booking = _opened(booking_id)
    if LiftBlockForm().validate_on_submit():
        service.lift_blocks(booking.id, actor=me, now=clock.now())
        flash("Online booking is open to them again.", "success")
    return redirect(url_for("intake.booking_intakes", booking_id=booking_id), 303)
