"""Writing to the audit log: the only writer of audit_event."""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from practice.audit.models import AuditEvent
from practice.database import Ref, current_batch
from practice.extensions import db


def record(action: str, *, record_type: str = "", record_id: object = "", detail: dict | None = None,
           actor=None) -> None:
    """Add an audit event to the current transaction (it commits with the change it describes).

    Inside `insert_batch()` the event is a row of the batch (`record_id` may then be the Ref of another of its
    rows); otherwise an object in the session.
    """
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    values = dict(
        actor_id=getattr(actor, "id", None),
        actor=(f"{actor.email} ({actor.role})" if actor is not None and hasattr(actor, "email") else "anonymous"),
        action=action,
        record_type=record_type,
        record_id=(record_id.text() if isinstance(record_id, Ref)
                   else str(record_id) if record_id is not None else ""),
        ip=(request.remote_addr or "") if has_request_context() else "",
        detail=detail or {},
    )
    batch = current_batch()
    if batch is not None:
        batch.add(AuditEvent.__table__, values)  # `at` is left to the column's default, as a flush would leave it
    else:
        db.session.add(AuditEvent(**values))
