"""A counselor sets weekly hours and time off in headless Chromium and finds both on the week calendar.

The live app is shared by every browser test, so this test puts the demo counselor's availability back as it
found it: what it adds is far outside the booking horizon or removed again at the end.
"""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from practice.demo import DEMO_STAFF
from tests.e2e.conftest import serious_violations, watch_problems

pytestmark = pytest.mark.browser

MAYA = next(person for person in DEMO_STAFF if person.counselor_slug == "maya-okafor")
BASE = "/staff/counselors/maya-okafor"


def sign_in(page, email: str, password: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/staff/login"))


def test_counselor_sets_hours_and_time_off_and_sees_them_on_the_week_calendar(page):
    problems = []
    watch_problems(page, problems)
    sign_in(page, MAYA.email, MAYA.password)

    # Weekly hours: a late Sunday range, in a row the "Add another range" button makes.
    page.goto(f"{BASE}/availability")
    expect(page.get_by_role("heading", name="Weekly hours and booking rules", level=1)).to_be_visible()
    expect(page.locator("#zone-note")).to_contain_text("Times are in America/New_York (your profile's time zone)")
    assert serious_violations(page) == []
    sunday = page.locator("#day-sunday")
    rows_before = sunday.locator("[data-range-row]").count()
    sunday.get_by_role("button", name="Add another range on Sunday").click()
    expect(sunday.locator("[data-range-row]")).to_have_count(rows_before + 1)
    new_row = sunday.locator("[data-range-row]").last
    expect(new_row.locator("input").first).to_be_focused()
    new_row.locator("input").first.fill("21:00")
    new_row.locator("input").last.fill("22:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.locator(".flashes")).to_contain_text("Weekly hours saved.")
    expect(sunday.locator('input[value="21:00"]')).to_have_count(1)

    # Time off on a Wednesday ten weeks ahead, past the booking horizon other tests book within.
    today = datetime.now(ZoneInfo("America/New_York")).date()
    day = today + timedelta(weeks=10) + timedelta(days=(2 - today.weekday()) % 7)
    page.get_by_role("navigation", name="Availability").get_by_role("link", name="Dates off and time off").click()
    page.locator("#timeoff-start_date").fill(day.isoformat())
    page.locator("#timeoff-start_time").fill("13:00")
    page.locator("#timeoff-end_date").fill(day.isoformat())
    page.locator("#timeoff-end_time").fill("15:00")
    page.get_by_role("button", name="Add time off").click()
    expect(page.locator(".flashes")).to_contain_text("Time off added")
    assert serious_violations(page) == []

    # Both on the week calendar, at Maya's local times.
    page.goto(f"{BASE}/calendar?week={day.isoformat()}")
    wednesday = page.get_by_role("region", name=re.compile(r"^Wednesday"))
    expect(wednesday).to_contain_text("Time off")
    expect(wednesday.locator(".entry-time_off")).to_contain_text(re.compile(r"1:00 PM( E[SD]T)? – 3:00 PM"))
    expect(page.get_by_role("region", name=re.compile(r"^Sunday")).locator(".entry-hours")) \
        .to_contain_text(re.compile(r"9:00 PM( E[SD]T)? – 10:00 PM"))
    assert serious_violations(page) == []

    page.get_by_role("navigation", name="Availability").get_by_role("link", name="Connected calendars").click()
    expect(page.get_by_text("Secret address in iCal format")).to_be_visible()
    assert serious_violations(page) == []

    # Put things back for the other browser tests.
    page.goto(f"{BASE}/time-off")
    page.locator("#time-off li.list-row", has_text="1:00 PM").get_by_role("button", name=re.compile("^Remove")).click()
    expect(page.locator(".flashes")).to_contain_text("Time off removed")
    page.goto(f"{BASE}/availability")
    for field in sunday.locator('input[value="21:00"], input[value="22:00"]').all():
        field.fill("")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.locator(".flashes")).to_contain_text("Weekly hours saved.")
    expect(sunday.locator('input[value="21:00"]')).to_have_count(0)
    assert problems == []
