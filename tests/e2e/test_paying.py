"""A couple pays for a trial in headless Chromium, with a test card in the Stripe stand-in's Stripe.js: the
booking is confirmed by Stripe's signed webhook, and each partner gets their own intake link by email."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from practice.extensions import db
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from tests.e2e.conftest import serious_violations
from tests.e2e.test_booking_flow import choose_first_time, demo_hours, fill_client  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def fill_card(page, number: str) -> None:
    """The stand-in's card element: plain inputs named by their placeholders (Stripe's real one is a frame)."""
    for placeholder, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"), ("cvc", "123"),
                               ("postal_code", "98101")):
        page.get_by_placeholder(placeholder, exact=True).fill(value)


def test_a_couple_pays_with_a_test_card_and_both_partners_get_their_intake_links(page, live_app):
    choose_first_time(page, "hana-seo", re.compile(r"^Choose a time for a \d+-minute couples trial$"))
    fill_client(page, "WA")
    page.get_by_label("Your partner's name").fill("Sam Okafor")
    page.get_by_label("Your partner's email").fill("sam.okafor@example.org")
    page.get_by_label("I'll pay for my sessions myself").check()
    page.get_by_label("Your date of birth").fill("1988-04-23")
    page.get_by_role("button", name="Hold this time").click()
    expect(page.get_by_role("heading", name="Your time is held", level=1)).to_be_visible()
    booking_id = re.search(r"/bookings/([0-9a-f-]{36})", page.url).group(1)

    page.get_by_role("button", name=re.compile(r"^Pay \$[\d,.]+ now$")).click()
    expect(page.get_by_role("heading", name="Pay for your session", level=1)).to_be_visible()
    assert serious_violations(page) == []

    # A declined card first: the page says so and the hold stays.
    fill_card(page, "4000000000000341")
    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    expect(page.locator("#payment-message")).to_contain_text("No money was taken")

    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    expect(page.get_by_role("heading", name="You're booked", level=1)).to_be_visible(timeout=20_000)
    expect(page.locator(".booking-summary")).to_contain_text("Confirmed")

    with live_app.app_context():
        confirmations = [rendered(m) for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmed")) if booking_id in rendered(m).text]
        to = {m.to_email for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmed"))
            if booking_id in rendered(m).text}
        db.session.remove()
    assert to == {"ana.rivera@example.org", "sam.okafor@example.org"}
    intake_links = {re.search(r"/intake/[\w-]+", m.text).group(0) for m in confirmations}
    assert len(intake_links) == 2  # each their own
    for link in intake_links:
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert "This link" not in page.locator("h1").inner_text()  # it opens a questionnaire, not a link problem
