"""The mail server is down, then back: nothing queued meanwhile is lost, and nothing is sent twice."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.notify.delivery import deliver_due
from practice.notify.models import OutboxMessage, OutboxState
from practice.worker import run_round
from tests.conftest import freeze_clock
from tests.notify.conftest import queue_link
from tests.notify.test_reminders import DAY_BEFORE_MON_10, NOW, book, counselor  # noqa: F401  (fixture)

T0 = datetime(2026, 12, 6, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config}  # MAIL_DELIVERY "none": the worker's rounds deliver


def stored(message_id: int) -> OutboxMessage:
    db.session.rollback()  # delivery writes in its own transactions: read in a fresh one
    return db.session.get(OutboxMessage, message_id)


def test_a_message_queued_while_the_server_is_down_is_sent_once_when_it_is_back(app, smtp_server):
    smtp_server.stop()  # nothing listens on its port now
    message_id = queue_link(now=T0).id
    db.session.commit()

    assert deliver_due(now=T0) == 0
    waiting = stored(message_id)
    assert waiting.state == OutboxState.pending and waiting.attempts == 1
    assert waiting.last_error and waiting.next_attempt_at == T0 + timedelta(minutes=1)

    assert run_round(now=T0 + timedelta(minutes=1))["deliver email"] == 0  # still down: tried again, kept
    waiting = stored(message_id)
    assert waiting.state == OutboxState.pending and waiting.attempts == 2
    assert waiting.next_attempt_at == T0 + timedelta(minutes=3)

    smtp_server.start()  # back, on the same port
    assert run_round(now=T0 + timedelta(minutes=2))["deliver email"] == 0  # not due yet: no hurry, no loss
    assert run_round(now=T0 + timedelta(minutes=3))["deliver email"] == 1
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "Ada Lovelace <ada@example.com>"
    sent = stored(message_id)
    assert (sent.state, sent.attempts, sent.sent_at) == (OutboxState.sent, 3, T0 + timedelta(minutes=3))

    for later in (5, 60, 24 * 60):
        assert run_round(now=T0 + timedelta(minutes=later))["deliver email"] == 0
    assert len(smtp_server.received) == 1


def test_reminders_queued_during_an_outage_arrive_once_each(client, counselor, smtp_server, monkeypatch):  # noqa: F811
    freeze_clock(monkeypatch, NOW)
    book(client, service="couple-trial")
    deliver_due(now=NOW)  # the confirmations, while the server is still up
    confirmations = len(smtp_server.received)
    smtp_server.stop()

    done = run_round(now=DAY_BEFORE_MON_10)
    assert done["send reminders"] == 1 and done["deliver email"] == 0
    reminders = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "session_reminder")).all()
    assert [m.state for m in reminders] == [OutboxState.pending] * 2
    assert all(m.last_error for m in reminders)

    smtp_server.start()
    done = run_round(now=DAY_BEFORE_MON_10 + timedelta(minutes=5))
    assert done["send reminders"] == 0 and done["deliver email"] == 2
    arrived = smtp_server.wait_for(confirmations + 2)[confirmations:]
    assert sorted(m["To"].addresses[0].addr_spec for m in arrived) == ["robin@example.org", "sam@example.org"]

    done = run_round(now=DAY_BEFORE_MON_10 + timedelta(hours=1))
    assert done["send reminders"] == 0 and done["deliver email"] == 0
    assert len(smtp_server.received) == confirmations + 2
