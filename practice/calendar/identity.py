"""Who a booking's calendar event is, wherever it appears: in each person's invite, in the counselor's feed and
in their CalDAV calendar. Calendar apps match copies by UID, so the UID must be made in this one place."""
from __future__ import annotations

from email.utils import parseaddr
from urllib.parse import urlsplit


def event_domain(config) -> str:
    """The practice's own domain: MAIL_FROM's, else BASE_URL's host (as for Message-IDs)."""
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or urlsplit(config["BASE_URL"]).hostname
    return domain or "practice.invalid"


def event_uid(booking, config) -> str:
    """The booking's UID: the same for its whole life (reschedules keep it; SEQUENCE tells the versions apart)."""
    return f"{booking.id}@{event_domain(config)}"
