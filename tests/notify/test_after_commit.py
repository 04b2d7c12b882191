"""Delivery starts by itself once the transaction that queued a message commits (inline and thread modes)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.notify.models import OutboxMessage, OutboxState
from tests.notify.conftest import queue_link
from tests.smtp import wait_until


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config}


def state_of(message_id: int) -> OutboxState:
    db.session.rollback()
    return db.session.scalar(select(OutboxMessage.state).where(OutboxMessage.id == message_id))


def test_inline_mode_sends_before_commit_returns(app, smtp_server):
    app.config["MAIL_DELIVERY"] = "inline"
    message = queue_link()
    assert smtp_server.received == []  # nothing leaves before the commit
    db.session.commit()
    assert len(smtp_server.received) == 1
    assert state_of(message.id) is OutboxState.sent


def test_rollback_sends_nothing_and_the_next_commit_sends_only_its_own(app, smtp_server):
    app.config["MAIL_DELIVERY"] = "inline"
    queue_link(to="first@example.com")
    db.session.rollback()
    queue_link(to="second@example.com")
    db.session.commit()
    assert [r.rcpt_tos for r in smtp_server.received] == [["second@example.com"]]


def test_savepoint_release_waits_for_the_real_commit(app, smtp_server):
    app.config["MAIL_DELIVERY"] = "inline"
    with db.session.begin_nested():
        queue_link()
    assert smtp_server.received == []
    db.session.commit()
    assert len(smtp_server.received) == 1


def test_thread_mode_sends_in_the_background(app, smtp_server):
    app.config["MAIL_DELIVERY"] = "thread"
    message = queue_link()
    db.session.commit()
    smtp_server.wait_for(1)
    wait_until(lambda: state_of(message.id) is OutboxState.sent)


def test_none_mode_leaves_it_to_the_worker(app, smtp_server):
    app.config["MAIL_DELIVERY"] = "none"
    message = queue_link()
    db.session.commit()
    assert smtp_server.received == [] and state_of(message.id) is OutboxState.pending
