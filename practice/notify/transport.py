"""How a message leaves: one MIME message, then the SMTP server (SMTP_HOST) or, with none, a local folder.

The MIME message is multipart/alternative (text, then HTML, then a calendar invite's text/calendar part when
there is one), inside multipart/mixed when there are attachments (an invite is also attached as invite.ics).
Its Date is when it was queued and its Message-ID was made then too, so every attempt sends the same message.
"""
from __future__ import annotations

import functools
import logging
import os
import smtplib
import socket
import ssl
import traceback
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import NamedTuple

from practice.notify.models import OutboxMessage

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30  # per network operation; a send takes well under the claim's lease


class PermanentFailure(Exception):
    """The message can never be sent as it is (e.g. a malformed address): retrying cannot help."""


def build_mime(message: OutboxMessage, *, mail_from: str) -> EmailMessage:
    """The message as it goes out, rendered now (outbox.rendered): needs the app, for its templates."""
    from practice.notify.outbox import load_attachment, rendered

    content = rendered(message)
    mime = EmailMessage(policy=policy.SMTP)
    try:
        mime["To"] = Address(display_name=message.to_name, addr_spec=message.to_email)
    except (ValueError, IndexError) as exc:  # the email package's parse errors are ValueErrors
        raise PermanentFailure("the recipient's address is not valid") from exc
    mime["From"] = mail_from
    mime["Subject"] = content.subject
    mime["Date"] = format_datetime(message.created_at)
    mime["Message-ID"] = message.message_id
    mime["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a booking confirmation
    mime.set_content(content.text, subtype="plain", cte="quoted-printable")
    mime.add_alternative(content.html, subtype="html", cte="quoted-printable")
    loaded = [load_attachment(attachment) for attachment in message.attachments or ()]
    attachments = [(policy.default.header_factory("content-type", attachment.content_type), attachment.filename,
                    attachment.content) for attachment in loaded]
    for content_type, _filename, data in attachments:
        if content_type.content_type == "text/calendar":
            _add_invite(mime, content_type, data)
    for content_type, filename, data in attachments:
        if content_type.content_type == "text/calendar":
            # Also as a file, as Gmail and Outlook send theirs: for mail apps that offer no invite of their own.
            mime.add_attachment(data, maintype="application", subtype="ics", filename=filename)
        else:
            mime.add_attachment(data, maintype=content_type.maintype, subtype=content_type.subtype,
                                filename=filename, params=dict(content_type.params))
    return mime


def _add_invite(mime: EmailMessage, content_type, data: bytes) -> None:
    """An iMIP invite (RFC 6047): a text/calendar part beside the text and the HTML, its `method` the METHOD
    inside, which is what makes mail apps show it as an invite to add rather than as a file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PermanentFailure("the calendar invite is not UTF-8") from exc
    params = {key: value for key, value in content_type.params.items() if key.lower() != "charset"}
    method = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                   if line.upper().startswith("METHOD:")), None)
    if method:
        params["method"] = method  # the METHOD inside decides: a mismatch makes mail apps refuse the invite
    mime.add_alternative(text, subtype="calendar", charset="utf-8", params=params)


def send(message: OutboxMessage, config) -> str:
    """Hand the message to SMTP_HOST, or write it to MAIL_OUTBOX_DIR. Returns where it went (safe to log)."""
    mime = build_mime(message, mail_from=config["MAIL_FROM"])
    if config.get("SMTP_HOST"):
        _send_smtp(mime, to=message.to_email, config=config)
        return f"SMTP server {config['SMTP_HOST']}:{config['SMTP_PORT']}"
    return str(_write_file(mime, message, Path(config["MAIL_OUTBOX_DIR"])))


def _send_smtp(mime: EmailMessage, *, to: str, config) -> None:
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    if port == 465:  # SMTPS: TLS from the first byte
        smtp = smtplib.SMTP_SSL(host, port, local_hostname=_ehlo_name(), timeout=SMTP_TIMEOUT_SECONDS,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, local_hostname=_ehlo_name(), timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if config.get("SMTP_STARTTLS") and port != 465:
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(mime, from_addr=parseaddr(config["MAIL_FROM"])[1], to_addrs=[to])
    finally:
        # Once the server accepted the data the message is sent, whatever QUIT says: never send it again over it.
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


@functools.cache
def _ehlo_name() -> str:
    return socket.getfqdn()  # smtplib would look it up on every connection; DNS can be slow


def _write_file(mime: EmailMessage, message: OutboxMessage, directory: Path) -> Path:
    """<created>-<id>.eml, written whole or not at all; a second attempt overwrites the same file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{message.created_at:%Y%m%dT%H%M%SZ}-{message.id}.eml"
    partial = directory / f".{path.name}.partial"
    partial.write_bytes(mime.as_bytes())
    os.replace(partial, path)
    return path


class Failure(NamedTuple):
    permanent: bool
    detail: str  # for the message's last_error: the server's reply or the exception, never content
    label: str  # for logs: the exception's type and reply code only (a server's text may quote an address)


def describe_failure(exc: BaseException) -> Failure:
    """What a failed attempt means.

    Permanent: a recipient refused (5xx to RCPT) or the message refused (5xx to DATA), or a message that cannot
    be built. Everything else is retried with backoff: network errors, 4xx replies, and the server refusing
    the connection, our login or our sender address (settings to fix; the mail waits for the fix).
    """
    label = type(exc).__name__
    if isinstance(exc, PermanentFailure):
        return Failure(True, str(exc), label)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        codes = [code for code, _ in replies]
        detail = "recipient refused: " + "; ".join(f"{code} {_reply(text)}" for code, text in replies)
        return Failure(all(code >= 500 for code in codes), detail, f"{label} {'/'.join(map(str, codes))}")
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
        return Failure(permanent, f"{label}: {exc.smtp_code} {_reply(exc.smtp_error)}", f"{label} {exc.smtp_code}")
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return Failure(False, f"{label}: {exc}"[:500], label)
    # Anything else is a bug; its message could quote content, so only its type and where it was raised.
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return Failure(False, f"{label}{where}", f"{label}{where}")


def _reply(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())[:200]
