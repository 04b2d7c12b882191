"""A client books a trial session in headless Chromium: from a profile, pick a time shown in their own zone, give
their details, and land on the confirmation; alone, and as a couple. axe finds nothing serious on the way.

The live app is shared by every browser test: these tests book real slots of the demo counselors Hana Seo and
Lucía Fernández (not Maya Okafor, whose hours the availability test edits), each taking the first free one.
"""
import re
import threading
from datetime import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from practice.counselors.models import Counselor
from practice.extensions import db
from practice.scheduling.models import SchedulingPolicy, WeeklyHours
from tests.e2e.conftest import serious_violations, watch_problems
from tests.scheduling.helpers import give_hours

pytestmark = pytest.mark.browser

# The page fixture's browser runs in America/Chicago.
ZONE_NOTE = "Times shown in America/Chicago (Central Time)"


@pytest.fixture(scope="module", autouse=True)
def demo_hours(live_app):
    """Weekly hours for the demo counselors these tests book, should the demo not give them any."""
    with live_app.app_context():
        for slug in ("hana-seo", "lucia-fernandez"):
            counselor = db.session.scalar(select(Counselor).where(Counselor.slug == slug))
            if db.session.scalar(select(WeeklyHours.id).where(WeeklyHours.counselor_id == counselor.id).limit(1)):
                continue
            every_day = {weekday: [("08:00", "18:00")] for weekday in range(7)}
            has_policy = db.session.scalar(select(SchedulingPolicy.counselor_id)
                                           .where(SchedulingPolicy.counselor_id == counselor.id))
            if has_policy:
                for weekday, ranges in every_day.items():  # keep the demo's own booking rules
                    for start, end in ranges:
                        db.session.add(WeeklyHours(counselor_id=counselor.id, weekday=weekday,
                                                   start_time=time.fromisoformat(start),
                                                   end_time=time.fromisoformat(end)))
                db.session.commit()
            else:
                give_hours(counselor, every_day, notice_minutes=24 * 60)
        db.session.remove()


def choose_first_time(page, profile_slug: str, link_name: re.Pattern) -> re.Pattern:
    """From the profile to the details form through the first open time; returns how the pages write that time
    ("Tuesday, November 24, 2026, 5:00 PM")."""
    page.goto(f"/counselors/{profile_slug}")
    page.get_by_role("link", name=link_name).click()
    # timezone.js finds the browser's zone and shows the times in it, naming it.
    expect(page).to_have_url(re.compile(r"tz=America%2FChicago"))
    expect(page.locator("#zone-note")).to_contain_text(ZONE_NOTE)
    expect(page.get_by_role("heading", name=re.compile("^Choose a time with"), level=1)).to_be_visible()
    assert serious_violations(page) == []

    first = page.locator(".slot-list a").first
    if first.count() == 0:  # this week is full: go to the next open one
        page.get_by_role("link", name="Show that week").click()
        first = page.locator(".slot-list a").first
    clock, day = re.split(r"\s+on\s+", first.inner_text().strip())  # "5:00 PM", "Tuesday, November 24"
    first.click()
    expect(page.get_by_role("heading", name="Your details", level=1)).to_be_visible()
    return re.compile(re.escape(day) + r", \d{4}, " + re.escape(clock) + " – ")


def fill_client(page, state: str) -> None:
    page.get_by_label("Your name", exact=True).fill("Ana Rivera")
    page.get_by_label("Your email", exact=True).fill("ana.rivera@example.org")
    page.get_by_label("State you live in").select_option(state)
    page.get_by_label("I have read and accept the practice's policies").check()


def test_a_client_books_a_free_individual_trial(page):
    problems = []
    watch_problems(page, problems)

    when = choose_first_time(page, "hana-seo", re.compile(r"^Choose a time for a \d+-minute individual trial$"))
    expect(page.locator(".booking-summary")).to_contain_text("Individual trial session")
    expect(page.locator("#zone-note")).to_contain_text(ZONE_NOTE)
    assert serious_violations(page) == []

    fill_client(page, "CA")
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("heading", name="You're booked", level=1)).to_be_visible()
    summary = page.locator(".booking-summary")
    expect(summary).to_contain_text(when)
    expect(summary).to_contain_text(re.compile(r"C[SD]T"))
    expect(summary).to_contain_text("America/Chicago (Central Time)")
    expect(summary).to_contain_text("Hana Seo")
    expect(page.get_by_role("button", name="Cancel booking")).to_be_visible()
    assert serious_violations(page) == []
    assert problems == []


def test_a_couple_books_a_trial_and_the_partner_is_asked_for(page):
    when = choose_first_time(page, "lucia-fernandez", re.compile(r"^Choose a time for a \d+-minute couples trial$"))
    expect(page.get_by_role("group", name="Your partner")).to_be_visible()
    fill_client(page, "CA")

    # Without the partner's details the form comes back with a summary, focused, linking to the fields.
    page.get_by_role("button", name="Book this time").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter your partner's name.")
    assert serious_violations(page) == []
    summary.get_by_role("link", name="Enter your partner's name.").click()
    expect(page.get_by_label("Your partner's name")).to_be_focused()

    page.get_by_label("Your partner's name").fill("Ben Rivera")
    page.get_by_label("Your partner's email").fill("ben.rivera@example.org")
    page.get_by_label("I have read and accept the practice's policies").check()
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("heading", name="You're booked", level=1)).to_be_visible()
    details = page.locator(".booking-summary")
    expect(details).to_contain_text(when)
    expect(details).to_contain_text("America/Chicago (Central Time)")
    expect(details).to_contain_text("Ben Rivera")
    expect(page.locator(".lede")).to_contain_text("to you and to Ben Rivera")
    assert serious_violations(page) == []


def test_a_paid_trial_is_held_with_a_running_countdown(page):
    choose_first_time(page, "hana-seo", re.compile(r"^Choose a time for a \d+-minute couples trial$"))
    fill_client(page, "WA")
    page.get_by_label("Your partner's name").fill("Sam Lee")
    page.get_by_label("Your partner's email").fill("sam.lee@example.org")
    page.get_by_role("button", name="Hold this time").click()

    expect(page.get_by_role("heading", name="Your time is held", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Held for you until \d{1,2}:\d\d [AP]M C[SD]T$")))\
        .to_be_visible()
    countdown = page.get_by_role("timer")
    expect(countdown).to_have_text(re.compile(r"^(9|10) minutes? \d+ seconds? left\.$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3000)  # hold.js counts down
    expect(page.get_by_text("not confirmed until it has been paid")).to_be_visible()
    assert serious_violations(page) == []


@pytest.fixture
def host_site(live_app, live_server):
    """The practice's own website, on another origin: a page holding the snippet, allowed to embed the flow while
    the test runs. It is served from this machine too, as Chromium keeps public pages from loopback addresses."""
    snippet = f'<script src="{live_server}/embed.js" data-counselor="hana-seo" async></script>'
    body = (f"<!doctype html><html lang=en><title>Our practice</title><h1>Book with us</h1>{snippet}</html>"
            .encode())

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_port}"
    before = live_app.config.get("EMBED_ALLOWED_ORIGINS")
    live_app.config["EMBED_ALLOWED_ORIGINS"] = [site]
    yield site
    live_app.config["EMBED_ALLOWED_ORIGINS"] = before
    server.shutdown()
    server.server_close()


def test_the_snippet_shows_the_booking_flow_on_the_practices_own_site(page, host_site):
    page.goto(f"{host_site}/book")
    frame = page.frame_locator("iframe[title='Book a session']")
    expect(frame.get_by_role("heading", name="Choose a time with Hana Seo", level=1)).to_be_visible()
    expect(frame.locator("#zone-note")).to_contain_text(ZONE_NOTE)  # the snippet passes the visitor's zone
    # The frame grows to its page's height (embed-frame.js tells embed.js), so nothing scrolls inside it.
    expect(page.locator("iframe")).not_to_have_attribute("style", re.compile(r"height: 640px"))

    frame.locator(".slot-list a").first.click()
    expect(frame.get_by_role("heading", name="Your details", level=1)).to_be_visible()
