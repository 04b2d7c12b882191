"""Front desk works the intake queue in headless Chromium: the urgent intake is listed first, its recommendation
is overridden with a reason that is then on the page, and marked done it leaves the to-do list.

The live app is shared by every browser test and already has the demo day's queue, so this test makes its own two
cases (through the same intake service as the demo): an urgent one whose session is later than a calm one's, so
that only urgency can put it first. Their sessions are at 7 in the morning, before anyone's hours, so the times
other tests book are untouched.
"""
import re
import uuid

import pytest
from playwright.sync_api import expect

from practice import clock
from practice.demo import DEMO_STAFF, DemoPerson, DemoSession, book_demo_session
from practice.extensions import db
from tests.e2e.conftest import LIVE_ENGINES, serious_violations

pytestmark = [pytest.mark.browser,  # and on both engines, as the front desk runs on either
              pytest.mark.parametrize("live_engine", LIVE_ENGINES, indirect=True, scope="session")]

FRONT_DESK = next(person for person in DEMO_STAFF if person.role == "frontdesk")
OWN_WORDS = "I sleep at my sister's some nights because I am afraid to go home."
URGENT = re.compile(r"^\s*Urgent\s*$")  # the badge itself, not a flag's urgent badge
REASON = "Spoke with her by phone: she is safe at her sister's and wants individual sessions first."


def sign_in(page, email: str, password: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/staff/login"))


@pytest.fixture
def two_cases(live_app):
    """(urgent booking id, calm booking id, the urgent person's name, the calm person's name)."""
    tag = uuid.uuid4().hex[:6]
    urgent = DemoSession("marcus-bell", "individual-consult", 9, "07:00", DemoPerson(
        f"Avery Lowell {tag}", f"avery.lowell.{tag}@example.org", {
            "seeking": "individual", "safety_afraid": True, "safety_hurt": True, "safety_together_ok": "no",
            "in_own_words": OWN_WORDS}))
    calm = DemoSession("daniel-reyes", "individual-consult", 1, "07:00", DemoPerson(
        f"Casey Moreau {tag}", f"casey.moreau.{tag}@example.org", {"seeking": "individual"}))
    with live_app.app_context():
        now = clock.now()
        today = now.astimezone(clock.practice_zone()).date()
        ids = [book_demo_session(item, today, now=now) for item in (urgent, calm)]
        db.session.remove()
    assert all(ids)
    return str(ids[0]), str(ids[1]), urgent.client.name, calm.client.name


def queue_rows(page):
    return page.locator("table.queue tbody tr")


def test_front_desk_sees_the_urgent_intake_first_overrides_it_with_a_reason_and_marks_it_done(page, two_cases):
    urgent_id, calm_id, urgent_name, calm_name = two_cases
    sign_in(page, FRONT_DESK.email, FRONT_DESK.password)

    page.goto("/staff/intakes")
    expect(page.get_by_role("heading", name="Intakes", level=1)).to_be_visible()
    assert serious_violations(page) == []
    rows = queue_rows(page)
    texts = rows.all_inner_texts()
    urgent_at = next(i for i, text in enumerate(texts) if urgent_name in text)
    calm_at = next(i for i, text in enumerate(texts) if calm_name in text)
    assert urgent_at < calm_at  # although the calm case's session is eight days sooner
    urgent_rows = [i for i, row in enumerate(rows.all()) if row.locator(".badge.urgent", has_text=URGENT).count()]
    assert urgent_rows and urgent_rows == list(range(len(urgent_rows))), "urgent intakes first, all of them"
    assert urgent_at in urgent_rows and calm_at not in urgent_rows
    expect(rows.nth(urgent_at)).to_contain_text("Safety review")

    rows.nth(urgent_at).get_by_role("link", name=urgent_id[:8].upper()).click()
    expect(page.get_by_role("heading", name=f"Intakes for booking {urgent_id[:8].upper()}", level=1)).to_be_visible()
    expect(page.locator("p.track")).to_contain_text("Safety review")
    expect(page.locator("ul.flags")).to_contain_text("ipv_risk")
    assert OWN_WORDS not in page.content()  # front desk sees the routing, never the answers
    assert serious_violations(page) == []

    # Override without a reason first: refused, and said why.
    page.get_by_label("Use another track").check()
    page.get_by_label("Track to use instead").select_option(label="Individual therapy")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".decision-form")).to_contain_text("Say why you are overriding the recommendation.")

    page.get_by_label("Use another track").check()
    page.get_by_label("Track to use instead").select_option(label="Individual therapy")
    page.get_by_label("Why (needed to override)").fill(REASON)
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".flashes")).to_be_visible()
    expect(page.get_by_text(f"Overridden to Individual therapy by {FRONT_DESK.name}")).to_be_visible()
    expect(page.get_by_text(f"Reason for the override: {REASON}")).to_be_visible()
    page.reload()  # saved, not only shown once
    expect(page.get_by_text(f"Reason for the override: {REASON}")).to_be_visible()

    page.goto("/staff/intakes")
    row = queue_rows(page).filter(has_text=urgent_name)
    expect(row).to_contain_text("Overridden: Individual therapy")

    # Done: it leaves the to-do list and is listed with the processed ones.
    row.get_by_role("link", name=urgent_id[:8].upper()).click()
    page.get_by_role("button", name="Mark as done").click()
    expect(page.locator(".flashes")).to_contain_text("Marked as done")
    expect(page.get_by_text(f"Marked done by {FRONT_DESK.name}")).to_be_visible()
    page.goto("/staff/intakes?show=todo")
    expect(queue_rows(page).filter(has_text=calm_name)).to_have_count(1)
    expect(queue_rows(page).filter(has_text=urgent_name)).to_have_count(0)
    page.goto("/staff/intakes?show=processed")
    expect(queue_rows(page).filter(has_text=urgent_name)).to_contain_text("Done")
