"""The practice dashboard for front desk and admins: weekly figures as SVG charts, and the same figures as CSV.

Reads the bookings, routing decisions, payments and refunds of the window, hands plain rows to
practice.core.dashboard and draws with practice.core.charts. Only counts leave this module: no names, no answers.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request
from markupsafe import Markup
from sqlalchemy import select

from practice import clock
from practice.access import staff
from practice.booking.models import Booking, Client, Participant
from practice.core import dashboard as figures
from practice.core.charts import Point, bar_chart, line_chart
from practice.core.numbers import whole_number
from practice.core.spreadsheet import safe_cell
from practice.counselors.models import Service
from practice.extensions import db
from practice.intake.models import RoutingDecision
from practice.payments.models import Payment, PaymentStatus, Refund, RefundState

bp = Blueprint("frontdesk_dashboard", __name__)

DEFAULT_WEEKS = 12


@bp.get("/staff/dashboard")
@staff("admin", "frontdesk")
def dashboard():
    weeks, zone = _weeks_asked(), clock.practice_zone()
    shown = _figures(weeks, zone, now=clock.now())
    return render_template("frontdesk/dashboard.html", weeks=weeks, zone=zone.key, figures=shown,
                           charts=_charts(shown), totals=_totals(shown))


@bp.get("/staff/dashboard.csv")
@staff("admin", "frontdesk")
def dashboard_csv():
    weeks, zone = _weeks_asked(), clock.practice_zone()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["week_starting", "metric", "value"])
    for row in figures.as_rows(_figures(weeks, zone, now=clock.now())):
        writer.writerow([safe_cell(cell) for cell in row])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="practice-dashboard.csv"', "Cache-Control": "no-store"})


def _weeks_asked() -> int:
    weeks = whole_number(request.args.get("weeks", str(DEFAULT_WEEKS)))
    if weeks is None or not figures.MIN_WEEKS <= weeks <= figures.MAX_WEEKS:
        abort(422, description=f"Choose a number of weeks from {figures.MIN_WEEKS} to {figures.MAX_WEEKS}.")
    return weeks


def _figures(weeks: int, zone: ZoneInfo, *, now: datetime) -> list[figures.Week]:
    since = now - timedelta(weeks=weeks + 1)  # a week more than asked: the core keeps only whole weeks
    bookings = [
        figures.BookingRow(created_at=created, is_trial=is_trial, format=fmt, status=status.value,
                           client_email=email)
        for created, is_trial, fmt, status, email in db.session.execute(
            select(Booking.created_at, Service.is_trial, Service.format, Booking.status, Client.email)
            .join(Service, Service.id == Booking.service_id)
            .join(Participant, (Participant.booking_id == Booking.id) & (Participant.role == "client"))
            .join(Client, Client.id == Participant.client_id)
            .where(Booking.created_at >= since))]
    routings = [
        figures.RoutingRow(decided_at=d.decided_at, track=d.override_track or d.track, urgent=d.urgent,
                           flag_codes=tuple(str(f.get("code", "")) for f in (d.flags or []) if isinstance(f, dict)))
        for d in db.session.scalars(select(RoutingDecision).where(RoutingDecision.decided_at >= since))]
    payments = [
        figures.PaymentRow(succeeded_at=at, amount=amount)
        for at, amount in db.session.execute(
            select(Payment.succeeded_at, Payment.amount)
            .where(Payment.succeeded_at >= since,
                   Payment.status.in_((PaymentStatus.succeeded, PaymentStatus.refunded,
                                       PaymentStatus.partially_refunded))))]
    refunds = [
        figures.RefundRow(completed_at=at, amount=amount)
        for at, amount in db.session.execute(
            select(Refund.completed_at, Refund.amount)
            .where(Refund.state == RefundState.succeeded, Refund.completed_at >= since))]
    return figures.weekly_figures(bookings=bookings, routings=routings, payments=payments, refunds=refunds,
                                  now=now, weeks=weeks, zone=zone)


def _label(week: figures.Week) -> str:
    return f"{week.start:%b} {week.start.day}"


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.0f}"


def _percent(rate: float | None) -> str:
    return "none" if rate is None else f"{rate:.0%}"


def _charts(weeks: list[figures.Week]) -> list[Markup]:
    span = f"the {len(weeks)} weeks from the week of {_label(weeks[0])}"
    track_names = sorted({t for w in weeks for t in w.tracks})
    flag_codes = sorted({c for w in weeks for c in w.flags})
    charts = [
        bar_chart("Trial sessions booked each week", f"Trial bookings made in {span}.",
                  [Point(_label(w), w.trial_bookings, str(w.trial_bookings)) for w in weeks],
                  axis_label="Trial bookings"),
        line_chart("Trials that led to ongoing sessions",
                   f"Of the trial sessions booked each week and completed, the share of clients who then booked a "
                   f"regular session, over {span}. Weeks with no completed trial have no point.",
                   [Point(_label(w), w.conversion, _percent(w.conversion)) for w in weeks],
                   axis_label="Share of completed trials"),
        line_chart("No-show rate", f"Sessions missed as a share of sessions held or missed, by booking week, over "
                   f"{span}. Weeks with neither have no point.",
                   [Point(_label(w), w.no_show_rate, _percent(w.no_show_rate)) for w in weeks],
                   axis_label="Missed sessions"),
        bar_chart("Revenue each week", f"Payments received less refunds paid back, in US dollars, over {span}.",
                  [Point(_label(w), w.revenue / 100, _dollars(w.revenue)) for w in weeks],
                  axis_label="Revenue (USD)"),
        bar_chart("Refunds each week", f"Refunds paid back, in US dollars, over {span}.",
                  [Point(_label(w), w.refunds / 100, _dollars(w.refunds)) for w in weeks],
                  axis_label="Refunds (USD)"),
    ]
    totals = {t: sum(w.tracks.get(t, 0) for w in weeks) for t in track_names}
    charts.append(bar_chart("Routing tracks", f"Intakes routed to each track over {span}.",
                            [Point(t.replace("_", " "), n, str(n)) for t, n in totals.items()],
                            axis_label="Intakes"))
    flags = {c: sum(w.flags.get(c, 0) for w in weeks) for c in flag_codes}
    charts.append(bar_chart("Flags raised", f"How often each intake flag was raised over {span}. Counts only.",
                            [Point(c.replace("_", " "), n, str(n)) for c, n in flags.items()],
                            axis_label="Times raised"))
    return [Markup(svg) for svg in charts]  # nosec B704  # built from escaped text only (practice.core.charts)


def _totals(weeks: list[figures.Week]) -> dict[str, str]:
    completed = sum(w.trials_completed for w in weeks)
    held = sum(w.completed + w.no_shows for w in weeks)
    return {
        "Trial sessions booked": str(sum(w.trial_bookings for w in weeks)),
        "Completed trials that led to ongoing sessions":
            _percent(sum(w.trials_converted for w in weeks) / completed if completed else None),
        "No-show rate": _percent(sum(w.no_shows for w in weeks) / held if held else None),
        "Urgent intakes": str(sum(w.urgent for w in weeks)),
        "Revenue": _dollars(sum(w.revenue for w in weeks)),
        "Refunds": _dollars(sum(w.refunds for w in weeks)),
    }
