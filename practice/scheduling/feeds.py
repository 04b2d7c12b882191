"""Keeping counselors' imported busy times fresh: the only writer of external_busy.

A fetch that fails keeps the last good copy and records the error for the counselor to see.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select

from practice.extensions import db
from practice.scheduling.fetch import FetchError, FetchPolicy, fetch_feed
from practice.scheduling.ics_import import FeedInvalid, busy_intervals
from practice.scheduling.models import CalendarFeed, ExternalBusy

log = logging.getLogger(__name__)


def fetch_policy() -> FetchPolicy:
    cfg = current_app.config
    return FetchPolicy(max_bytes=cfg["FEED_MAX_BYTES"], timeout=cfg["FEED_TIMEOUT_SECONDS"],
                       allowed_networks=tuple(cfg["FEED_ALLOWED_NETWORKS"]))


def request_refresh(feed: CalendarFeed, *, now: datetime) -> None:
    """Ask the worker to refresh this feed on its next round (seconds away)."""
    feed.refresh_requested_at = now
    db.session.commit()


def refresh_feed(feed: CalendarFeed, *, now: datetime) -> bool:
    """Fetch, parse and replace the feed's busy times. True when the stored copy is current."""
    feed.last_attempt_at = now
    feed.refresh_requested_at = None
    zone = feed.counselor.timezone
    try:
        result = fetch_feed(feed.url, policy=fetch_policy(), etag=feed.etag, last_modified=feed.last_modified)
        if result.status == 304:
            feed.last_success_at, feed.last_error = now, None
            db.session.commit()
            return True
        intervals = busy_intervals(result.body, window_start=now - timedelta(days=1),
                                   window_end=now + timedelta(days=current_app.config["FEED_IMPORT_DAYS"]),
                                   zone=zone)
    except (FetchError, FeedInvalid) as exc:
        feed.last_error = str(exc)
        db.session.commit()
        log.info("calendar feed %s not refreshed: %s", feed.id, exc)  # no URL: it is a secret
        return False
    db.session.execute(delete(ExternalBusy).where(ExternalBusy.feed_id == feed.id))
    db.session.add_all(ExternalBusy(feed_id=feed.id, counselor_id=feed.counselor_id, starts_at=start, ends_at=end)
                       for start, end in intervals)
    feed.etag, feed.last_modified = result.etag, result.last_modified
    feed.last_success_at, feed.last_error = now, None
    db.session.commit()
    return True


def refresh_due_feeds(*, now: datetime) -> int:
    """Refresh feeds that were asked for or whose copy is older than FEED_REFRESH_MINUTES. Returns the count."""
    stale = now - timedelta(minutes=current_app.config["FEED_REFRESH_MINUTES"])
    due = db.session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.active,
            or_(CalendarFeed.refresh_requested_at.is_not(None), CalendarFeed.last_attempt_at.is_(None),
                CalendarFeed.last_attempt_at < stale),
        ).order_by(CalendarFeed.refresh_requested_at.is_(None), CalendarFeed.id)
    ).all()
    for feed in due:
        refresh_feed(feed, now=now)
    return len(due)
