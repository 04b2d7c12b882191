"""Delivery to a real SMTP server: the message, its retries, its failures, and what the logs may say."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest

from practice.extensions import db
from practice.notify import delivery
from practice.notify.delivery import backoff, deliver_due, deliver_message
from practice.notify.models import OutboxMessage, OutboxState
from practice.notify.outbox import Attachment, rendered
from tests.notify.conftest import MANAGE_URL, TOKEN, queue_link
from tests.smtp import running_smtp_server


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config}


@pytest.fixture
def t0() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def stored(message: OutboxMessage) -> OutboxMessage:
    db.session.rollback()  # delivery records outcomes in its own transactions: read them in a fresh one
    return db.session.get(OutboxMessage, message.id)


def test_message_goes_out_over_smtp_as_text_and_html_with_its_headers(app, smtp_server, t0):
    message = queue_link(now=t0)
    db.session.commit()

    assert deliver_due(now=t0) == 1

    [received] = smtp_server.received
    mail = received.message
    assert received.mail_from == "hello@practice.example" and received.rcpt_tos == ["ada@example.com"]
    assert mail["From"] == "Practice <hello@practice.example>"
    assert mail["To"] == "Ada Lovelace <ada@example.com>"
    assert mail["Subject"] == "Your link to manage your session with Harbor Trust Counseling"
    assert mail["Message-ID"] == message.message_id
    assert parsedate_to_datetime(mail["Date"]) == t0
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert MANAGE_URL in mail.get_body(("plain",)).get_content()
    assert f'href="{MANAGE_URL}"' in mail.get_body(("html",)).get_content()

    sent = stored(message)
    assert (sent.state, sent.attempts, sent.sent_at, sent.claimed_until) == (OutboxState.sent, 1, t0, None)
    assert deliver_due(now=t0 + timedelta(hours=2)) == 0  # never twice
    assert len(smtp_server.received) == 1


def test_attachments_travel_in_a_mixed_message(app, smtp_server, t0):
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    queue_link(now=t0, attachments=(Attachment("invite.ics", "text/calendar; method=REQUEST", ics),
                                    Attachment("note.pdf", "application/pdf", b"%PDF-1.4 \x00\xff")))
    db.session.commit()
    deliver_due(now=t0)

    [mail] = smtp_server.messages
    assert mail.get_content_type() == "multipart/mixed"
    body, invite, pdf = mail.iter_parts()
    # A calendar invite is the alternative's third part (iMIP, RFC 6047), its method said outside as inside,
    # and also a file for mail apps that show no invite of their own (application/ics, as Gmail sends it).
    assert body.get_content_type() == "multipart/alternative"
    _text, _html, calendar = body.iter_parts()
    assert (calendar.get_content_type(), calendar.get_param("method"), calendar.get_content_charset()) == (
        "text/calendar", "REQUEST", "utf-8")
    assert calendar.get_payload(decode=True) == ics
    assert (invite.get_content_type(), invite.get_filename()) == ("application/ics", "invite.ics")
    assert invite.get_payload(decode=True) == ics
    assert (pdf.get_filename(), pdf.get_payload(decode=True)) == ("note.pdf", b"%PDF-1.4 \x00\xff")


def test_without_an_smtp_server_the_message_is_written_to_the_outbox_folder(app, smtp_server, t0, tmp_path,
                                                                          caplog):
    app.config["SMTP_HOST"] = ""
    message = queue_link(now=t0)
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="practice.notify"):
        assert deliver_due(now=t0) == 1

    [eml] = (tmp_path / "outbox").glob("*.eml")
    assert eml.name == f"{t0:%Y%m%dT%H%M%SZ}-{message.id}.eml"
    assert str(eml) in caplog.text  # the log names the file a newcomer can open
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert mail["Message-ID"] == message.message_id
    assert MANAGE_URL in mail.get_body(("plain",)).get_content()
    assert smtp_server.received == []


def test_server_down_schedules_a_retry_with_backoff_then_delivers_when_back(app, smtp_server, t0):
    message = queue_link(now=t0)
    db.session.commit()
    smtp_server.stop()

    assert deliver_due(now=t0) == 0
    waiting = stored(message)
    assert (waiting.state, waiting.attempts, waiting.next_attempt_at) == (OutboxState.pending, 1,
                                                                          t0 + timedelta(minutes=1))
    assert "ConnectionRefusedError" in waiting.last_error

    assert deliver_due(now=t0 + timedelta(seconds=30)) == 0  # not due yet: no attempt
    assert stored(message).attempts == 1

    smtp_server.start()
    assert deliver_due(now=t0 + timedelta(minutes=1)) == 1
    sent = stored(message)
    assert (sent.state, sent.attempts, sent.last_error) == (OutboxState.sent, 2, None)
    assert [mail["Message-ID"] for mail in smtp_server.messages] == [message.message_id]


def test_backoff_doubles_from_a_minute_up_to_an_hour():
    assert [backoff(n) // timedelta(minutes=1) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_temporary_refusal_is_retried(app, smtp_server, t0):
    message = queue_link(now=t0)
    db.session.commit()
    smtp_server.refuse(451, "4.3.0 Try again later", at="DATA")
    deliver_due(now=t0)
    waiting = stored(message)
    assert waiting.state is OutboxState.pending
    assert waiting.last_error == "SMTPDataError: 451 4.3.0 Try again later"
    smtp_server.accept()
    assert deliver_due(now=waiting.next_attempt_at) == 1


@pytest.mark.parametrize("at", ["RCPT", "DATA"])
def test_permanent_refusal_fails_at_once_without_retry(app, smtp_server, t0, at):
    message = queue_link(now=t0)
    db.session.commit()
    smtp_server.refuse(550, "5.1.1 No such mailbox", at=at)

    assert deliver_due(now=t0) == 0
    failed = stored(message)
    assert (failed.state, failed.attempts) == (OutboxState.failed, 1)
    assert "550 5.1.1 No such mailbox" in failed.last_error

    smtp_server.accept()
    assert deliver_due(now=t0 + timedelta(days=1)) == 0
    assert smtp_server.received == []


def test_gives_up_after_max_attempts(app, smtp_server, t0):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    message = queue_link(now=t0)
    db.session.commit()
    smtp_server.stop()
    when = t0
    for _ in range(3):
        deliver_due(now=when)
        when = stored(message).next_attempt_at
    failed = stored(message)
    assert (failed.state, failed.attempts) == (OutboxState.failed, 3)
    smtp_server.start()
    assert deliver_due(now=t0 + timedelta(days=1)) == 0


def test_a_lapsed_claim_is_sent_again_with_the_same_message_id(app, smtp_server, t0):
    message = queue_link(now=t0)
    db.session.commit()
    assert delivery._claim(t0) is not None  # a deliverer claims it ... and dies before sending

    assert deliver_due(now=t0 + timedelta(minutes=5)) == 0  # its lease still holds
    assert deliver_due(now=t0 + delivery.LEASE + timedelta(seconds=1)) == 1
    assert stored(message).attempts == 2
    assert [mail["Message-ID"] for mail in smtp_server.messages] == [message.message_id]


def test_a_message_whose_deliverer_keeps_dying_is_given_up(app, smtp_server, t0):
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    message = queue_link(now=t0)
    db.session.commit()
    delivery._claim(t0)
    assert deliver_due(now=t0 + delivery.LEASE + timedelta(seconds=1)) == 0
    failed = stored(message)
    assert failed.state is OutboxState.failed and failed.last_error.startswith("gave up")
    assert smtp_server.received == []


def test_deliver_message_sends_a_new_message_once(app, smtp_server, t0):
    message = queue_link(now=t0)
    db.session.commit()
    # Right after the commit, even on a machine whose clock is a little behind the one that queued it.
    assert deliver_message(message.id, now=t0 - timedelta(seconds=3)) is True
    assert deliver_message(message.id, now=t0) is False
    assert deliver_message(10_000, now=t0) is False  # no such message: nothing happens
    assert len(smtp_server.received) == 1


# The test server asks for a password without TLS (it has no certificate; the password stays on loopback), and
# aiosmtpd warns about exactly that.
auth_without_tls = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@auth_without_tls
def test_signs_in_when_smtp_username_is_set(app, t0):
    with running_smtp_server(credentials=("mailer", "s3cret")) as server:
        app.config.update(server.app_config)
        queue_link(now=t0)
        db.session.commit()
        assert deliver_due(now=t0) == 1
    assert server.received[0].login == "mailer"


@auth_without_tls
def test_wrong_smtp_password_is_retried_not_failed(app, t0):
    with running_smtp_server(credentials=("mailer", "s3cret")) as server:
        app.config.update(server.app_config, SMTP_PASSWORD="wrong")
        message = queue_link(now=t0)
        db.session.commit()
        deliver_due(now=t0)
    waiting = stored(message)
    assert waiting.state is OutboxState.pending and "SMTPAuthenticationError: 535" in waiting.last_error


def test_logs_name_ids_and_kinds_never_bodies_addresses_or_tokens(app, smtp_server, t0, caplog):
    caplog.set_level(logging.DEBUG)
    message = queue_link(now=t0, note="Private note")
    db.session.commit()
    smtp_server.refuse(451, "4.1.1 <ada@example.com> try later")
    deliver_due(now=t0)
    smtp_server.accept()
    deliver_due(now=t0 + timedelta(minutes=1))
    app.config["SMTP_HOST"] = ""
    queue_link(now=t0, kind="file_copy")
    db.session.commit()
    deliver_due(now=t0 + timedelta(minutes=1))

    # The test's own SMTP server ("mail.log") is a peer, not the app: it may log what it receives.
    app_logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert f"message {message.id} (manage_link)" in app_logs  # what the logs do say
    for secret in (TOKEN, "Hello Ada", "Private note", "ada@example.com", "Lovelace", rendered(message).subject):
        assert secret not in app_logs


def test_starttls_upgrades_the_connection_and_checks_the_certificate(app, t0, monkeypatch):
    with running_smtp_server(tls=True) as server:
        app.config.update(server.app_config)
        queue_link(now=t0)
        db.session.commit()
        monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)  # trust the test server's own certificate
        assert deliver_due(now=t0) == 1
    assert len(server.received) == 1


def test_an_untrusted_certificate_is_refused_and_retried(app, t0):
    with running_smtp_server(tls=True) as server:
        app.config.update(server.app_config)
        message = queue_link(now=t0)
        db.session.commit()
        assert deliver_due(now=t0) == 0
    waiting = stored(message)
    assert waiting.state is OutboxState.pending and "SSLCertVerificationError" in waiting.last_error
    assert server.received == []
