"""The whole journey in headless Chromium, one booking from start to end: a couple finds a counselor in the
directory, books and pays a couples trial at the Stripe stand-in, each partner answers their own intake from
their own email, front desk accepts the routing and marks it done, the counselor's private feed carries the
session, the client moves it to another time (the feed follows) and then cancels it, and the refund the page
states is the one the practice's policy gives, and the one Stripe made.

It runs on SQLite and on PostgreSQL. The couple books Priya Raman (couples only, licensed in Colorado), whom no other browser test books. To take
the late-cancellation path of the policy (half the price kept), the practice's notice is set longer than anyone
can book ahead for the length of this test: the payment keeps the policy it was made under, as a real one does.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from practice.booking.models import Booking
from practice.calendar.identity import event_uid
from practice.core.cancellation import late_fee
from practice.demo import DEMO_STAFF
from practice.extensions import db
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from practice.payments.models import Payment
from practice.payments.policy import policy_of
from practice.payments.stripe_api import client as stripe_client
from practice.web.filters import money
from tests.answers import valid_answers
from tests.e2e.conftest import LIVE_ENGINES, open_page, serious_violations, watch_problems
from tests.e2e.test_frontdesk_queue import sign_in
from tests.e2e.test_intake import answer_everything
from tests.e2e.test_paying import fill_card

# On both engines: SQLite as `make run` serves it, PostgreSQL as production does.
pytestmark = [pytest.mark.browser,
              pytest.mark.parametrize("live_engine", LIVE_ENGINES, indirect=True, scope="session")]

COUNSELOR = "priya-raman"
FRONT_DESK = next(person for person in DEMO_STAFF if person.role == "frontdesk")
CLIENT = ("Rosa Delgado", f"rosa.{uuid.uuid4().hex[:6]}@example.org")
PARTNER = ("Tomas Delgado", f"tomas.{uuid.uuid4().hex[:6]}@example.org")
CLIENT_WORDS = "We keep circling the same argument about trust."
PARTNER_WORDS = "I want us to find a way back to each other."


@pytest.fixture
def late_cancellation_policy(live_app):
    """Every session is inside the notice while this test runs: a client's cancellation is late."""
    before = live_app.config["CANCELLATION_NOTICE_HOURS"]
    live_app.config["CANCELLATION_NOTICE_HOURS"] = 24 * 90  # longer than the demo's 60 days of booking ahead
    yield
    live_app.config["CANCELLATION_NOTICE_HOURS"] = before


def emails(live_app, kind: str, booking_id: str) -> dict[str, str]:
    """The text of each email of `kind` about the booking, by recipient."""
    with live_app.app_context():
        found = {}
        for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)):
            text = rendered(message).text
            if booking_id[:8].upper() in text or booking_id in text:
                found[message.to_email] = text
        db.session.remove()
    return found


def feed_events(page, feed_url: str) -> dict[str, object]:
    """The counselor's feed as their calendar app reads it: UID -> event."""
    response = page.request.get(feed_url)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.body())
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def starts_of(live_app, booking_id: str) -> datetime:
    with live_app.app_context():
        start = db.session.get(Booking, uuid.UUID(booking_id)).starts_at
        db.session.remove()
    return start


def test_a_couple_books_pays_answers_is_processed_moves_and_cancels_with_the_policys_refund(
        browser, live_server, live_app, late_cancellation_policy):
    problems = []

    def new_page():
        context, page = open_page(browser, live_server, timezone_id="America/Denver")
        watch_problems(page, problems, console=False)
        return context, page

    client_context, page = new_page()

    # 1. The directory, narrowed to couples in Colorado, lists Priya Raman; her profile offers a couples trial.
    page.goto("/counselors")
    page.get_by_label("Sessions for").select_option("couple")
    page.get_by_label("Your state").select_option("CO")
    page.get_by_role("button", name="Show counselors").click()
    expect(page).to_have_url(re.compile(r"format=couple.*state=CO|state=CO.*format=couple"))
    results = page.locator(".results")
    expect(results.get_by_role("link", name="Priya Raman")).to_be_visible()
    expect(results.get_by_role("link", name="Maya Okafor")).to_have_count(0)  # not licensed in Colorado
    results.get_by_role("link", name="Priya Raman").click()
    expect(page.get_by_role("heading", name="Priya Raman", level=1)).to_be_visible()

    # 2. The first open time of the couples trial, then both partners' details.
    page.get_by_role("link", name=re.compile(r"^Choose a time for a \d+-minute couples trial$")).click()
    expect(page.get_by_role("heading", name=re.compile("^Choose a time with Priya Raman"), level=1)).to_be_visible()
    expect(page.locator("#zone-note")).to_contain_text("America/Denver")
    first = page.locator(".slot-list a").first
    if first.count() == 0:
        page.get_by_role("link", name="Show that week").click()
        first = page.locator(".slot-list a").first
    first.click()
    expect(page.get_by_role("heading", name="Your details", level=1)).to_be_visible()
    page.get_by_label("Your name", exact=True).fill(CLIENT[0])
    page.get_by_label("Your email", exact=True).fill(CLIENT[1])
    page.get_by_label("State you live in").select_option("CO")
    page.get_by_label("Your partner's name").fill(PARTNER[0])
    page.get_by_label("Your partner's email").fill(PARTNER[1])
    page.get_by_label("I'll pay for my sessions myself").check()
    page.get_by_label("Your date of birth").fill("1986-09-14")
    page.get_by_label("I have read and accept the practice's policies").check()
    page.get_by_role("button", name="Hold this time").click()
    expect(page.get_by_role("heading", name="Your time is held", level=1)).to_be_visible()
    booking_id = re.search(r"/bookings/([0-9a-f-]{36})", page.url).group(1)
    ref = booking_id[:8].upper()

    # 3. Paid with a good test card at the stand-in: Stripe's signed webhook confirms the booking.
    price = page.get_by_role("button", name=re.compile(r"^Pay \$[\d,.]+ now$"))
    paid_text = re.search(r"\$[\d,.]+", price.inner_text()).group(0)
    price.click()
    expect(page.get_by_role("heading", name="Pay for your session", level=1)).to_be_visible()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    expect(page.get_by_role("heading", name="You're booked", level=1)).to_be_visible(timeout=20_000)
    expect(page.locator(".booking-summary")).to_contain_text("Confirmed")
    expect(page.locator(".lede")).to_contain_text(f"to you and to {PARTNER[0]}")
    client_context.close()

    # 4. Each partner opens their own intake from their own email, and answers it in their own browser.
    confirmed = emails(live_app, "booking_confirmed", booking_id)
    assert set(confirmed) == {CLIENT[1], PARTNER[1]}
    intake_of = {to: re.search(r"https?://\S+(/intake/[\w-]+)", text).group(1) for to, text in confirmed.items()}
    manage_link = re.search(r"https?://\S+/bookings/\S+", confirmed[CLIENT[1]]).group(0)
    assert intake_of[CLIENT[1]] != intake_of[PARTNER[1]]
    assert intake_of[PARTNER[1]] not in confirmed[CLIENT[1]] and intake_of[CLIENT[1]] not in confirmed[PARTNER[1]]

    seen_by = {}
    for (name, email), words in ((CLIENT, CLIENT_WORDS), (PARTNER, PARTNER_WORDS)):
        context, page = new_page()
        seen_by[email] = answer_everything(page, intake_of[email], valid_answers(in_own_words=words))
        assert serious_violations(page) == []
        context.close()
    # Neither partner's pages ever showed the other's answers.
    assert not any(PARTNER_WORDS in html for html in seen_by[CLIENT[1]])
    assert not any(CLIENT_WORDS in html for html in seen_by[PARTNER[1]])

    # 5. Front desk finds the booking in the to-do queue, accepts the recommendation and marks it done.
    desk_context, desk = new_page()
    sign_in(desk, FRONT_DESK.email, FRONT_DESK.password)
    desk.goto("/staff/intakes?show=todo")
    row = desk.locator("table.queue tbody tr").filter(has_text=ref)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(CLIENT[0])
    row.get_by_role("link", name=ref).click()
    expect(desk.get_by_role("heading", name=f"Intakes for booking {ref}", level=1)).to_be_visible()
    assert CLIENT_WORDS not in desk.content() and PARTNER_WORDS not in desk.content()  # routing, never answers
    desk.get_by_label("Accept the recommendation").check()
    desk.get_by_role("button", name="Save decision").click()
    expect(desk.get_by_text(f"Accepted by {FRONT_DESK.name}")).to_be_visible()
    desk.get_by_role("button", name="Mark as done").click()
    expect(desk.locator(".flashes")).to_contain_text("Marked as done")
    desk.goto("/staff/intakes?show=todo")
    expect(desk.locator("table.queue tbody tr").filter(has_text=ref)).to_have_count(0)
    desk.goto("/staff/intakes?show=processed")
    expect(desk.locator("table.queue tbody tr").filter(has_text=ref)).to_contain_text("Done")
    desk_context.close()

    # 6. The counselor's private feed carries the session, at its time.
    made = live_app.test_cli_runner().invoke(args=["feed-url", COUNSELOR])
    assert made.exit_code == 0, made.output
    feed_url = made.output.strip()
    assert feed_url.startswith(f"{live_server}/calendar/") and feed_url.endswith(".ics")
    with live_app.app_context():
        uid = event_uid(db.session.get(Booking, uuid.UUID(booking_id)), live_app.config)
        db.session.remove()
    booked_start = starts_of(live_app, booking_id)
    context, page = new_page()
    event = feed_events(page, feed_url)[uid]
    assert event.decoded("DTSTART") == booked_start

    # 7. From the manage link in their email, the client moves the session to the last time offered that week.
    page.goto(manage_link)
    expect(page.get_by_role("heading", name="Your booking", level=1)).to_be_visible()
    page.get_by_role("link", name="Choose a new time").click()
    expect(page.get_by_role("heading", name="Choose a new time", level=1)).to_be_visible()
    if page.locator(".slot-choice").count() == 0:
        page.get_by_role("link", name="Later times").click()
    assert serious_violations(page) == []
    choice = page.locator(".slot-choice").last
    choice.click()
    page.get_by_role("button", name="Move my booking to this time").click()
    expect(page.locator(".flash")).to_be_visible()
    moved_start = starts_of(live_app, booking_id)
    assert moved_start != booked_start
    event = feed_events(page, feed_url)[uid]  # the same event, at its new time
    assert event.decoded("DTSTART") == moved_start
    assert int(event["SEQUENCE"]) > 0

    # 8. They cancel. The page states the refund the policy gives: late, so half the price is kept.
    with live_app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.booking_id == uuid.UUID(booking_id)))
        policy, paid, intent_id = policy_of(payment), payment.amount, payment.stripe_payment_intent_id
        db.session.remove()
    assert money(paid, "USD") == paid_text
    assert (policy.kind, policy.percent) == ("fee_percent", 50), "the demo practice keeps half when it's late"
    expected = paid - late_fee(paid, policy)
    assert 0 < expected < paid
    page.get_by_label("Yes, cancel this booking").check()
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("heading", name="Your booking is cancelled", level=1)).to_be_visible()
    expect(page.locator("[data-refund]")).to_contain_text(f"We're refunding {money(expected, 'USD')}")
    assert serious_violations(page) == []

    # The worker's round sends it; the Stripe stand-in then holds exactly that refund of this payment.
    ran = live_app.test_cli_runner().invoke(args=["worker", "--once"])
    assert ran.exit_code == 0, ran.output
    with live_app.app_context():
        at_stripe = list(stripe_client().v1.refunds.list(params={"payment_intent": intent_id}).auto_paging_iter())
        db.session.remove()
    assert [(r.amount, r.status) for r in at_stripe] == [(expected, "succeeded")]

    # The feed no longer offers the session as one to attend.
    event = feed_events(page, feed_url).get(uid)
    assert event is None or str(event.get("STATUS")) == "CANCELLED"
    context.close()
    assert problems == []
