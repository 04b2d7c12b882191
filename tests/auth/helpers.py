"""Small steps the staff-side tests share: reading a page like a person, and codes from an authenticator."""
from __future__ import annotations

import re
from datetime import datetime

import pyotp
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.extensions import db


def secret_on_setup_page(html: str) -> str:
    """The setup key the page shows for manual entry (grouped in fours for reading)."""
    match = re.search(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>', html)
    assert match, "the setup page shows the key as text"
    return match.group(1).replace(" ", "")


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def enrol_two_factor(client, clock) -> str:
    """Set up two-step for the signed-in user through the pages; returns the secret."""
    page = client.get("/staff/two-step/setup")
    assert page.status_code == 200
    secret = secret_on_setup_page(page.get_data(as_text=True))
    response = client.post("/staff/two-step/setup", data={"code": code_at(secret, clock.now())})
    assert response.status_code == 302, response.get_data(as_text=True)
    return secret


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def audit_events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
