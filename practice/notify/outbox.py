"""Queueing email: a row in the caller's transaction, and delivery started once that transaction commits.

    queue_email(to=client.email, to_name=client.name, template="booking_confirmed", kind="booking_confirmed",
                context={"name": client.name, "when": when, "manage_url": manage_url},
                dedupe_key=f"booking_confirmed:{booking.id}:{booking.ics_sequence}")
    db.session.commit()  # the booking and its confirmation are saved together, or neither is

The row holds the template's name and the context (JSON values only; stored encrypted, as it carries signed
links), and the message is rendered when it is delivered (`rendered`): the links are never stored in the clear,
and the request that queues a message does not pay for rendering it; a calendar invite (CalendarInvite) is
kept as its events and made into bytes then too. Rows queued before migration 0006 hold rendered bodies, and
older rows hold their invites as bytes (Attachment): both are sent as they are.

Templates are `templates/email/<template>.txt` and `.html`, usually extending `email/base.txt` and
`email/base.html`. The subject is the `subject` block of the .txt template (required; whitespace is collapsed
to one line). In email templates `url_for(endpoint, **values)` always gives an absolute link on BASE_URL,
never on the request's host; `base_url` and `practice_name` are there too. Messages name no health
information: no intake answers, flags, routing or reasons for seeking help, in the subject or anywhere else.

After the commit, delivery starts by MAIL_DELIVERY (practice.jobs: an RQ job, a thread, inline, or none). In
every mode each worker round also sweeps what is due, so a lost thread or job delays a message, never loses
it; and only the deliverer that claimed a message sends it (delivery.py).
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from base64 import b64decode, b64encode
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any, Iterable
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from practice import clock
from practice.core.ical import SessionEvent, event_from_json, event_to_json, itip_content_type, session_calendar
from practice.extensions import db
from practice.jobs import AfterCommit
from practice.notify.models import OutboxMessage, OutboxState

log = logging.getLogger(__name__)

_DELIVERIES = AfterCommit("outbox message", "practice.tasks.deliver_message")  # the worker's sweep is their net


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message, e.g. Attachment("invite.ics", "text/calendar; method=REQUEST", data)."""

    filename: str
    content_type: str
    content: bytes

    def __post_init__(self):
        if not self.filename or re.search(r"[\\/\r\n\"]", self.filename):
            raise ValueError("an attachment needs a plain file name")
        if not re.fullmatch(r"[\w.+-]+/[\w.+-]+(\s*;.*)?", self.content_type):
            raise ValueError("an attachment needs a content type such as text/calendar")

    def to_json(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type,
                "content_b64": b64encode(self.content).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict) -> Attachment:
        return cls(data["filename"], data["content_type"], b64decode(data["content_b64"]))


@dataclass(frozen=True)
class CalendarInvite:
    """A calendar invite (iMIP, RFC 6047) sent with a message: kept as its events and made into the VCALENDAR's
    bytes when the message is delivered, like the message itself. core.ical is pure and the events carry their
    own DTSTAMP, so the bytes are the same whenever they are made."""

    filename: str
    method: str  # REQUEST or CANCEL
    events: tuple[SessionEvent, ...]

    @property
    def content_type(self) -> str:
        return itip_content_type(self.method)

    @property
    def content(self) -> bytes:
        return session_calendar(self.events, method=self.method)

    def to_json(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type,
                "calendar": {"method": self.method, "events": [event_to_json(e) for e in self.events]}}


def load_attachment(data: dict) -> Attachment | CalendarInvite:
    """An attachment as the outbox keeps it (to_json), back."""
    if "calendar" in data:
        calendar = data["calendar"]
        return CalendarInvite(data["filename"], calendar["method"],
                              tuple(event_from_json(e) for e in calendar["events"]))
    return Attachment.from_json(data)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Email:
    """One message to queue: see queue_emails."""

    to: str
    template: str
    context: dict[str, Any]
    kind: str
    to_name: str = ""
    dedupe_key: str | None = None
    attachments: tuple[Attachment | CalendarInvite, ...] = ()


def queue_email(*, to: str, to_name: str = "", template: str, context: dict[str, Any], kind: str,
                dedupe_key: str | None = None, attachments: Iterable[Attachment | CalendarInvite] = (),
                now: datetime | None = None) -> OutboxMessage:
    """Queue one message (see queue_emails) and return its row."""
    (message,) = queue_emails([Email(to=to, to_name=to_name, template=template, context=context, kind=kind,
                                     dedupe_key=dedupe_key, attachments=tuple(attachments))], now=now)
    return message


def queue_emails(emails: Iterable[Email], *, now: datetime | None = None) -> list[OutboxMessage]:
    """Write these messages (each a `template` and its `context`, rendered when delivered) into the current
    transaction of db.session, in one statement, without committing.

    The caller's commit saves them together with the change that caused them (a rollback drops both), then
    starts their delivery. A message whose `dedupe_key` is already in the outbox is not queued again and the
    one there is returned: the same logical message goes out once, however often its cause is retried
    (INSERT ... ON CONFLICT DO NOTHING, so two transactions queueing it can't both win). Templates must exist
    and have a subject, and contexts must be JSON (ValueError otherwise).
    """
    emails = list(emails)
    if not emails:
        return []
    app = current_app._get_current_object()
    now = now or clock.now()
    rows = [_row(app, email, now) for email in emails]
    session = db.session
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(OutboxMessage))
    with session.no_autoflush:  # an outbox row names no other row: what is pending can wait for the commit
        written = {message.message_id: message for message in session.scalars(statement, rows)}
    messages = []
    for row in rows:
        message = written.get(row["message_id"])
        if message is None:  # the same logical message is already in the outbox
            log.info("outbox: %s already queued", row["kind"])
            message = session.scalars(select(OutboxMessage)
                                      .where(OutboxMessage.dedupe_key == row["dedupe_key"])).one()
        else:
            _DELIVERIES.add(session, message.id)
            log.info("outbox: queued message %s (%s)", message.id, message.kind)
        messages.append(message)
    return messages


def _row(app: Flask, email: Email, now: datetime) -> dict[str, Any]:
    if "\n" in email.to or "\r" in email.to or "@" not in email.to:
        raise ValueError("not an email address")
    _templates(app, email.template)
    try:
        json.dumps(email.context)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the context of email/{email.template} must be JSON values (it is rendered later): "
                         f"{exc}") from None
    return dict(
        created_at=now, kind=email.kind, to_email=email.to.strip(), to_name=" ".join(email.to_name.split()),
        template=email.template, context=email.context, attachments=[a.to_json() for a in email.attachments],
        state=OutboxState.pending, attempts=0, next_attempt_at=now, message_id=new_message_id(app.config),
        dedupe_key=email.dedupe_key,
    )


def new_message_id(config) -> str:
    """An RFC 5322 Message-ID on the sender's domain, e.g. <3f2a...@practice.example>."""
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or urlsplit(config["BASE_URL"]).hostname
    return f"<{uuid.uuid4().hex}@{domain or 'practice.invalid'}>"


def rendered(message: OutboxMessage) -> RenderedEmail:
    """What a message says: rendered now from its template and context, or the bodies of an older row."""
    if message.template is not None:
        return render_email(message.template, message.context or {})
    return RenderedEmail(subject=message.subject, text=message.text_body, html=message.html_body)


def _templates(app: Flask, template: str):
    env = app.jinja_env
    text_template = env.get_template(f"email/{template}.txt")
    html_template = env.get_template(f"email/{template}.html")
    if "subject" not in text_template.blocks:
        raise ValueError(f"email/{template}.txt has no {{% block subject %}}")
    return text_template, html_template


def render_email(template: str, context: dict[str, Any]) -> RenderedEmail:
    """The subject, text and HTML of `templates/email/<template>.*`, with links on BASE_URL."""
    app = current_app._get_current_object()
    text_template, html_template = _templates(app, template)

    # Not the app's context processors: they read the request and the caller's session, and a message is
    # rendered by its deliverer, after the commit that queued it. What emails use is given here.
    values = dict(context)
    values.update(practice_name=_practice_name(), url_for=_absolute_url_for(app), base_url=app.config["BASE_URL"])

    subject = " ".join("".join(text_template.blocks["subject"](text_template.new_context(values))).split())
    if not subject:
        raise ValueError(f"email/{template}.txt has an empty subject")
    values["subject"] = subject
    return RenderedEmail(subject=subject[:300], text=_tidy_text(text_template.render(values)),
                         html=html_template.render(values))


def _practice_name() -> str:
    """Read on a session of its own, closed at once: rendering must not leave the caller's session (a request's
    after its commit, or a deliverer's) inside a transaction of its own."""
    from practice.auth.models import PracticeSettings

    with db.session.session_factory() as session:
        return PracticeSettings.current(session).practice_name


def _absolute_url_for(app: Flask):
    """url_for for email: every link is BASE_URL + the route's path, whatever host the request came in on."""
    adapter = app.url_map.bind("practice.invalid", script_name="/")
    base = app.config["BASE_URL"]

    def url_for(endpoint: str, **values) -> str:
        anchor = values.pop("_anchor", None)
        values = {key: value for key, value in values.items() if not key.startswith("_")}
        url = base + adapter.build(endpoint, values)
        return f"{url}#{anchor}" if anchor else url

    return url_for


def _tidy_text(text: str) -> str:
    """Template whitespace out of the plain-text part: no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
