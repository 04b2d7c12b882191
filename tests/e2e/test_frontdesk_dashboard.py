"""The practice dashboard in headless Chromium: its SVG charts draw the bookings, payments and refunds of past
weeks, each bar named with its week and value for screen readers, not only an empty <svg>.

The live app is shared by every browser test, and the others book in the weeks around today; this test writes its
figures eight and nine weeks back, where nobody else does, so the counts it checks are its own.
"""
import re
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from practice import clock
from practice.booking.models import Booking, BookingStatus, Client, Participant
from practice.counselors import queries
from practice.demo import DEMO_STAFF
from practice.extensions import db
from practice.payments.models import Payment, PaymentStatus, Refund, RefundState
from tests.e2e.conftest import LIVE_ENGINES, serious_violations
from tests.e2e.test_frontdesk_queue import sign_in

pytestmark = [pytest.mark.browser,  # and on both engines, as the front desk runs on either
              pytest.mark.parametrize("live_engine", LIVE_ENGINES, indirect=True, scope="session")]

FRONT_DESK = next(person for person in DEMO_STAFF if person.role == "frontdesk")
WEEKS_BACK = {8: 3, 9: 5}  # weeks before this one -> trial sessions booked that week


def label(monday) -> str:
    return f"{monday:%b} {monday.day}"  # as the charts name a week


@pytest.fixture
def past_weeks(live_app):
    """Trial bookings in two past weeks, completed; in the later one a $60 payment and a $15 refund of it.
    Written as rows (they stand for what happened weeks ago); returns {weeks back: the Monday}."""
    with live_app.app_context():
        zone = clock.practice_zone()
        today = clock.now().astimezone(zone).date()
        this_monday = today - timedelta(days=today.weekday())
        counselor = queries.counselor_by_slug("wei-zhang")
        trial = queries.service_of(counselor, "couple-trial")
        mondays = {}
        for back, count in WEEKS_BACK.items():
            monday = mondays[back] = this_monday - timedelta(weeks=back)
            for n in range(count):
                made = datetime.combine(monday, time(9 + n), zone)  # booked that Monday, in working hours
                start = datetime.combine(monday + timedelta(days=n), time(6, 30), zone)  # one a day, early
                booking = Booking(
                    counselor_id=counselor.id, service_id=trial.id, starts_at=start,
                    ends_at=start + timedelta(minutes=trial.duration_minutes),
                    blocked_until=start + timedelta(minutes=trial.duration_minutes),
                    status=BookingStatus.completed, confirmed_at=made, created_at=made, updated_at=made,
                    client_timezone=counselor.timezone)
                booking.participants.append(Participant(role="client", client=Client(
                    name=f"Past Client {back}-{n}", email=f"past.{back}.{n}@example.org", state="IL")))
                db.session.add(booking)
                if back == 8 and n == 0:
                    paid_at = made + timedelta(minutes=5)
                    payment = Payment(booking=booking, stripe_payment_intent_id=f"pi_dashboard_{monday:%Y%m%d}",
                                      amount=6000, currency="USD", status=PaymentStatus.partially_refunded,
                                      amount_refunded=1500, created_at=made, succeeded_at=paid_at)
                    db.session.add(payment)
                    db.session.add(Refund(payment=payment, amount=1500, kind="staff", reason="Goodwill",
                                          requested_by="Jordan Pike", state=RefundState.succeeded, attempts=1,
                                          created_at=paid_at + timedelta(days=1),
                                          completed_at=paid_at + timedelta(days=1)))
        db.session.commit()
        db.session.remove()
    return mondays


def bars_of(page, chart_title: str) -> dict[str, str]:
    """A chart's bars or points by what each says to a screen reader: {"Oct 5": "3", ...}."""
    chart = page.get_by_role("img", name=re.compile(re.escape(chart_title)))
    expect(chart).to_be_visible()
    named = {}
    for mark in chart.locator("rect.bar, circle.point").all():
        week, _, value = mark.locator("title").text_content().partition(": ")
        named[week] = value
    return named


def test_the_dashboard_charts_draw_the_weeks_bookings_revenue_and_refunds(page, past_weeks):
    sign_in(page, FRONT_DESK.email, FRONT_DESK.password)
    page.goto("/staff/dashboard")
    expect(page.get_by_role("heading", name="Practice dashboard", level=1)).to_be_visible()
    assert serious_violations(page) == []

    later, earlier = label(past_weeks[8]), label(past_weeks[9])
    trials = bars_of(page, "Trial sessions booked each week")
    assert len(trials) == 12  # one bar per week shown, empty weeks drawn as zero
    assert (trials[later], trials[earlier]) == ("3", "5")
    chart = page.get_by_role("img", name=re.compile("Trial sessions booked each week"))
    heights = {mark.locator("title").text_content(): float(mark.get_attribute("height"))
               for mark in chart.locator("rect.bar").all()}
    assert heights[f"{earlier}: 5"] > heights[f"{later}: 3"] > 0  # drawn to scale, not just labelled
    assert bars_of(page, "Revenue each week")[later] == "$45"  # $60 paid less $15 refunded
    assert bars_of(page, "Refunds each week")[later] == "$15"
    assert bars_of(page, "Revenue each week")[earlier] == "$0"

    # Fewer weeks: the older weeks leave the charts.
    page.get_by_label("Weeks to show (4 to 52)").fill("4")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"weeks=4"))
    assert later not in bars_of(page, "Trial sessions booked each week")
