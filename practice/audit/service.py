"""Writing to the audit log: the only writer of audit_event."""
from __future__ import annotations

from contextlib import contextmanager

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert

from practice.audit.models import AuditEvent
from practice.extensions import db

_BATCH = "practice.audit.batch"  # session.info key: events held by batched(), written when it ends
_INSERT = insert(AuditEvent)


def record(action: str, *, record_type: str = "", record_id: object = "", detail: dict | None = None,
           actor=None) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change it describes)."""
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    ip = ""
    if has_request_context():
        ip = request.remote_addr or ""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor=(f"{actor.email} ({actor.role})" if actor is not None and hasattr(actor, "email") else "anonymous"),
        action=action,
        record_type=record_type,
        record_id=str(record_id) if record_id is not None else "",
        ip=ip,
        detail=detail or {},
    )
    batch = db.session.info.get(_BATCH)
    if batch is not None:
        batch.append(event)
    else:
        db.session.add(event)
    return event


@contextmanager
def batched():
    """Events recorded inside the block are written together when it ends, in one INSERT on the session's
    connection: in the same transaction as the change they describe, without the unit of work's bookkeeping
    (a hot path's use, e.g. a booking). If the block raises, nothing is written (its transaction is rolled
    back by the caller anyway). Events recorded this way are not objects in the session."""
    session = db.session
    if session.info.get(_BATCH) is not None:  # already inside one: the outer block writes
        yield
        return
    events: list[AuditEvent] = []
    session.info[_BATCH] = events
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)
    if events:
        # `at` is left to the column's default, as a flush would leave it.
        session.connection().execute(_INSERT, [
            {"actor_id": event.actor_id, "actor": event.actor, "action": event.action,
             "record_type": event.record_type, "record_id": event.record_id, "ip": event.ip, "detail": event.detail}
            for event in events
        ])
