"""Front desk, in headless Chromium, on a couple booking whose intake disclosed partner violence: the intake
page offers the counselors who fit and the change into individual sessions; the change is made from its form
and the couple booking's page then links to the two new sessions. Every page passes axe's serious checks.

The couple's session is at 7 in the morning, before anyone's hours, so the times other browser tests book are
untouched; the new sessions take the furthest free times the form offers, which other tests don't use."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from practice import clock
from practice.demo import DEMO_STAFF, DemoPerson, DemoSession, book_demo_session
from practice.extensions import db
from tests.e2e.conftest import serious_violations
from tests.e2e.test_frontdesk_queue import sign_in

pytestmark = pytest.mark.browser

FRONT_DESK = next(person for person in DEMO_STAFF if person.role == "frontdesk")
REASON = "She told us by phone she is afraid at home: separate assessments first."


@pytest.fixture
def unsafe_couple(live_app):
    tag = uuid.uuid4().hex[:6]
    item = DemoSession("lucia-fernandez", "couple-trial", 12, "07:00",
                       DemoPerson(f"Nora Vance {tag}", f"nora.vance.{tag}@example.org",
                                  {"safety_afraid": True, "safety_hurt": True}),
                       DemoPerson(f"Paul Vance {tag}", f"paul.vance.{tag}@example.org", {}))
    with live_app.app_context():
        now = clock.now()
        booking_id = book_demo_session(item, now.astimezone(clock.practice_zone()).date(), now=now)
        db.session.remove()
    assert booking_id
    return str(booking_id), item.client.name, item.partner.name


def test_front_desk_splits_an_unsafe_couple_booking_into_individual_sessions(page, unsafe_couple):
    booking_id, nora, paul = unsafe_couple
    ref = booking_id[:8].upper()
    sign_in(page, FRONT_DESK.email, FRONT_DESK.password)

    page.goto(f"/staff/intakes/{booking_id}")
    expect(page.get_by_role("button", name="Give the booking to this counselor")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("link", name="Change into separate individual sessions").click()
    expect(page.get_by_role("heading", name=f"Change booking {ref} into individual sessions", level=1)).to_be_visible()
    assert serious_violations(page) == []

    for name in (nora, paul):
        select = page.get_by_label(re.compile(re.escape(name)))
        values = [v for v in select.locator("option").evaluate_all("els => els.map(e => e.value)") if v]
        assert values, f"no counselor and time offered for {name}"
        # the furthest times offered (the other browser tests book sooner ones), far enough apart not to
        # overlap should both be with one counselor
        select.select_option(values[-1] if name == nora else values[-4])
    page.get_by_label("Why the sessions are being separated").fill(REASON)
    page.get_by_role("button", name="Cancel the couples booking and book these sessions").click()

    expect(page.locator(".flashes")).to_contain_text("each partner now has an individual session")
    expect(page.get_by_text("This couples booking was changed into individual sessions")).to_be_visible()
    links = page.locator(".converted-list a")
    expect(links).to_have_count(2)
    assert serious_violations(page) == []
    links.first.click()
    expect(page.get_by_role("link", name=ref)).to_be_visible()  # the way back to the intakes
