"""The audit log for admins: filtered, newest first, paged, exported as CSV that no spreadsheet runs; every look
at it is itself recorded; nobody but admins gets in."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from html import unescape

import pytest
from sqlalchemy import select

from practice.audit import service as audit
from practice.audit.models import AuditEvent
from practice.core.spreadsheet import safe_cell
from practice.extensions import db
from tests.factories import make_counselor, make_user


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=timezone.utc)


def add_event(action, *, actor=None, when, ip="", record_type="", record_id="", detail=None, actor_text=None):
    event = audit.record(action, actor=actor, record_type=record_type, record_id=record_id, detail=detail)
    event.at, event.ip = when, ip
    if actor_text is not None:
        event.actor = actor_text
    return event


@pytest.fixture
def admin(auth):
    user = make_user(role="admin")
    assert auth.login(user.email).status_code == 302
    return user


@pytest.fixture
def log(app):
    """Three events by two people over three days (UTC), the last with a long and a hostile detail value."""
    desk = make_user(role="frontdesk")
    counselor = make_user(role="counselor", counselor=make_counselor())
    events = [
        add_event("booking.create", actor=desk, when=at(1, 10), ip="10.0.0.1", record_type="booking",
                  record_id=11, detail={"status": "held"}),
        add_event("intake.view_answers", actor=desk, when=at(2, 23, 30), ip="10.0.0.2", record_type="intake",
                  record_id=7),
        add_event("booking.cancel", actor=counselor, when=at(3, 0, 10), ip="10.0.0.3", record_type="booking",
                  record_id=11, detail={"reason": "<script>alert(1)</script>", "note": "x" * 500}),
    ]
    db.session.commit()
    return {"desk": desk, "counselor": counselor, "events": events}


def shown_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r"<tr>\s*<td>(\d+)</td>", response.get_data(as_text=True))]


def ids_of(log, *positions) -> list[int]:
    return [log["events"][p].id for p in positions]


def test_admin_sees_the_log_newest_first(client, admin, log):
    response = client.get("/staff/audit?to=2025-12-31")
    assert response.status_code == 200
    assert shown_ids(response) == ids_of(log, 2, 1, 0)
    page = unescape(response.get_data(as_text=True))
    assert "2025-03-02 23:30:00" in page and "intake.view_answers" in page and log["desk"].email in page


@pytest.mark.parametrize("query, expected", [
    ("actor={desk_email}", [1, 0]),
    ("actor={desk_name_upper}", [1, 0]),  # by name, any case
    ("action=booking.cancel", [2]),
    ("record_type=booking", [2, 0]),
    ("record_type=booking&record_id=11", [2, 0]),
    ("record_id=7", [1]),
    ("ip=10.0.0.2", [1]),
    ("from=2025-03-02&to=2025-03-02", [1]),  # whole UTC days, "to" included
    ("from=2025-03-03&to=2025-12-31", [2]),
    ("to=2025-03-01", [0]),
    ("actor=nobody-at-all", []),
    ("actor=%25", []),  # a percent sign is text, not a wildcard
])
def test_each_filter_narrows_the_log(client, admin, log, query, expected):
    query = query.format(desk_email=log["desk"].email, desk_name_upper=log["desk"].name.upper())
    response = client.get(f"/staff/audit?{query}")
    assert response.status_code == 200
    assert shown_ids(response) == ids_of(log, *expected)


def test_the_action_filter_offers_the_actions_in_the_log(client, admin, log):
    html = client.get("/staff/audit").get_data(as_text=True)
    for action in ("booking.create", "booking.cancel", "intake.view_answers", "auth.login"):
        assert f'<option value="{action}"' in html


def test_details_are_escaped_and_long_values_cut(client, admin, log):
    html = client.get("/staff/audit?action=booking.cancel").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "x" * 199 + "…" in html and "x" * 200 not in html


def test_pages_go_back_in_time_by_event_number(client, admin, app):
    made = [add_event("booking.create", when=at(5, 12), record_type="paging", record_id=n) for n in range(205)]
    db.session.commit()
    newest_first = [e.id for e in reversed(made)]
    seen, url = [], "/staff/audit?record_type=paging"
    for expected in (100, 100, 5):
        response = client.get(url)
        assert response.status_code == 200
        page = shown_ids(response)
        assert len(page) == expected
        seen += page
        link = re.search(r'href="(/staff/audit\?[^"]*before=\d+[^"]*)">Older events', response.get_data(as_text=True))
        url = unescape(link.group(1)) if link else None
    assert url is None  # the last page has no link further back
    assert seen == newest_first


def test_each_look_at_the_log_is_itself_recorded(client, admin, log):
    client.get("/staff/audit?action=booking.cancel&ip=10.0.0.3&from=2025-03-01")
    db.session.rollback()
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.view")).all()
    assert event.actor_id == admin.id and event.actor.startswith(admin.email)
    assert event.detail == {"filters": {"action": "booking.cancel", "ip": "10.0.0.3", "from": "2025-03-01"},
                            "shown": 1}


def test_csv_export_has_the_filtered_events_and_no_formulas(client, admin, log):
    hostile = add_event("booking.create", when=at(4, 9), ip="10.0.0.9", record_type="booking",
                        record_id="=1+1", detail={"note": "=HYPERLINK(\"http://evil\")"},
                        actor_text="=cmd|' /C calc'!A0")
    for start in ("+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        add_event("booking.create", when=at(4, 9), ip="10.0.0.9", record_type="booking", actor_text=start)
    db.session.commit()
    response = client.get("/staff/audit.csv?ip=10.0.0.9")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert rows[0][:5] == ["id", "at_utc", "actor", "actor_id", "action"]
    assert len(rows) == 7
    by_id = {row[0]: row for row in rows[1:]}
    row = by_id[str(hostile.id)]
    assert row[2] == "'=cmd|' /C calc'!A0" and row[6] == "'=1+1" and row[1] == "2025-03-04T09:00:00+00:00"
    assert row[8].startswith("{") and "HYPERLINK" in row[8]
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)

    db.session.rollback()
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")).all()
    assert event.actor_id == admin.id and event.detail == {"filters": {"ip": "10.0.0.9"}, "rows": 6}


def test_csv_export_follows_every_filter(client, admin, log):
    rows = list(csv.reader(io.StringIO(client.get(f"/staff/audit.csv?actor={log['desk'].email}&to=2025-03-01")
                                       .get_data(as_text=True))))
    assert [row[0] for row in rows[1:]] == [str(log["events"][0].id)]


@pytest.mark.parametrize("value", ["-", "=", "+", "@", "\t", "\r"])
def test_a_cell_starting_like_a_formula_is_made_text(value):
    assert safe_cell(f"{value}rest") == f"'{value}rest"
    assert safe_cell(f"a{value}") == f"a{value}"


@pytest.mark.parametrize("query, words", [
    ("from=2025-13-01", "'from' date"),
    ("to=yesterday", "'to' date"),
    ("from=2025-3-1", "'from' date"),
    ("from=2025-03-05&to=2025-03-01", "after the 'to' date"),
    ("before=abc", "page link"),
    ("before=-5", "page link"),
    ("before=99999999999999999999999", "page link"),
    ("before=%C2%B2", "page link"),  # a superscript two: str.isdigit says yes, int() says no
    ("before=0", "page link"),
    (f"actor={'a' * 500}", "too long"),
])
def test_bad_filters_get_a_422_that_says_why(client, admin, query, words):
    for path in ("/staff/audit", "/staff/audit.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422
        assert words in unescape(response.get_data(as_text=True))
    db.session.rollback()
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("audit.%"))).all() == []


def test_the_admin_dashboard_links_to_the_log(client, admin):
    assert 'href="/staff/audit"' in client.get("/staff").get_data(as_text=True)


@pytest.mark.parametrize("role", ["frontdesk", "counselor"])
def test_other_staff_may_not_read_or_export_the_log(client, auth, role):
    counselor = make_counselor() if role == "counselor" else None
    assert auth.login(make_user(role=role, counselor=counselor).email).status_code == 302
    assert 'href="/staff/audit"' not in client.get("/staff").get_data(as_text=True)
    assert client.get("/staff/audit").status_code == 403
    assert client.get("/staff/audit.csv").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/staff/audit", "/staff/audit.csv"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
