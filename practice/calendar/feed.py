"""A counselor's private calendar feed (GET /calendar/<token>.ics): their sessions, for Google, Outlook or Apple
Calendar to subscribe to.

The address is the only key, so what it shows is kept to what a glance at a phone may reveal: a neutral
summary with the clients' initials, no names in full, no addresses, no service (its name can say what the
session is about), nothing from an intake. The same copy of a session goes to the counselor's CalDAV calendar.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from practice.audit import service as audit
from practice.booking.models import Booking, BookingStatus, Participant
from practice.booking.tokens import hash_token, looks_like_token, new_token
from practice.calendar.identity import event_uid
from practice.calendar.models import CounselorFeed
from practice.core.ical import SessionEvent, session_calendar
from practice.counselors.models import Counselor
from practice.extensions import db
from practice.scheduling.editing import policy_of

PAST_DAYS = 30  # sessions this far back stay in the feed, so last week's still shows in the app
# Sessions that happen or happened (last week's stay in the calendar app once staff mark them completed).
FEED_STATUSES = (BookingStatus.pending_payment, BookingStatus.confirmed, BookingStatus.completed,
                 BookingStatus.no_show)


def initials(name: str) -> str:
    """"Robin Client" -> "R. C."; one name -> "R."; first and last names only ("Mary Ann Lee" -> "M. L.")."""
    words = [word for word in name.split() if any(ch.isalpha() for ch in word)]
    if not words:
        return "Client"
    picked = words if len(words) == 1 else [words[0], words[-1]]
    return " ".join(next(ch for ch in word if ch.isalpha()).upper() + "." for word in picked)


def private_event(booking: Booking, *, stamp: datetime, config=None, schedule_agent_client: bool = False
                  ) -> SessionEvent:
    """The counselor's own copy of a session (feed and CalDAV): initials only, no addresses, no attendees, so a
    calendar server has nobody to send an invitation to."""
    config = config or current_app.config
    people = sorted(booking.participants, key=lambda p: p.role != "client")  # the booker first
    summary = "Session: " + " & ".join(initials(p.client.name) for p in people) if people else "Session"
    base = config["BASE_URL"].rstrip("/")
    local_day = booking.starts_at.astimezone(ZoneInfo(booking.counselor.timezone)).date()
    note = "Booked through the practice's scheduling."
    if booking.status == BookingStatus.pending_payment:
        note = "Waiting for payment; the time is held until then."
    return SessionEvent(
        uid=event_uid(booking, config), sequence=booking.ics_sequence, start=booking.starts_at, end=booking.ends_at,
        zone=booking.counselor.timezone, summary=summary, stamp=stamp,
        description=f"{note} Details are on your calendar page.",
        url=f"{base}/staff/counselors/{booking.counselor.slug}/calendar?week={local_day.isoformat()}",
        schedule_agent_client=schedule_agent_client,
    )


def feed_url(token: str, config=None) -> str:
    config = config or current_app.config
    return f"{config['BASE_URL'].rstrip('/')}/calendar/{token}.ics"


def feed_of(counselor: Counselor) -> CounselorFeed | None:
    return db.session.scalar(select(CounselorFeed).where(CounselorFeed.counselor_id == counselor.id))


def current_feed_url(counselor: Counselor) -> str | None:
    """The counselor's feed address, or None when they have none yet (nothing is made by looking)."""
    feed = feed_of(counselor)
    return feed_url(feed.token) if feed is not None else None


def feed_url_for(counselor: Counselor, *, now: datetime, rotate: bool = False, actor=None) -> str:
    """The counselor's feed address, made if they have none. `rotate` gives a new one: the old stops at once."""
    feed = feed_of(counselor)
    if feed is not None and not rotate:
        return feed_url(feed.token)
    token = new_token()
    if feed is None:
        feed = CounselorFeed(counselor_id=counselor.id)
        db.session.add(feed)
    feed.token, feed.token_hash, feed.created_at = token, hash_token(token), now
    audit.record("calendar_feed.rotated" if feed.id else "calendar_feed.created", record_type="counselor",
                 record_id=counselor.id, actor=actor)  # never the token: the audit log is no key store
    db.session.commit()
    return feed_url(token)


def feed_for(token: object, *, now: datetime) -> bytes | None:
    """The feed behind a token, or None for an unknown (or rotated) one."""
    if not looks_like_token(token):
        return None
    feed = db.session.scalar(select(CounselorFeed).where(CounselorFeed.token_hash == hash_token(token)))
    if feed is None:
        return None
    counselor = feed.counselor
    horizon = timedelta(days=policy_of(counselor).horizon_days)
    bookings = db.session.scalars(
        select(Booking)
        .where(Booking.counselor_id == counselor.id, Booking.status.in_(FEED_STATUSES),
               Booking.starts_at >= now - timedelta(days=PAST_DAYS), Booking.starts_at < now + horizon)
        .order_by(Booking.starts_at)
        .options(selectinload(Booking.participants).selectinload(Participant.client))
    ).all()
    practice = parseaddr(current_app.config["MAIL_FROM"])[0] or "the practice"
    return session_calendar([private_event(booking, stamp=now) for booking in bookings],
                            name=f"Sessions at {practice}")
