"""The audit log for admins: who saw or changed which record, when and from where; on a page and as CSV.

Reading the log is itself sensitive, so each look at it (page or export) is recorded in it too.
"""
from __future__ import annotations

import csv
import io

from flask import Blueprint, make_response, render_template, request

from practice import clock
from practice.access import staff
from practice.audit import search
from practice.audit import service as audit
from practice.extensions import db

bp = Blueprint("audit", __name__)


@bp.get("/staff/audit")
@staff("admin")
def audit_log():
    actions = db.session.scalars(search.actions_query()).all()
    try:
        filters = search.parse_filters(request.args)
    except search.FilterInvalid as exc:
        return render_template("audit/log.html", error=str(exc), events=[], args=request.args, actions=actions,
                               filters=None, older=None, detail_lines=search.detail_lines), 422
    rows = db.session.scalars(search.events_query(filters, limit=search.PAGE_SIZE + 1)).all()
    events, more = rows[: search.PAGE_SIZE], len(rows) > search.PAGE_SIZE
    audit.record("audit.view", detail={"filters": filters.used(), "shown": len(events)})
    db.session.commit()
    older = {**filters.used(), "before": events[-1].id} if more else None
    return render_template("audit/log.html", error=None, events=events, args=request.args, actions=actions,
                           filters=filters, older=older, detail_lines=search.detail_lines)


@bp.get("/staff/audit.csv")
@staff("admin")
def audit_export():
    try:
        filters = search.parse_filters(request.args)
    except search.FilterInvalid as exc:
        return render_template("errors/error.html", status=422, title="These filters can't be used",
                               message=str(exc)), 422
    events = db.session.scalars(search.events_query(filters, limit=search.EXPORT_LIMIT)).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(search.CSV_HEADER)
    writer.writerows(search.csv_row(event) for event in events)
    audit.record("audit.export", detail={"filters": filters.used(), "rows": len(events)})
    db.session.commit()
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{clock.now():%Y%m%d-%H%M%S}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
