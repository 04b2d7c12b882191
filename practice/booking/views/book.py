"""Booking a session, in pages: choose a time, give details (then the manage page confirms it); "first
available" across counselors; the policies; the embed's script and its first page.

Each handler reads its input, calls booking.service (the only writer of bookings) or scheduling.service, and
renders or redirects. Opening a page never changes anything: every change is a POST.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import abort, current_app, redirect, render_template, request

from practice import clock
from practice.access import public
from practice.booking import display, service
from practice.booking.forms import ERROR_FIELDS, DetailsForm
from practice.booking.views.common import (DAYS_SHOWN, NOTICES, bp, booking_url, client_address, form_for, rate_limit,
                                           shown_week, viewer_zone, zone_choices)
from practice.counselors import queries
from practice.counselors.vocabulary import FORMATS, LANGUAGES, SPECIALTIES, TIMEZONES, US_STATES
from practice.extensions import limiter
from practice.scheduling import service as scheduling
from practice.form_errors import show_errors

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
    zone, explicit, unknown_zone = viewer_zone(counselor.timezone)
    context = dict(c=counselor, services=trials if chosen in trials else [chosen, *trials], svc=chosen, zone=zone,
                   zone_explicit=explicit, unknown_zone=unknown_zone, zone_choices=zone_choices(zone),
                   notice=NOTICES.get(request.args.get("notice", "")))
    if chosen is None:
        return render_template("booking/choose_time.html", **context, days={})
    week = shown_week(now, zone)
    result = scheduling.slots_for(counselor.slug, chosen.slug, start_day=week.first, end_day=week.last, zone=zone,
                                  now=now)
    if result is None:
        abort(404)
    days = display.days_with_slots([s.start for s in result.slots], zone, week.first, DAYS_SHOWN)
    next_open = None
    if not any(days.values()):
        later = scheduling.slots_for(counselor.slug, chosen.slug, start_day=week.last + timedelta(days=1),
                                     end_day=week.last + timedelta(days=60), zone=zone, now=now)
        if later is not None and later.slots:
            next_open = later.slots[0].start.astimezone(ZoneInfo(zone))
    return render_template(
        "booking/choose_time.html", **context, days=days, first_day=week.first, last_day=week.last,
        previous_week=week.previous, next_week=week.next,
        next_open=next_open,
    )


# --- 2. your details ------------------------------------------------------------------------------------

@bp.route("/book/<counselor_slug>/<service_slug>/<start>", methods=["GET", "POST"])
@public
@limiter.limit(rate_limit, key_func=client_address, methods=["POST"])
def details(counselor_slug: str, service_slug: str, start: str):
    now = clock.now()
    counselor = queries.public_counselor(counselor_slug) or abort(404)
    chosen = next((s for s in counselor.active_services if s.slug == service_slug), None) or abort(404)
    moment = display.parse_start(start) or abort(404)
    zone, explicit, _ = viewer_zone(counselor.timezone)
    prefill = (request.args.get("state") or "").upper()
    form = form_for(DetailsForm.for_service, chosen, data={"state": prefill if prefill in US_STATES else ""})
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
        uses_insurance=form.uses_insurance, date_of_birth=form.birth_date,
    )


def _show_errors(form, errors: dict[str, list[str]]) -> None:
    """A service's field errors on the form's fields; anything without a field above the form."""
    show_errors(form, errors, ERROR_FIELDS)


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


# --- 5. first available ---------------------------------------------------------------------------------

@bp.get("/book/first-available")
@public
def first_available():
    now = clock.now()
    filters, filter_errors = queries.parse_filters(request.args)
    filters = replace(filters, format=filters.format or "individual")
    zone, explicit, unknown_zone = viewer_zone(TIMEZONES[0])
    options = []
    if filters.state:
        counselors = queries.directory(filters)
        options = scheduling.next_available(counselors, format=filters.format, now=now)
    return render_template(
        "booking/first_available.html", filters=filters, filter_errors=filter_errors, options=options, zone=zone,
        zone_explicit=explicit, unknown_zone=unknown_zone, zone_choices=zone_choices(zone),
        tz=ZoneInfo(zone), formats=FORMATS, specialties=SPECIALTIES, languages=LANGUAGES, states=US_STATES,
    )


# --- 6. policies and the embed --------------------------------------------------------------------------

@bp.get("/policies")
@public
def policies():
    return render_template("booking/policies.html")


EMBED_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "embed.js"


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
