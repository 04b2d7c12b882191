"""A prospective client filters the directory and opens a profile, in headless Chromium; axe finds nothing serious."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations

pytestmark = pytest.mark.browser


def test_filter_directory_and_open_a_profile(page):
    page.goto("/counselors")
    expect(page.get_by_role("heading", name="Find a counselor", level=1)).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Show counselors").click()
    expect(page).to_have_url(re.compile(r"language=es"))
    results = page.locator(".results")
    expect(results.get_by_role("link", name="Daniel Reyes")).to_be_visible()
    expect(results.get_by_role("link", name="Maya Okafor")).to_have_count(0)

    results.get_by_role("link", name="Daniel Reyes").click()
    expect(page.get_by_role("heading", name="Daniel Reyes", level=1)).to_be_visible()
    expect(page.get_by_text("Free individual consultation")).to_be_visible()
    expect(page.get_by_text("Free", exact=True).first).to_be_visible()
    assert serious_violations(page) == []


def test_keyboard_user_can_reach_the_filters(page):
    page.goto("/counselors")
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SELECT":
            break
    assert page.evaluate("document.activeElement.tagName") == "SELECT"


def test_no_console_errors_or_csp_violations_on_public_pages(page):
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    for path in ("/", "/counselors", "/counselors/maya-okafor", "/staff/login"):
        page.goto(path)
    assert problems == []
