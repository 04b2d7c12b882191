"""The outbox for admins: each message's state, attempts and last error, and sending a failed one again.

Only what delivery needs to be understood is shown: kind, address, state and times. Never a subject or a body:
they carry people's manage links and the details of their sessions.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from practice import clock
from practice.access import staff
from practice.audit import service as audit
from practice.extensions import db
from practice.notify import delivery
from practice.notify.models import OutboxMessage, OutboxState

bp = Blueprint("notify_staff", __name__)

PAGE_SIZE = 200  # the newest; older messages are for the database, not this page


@bp.get("/staff/outbox")
@staff("admin")
def outbox():
    state = request.args.get("state") or None
    if state is not None and state not in {known.value for known in OutboxState}:
        state = None  # an unknown filter shows everything rather than an error
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)
    if state is not None:
        query = query.where(OutboxMessage.state == OutboxState(state))
    messages = db.session.scalars(query).all()
    return render_template("notify/outbox.html", messages=messages, state=state, states=list(OutboxState),
                           retryable=delivery.RETRYABLE)


@bp.post("/staff/outbox/<int:message_id>/retry")
@staff("admin")
def retry(message_id: int):  # the app's CSRFProtect checks the form's token before this runs
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    previous = message.state.value
    try:
        delivery.retry(message.id, now=clock.now())
    except delivery.RetryRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("notify_staff.outbox", state=request.args.get("state") or None), code=303)
    audit.record("outbox.retry", record_type="outbox_message", record_id=message.id,
                 detail={"kind": message.kind, "state": previous, "attempts": message.attempts})
    db.session.commit()
    flash(f"Message {message_id} will be sent again now.", "success")
    return redirect(url_for("notify_staff.outbox", state=request.args.get("state") or None), code=303)
