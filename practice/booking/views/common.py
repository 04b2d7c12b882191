"""What every page of the booking flow shares: the blueprint, the embed (framing, and CSRF outside it), the
headers of pages that carry a link's token, the rate limit, the helpers templates use, the visitor's time zone
and the week a time picker shows.

The embed (/embed.js, /embed/...) runs the flow's pages inside a frame on a practice's own website. While a
visitor is in the embed (paths under /embed/, or `embed=1`, which every link and form of the flow carries on),
responses may be framed by EMBED_ALLOWED_ORIGINS and carry no X-Frame-Options. Pages that carry a token are
sent with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, request, url_for

from practice.booking import display
from practice.booking.models import BookingStatus
from practice.counselors.vocabulary import TIMEZONES
from practice.extensions import csrf, limiter
from practice.web.security import CSP

log = logging.getLogger(__name__)

bp = Blueprint("booking", __name__)

DAYS_SHOWN = 7
# How far ahead the week links go; each counselor's own horizon decides what is actually bookable.
MAX_DAYS_AHEAD = 92
NOTICES = {
    "slot_taken": "Someone just booked that time. Here are the times still open.",
    "slot_gone": "That time is no longer open. Here are the times still open.",
    "moved": "Your session has been moved. We've emailed the new time, with a new link, to everyone on the "
             "booking.",
}
STATUS_TEXT = {
    BookingStatus.held: "Held while it is paid for",
    BookingStatus.pending_payment: "Waiting for payment",
    BookingStatus.confirmed: "Confirmed",
    BookingStatus.completed: "Completed",
    BookingStatus.no_show: "Missed",
    BookingStatus.cancelled: "Cancelled",
}
TOKEN_PAGES = {"booking.manage", "booking.reschedule", "booking.cancel"}
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")


# --- the embed, CSRF and headers ------------------------------------------------------------------------

def in_embed() -> bool:
    return request.path.startswith("/embed/") or request.args.get("embed") == "1"


def booking_url(endpoint: str, **values) -> str:
    """url_for that keeps a visitor inside the embed when they are in it."""
    if in_embed():
        values.setdefault("embed", 1)
    return url_for(endpoint, **values)


# Cookies are not sent to a cross-site frame (SameSite=Lax), so the session-bound CSRF token cannot work in the
# embed. None of these forms acts on a cookie's authority (a booking is made from what is typed, a change needs
# the link's token in the body), so the embed's forms go without; first-party pages keep CSRF as everywhere.
csrf.exempt(bp)


@bp.before_request
def _csrf_outside_embed():
    if request.method == "POST" and not in_embed() and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def form_for(factory, *args, **kwargs):
    if in_embed():
        kwargs["meta"] = {"csrf": False}
    return factory(*args, **kwargs)


@bp.after_request
def _private_pages(response):
    if request.endpoint in TOKEN_PAGES:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def embed_origins() -> list[str]:
    """EMBED_ALLOWED_ORIGINS that are plain origins; anything else could change the policy's meaning."""
    origins = []
    for origin in current_app.config.get("EMBED_ALLOWED_ORIGINS") or []:
        origin = origin.strip().rstrip("/")
        if _ORIGIN.match(origin):
            origins.append(origin)
        else:
            log.warning("EMBED_ALLOWED_ORIGINS: ignoring %r, which is not an origin like https://example.com",
                        origin[:80])
    return origins


# Registered on the app when the blueprint is, i.e. before add_security_headers, so it runs after it (Flask runs
# app-wide after_request functions in reverse order) and has the last word on these two headers.
@bp.after_app_request
def _embed_framing(response):
    if request.blueprint == bp.name and in_embed():
        ancestors = " ".join(["'self'", *embed_origins()])
        response.headers["Content-Security-Policy"] = CSP.replace("frame-ancestors 'none'",
                                                                  f"frame-ancestors {ancestors}")
        response.headers.pop("X-Frame-Options", None)
    return response


def rate_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


def client_address() -> str:
    return request.remote_addr or ""


limited = limiter.limit(rate_limit, key_func=client_address)


@bp.context_processor
def page_helpers():
    """What every booking page's templates use; other blueprints whose pages extend booking/_page.html (paying)
    register it too."""
    return {
        "embed": in_embed(), "burl": booking_url, "zone_label": display.zone_label, "clock": display.clock,
        "long_date": display.long_date, "when": display.when, "span": display.span, "url_start": display.url_start,
        "local": display.local, "hold_minutes": current_app.config["BOOKING_HOLD_MINUTES"],
        "notice_hours": current_app.config["CANCELLATION_NOTICE_HOURS"],
    }


# --- time zones -----------------------------------------------------------------------------------------

def viewer_zone(default: str) -> tuple[str, bool, str | None]:
    """The visitor's zone from ?tz=, else `default`; whether it was given; and an unknown value, to say so."""
    given = request.args.get("tz")
    zone = display.valid_zone(given)
    if zone:
        return zone, True, None
    return default, False, (given[:64] if given else None)


def zone_choices(*zones: str) -> list[tuple[str, str]]:
    names = list(TIMEZONES)
    for zone in zones:
        if zone not in names:
            names.insert(0, zone)
    return [(name, display.zone_label(name)) for name in names]


# --- the week shown -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Week:
    """The DAYS_SHOWN days a time picker shows (from ?week=, kept between today and MAX_DAYS_AHEAD), and the
    weeks either side of it that a visitor may go to (None at either end)."""
    first: date
    last: date
    previous: date | None
    next: date | None


def shown_week(now: datetime, zone: str) -> Week:
    today = now.astimezone(ZoneInfo(zone)).date()
    first = display.parse_day(request.args.get("week")) or today
    first = min(max(first, today), today + timedelta(days=MAX_DAYS_AHEAD))
    last = first + timedelta(days=DAYS_SHOWN - 1)
    return Week(first=first, last=last,
                previous=max(first - timedelta(days=DAYS_SHOWN), today) if first > today else None,
                next=last + timedelta(days=1) if last < today + timedelta(days=MAX_DAYS_AHEAD) else None)
