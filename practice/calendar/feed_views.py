"""The counselor's private feed (public: the token in the address is the key) and its rotation from the
counselor's calendar page; the CalDAV connection's form posts here too (practice.calendar.caldav_views)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from practice import clock
from practice.access import public, staff
from practice.calendar import feed as feeds
from practice.counselors import queries
from practice.counselors.models import Counselor
from practice.extensions import limiter

bp = Blueprint("calendar_feed", __name__)


def _rate_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


@bp.get("/calendar/<token>.ics")
@public
@limiter.limit(_rate_limit, key_func=lambda: request.remote_addr or "")
def feed(token: str):
    body = feeds.feed_for(token, now=clock.now())
    if body is None:
        abort(404)
    response = Response(body, content_type="text/calendar; charset=utf-8")
    # Calendar apps poll; five minutes of their own cache costs nothing and keeps the address out of shared ones.
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Content-Disposition"] = 'inline; filename="sessions.ics"'
    return response


@bp.post("/staff/counselors/<slug>/calendar/subscription")
@staff("admin", "counselor")
def rotate(slug: str):
    counselor = own_calendar(slug)
    had_one = feeds.feed_of(counselor) is not None
    feeds.feed_url_for(counselor, now=clock.now(), rotate=True, actor=current_user._get_current_object())
    flash("Here is a new address. The old one has stopped working: subscribe again with this one in your "
          "calendar app." if had_one else "Your subscription address is ready. Add it to your calendar app.",
          "success")
    return redirect(url_for("scheduling.calendar", slug=slug, _anchor="subscribe"), 303)


def may_change_calendars(user, counselor: Counselor) -> bool:
    """The counselor's own subscription and CalDAV connection: the counselor, or an admin helping them. Not the
    front desk: the feed address is a key to the counselor's diary."""
    return user.admin_or_counselor(counselor.id)


def own_calendar(slug: str) -> Counselor:
    """404 for an unknown counselor, 403 for anyone who may not change their calendars."""
    counselor = queries.counselor_by_slug(slug) or abort(404)
    if not may_change_calendars(current_user, counselor):
        abort(403)
    return counselor
