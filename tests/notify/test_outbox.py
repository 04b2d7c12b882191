"""Queueing: a message is part of the transaction that caused it, rendered once, with links on BASE_URL."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from practice.counselors.models import Counselor
from practice.extensions import db
from practice.jobs import delivery_mode
from practice.notify.models import OutboxMessage, OutboxState
from practice.notify.outbox import (
    Attachment, RenderedEmail, queue_email, render_email, rendered,
)
from tests.notify.conftest import MANAGE_URL, TOKEN, queue_link


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_rolled_back_change_leaves_no_message(app):
    counselor = Counselor(slug="new-counselor", name="New Counselor", timezone="UTC")
    db.session.add(counselor)
    queue_link()
    db.session.rollback()
    assert outbox_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Counselor)) == 0


def test_message_commits_with_the_change_that_caused_it(app):
    counselor = Counselor(slug="new-counselor", name="New Counselor", timezone="UTC")
    db.session.add(counselor)
    message = queue_link()
    assert message.state is OutboxState.pending  # queued, not sent: the caller has not committed yet
    db.session.commit()
    assert outbox_count() == 1
    assert db.session.scalar(select(func.count()).select_from(Counselor)) == 1


def test_message_is_rendered_with_subject_from_its_block_and_links_on_base_url(app):
    message = queue_link(note="See you <soon> & well")
    db.session.commit()
    db.session.expire_all()
    content = rendered(db.session.get(OutboxMessage, message.id))
    assert content.subject == "Your link to manage your session with Harbor Trust Counseling"
    assert message.to_email == "ada@example.com" and message.to_name == "Ada Lovelace"
    assert MANAGE_URL in content.text and MANAGE_URL in content.html
    assert "http://practice.test/counselors" in content.text  # url_for in an email: BASE_URL, absolute
    assert 'href="http://practice.test/counselors"' in content.html
    assert "See you <soon> & well" in content.text  # plain text is not escaped ...
    assert "See you &lt;soon&gt; &amp; well" in content.html  # ... HTML is
    assert "\n\n\n" not in content.text and content.text.startswith("Hello Ada,")
    assert message.message_id.startswith("<") and message.message_id.endswith("@practice.example>")


def test_the_link_is_stored_encrypted_and_the_message_rendered_when_delivered(app):
    """The row holds the template and its context encrypted: the signed link is nowhere in the clear."""
    from sqlalchemy import text

    message = queue_link()
    db.session.commit()
    raw = db.session.execute(text("SELECT * FROM outbox_message WHERE id = :id"), {"id": message.id}).mappings().one()
    assert raw["template"] == "your_link" and raw["subject"] is None and raw["text_body"] is None
    assert TOKEN.encode() not in bytes(raw["context"]) and all(TOKEN not in str(v) for v in raw.values())
    assert db.session.get(OutboxMessage, message.id).context["manage_url"] == MANAGE_URL  # decrypts


def test_a_message_queued_before_rendering_moved_to_delivery_is_sent_as_it_was(app):
    """Rows from before migration 0006 hold rendered bodies and no template."""
    old = OutboxMessage(kind="manage_link", to_email="ada@example.com", to_name="Ada", subject="Old subject",
                        text_body="Old text", html_body="<p>Old html</p>", attachments=[],
                        message_id="<old@practice.example>")
    db.session.add(old)
    db.session.commit()
    assert rendered(old) == RenderedEmail("Old subject", "Old text", "<p>Old html</p>")


def test_a_context_that_is_not_json_is_refused_when_queued(app):
    with pytest.raises(ValueError, match="JSON"):
        queue_email(to="ada@example.com", template="your_link", context={"name": object()}, kind="x")


def test_links_use_base_url_even_inside_a_request_from_another_host(app):
    with app.test_request_context("/", base_url="https://attacker.example"):
        rendered = render_email("your_link", {"name": "Ada", "manage_url": MANAGE_URL, "note": ""})
    assert "attacker.example" not in rendered.text + rendered.html
    assert "http://practice.test/counselors" in rendered.text


def test_same_dedupe_key_queues_one_message(app):
    first = queue_link(dedupe_key="manage_link:42:0")
    db.session.commit()
    again = queue_link(dedupe_key="manage_link:42:0")
    db.session.commit()
    other = queue_link(dedupe_key="manage_link:42:1")
    db.session.commit()
    assert again.id == first.id and other.id != first.id
    assert outbox_count() == 2


def test_attachments_are_kept_with_the_message(app):
    invite = Attachment("invite.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    message = queue_link(attachments=(invite,))
    db.session.commit()
    db.session.expire_all()
    assert [Attachment.from_json(a) for a in db.session.get(OutboxMessage, message.id).attachments] == [invite]


def test_the_message_returned_is_the_row_as_written_without_reading_it_back(app):
    from sqlalchemy import event

    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        message = queue_link(dedupe_key="manage_link:7:0")
        seen = {column: getattr(message, column) for column in
                ("id", "kind", "to_email", "to_name", "template", "context", "subject", "text_body", "html_body",
                 "attachments", "state",
                 "attempts", "next_attempt_at", "claimed_until", "sent_at", "last_error", "message_id",
                 "dedupe_key", "created_at")}
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT outbox".upper())] == []
    assert sum("outbox_message" in s for s in statements) == 1  # the INSERT alone
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(OutboxMessage, seen["id"])
    assert {column: getattr(row, column) for column in seen} == seen
    assert row.state is OutboxState.pending and row.attempts == 0 and row.claimed_until is None


@pytest.mark.parametrize("filename, content_type", [("../x.ics", "text/calendar"), ("x.ics", "calendar")])
def test_attachment_needs_a_plain_name_and_a_content_type(filename, content_type):
    with pytest.raises(ValueError):
        Attachment(filename, content_type, b"x")


def test_address_with_a_line_break_is_refused(app):
    with pytest.raises(ValueError):
        queue_link(to="ada@example.com\r\nBcc: eve@example.com")


def test_template_without_a_subject_is_refused(app, tmp_path):
    from jinja2 import ChoiceLoader, DictLoader

    app.jinja_env.loader = ChoiceLoader([DictLoader({"email/nosubject.txt": "Hi", "email/nosubject.html": "Hi"}),
                                         app.jinja_env.loader])
    with pytest.raises(ValueError, match="subject"):
        queue_email(to="ada@example.com", template="nosubject", context={}, kind="x")


def test_delivery_mode_defaults_to_queue_with_redis_and_thread_without():
    assert delivery_mode({"MAIL_DELIVERY": "", "REDIS_URL": ""}) == "thread"
    assert delivery_mode({"MAIL_DELIVERY": "", "REDIS_URL": "redis://127.0.0.1:6379/0"}) == "queue"
    assert delivery_mode({"MAIL_DELIVERY": "Inline", "REDIS_URL": ""}) == "inline"
    for wrong in ({"MAIL_DELIVERY": "smtp", "REDIS_URL": ""}, {"MAIL_DELIVERY": "queue", "REDIS_URL": ""}):
        with pytest.raises(ValueError, match="MAIL_DELIVERY"):
            delivery_mode(wrong)


def test_a_broken_delivery_setting_never_undoes_the_commit(app, caplog):
    app.config["MAIL_DELIVERY"] = "carrier-pigeon"
    queue_link()
    with caplog.at_level(logging.ERROR, logger="practice.notify"):
        db.session.commit()
    assert outbox_count() == 1
    assert "MAIL_DELIVERY" in caplog.text and "worker's sweep will send" in caplog.text
