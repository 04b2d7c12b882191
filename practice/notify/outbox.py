"""Queueing email: a row in the caller's transaction, and delivery started once that transaction commits.

    queue_email(to=client.email, to_name=client.name, template="booking_confirmed", kind="booking_confirmed",
                context={"name": client.name, "when": when, "manage_url": manage_url},
                dedupe_key=f"booking_confirmed:{booking.id}:{booking.ics_sequence}")
    db.session.commit()  # the booking and its confirmation are saved together, or neither is

The row holds the template's name and the context (JSON values only; stored encrypted, as it carries signed
links), and the message is rendered when it is delivered (`rendered`): the links are never stored in the clear,
and the request that queues a message does not pay for rendering it. Rows queued before migration 0006 hold
rendered bodies and are sent as they are.

Templates are `templates/email/<template>.txt` and `.html`, usually extending `email/base.txt` and
`email/base.html`. The subject is the `subject` block of the .txt template (required; whitespace is collapsed
to one line). In email templates `url_for(endpoint, **values)` always gives an absolute link on BASE_URL,
never on the request's host; `base_url` and `practice_name` are there too. Messages name no health
information: no intake answers, flags, routing or reasons for seeking help, in the subject or anywhere else.

After the commit, delivery starts by MAIL_DELIVERY (see `delivery_mode`):
    queue   an RQ job on REDIS_URL per message, run by `flask worker` (the default when REDIS_URL is set)
    thread  a daemon thread in the committing process (the default otherwise: `make run` needs nothing else)
    inline  before commit() returns, in the committing thread (tests: deterministic)
    none    nothing; the next `flask worker` round sends it (tests that only look at the outbox)
In every mode each worker round also sweeps what is due, so a lost thread or job delays a message, never
loses it; and only the deliverer that claimed a message sends it (delivery.py).
"""
from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from base64 import b64decode, b64encode
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import make_transient_to_detached

from config import ConfigError
from practice import clock
from practice.database import current_batch, insert_batch
from practice.extensions import db
from practice.notify.models import OutboxMessage, OutboxState

log = logging.getLogger(__name__)

DELIVERY_MODES = ("queue", "thread", "inline", "none")


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
class RenderedEmail:
    subject: str
    text: str
    html: str


def queue_email(*, to: str, to_name: str = "", template: str, context: dict[str, Any], kind: str,
                dedupe_key: str | None = None, attachments: Iterable[Attachment] = (),
                now: datetime | None = None) -> OutboxMessage | None:
    """Write the message (`template` and `context`, rendered when delivered) into the current transaction of
    db.session, without committing.

    The caller's commit saves it together with the change that caused it (a rollback drops both), then starts
    its delivery. With a `dedupe_key` already in the outbox nothing new is queued and the existing message is
    returned: the same logical message goes out once, however often the cause is retried. The template must
    exist and have a subject, and the context must be JSON (ValueError otherwise).

    Inside `insert_batch()` the message is a row of the batch, written when the batch is (left out if its
    dedupe key was already queued), and nothing is returned.
    """
    if "\n" in to or "\r" in to or "@" not in to:
        raise ValueError("not an email address")
    _templates(current_app._get_current_object(), template)
    try:
        json.dumps(context)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the context of email/{template} must be JSON values (it is rendered later): {exc}") \
            from None
    now = now or clock.now()
    values = dict(
        created_at=now, kind=kind, to_email=to.strip(), to_name=" ".join(to_name.split()),
        template=template, context=context, subject=None, text_body=None, html_body=None,
        attachments=[a.to_json() for a in attachments], state="pending", attempts=0, next_attempt_at=now,
        message_id=new_message_id(current_app.config), dedupe_key=dedupe_key,
    )
    session = db.session
    written: list[int | None] = []
    in_callers_batch = current_batch() is not None
    # INSERT ... ON CONFLICT (dedupe_key) DO NOTHING: two transactions queueing the same message can't both win.
    with insert_batch() as batch:  # the caller's, written when it ends; or one of its own, written here
        batch.add(OutboxMessage.__table__, values, unless_conflict_on=("dedupe_key",),
                  then=lambda new_id: written.append(_queued(session, new_id, kind)))
    if in_callers_batch:
        return None
    if written[0] is None:  # the same logical message is already in the outbox
        return session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)).one()
    # The row is exactly `values` with its new id: put it in the session as loaded rather than read it back.
    message = OutboxMessage(id=written[0], **{**values, "state": OutboxState.pending}, claimed_until=None,
                            sent_at=None, last_error=None)
    make_transient_to_detached(message)
    session.add(message)
    return message


def _queued(session, new_id: int | None, kind: str) -> int | None:
    """A message row was written (new_id), or left out as already queued (None): deliver it after the commit."""
    if new_id is None:
        log.info("outbox: %s already queued", kind)
    else:
        _DELIVERIES.add(session, new_id)
        log.info("outbox: queued message %s (%s)", new_id, kind)
    return new_id


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


# --- starting delivery after the commit ---------------------------------------------------------------------

def delivery_mode(config) -> str:
    """MAIL_DELIVERY, or by default "queue" with REDIS_URL and "thread" without."""
    mode = (config.get("MAIL_DELIVERY") or "").strip().lower()
    if not mode:
        return "queue" if config.get("REDIS_URL") else "thread"
    if mode not in DELIVERY_MODES:
        raise ConfigError(f"MAIL_DELIVERY: expected one of {', '.join(DELIVERY_MODES)}, got {mode!r}")
    if mode == "queue" and not config.get("REDIS_URL"):
        raise ConfigError("MAIL_DELIVERY: 'queue' needs REDIS_URL")
    return mode


def start_soon(app: Flask, what: str, handle: Callable[..., object], ids: list[int], *,
               enqueue: Callable[[Flask, list[int]], None]) -> None:
    """Run `handle(id, now=...)` soon for each of these committed rows, by MAIL_DELIVERY's mode: before this
    returns (inline), in a daemon thread (thread), as RQ jobs that carry only the ids (queue, by `enqueue`),
    or not at all (none). Whatever this does not do, the worker's next round does."""
    mode = delivery_mode(app.config)
    if mode == "none":
        return
    if mode == "inline":
        _handle(app, what, handle, ids)
    elif mode == "thread":
        threading.Thread(target=_handle, args=(app, what, handle, ids), name=f"{what} handling",
                         daemon=True).start()
    else:
        try:
            enqueue(app, ids)
        except Exception as exc:  # noqa: BLE001 - Redis down: the worker's round does them instead
            log.warning("could not enqueue %s %s (%s); the worker's round will see to them", what, ids,
                        type(exc).__name__)


def _handle(app: Flask, what: str, handle: Callable[..., object], ids: list[int]) -> None:
    with app.app_context():
        for row_id in ids:
            try:
                handle(row_id, now=clock.now())
            except Exception as exc:  # noqa: BLE001 - the worker's round retries; a thread must not die noisily
                log.error("%s %s: handling stopped (%s); the worker's round will retry", what, row_id,
                          type(exc).__name__)


class AfterCommit:
    """Rows of one kind written in a session's transaction, to be handled soon after it commits (start_soon),
    and forgotten if it rolls back: e.g. outbox messages to deliver. `handler()` gives `(handle, enqueue)` for
    start_soon; it is called only then, so the modules it names may import this one."""

    kinds: list[AfterCommit] = []

    def __init__(self, what: str, handler: Callable[[], tuple[Callable[..., object], Callable]]):
        self.what, self.handler, self.key = what, handler, f"practice.after_commit.{what}"
        AfterCommit.kinds.append(self)

    def add(self, session, row_id: int) -> None:
        """Handle this row once the session's open transaction commits."""
        session.info.setdefault(self.key, set()).add(row_id)


def _delivery():
    from practice.notify.delivery import deliver_message
    from practice.notify.queue import enqueue_delivery

    return deliver_message, enqueue_delivery


_DELIVERIES = AfterCommit("outbox message", _delivery)  # the worker's sweep is their safety net


@event.listens_for(db.session, "after_commit")
def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a savepoint was released; the transaction goes on
        return
    for kind in AfterCommit.kinds:
        ids = sorted(session.info.pop(kind.key, ()))
        if not ids:
            continue
        try:
            handle, enqueue = kind.handler()
            start_soon(current_app._get_current_object(), kind.what, handle, ids, enqueue=enqueue)
        except Exception as exc:  # noqa: BLE001 - the commit is done; never undo the caller's success over this
            reason = str(exc) if isinstance(exc, ConfigError) else type(exc).__name__  # a setting's error is safe
            log.error("could not start handling %s %s (%s); the worker's sweep will send them", kind.what, ids,
                      reason)


@event.listens_for(db.session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction ended; rolled back, its rows never existed
        for kind in AfterCommit.kinds:
            session.info.pop(kind.key, None)
