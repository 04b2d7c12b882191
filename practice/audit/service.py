"""Writing to the audit log: the only writer of audit_event."""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from practice.audit.models import AuditEvent
from practice.extensions import db


def record(action: str, *, record_type: str = "", record_id: object = "", detail: dict | None = None,
           actor=None) -> AuditEvent:
    """Add an audit event to the current transaction of db.session: it commits with the change it describes,
    or not at all."""
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor=(f"{actor.email} ({actor.role})" if actor is not None and hasattr(actor, "email") else "anonymous"),
        action=action,
        record_type=record_type,
        record_id=str(record_id) if record_id is not None else "",
        ip=(request.remote_addr or "") if has_request_context() else "",
        detail=detail or {},
    )
    db.session.add(event)
    return event
