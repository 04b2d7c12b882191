"""Front desk in headless Chromium: the practice's day in its own zone, one session opened from it, and that
session cancelled with a refund override and a reason, the page then showing what was done.

The live app is shared by every browser test, so this one makes its own paid session (a free slot of a demo
counselor, paid at the Stripe stand-in) rather than touching the demo's.
"""
import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from practice import clock
from practice.booking import display
from practice.booking.models import Booking, BookingStatus, Client, Participant
from practice.counselors.models import Counselor, Service
from practice.demo import DEMO_STAFF
from practice.extensions import db
from practice.payments.models import Payment, PaymentStatus, Refund
from practice.payments.stripe_api import client as stripe_client
from practice.scheduling.service import slots_for
from practice.web.filters import money
from tests.e2e.conftest import LIVE_ENGINES, serious_violations
from tests.e2e.test_availability import sign_in
from tests.payments.helpers import pay_at_standin

pytestmark = [pytest.mark.browser,  # and on both engines, as the front desk runs on either
              pytest.mark.parametrize("live_engine", LIVE_ENGINES, indirect=True, scope="session")]

FRONT_DESK = next(person for person in DEMO_STAFF if person.role == "frontdesk")
PRACTICE_ZONE = ZoneInfo("America/New_York")


def a_paid_session(live_app, stripe_standin) -> tuple[str, str, str, str, str]:
    """A confirmed, paid individual session of Daniel Reyes (Chicago) in one of his free slots a few days
    ahead: (booking id, its day in the practice's zone, its start as the day page writes it, the client's name,
    what was paid as the pages write it)."""
    with live_app.app_context():
        now = clock.now()
        counselor = db.session.scalar(select(Counselor).where(Counselor.slug == "daniel-reyes"))
        service = db.session.scalar(select(Service).where(Service.counselor_id == counselor.id, Service.price > 0,
                                                          Service.active))
        first = now.date() + timedelta(days=3)
        free = slots_for(counselor.slug, service.slug, start_day=first, end_day=first + timedelta(days=20),
                         zone=counselor.timezone, now=now).slots
        slot = free[len(free) // 2]
        booking = Booking(counselor_id=counselor.id, service_id=service.id, starts_at=slot.start, ends_at=slot.end,
                          blocked_until=slot.end + timedelta(minutes=service.buffer_minutes),
                          status=BookingStatus.confirmed, confirmed_at=now, policies_accepted_at=now,
                          client_timezone="America/Los_Angeles", created_at=now, updated_at=now)
        name = f"Dana Whitfield {uuid.uuid4().hex[:4]}"
        booking.participants.append(Participant(role="client", client=Client(
            name=name, email=f"dana.{uuid.uuid4().hex[:6]}@example.org", state="IL")))
        db.session.add(booking)
        db.session.flush()
        intent = stripe_client().v1.payment_intents.create(params={
            "amount": service.price, "currency": "usd", "payment_method_types": ["card"],
            "metadata": {"booking_id": str(booking.id)}})
        status, paid = pay_at_standin(stripe_standin, intent.client_secret)
        assert status == 200 and paid["status"] == "succeeded"
        db.session.add(Payment(booking_id=booking.id, stripe_payment_intent_id=intent.id, amount=service.price,
                               currency="USD", status=PaymentStatus.succeeded, amount_refunded=0, created_at=now,
                               succeeded_at=now))
        db.session.commit()
        local = slot.start.astimezone(PRACTICE_ZONE)
        found = str(booking.id), local.date().isoformat(), display.clock(local), name, money(service.price, "USD")
        db.session.remove()
    return found


def test_front_desk_cancels_a_session_from_the_day_with_a_refund_override(page, live_app, stripe_standin):
    booking_id, day, start_text, name, paid = a_paid_session(live_app, stripe_standin)
    sign_in(page, FRONT_DESK.email, FRONT_DESK.password)

    page.goto("/staff")
    page.get_by_role("link", name="Today's sessions").click()
    expect(page).to_have_url(re.compile(r"/staff/today$"))
    expect(page.locator(".lede")).to_contain_text("America/New_York (Eastern Time)")
    assert serious_violations(page) == []

    # The date picker takes them to the session's day, where it is listed at its time in New York.
    page.get_by_label("Date").fill(day)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(rf"date={day}"))
    expect(page.get_by_role("heading", name="Daniel Reyes", level=2)).to_be_visible()
    row = page.locator("tr", has_text=name)
    expect(row).to_contain_text(f"Paid {paid}")
    link = row.get_by_role("link", name=re.compile(rf"^{re.escape(start_text)} – "))
    expect(link).to_be_visible()
    assert serious_violations(page) == []

    link.click()
    expect(page).to_have_url(re.compile(rf"/staff/bookings/{booking_id}$"))
    expect(page.get_by_role("heading", name="Individual session with Daniel Reyes", level=1)).to_be_visible()
    expect(page.locator(".lede")).to_contain_text(start_text)
    assert serious_violations(page) == []

    page.get_by_label("Why is it being cancelled?").fill("Daniel is unwell that day")
    page.get_by_label(re.compile("A different amount")).check()
    page.get_by_label(re.compile("^Amount to refund")).fill("20")
    page.get_by_label("Why this amount").fill("The client keeps a credit for the rest")
    page.get_by_role("button", name="Cancel the booking").click()

    expect(page.locator(".flash")).to_contain_text("The booking is cancelled")
    expect(page.locator(".flash")).to_contain_text("A refund of $20 is on its way to Stripe.")
    expect(page.locator(".lede")).to_contain_text("Cancelled")
    expect(page.get_by_text("“Daniel is unwell that day”")).to_be_visible()
    refunds_table = page.get_by_role("table", name="Refunds of this payment")
    expect(refunds_table).to_contain_text("$20")
    expect(refunds_table).to_contain_text("The client keeps a credit for the rest")
    expect(page.get_by_role("button", name="Cancel the booking")).to_have_count(0)
    assert serious_violations(page) == []

    with live_app.app_context():
        booking = db.session.get(Booking, uuid.UUID(booking_id))
        assert (booking.status, booking.cancelled_by) == (BookingStatus.cancelled, "staff")
        [refund] = db.session.scalars(select(Refund).join(Payment).where(Payment.booking_id == booking.id))
        assert refund.amount == 2000
        db.session.remove()

    # The day no longer lists it.
    page.goto(f"/staff/today?date={day}")
    expect(page.locator("main")).not_to_contain_text(name)
