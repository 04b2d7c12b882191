"""The staff side of intakes: the queue, a booking's intakes, accepting or overriding the recommendation, and
lifting a self-booking block. Access: front desk and admins for every booking, a counselor for their own; the
full answers only for admins and the booking's counselor (practice.intake.staff). Every view is audited.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from practice import clock
from practice.access import staff
from practice.extensions import db
from practice.intake import service, staff as staff_reads
from practice.intake.forms import TRACK_LABELS, DecisionForm, LiftBlockForm
from practice.intake.matching import TRACK_FORMAT
from practice.intake.views import bp


def _me():
    return current_user._get_current_object()


def _audited(html: str):
    """Send a page only once the audit records of what it shows are saved."""
    db.session.commit()
    return html


@bp.get("/staff/intakes")
@staff("admin", "frontdesk", "counselor")
def queue():
    rows = staff_reads.queue(_me())
    return _audited(render_template("intake/staff_queue.html", rows=rows, track_labels=TRACK_LABELS))


@bp.get("/staff/intakes/<booking_id>")
@staff("admin", "frontdesk", "counselor")
def booking_intakes(booking_id: str):
    return _booking_page(booking_id)


def _booking_page(booking_id: str, *, form: DecisionForm | None = None, status: int = 200):
    me = _me()
    try:
        summary = staff_reads.summary_for(booking_id, me, now=clock.now())
    except staff_reads.NotAllowed:
        abort(404)
    decision = summary.decision
    if form is None:
        form = DecisionForm(formdata=None)
    html = render_template(
        "intake/staff_booking.html", s=summary, b=summary.booking, decision=decision, form=form,
        track_labels=TRACK_LABELS, track_format=TRACK_FORMAT,
        may_decide=decision is not None and staff_reads.may_decide(me, summary.booking),
        may_lift=bool(summary.blocks) and staff_reads.may_lift_block(me), lift_form=LiftBlockForm(),
    )
    return _audited(html), status


@bp.post("/staff/intakes/<booking_id>/decision")
@staff("admin", "frontdesk", "counselor")
def decide(booking_id: str):
    me = _me()
    try:
        booking = staff_reads.open_booking(booking_id, me)
    except staff_reads.NotAllowed:
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit() or not staff_reads.may_decide(me, booking):
        return _booking_page(booking_id, form=form, status=422)
    try:
        service.record_staff_decision(booking.id, actor=me, action=form.action.data,
                                      track=form.track.data or None, reason=form.reason.data, now=clock.now())
    except service.DecisionRefused as refused:
        for name, messages in refused.errors.items():
            field = getattr(form, name, None) or form.action
            field.errors = [*field.errors, *messages]
        return _booking_page(booking_id, form=form, status=422)
    flash("The recommendation was accepted." if form.action.data == "accept" else
          "Your decision and its reason were saved.", "success")
    return redirect(url_for("intake.booking_intakes", booking_id=booking_id), 303)


@bp.post("/staff/intakes/<booking_id>/lift-block")
@staff("admin", "frontdesk")
def lift_block(booking_id: str):
    me = _me()
    try:
        booking = staff_reads.open_booking(booking_id, me)
    except staff_reads.NotAllowed:
        abort(404)
    if LiftBlockForm().validate_on_submit():
        service.lift_blocks(booking.id, actor=me, now=clock.now())
        flash("Online booking is open to them again.", "success")
    return redirect(url_for("intake.booking_intakes", booking_id=booking_id), 303)
