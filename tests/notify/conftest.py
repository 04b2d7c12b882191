"""Fixtures for the outbox: a real SMTP server, test templates, and a helper that queues a message.

Delivery after commit is off here ("none") unless a test module asks for a mode, so every test decides when
delivery happens (deliver_due / deliver_message / the worker) and with which `now`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, FileSystemLoader

from practice.notify.outbox import Attachment, queue_email
from tests.smtp import smtp_server  # noqa: F401  (the fixture)

TEMPLATES = Path(__file__).parent / "templates"
TOKEN = "tok_9f8e7d6c5b4a3f2e1d0c"  # stands for a manage-link token: it must never reach a log
MANAGE_URL = f"http://practice.test/bookings/42/manage?token={TOKEN}"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MAIL_DELIVERY": "none"}


@pytest.fixture
def app(app):
    # Test-only templates (email/your_link.*) next to the real ones, extending the real base layouts.
    app.jinja_env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), app.jinja_env.loader])
    # The test databases are migrated in this process, and migrations/env.py's logging.config.fileConfig()
    # disables every logger that existed before it (disable_existing_loggers defaults to True). What this
    # package logs is under test, so switch ours back on (here: after the app, and so the migration, is made).
    for name in list(logging.root.manager.loggerDict):
        if name == "practice" or name.startswith("practice."):
            logging.getLogger(name).disabled = False
    return app


def queue_link(*, to="ada@example.com", to_name="Ada Lovelace", note="", kind="manage_link", dedupe_key=None,
               attachments: tuple[Attachment, ...] = (), now=None):
    """Queue the test message (a 'here is your link' email) in the current transaction; the caller commits."""
    return queue_email(to=to, to_name=to_name, template="your_link", kind=kind, dedupe_key=dedupe_key,
                       context={"name": to_name.split()[0] if to_name else "there", "manage_url": MANAGE_URL,
                                "note": note},
                       attachments=attachments, now=now)
