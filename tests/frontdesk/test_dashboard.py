"""The practice dashboard as front desk and admins see it: charts drawn from real bookings, routing decisions,
payments and refunds; the CSV holds the same figures and cannot smuggle a formula into a spreadsheet."""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from practice.booking.models import Booking, BookingStatus, Client, Participant
from practice.core import dashboard as core
from practice.core.spreadsheet import FORMULA_STARTS, safe_cell
from practice.counselors.models import Service
from practice.extensions import db
from practice.intake.models import RoutingDecision
from practice.payments.models import Payment, PaymentStatus, Refund, RefundState
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user

NOW = datetime(2026, 3, 18, 15, 0, tzinfo=timezone.utc)  # Wednesday
THIS_MONDAY = datetime(2026, 3, 16, 14, 0, tzinfo=timezone.utc)
LAST_MONDAY = THIS_MONDAY - timedelta(weeks=1)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def practice_data(app):
    counselor = make_counselor()
    trial = next(s for s in counselor.services if s.slug == "couple-trial")
    ongoing = Service(counselor_id=counselor.id, slug="couples-session", name="Couples session", format="couple",
                      duration_minutes=50, price=15000, currency="USD", is_trial=False, buffer_minutes=10)
    db.session.add(ongoing)
    db.session.flush()
    starts = iter(NOW + timedelta(days=30, hours=2 * n) for n in range(100))

    def booking(service, status, email, created_at):
        start = next(starts)
        b = Booking(counselor_id=counselor.id, service_id=service.id, starts_at=start,
                    ends_at=start + timedelta(minutes=50), blocked_until=start + timedelta(minutes=60),
                    status=status, created_at=created_at)
        b.participants = [Participant(role="client", client=Client(email=email, name="Client"))]
        db.session.add(b)
        db.session.flush()
        return b

    # Last week: three trials, two held (one of those clients came back), one missed.
    kept = booking(trial, BookingStatus.completed, "ana@example.org", LAST_MONDAY)
    booking(trial, BookingStatus.completed, "ben@example.org", LAST_MONDAY + timedelta(hours=1))
    booking(trial, BookingStatus.no_show, "cy@example.org", LAST_MONDAY + timedelta(hours=2))
    booking(ongoing, BookingStatus.confirmed, "ana@example.org", THIS_MONDAY)
    this_week = booking(trial, BookingStatus.confirmed, "dee@example.org", THIS_MONDAY + timedelta(hours=1))

    db.session.add_all([
        RoutingDecision(booking_id=kept.id, track="couples", urgent=False, rule="R1", decided_at=LAST_MONDAY,
                        flags=[{"code": "trust_breach", "partner": "a", "severity": "moderate"}],
                        reasons=[], scores={}),
        RoutingDecision(booking_id=this_week.id, track="individual", urgent=True, rule="R2", decided_at=THIS_MONDAY,
                        flags=[{"code": "=HYPERLINK(\"http://evil\")", "partner": "a", "severity": "high"},
                               {"code": "trust_breach", "partner": "a", "severity": "low"}],
                        reasons=[], scores={}),
    ])
    payment = Payment(booking_id=kept.id, amount=7500, currency="USD", status=PaymentStatus.partially_refunded,
                      amount_refunded=2000, succeeded_at=LAST_MONDAY, created_at=LAST_MONDAY)
    db.session.add(payment)
    db.session.flush()
    db.session.add(Refund(payment_id=payment.id, amount=2000, kind="staff", requested_by="staff",
                          state=RefundState.succeeded, completed_at=THIS_MONDAY, created_at=THIS_MONDAY))
    db.session.commit()


@pytest.fixture
def frontdesk(app, auth):
    user = make_user(role="frontdesk")
    assert auth.login(user.email).status_code == 302
    return user


def charts_in(page: str) -> list[ET.Element]:
    found, at = [], 0
    while (start := page.find("<svg", at)) != -1:
        end = page.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(page[start:end]))
        at = end
    return found


def test_dashboard_draws_the_charts_from_the_practice_data(client, practice_data, frontdesk):
    response = client.get("/staff/dashboard?weeks=4")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    charts = {c.find(f"{SVG}title").text: c for c in charts_in(page)}
    assert set(charts) == {"Trial sessions booked each week", "Trials that led to ongoing sessions",
                           "No-show rate", "Revenue each week", "Refunds each week", "Routing tracks",
                           "Flags raised"}
    assert all(c.get("role") == "img" and c.find(f"{SVG}desc").text for c in charts.values())

    def values(title):
        return [t.text for t in charts[title].findall(f"{SVG}text[@class='value']")]

    assert values("Trial sessions booked each week") == ["0", "0", "3", "1"]
    assert values("Trials that led to ongoing sessions") == ["50%"]
    assert values("No-show rate") == ["33%"]
    assert values("Revenue each week") == ["$0", "$0", "$75", "-$20"]
    assert values("Refunds each week") == ["$0", "$0", "$0", "$20"]
    assert values("Routing tracks") == ["1", "1"]
    assert [t.text for t in charts["Flags raised"].findall(f"{SVG}text[@class='label']")] == [
        '=HYPERLINK("http://evil")', "trust breach"]
    assert values("Flags raised") == ["1", "2"]
    assert "ana@example.org" not in page and "<script" not in page


def test_csv_holds_the_same_figures_with_formulas_neutralised(app, client, practice_data, frontdesk):
    response = client.get("/staff/dashboard.csv?weeks=4")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="practice-dashboard.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["week_starting", "metric", "value"]

    with app.app_context():
        from practice.frontdesk.dashboard import _figures
        expected = core.as_rows(_figures(4, ZoneInfo("America/New_York"), now=NOW))
    assert len(rows) - 1 == len(expected)
    this_week, last_week = "2026-03-16", "2026-03-09"
    got = {(w, m): v for w, m, v in rows[1:]}
    assert got[(last_week, "trial_bookings")] == "3"
    assert got[(last_week, "conversion_rate")] == "0.5000"
    assert got[(last_week, "revenue_cents")] == "7500"
    assert got[(this_week, "revenue_cents")] == "'-2000"  # a leading minus is a formula start to a spreadsheet
    assert got[(this_week, "flag:trust_breach")] == "1"
    assert got[(this_week, "urgent_intakes")] == "1"
    assert got[(this_week, "flag:=HYPERLINK(\"http://evil\")")] == "1"  # the cell starts with "flag:", not "="
    for w, m, v in expected:
        assert got[(w, safe_cell(m))] == safe_cell(v)
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


def test_a_metric_cell_starting_with_a_formula_is_quoted():
    assert safe_cell("=HYPERLINK(\"http://evil\")") == "'=HYPERLINK(\"http://evil\")"


@pytest.mark.parametrize("weeks", ["3", "53", "twelve", "-4", "", "1e3"])
def test_a_bad_number_of_weeks_is_explained_not_a_crash(client, frontdesk, weeks):
    for path in ("/staff/dashboard", "/staff/dashboard.csv"):
        response = client.get(f"{path}?weeks={weeks}")
        assert response.status_code == 422
        assert "Choose a number of weeks from 4 to 52." in response.get_data(as_text=True)


def test_default_window_is_twelve_weeks_and_admins_see_it(client, auth, app):
    admin = make_user(role="admin")
    auth.login(admin.email)
    page = client.get("/staff/dashboard").get_data(as_text=True)
    assert "The last 12 weeks" in page
    trials = next(c for c in charts_in(page) if c.find(f"{SVG}title").text == "Trial sessions booked each week")
    assert len(trials.findall(f"{SVG}rect[@class='bar']")) == 12
    assert 'href="/staff/dashboard"' in client.get("/staff").get_data(as_text=True)


def test_counselors_are_refused_and_strangers_sent_to_sign_in(client, auth, app):
    assert client.get("/staff/dashboard").status_code == 302
    assert "/staff/login" in client.get("/staff/dashboard.csv").headers["Location"]
    counselor = make_counselor()
    user = make_user(role="counselor", counselor=counselor)
    auth.login(user.email)
    assert client.get("/staff/dashboard").status_code == 403
    assert client.get("/staff/dashboard.csv").status_code == 403
