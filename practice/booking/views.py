"""The booking flow as a client meets it, in pages: choose a time, give details, confirmation; the manage page
behind each person's link (view, reschedule, cancel); "resend my link"; "first available"; the embed.

Each handler reads its input, checks the link where there is one, calls booking.service (the only writer of
bookings) or scheduling.service, and renders or redirects. Opening a page never changes anything: mail scanners
open links, so every change is a POST.

Tokens travel in the manage URL's query (as emailed) and in POST bodies; nothing here logs a URL, and pages that
carry a token are sent with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.

The embed (/embed.js, /embed/...) runs these same pages inside a frame on a practice's own website. While a
visitor is in the embed (paths under /embed/, or `embed=1`, which every link and form of the flow carries on),
responses may be framed by EMBED_ALLOWED_ORIGINS and carry no X-Frame-Options.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from practice import clock
from practice.access import public
from practice.booking import display, service
from practice.booking.forms import ERROR_FIELDS, CancelForm, DetailsForm, RescheduleForm, ResendForm
from practice.booking.models import BookingStatus
from practice.counselors import queries
from practice.counselors.vocabulary import FORMATS, LANGUAGES, SPECIALTIES, TIMEZONES, US_STATES
from practice.extensions import csrf, limiter
from practice.scheduling import service as scheduling
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


def _form(factory, *args, **kwargs):
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


def _rate_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


def _client_address() -> str:
    return request.remote_addr or ""


limited = limiter.limit(_rate_limit, key_func=_client_address)


@bp.context_processor
def _page_helpers():
    return {
        "embed": in_embed(), "burl": booking_url, "zone_label": display.zone_label, "clock": display.clock,
        "long_date": display.long_date, "when": display.when, "span": display.span, "url_start": display.url_start,
        "local": display.local, "hold_minutes": current_app.config["BOOKING_HOLD_MINUTES"],
        "notice_hours": current_app.config["CANCELLATION_NOTICE_HOURS"],
    }


# --- time zones -----------------------------------------------------------------------------------------

def _viewer_zone(default: str) -> tuple[str, bool, str | None]:
    """The visitor's zone from ?tz=, else `default`; whether it was given; and an unknown value, to say so."""
    given = request.args.get("tz")
    zone = display.valid_zone(given)
    if zone:
        return zone, True, None
    return default, False, (given[:64] if given else None)


def _zone_choices(*zones: str) -> list[tuple[str, str]]:
    names = list(TIMEZONES)
    for zone in zones:
        if zone not in names:
            names.insert(0, zone)
    return [(name, display.zone_label(name)) for name in names]


# --- 1. choose a time -----------------------------------------------------------------------------------

@bp.get("/book/<counselor_slug>")
@public
def choose_time(counselor_slug: str):
    return _time_picker(counselor_slug)


def _time_picker(counselor_slug: str):
    now = clock.now()
    counselor = queries.public_counselor(counselor_slug) or abort(404)
    offered = counselor.active_services
    trials = [s for s in offered if s.is_trial] or offered
    wanted = request.args.get("service")
    chosen = next((s for s in offered if s.slug == wanted), None) or (trials[0] if trials else None)
    zone, explicit, unknown_zone = _viewer_zone(counselor.timezone)
    context = dict(c=counselor, services=trials if chosen in trials else [chosen, *trials], svc=chosen, zone=zone,
                   zone_explicit=explicit, unknown_zone=unknown_zone, zone_choices=_zone_choices(zone),
                   notice=NOTICES.get(request.args.get("notice", "")))
    if chosen is None:
        return render_template("booking/choose_time.html", **context, days={})
    today = now.astimezone(ZoneInfo(zone)).date()
    first = display.parse_day(request.args.get("week")) or today
    first = min(max(first, today), today + timedelta(days=MAX_DAYS_AHEAD))
    last = first + timedelta(days=DAYS_SHOWN - 1)
    result = scheduling.slots_for(counselor.slug, chosen.slug, start_day=first, end_day=last, zone=zone, now=now)
    if result is None:
        abort(404)
    days = display.days_with_slots([s.start for s in result.slots], zone, first, DAYS_SHOWN)
    next_open = None
    if not any(days.values()):
        later = scheduling.slots_for(counselor.slug, chosen.slug, start_day=last + timedelta(days=1),
                                     end_day=last + timedelta(days=60), zone=zone, now=now)
        if later is not None and later.slots:
            next_open = later.slots[0].start.astimezone(ZoneInfo(zone))
    return render_template(
        "booking/choose_time.html", **context, days=days, first_day=first, last_day=last,
        previous_week=max(first - timedelta(days=DAYS_SHOWN), today) if first > today else None,
        next_week=last + timedelta(days=1) if last < today + timedelta(days=MAX_DAYS_AHEAD) else None,
        next_open=next_open,
    )


# --- 2. your details ------------------------------------------------------------------------------------

@bp.route("/book/<counselor_slug>/<service_slug>/<start>", methods=["GET", "POST"])
@public
@limiter.limit(_rate_limit, key_func=_client_address, methods=["POST"])
def details(counselor_slug: str, service_slug: str, start: str):
    now = clock.now()
    counselor = queries.public_counselor(counselor_slug) or abort(404)
    chosen = next((s for s in counselor.active_services if s.slug == service_slug), None) or abort(404)
    moment = display.parse_start(start) or abort(404)
    zone, explicit, _ = _viewer_zone(counselor.timezone)
    prefill = (request.args.get("state") or "").upper()
    form = _form(DetailsForm.for_service, chosen, data={"state": prefill if prefill in US_STATES else ""})
    back = dict(counselor_slug=counselor.slug, service=chosen.slug, tz=zone,
                week=moment.astimezone(ZoneInfo(zone)).date().isoformat())

    if request.method == "GET" and not _still_open(counselor, chosen, moment, now=now):
        return redirect(booking_url("booking.choose_time", notice="slot_gone", **back))

    licensed, status = [], 200
    if form.validate_on_submit():
        try:
            created = service.book(_booking_request(form, counselor.slug, chosen.slug, moment, zone), now=now)
        except service.SlotUnavailable:
            return redirect(booking_url("booking.choose_time", notice="slot_taken", **back))
        except service.BookingInvalid as exc:
            _show_errors(form, exc.errors)
            if "client.state" in exc.errors and form.state.data in US_STATES:
                licensed = _licensed_elsewhere(form.state.data, chosen.format, counselor.id)
            status = 422
        except service.BookingBusy:
            form.form_errors.append("Many people are booking right now, so we couldn't save this. Please try "
                                    "again in a moment.")
            status = 503
        else:
            return redirect(booking_url("booking.manage", booking_id=created.booking.id,
                                        token=created.tokens["client"], booked=1))
    elif form.errors:
        status = 422
    return render_template(
        "booking/details.html", c=counselor, svc=chosen, start=moment, end=moment + timedelta(
            minutes=chosen.duration_minutes), zone=zone, zone_explicit=explicit or request.method == "POST",
        form=form, licensed=licensed, back=back, licensed_state=US_STATES.get(form.state.data or ""),
        licensed_in=", ".join(US_STATES.get(s, s) for s in counselor.license_states),
    ), status


def _still_open(counselor, chosen, moment: datetime, *, now: datetime) -> bool:
    day = moment.astimezone(ZoneInfo(counselor.timezone)).date()
    result = scheduling.slots_for(counselor.slug, chosen.slug, start_day=day, end_day=day,
                                  zone=counselor.timezone, now=now)
    return result is not None and any(slot.start == moment for slot in result.slots)


def _booking_request(form: DetailsForm, counselor_slug: str, service_slug: str, moment: datetime,
                     zone: str) -> service.BookingRequest:
    partner = None
    if form.is_couple:
        partner = service.PersonIn(name=form.partner_name.data, email=form.partner_email.data)
    return service.BookingRequest(
        counselor=counselor_slug, service=service_slug, start=moment, timezone=zone,
        client=service.PersonIn(name=form.name.data, email=form.email.data, state=form.state.data,
                                phone=form.phone.data or ""),
        partner=partner, accepted_policies=bool(form.accept_policies.data),
    )


def _show_errors(form, errors: dict[str, list[str]]) -> None:
    """A service's field errors on the form's fields; anything without a field above the form."""
    for name, messages in errors.items():
        target = form._fields.get(ERROR_FIELDS.get(name, name))
        if target is not None:
            target.errors = list(target.errors) + list(messages)
        else:
            form.form_errors.extend(messages)


def _licensed_elsewhere(state: str, format: str, counselor_id: int):
    """Counselors who could see this client: licensed in their state, offering this kind of session."""
    found = queries.directory(queries.DirectoryFilters(state=state, format=format))
    options = []
    for other in found:
        if other.id == counselor_id:
            continue
        trial = next((s for s in other.active_services if s.is_trial and s.format == format), None)
        options.append((other, trial))
    return options


# --- 3. the manage page ---------------------------------------------------------------------------------

@bp.get("/bookings/<booking_id>")
@public
@limited
def manage(booking_id: str):
    now = clock.now()
    token = request.args.get("token")
    try:
        access = service.open_link(booking_id, token, now=now)
    except service.LinkInvalid as exc:
        return _link_problem(exc)
    return _manage_page(access, token, now=now, just_booked=request.args.get("booked") == "1",
                        notice=NOTICES.get(request.args.get("notice", "")))


def _manage_page(access: service.LinkAccess, token: str, *, now: datetime, cancel_form: CancelForm | None = None,
                 status: int = 200, just_booked: bool = False, notice: str | None = None, problem: str | None = None):
    booking = access.booking
    zone = booking.client_timezone or booking.counselor.timezone
    hold_ends = booking.hold_expires_at if booking.status == BookingStatus.held else None
    hold_ran_out = hold_ends is not None and hold_ends <= now
    refusal = _change_refusal(access, now=now)
    if cancel_form is None and refusal is None:
        cancel_form = _form(CancelForm, formdata=None, data={"token": token})
    return render_template(
        "booking/manage.html", b=booking, role=access.participant.role, token=token, zone=zone,
        may_change=refusal is None and not hold_ran_out, refusal=refusal, cancel_form=cancel_form,
        hold_ends=None if hold_ran_out else hold_ends, hold_ran_out=hold_ran_out,
        seconds_left=int((hold_ends - now).total_seconds()) if hold_ends and not hold_ran_out else 0,
        free_until=booking.starts_at - timedelta(hours=current_app.config["CANCELLATION_NOTICE_HOURS"]),
        free_change=service.within_free_change_window(booking, now=now), just_booked=just_booked,
        status_label="Released: the hold ran out" if hold_ran_out else STATUS_TEXT[booking.status],
        notice=notice, problem=problem, client=booking.participant("client"), partner=booking.participant("partner"),
    ), status


def _change_refusal(access: service.LinkAccess, *, now: datetime) -> tuple[str, int] | None:
    """Why this link can't change the booking now (the service checks again), or None."""
    booking = access.booking
    if not access.may_change:
        return ("Only the person who booked can change it. If something needs to change, ask them, or call "
                "the practice.", 403)
    if booking.status == BookingStatus.cancelled:
        return "This booking was cancelled, so it can't be changed. You're welcome to book again.", 409
    if not booking.is_live:
        return "This session has already taken place.", 409
    if booking.starts_at <= now:
        return "This session has already started, so it can't be changed online.", 409
    return None


LINK_PROBLEMS = {
    "unknown": (404, "This link doesn't open a booking",
                "The link may be incomplete: check that you copied all of it from the email."),
    "revoked_reissued": (410, "This link has been replaced",
                         "A newer link was sent to you by email; please use that one."),
    "revoked_cancelled": (410, "This booking was cancelled",
                          "This booking was cancelled, so its link no longer opens it. You're welcome to book "
                          "again."),
    "expired": (410, "This link has expired",
                "Links work until a day after the session, and this session has passed."),
}


def _link_problem(exc: service.LinkInvalid):
    status, title, message = LINK_PROBLEMS.get(exc.reason, LINK_PROBLEMS["unknown"])
    return render_template("booking/link_problem.html", reason=exc.reason, title=title, message=message,
                           status=status), status


def _refused(message: str, status: int, *, booking_id=None, token: str | None = None):
    return render_template("booking/refused.html", message=message, status=status, booking_id=booking_id,
                           token=token), status


@bp.post("/bookings/<booking_id>/cancel")
@public
@limited
def cancel(booking_id: str):
    now = clock.now()
    form = _form(CancelForm)
    token = form.token.data
    try:
        access = service.open_link(booking_id, token, now=now)
    except service.LinkInvalid as exc:
        return _link_problem(exc)
    refusal = _change_refusal(access, now=now)
    if refusal is not None:
        return _refused(*refusal, booking_id=access.booking.id, token=token)
    if not form.validate_on_submit():
        return _manage_page(access, token, now=now, cancel_form=form, status=422)
    try:
        cancelled = service.cancel(access.booking.id, token, form.reason.data or "", now=now)
    except service.LinkInvalid as exc:
        return _link_problem(exc)
    except service.ActionRefused as exc:
        return _refused(str(exc), exc.status, booking_id=access.booking.id, token=token)
    except service.BookingBusy:
        return _manage_page(access, token, now=now, cancel_form=form, status=503,
                            problem="We couldn't cancel just now because many people are booking. Please try "
                                    "again in a moment.")
    return render_template("booking/cancelled.html", b=cancelled,
                           zone=cancelled.client_timezone or cancelled.counselor.timezone)


@bp.route("/bookings/<booking_id>/reschedule", methods=["GET", "POST"])
@public
@limited
def reschedule(booking_id: str):
    now = clock.now()
    form = _form(RescheduleForm)
    token = form.token.data if request.method == "POST" else request.args.get("token")
    try:
        access = service.open_link(booking_id, token, now=now)
    except service.LinkInvalid as exc:
        return _link_problem(exc)
    booking = access.booking
    refusal = _change_refusal(access, now=now)
    if refusal is not None:
        return _refused(*refusal, booking_id=booking.id, token=token)
    zone, _, _ = _viewer_zone(booking.client_timezone or booking.counselor.timezone)
    status, notice = 200, None
    if request.method == "GET":
        form = _form(RescheduleForm, formdata=None, data={"token": token,
                                                          "expected_start": display.url_start(booking.starts_at)})
    elif form.validate_on_submit():
        new_start = display.parse_start(form.start.data)
        if new_start is None:
            form.start.errors.append("Choose one of the times shown.")
            status = 422
        else:
            try:
                moved = service.reschedule(booking.id, token, new_start, now=now,
                                           expected_start=display.parse_start(form.expected_start.data))
            except service.LinkInvalid as exc:
                return _link_problem(exc)
            except service.ActionRefused as exc:
                if exc.status == 409:  # changed meanwhile: show it as it stands now
                    return _manage_page(access, token, now=now, status=409, problem=str(exc))
                return _refused(str(exc), exc.status, booking_id=booking.id, token=token)
            except service.SlotUnavailable:
                notice, status = NOTICES["slot_taken"], 409
            except service.BookingInvalid as exc:
                form.start.errors.extend(m for messages in exc.errors.values() for m in messages)
                status = 422
            except service.BookingBusy:
                notice, status = "Many people are booking right now. Please try again in a moment.", 503
            else:
                return redirect(booking_url("booking.manage", booking_id=moved.booking.id,
                                            token=moved.tokens["client"], notice="moved"))
    else:
        status = 422
    today = now.astimezone(ZoneInfo(zone)).date()
    first = display.parse_day(request.args.get("week")) or today
    first = min(max(first, today), today + timedelta(days=MAX_DAYS_AHEAD))
    last = first + timedelta(days=DAYS_SHOWN - 1)
    # The booking's own time doesn't block its move (e.g. half an hour later, into its old buffer).
    result = scheduling.slots_for(booking.counselor.slug, booking.service.slug, start_day=first, end_day=last,
                                  zone=zone, now=now, exclude_booking=booking.id)
    starts = [s.start for s in result.slots if s.start != booking.starts_at] if result else []
    return render_template(
        "booking/reschedule.html", b=booking, token=token, form=form, zone=zone, notice=notice,
        days=display.days_with_slots(starts, zone, first, DAYS_SHOWN), first_day=first, last_day=last,
        previous_week=max(first - timedelta(days=DAYS_SHOWN), today) if first > today else None,
        next_week=last + timedelta(days=1) if last < today + timedelta(days=MAX_DAYS_AHEAD) else None,
        free_change=service.within_free_change_window(booking, now=now),
        zone_choices=_zone_choices(zone),
    ), status


# --- 4. resend my links ---------------------------------------------------------------------------------

@bp.route("/bookings/resend", methods=["GET", "POST"])
@public
@limiter.limit(_rate_limit, key_func=_client_address, methods=["POST"])
def resend():
    form = _form(ResendForm)
    sent = False
    if form.validate_on_submit():
        # The same answer, after the same work, whether or not the address has bookings: this page must not
        # tell anyone who booked. The links are looked up and sent after the response.
        service.request_links(form.email.data, now=clock.now())
        sent = True
        form = _form(ResendForm, formdata=None)
    return render_template("booking/resend.html", form=form, sent=sent), 422 if form.errors else 200


# --- 5. first available ---------------------------------------------------------------------------------

@bp.get("/book/first-available")
@public
def first_available():
    now = clock.now()
    filters, filter_errors = queries.parse_filters(request.args)
    filters = replace(filters, format=filters.format or "individual")
    zone, explicit, unknown_zone = _viewer_zone(TIMEZONES[0])
    options = []
    if filters.state:
        counselors = queries.directory(filters)
        options = scheduling.next_available(counselors, format=filters.format, now=now)
    return render_template(
        "booking/first_available.html", filters=filters, filter_errors=filter_errors, options=options, zone=zone,
        zone_explicit=explicit, unknown_zone=unknown_zone, zone_choices=_zone_choices(zone),
        tz=ZoneInfo(zone), formats=FORMATS, specialties=SPECIALTIES, languages=LANGUAGES, states=US_STATES,
    )


# --- 6. policies and the embed --------------------------------------------------------------------------

@bp.get("/policies")
@public
def policies():
    return render_template("booking/policies.html")


EMBED_JS = Path(__file__).resolve().parent.parent / "static" / "js" / "embed.js"


@bp.get("/embed.js")
@public
def embed_script():
    """The snippet practices paste into their own site: it adds a frame showing the booking flow."""
    response = current_app.response_class(EMBED_JS.read_bytes(), mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/embed/book")
@public
def embed():
    """The flow inside the frame: one counselor's times (?counselor=slug), or the practice's counselors."""
    slug = request.args.get("counselor")
    if slug:
        return _time_picker(slug)
    counselors = [c for c in queries.directory() if any(s.is_trial for s in c.active_services)]
    return render_template("booking/embed_directory.html", counselors=counselors,
                           zone=display.valid_zone(request.args.get("tz")))
