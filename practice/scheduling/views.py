"""Counselors' availability pages: weekly hours and booking rules, dates off and time off, the week calendar,
and calendar feeds.

Counselors manage their own; front desk and admins any counselor's. Each handler reads its input, checks access
(the route's declaration, then _counselor()), calls editing.py or week.py, and renders or redirects.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from practice import clock
from practice.access import staff
from practice.counselors import queries
from practice.counselors.models import Counselor
from practice.scheduling import editing, week
from practice.scheduling.forms import FeedForm, OverrideForm, RulesForm, TimeOffForm, WeeklyHoursForm
from practice.scheduling.service import ScheduleInvalid
from practice.form_errors import show_errors

bp = Blueprint("scheduling", __name__)

MANAGERS = ("admin", "frontdesk", "counselor")


@bp.context_processor
def _time_helpers():
    return {"clock": week.clock, "span_text": week.span_text, "moment_text": week.moment_text,
            "feed_host": _feed_host, "MAX_RANGES_PER_DAY": editing.MAX_RANGES_PER_DAY}


# --- weekly hours and booking rules ---------------------------------------------------------------------

@bp.route("/staff/counselors/<slug>/availability", methods=["GET", "POST"])
@staff(*MANAGERS)
def availability(slug: str):
    counselor = _counselor(slug)
    submitted = _submitted()
    hours_form = WeeklyHoursForm.for_hours(editing.weekly_hours_of(counselor), submitted=submitted == "hours")
    rules_form = RulesForm.for_policy(editing.policy_of(counselor), submitted=submitted == "rules")
    day_errors: dict[str, list[str]] = {}
    if submitted == "hours" and hours_form.validate_on_submit():
        try:
            changed = editing.set_weekly_hours(counselor, hours_form.ranges_by_weekday(), actor=_actor())
        except ScheduleInvalid as exc:
            day_errors = exc.errors
        else:
            flash("Weekly hours saved." if changed else "Nothing had changed, so nothing was saved.", "success")
            return redirect(url_for(".availability", slug=slug))
    elif submitted == "rules" and rules_form.validate_on_submit():
        try:
            changed = editing.update_policy(counselor, **rules_form.to_input(), actor=_actor())
        except ScheduleInvalid as exc:
            _show_errors(rules_form, exc.errors)
        else:
            flash("Booking rules saved." if changed else "Nothing had changed, so nothing was saved.", "success")
            return redirect(url_for(".availability", slug=slug, _anchor="rules"))
    failed = bool(day_errors) or _has_errors(hours_form, rules_form)
    return render_template("scheduling/availability.html", **_page(counselor, "availability"),
                           hours_form=hours_form, rules_form=rules_form, day_errors=day_errors), 422 if failed else 200


# --- dates off and time off -----------------------------------------------------------------------------

@bp.route("/staff/counselors/<slug>/time-off", methods=["GET", "POST"])
@staff(*MANAGERS)
def time_off(slug: str):
    counselor = _counselor(slug)
    submitted, now = _submitted(), clock.now()
    override_form = OverrideForm(prefix="override", **({} if submitted == "override" else {"formdata": None}))
    time_off_form = TimeOffForm(prefix="timeoff", **({} if submitted == "time_off" else {"formdata": None}))
    range_errors: list[str] = []
    if submitted == "override" and override_form.validate_on_submit():
        day, ranges = override_form.to_input()
        try:
            replaced = editing.add_override(counselor, day, ranges, actor=_actor(), now=now)
        except ScheduleInvalid as exc:
            range_errors = exc.errors.pop("ranges", [])
            _show_errors(override_form, exc.errors)
        else:
            flash(f"{'Changed' if replaced else 'Set'} the hours for {day:%A, %B} {day.day}.", "success")
            return redirect(url_for(".time_off", slug=slug, _anchor="overrides"))
    elif submitted == "time_off" and time_off_form.validate_on_submit():
        start, end = time_off_form.local_range()
        try:
            added = editing.add_time_off(counselor, start, end, time_off_form.note.data or "", actor=_actor(),
                                         now=now)
        except ScheduleInvalid as exc:
            _show_errors(time_off_form, exc.errors)
        else:
            flash(f"Time off added: {week.span_text(added.starts_at, added.ends_at, counselor.timezone)}.",
                  "success")
            booked = week.live_bookings_between(counselor, added.starts_at, added.ends_at, now=now)
            if booked:
                flash(f"{booked} booked session{'s fall' if booked > 1 else ' falls'} in this time off. Booked "
                      f"sessions are not cancelled by time off: ask the front desk to move "
                      f"{'them' if booked > 1 else 'it'}.", "warning")
            return redirect(url_for(".time_off", slug=slug, _anchor="time-off"))
    today = editing.local_today(counselor, now)
    failed = bool(range_errors) or _has_errors(override_form, time_off_form)
    return render_template(
        "scheduling/time_off.html", **_page(counselor, "time_off"), override_form=override_form,
        time_off_form=time_off_form, range_errors=range_errors, today=today,
        overrides=editing.overrides_from(counselor, today), time_off=editing.upcoming_time_off(counselor, now=now),
    ), 422 if failed else 200


@bp.post("/staff/counselors/<slug>/time-off/dates/<day>/remove")
@staff(*MANAGERS)
def remove_override(slug: str, day: str):
    counselor = _counselor(slug)
    when = _parse_day(day)
    if editing.remove_override(counselor, when, actor=_actor()):
        flash(f"{when:%A, %B} {when.day} follows your weekly hours again.", "success")
    return redirect(url_for(".time_off", slug=slug, _anchor="overrides"))


@bp.post("/staff/counselors/<slug>/time-off/<int:time_off_id>/remove")
@staff(*MANAGERS)
def remove_time_off(slug: str, time_off_id: int):
    counselor = _counselor(slug)
    removed = editing.remove_time_off(counselor, time_off_id, actor=_actor()) or abort(404)
    flash(f"Time off removed: {week.span_text(removed.starts_at, removed.ends_at, counselor.timezone)}.", "success")
    return redirect(url_for(".time_off", slug=slug, _anchor="time-off"))


# --- week calendar --------------------------------------------------------------------------------------

@bp.get("/staff/counselors/<slug>/calendar")
@staff(*MANAGERS)
def calendar(slug: str):
    counselor = _counselor(slug)
    now = clock.now()
    monday, understood = week.parse_week(request.args.get("week"), today=editing.local_today(counselor, now))
    return render_template("scheduling/calendar.html", **_page(counselor, "calendar"),
                           week=week.week_for(counselor, monday, now=now), week_understood=understood)


# --- calendar feeds -------------------------------------------------------------------------------------

@bp.route("/staff/counselors/<slug>/calendar-feeds", methods=["GET", "POST"])
@staff(*MANAGERS)
def feeds(slug: str):
    counselor = _counselor(slug)
    form = FeedForm(prefix="feed")
    if form.validate_on_submit():
        try:
            feed = editing.add_feed(counselor, form.url.data, form.label.data or "", actor=_actor())
        except ScheduleInvalid as exc:
            _show_errors(form, exc.errors)
        else:
            flash(f"“{feed.label}” connected. Its busy times will appear within a few minutes.", "success")
            return redirect(url_for(".feeds", slug=slug))
    return render_template("scheduling/feeds.html", **_page(counselor, "feeds"), form=form,
                           feeds=editing.feeds_of(counselor)), 422 if form.errors else 200


@bp.post("/staff/counselors/<slug>/calendar-feeds/<int:feed_id>/refresh")
@staff(*MANAGERS)
def refresh_feed(slug: str, feed_id: int):
    counselor = _counselor(slug)
    feed = editing.refresh_feed_now(counselor, feed_id, actor=_actor(), now=clock.now()) or abort(404)
    flash(f"“{feed.label}” will be updated within a minute or two. Reload this page to see the result.", "success")
    return redirect(url_for(".feeds", slug=slug))


@bp.post("/staff/counselors/<slug>/calendar-feeds/<int:feed_id>/remove")
@staff(*MANAGERS)
def remove_feed(slug: str, feed_id: int):
    counselor = _counselor(slug)
    feed = editing.remove_feed(counselor, feed_id, actor=_actor()) or abort(404)
    flash(f"“{feed.label}” disconnected, and its busy times removed.", "success")
    return redirect(url_for(".feeds", slug=slug))


# --- helpers --------------------------------------------------------------------------------------------

def may_manage_availability(user, counselor: Counselor) -> bool:
    """Front desk and admins manage anyone's availability; a counselor only their own."""
    return user.office_or_counselor(counselor.id)


def _counselor(slug: str) -> Counselor:
    """The counselor behind a staff URL, if the signed-in user may manage it: 404 unknown, 403 not theirs."""
    counselor = queries.counselor_by_slug(slug) or abort(404)
    if not may_manage_availability(current_user, counselor):
        abort(403)
    return counselor


def _page(counselor: Counselor, current: str) -> dict:
    """What every availability page shows around its content: whose, in which zone, and the sub-navigation."""
    return {"c": counselor, "current": current, "own": current_user.is_counselor_for(counselor.id),
            "local_now": clock.now().astimezone(ZoneInfo(counselor.timezone))}


def _actor():
    return current_user._get_current_object()


def _submitted() -> str | None:
    """Which of a page's forms was sent (each carries a hidden `form` field); None on GET."""
    return request.form.get("form") if request.method == "POST" else None


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(404)


def _show_errors(form, errors: dict[str, list[str]]) -> None:
    """Put a use case's errors on the form's fields (by the form's error_fields map); anything else above it."""
    show_errors(form, errors, getattr(form, "error_fields", {}))


def _feed_host(feed) -> str:
    """Where a feed comes from, without the secret part of its address."""
    return urlsplit(feed.url).hostname or "an unknown address"


def _has_errors(*forms) -> bool:
    return any(form.errors for form in forms)
