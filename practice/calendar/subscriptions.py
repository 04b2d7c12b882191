"""The counselor's own calendars on their calendar page: the private feed to subscribe to and the CalDAV
calendar sessions are pushed to. Registers the routes and what the page's panel reads."""
from __future__ import annotations

from flask import Flask
from flask_login import current_user
from sqlalchemy import func, select

from practice.calendar import caldav_sync, feed
from practice.calendar.caldav_views import CalDAVForm, bp as caldav_bp
from practice.calendar.feed_views import bp as feed_bp, may_change_calendars
from practice.calendar.models import CalDAVEvent
from practice.extensions import db


def register(app: Flask) -> None:
    app.register_blueprint(feed_bp)
    app.register_blueprint(caldav_bp)
    app.add_template_global(counselor_calendars)


def counselor_calendars(counselor) -> dict | None:
    """What templates/calendar/_subscribe.html shows, or None for a viewer who may not see it (the feed's
    address is a key to the counselor's diary)."""
    if not (current_user.is_authenticated and may_change_calendars(current_user, counselor)):
        return None
    connection = caldav_sync.connection_of(counselor)
    waiting = 0
    if connection is not None and connection.last_error:
        waiting = db.session.scalar(select(func.count()).select_from(CalDAVEvent).where(
            CalDAVEvent.connection_id == connection.id, CalDAVEvent.last_error.is_not(None)))
    return {"feed_url": feed.current_feed_url(counselor), "connection": connection, "waiting": waiting,
            "form": CalDAVForm(prefix="caldav", formdata=None)}
