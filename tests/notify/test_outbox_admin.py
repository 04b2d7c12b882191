"""The outbox page: admins see where each message stands and send a failed one again; nobody else gets in."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.extensions import db
from practice.notify.delivery import deliver_due
from practice.notify.models import OutboxMessage, OutboxState
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.notify.conftest import MANAGE_URL, TOKEN, queue_link

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def admin(auth):
    user = make_user(role="admin")
    assert auth.login(user.email).status_code == 302
    return user


@pytest.fixture
def failed_and_sent(app, smtp_server):
    """One message the server refused for good, and one it took."""
    smtp_server.refuse(550, "No such mailbox here")
    failed = queue_link(to="gone@example.org", to_name="Gone Away", now=NOW)
    db.session.commit()
    deliver_due(now=NOW)
    smtp_server.accept()
    sent = queue_link(to="ada@example.com", now=NOW)
    db.session.commit()
    deliver_due(now=NOW)
    db.session.rollback()
    return db.session.get(OutboxMessage, failed.id), db.session.get(OutboxMessage, sent.id)


def text(response) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).replace("&#39;", "'").split())


def test_admin_sees_each_messages_state_attempts_and_last_error_but_never_its_content(client, admin,
                                                                                    failed_and_sent):
    failed, sent = failed_and_sent
    assert failed.state == OutboxState.failed and sent.state == OutboxState.sent
    response = client.get("/staff/outbox")
    assert response.status_code == 200
    page = text(response)
    assert "gone@example.org" in page and "ada@example.com" in page
    assert "Failed" in page and "550" in page and "No such mailbox here" in page
    assert "2026-12-06 15:00 UTC" in page  # when the sent one went out
    html = response.get_data(as_text=True)
    for secret in (TOKEN, MANAGE_URL, "Your link to manage", "Hello Ada"):
        assert secret not in html


def test_the_page_filters_by_state_and_ignores_a_filter_it_does_not_know(client, admin, failed_and_sent):
    page = text(client.get("/staff/outbox?state=failed"))
    assert "gone@example.org" in page and "ada@example.com" not in page
    page = text(client.get("/staff/outbox?state=sent"))
    assert "ada@example.com" in page and "gone@example.org" not in page
    response = client.get("/staff/outbox?state=<script>")
    assert response.status_code == 200 and "ada@example.com" in text(response)


def test_the_admin_dashboard_links_to_the_outbox(client, admin):
    assert 'href="/staff/outbox"' in client.get("/staff").get_data(as_text=True)


def test_retry_sends_a_failed_message_again_and_is_audited(client, admin, failed_and_sent, smtp_server,
                                                          frozen_clock):
    failed, _ = failed_and_sent
    frozen_clock["now"] = later = NOW + timedelta(minutes=20)  # within the staff session's idle time
    response = client.post(f"/staff/outbox/{failed.id}/retry")
    assert response.status_code == 303 and response.headers["Location"].startswith("/staff/outbox")
    assert "will be sent again" in text(client.get(response.headers["Location"]))

    db.session.rollback()
    retried = db.session.get(OutboxMessage, failed.id)
    assert (retried.state, retried.attempts, retried.next_attempt_at) == (OutboxState.pending, 1, later)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retry")).all()
    assert event.record_id == str(failed.id) and event.actor.startswith(admin.email)
    assert event.detail == {"kind": "manage_link", "state": "failed", "attempts": 1}

    assert deliver_due(now=later) == 1  # the server takes it now
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages][-1] == "gone@example.org"
    db.session.rollback()
    assert db.session.get(OutboxMessage, failed.id).state == OutboxState.sent


def test_a_sent_message_is_not_sent_again(client, admin, failed_and_sent, smtp_server):
    _, sent = failed_and_sent
    received = len(smtp_server.received)
    response = client.post(f"/staff/outbox/{sent.id}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "can't be sent again" in text(response)
    db.session.rollback()
    assert db.session.get(OutboxMessage, sent.id).state == OutboxState.sent
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retry")).all() == []
    assert deliver_due(now=NOW + timedelta(hours=1)) == 0 and len(smtp_server.received) == received


def test_an_unknown_message_is_404(client, admin):
    assert client.post("/staff/outbox/999999/retry").status_code == 404
    assert client.post("/staff/outbox/not-a-number/retry").status_code == 404


@pytest.mark.parametrize("role", ["frontdesk", "counselor"])
def test_other_staff_may_not_see_or_retry(client, auth, role, failed_and_sent):
    failed, _ = failed_and_sent
    counselor = make_counselor() if role == "counselor" else None
    assert auth.login(make_user(role=role, counselor=counselor).email).status_code == 302
    assert client.get("/staff/outbox").status_code == 403
    assert client.post(f"/staff/outbox/{failed.id}/retry").status_code == 403
    db.session.rollback()
    assert db.session.get(OutboxMessage, failed.id).state == OutboxState.failed


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/staff/outbox")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
