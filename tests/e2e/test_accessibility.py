"""axe-core on every public page, as Chromium renders it (scripts run, styles applied), in the states a visitor
sees it: axe's serious and critical findings must be none. The staff sign-in page is checked too.

The bookings this test makes are of Lucía Fernández (free couples trial) and Priya Raman (paid couples trial),
each at the last open time of the coming weeks, which the other browser tests don't take.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from practice.core.intake import load_items
from tests.answers import valid_answers
from tests.e2e.conftest import serious_violations

pytestmark = pytest.mark.browser


def book(live_app, slug: str, *, paid: bool) -> tuple[str, str]:
    """A couples trial at the counselor's last open time within a month, through the API: (id, client token)."""
    api = live_app.test_client()
    today = date.today()
    slots = api.get(f"/api/v1/counselors/{slug}/slots?service=couple-trial&from={today + timedelta(days=1)}"
                    f"&to={today + timedelta(days=30)}&tz=America/Chicago").get_json()["slots"]
    assert slots, f"the demo gives {slug} open times"
    state = "CO" if slug == "priya-raman" else "CA"
    body = {"counselor": slug, "service": "couple-trial", "start": slots[-1]["start"], "timezone": "America/Chicago",
            "client": {"name": "Lena Park", "email": f"lena.{uuid.uuid4().hex[:6]}@example.org", "state": state},
            "partner": {"name": "Max Park", "email": f"max.{uuid.uuid4().hex[:6]}@example.org"}}
    if paid:
        body.update(insurance="self_pay", date_of_birth="1990-06-01")
    made = api.post("/api/v1/bookings", json=body)
    assert made.status_code == 201, made.get_json()
    answer = made.get_json()
    return answer["id"], answer["manage_url"].split("token=")[1]


def test_no_public_page_has_serious_accessibility_problems(page, live_app):
    found: dict[str, list[str]] = {}

    def check(name: str, heading: str | re.Pattern | None = None) -> None:
        if heading is not None:
            expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        problems = serious_violations(page)
        if problems:
            found[f"{name} ({page.url})"] = problems

    for path, heading in (("/", None), ("/counselors", "Find a counselor"),
                          ("/counselors?format=couple&state=CA&language=es", "Find a counselor"),
                          ("/counselors?state=AK", "Find a counselor"),
                          ("/counselors?specialty=nonsense", "Find a counselor"),
                          ("/counselors/lucia-fernandez", "Lucía Fernández"),
                          ("/book/lucia-fernandez?service=couple-trial&tz=America/Chicago",
                           re.compile("^Choose a time with")),
                          ("/book/first-available", None), ("/policies", None), ("/bookings/resend", None),
                          ("/embed/book", None), ("/book/hana-seo?embed=1", re.compile("^Choose a time with")),
                          ("/staff/login", None), ("/no/such/page", None)):
        page.goto(path)
        check(path, heading)

    # Resend: an address that isn't one.
    page.goto("/bookings/resend")
    page.get_by_label(re.compile("email", re.I)).first.fill("not an address")
    page.get_by_role("button", name="Email me my links").click()
    check("resend with an error")

    # Booking details, then sent empty: the error summary and each field's error.
    page.goto("/book/lucia-fernandez?service=couple-trial&tz=America/Chicago")
    slot = page.locator(".slot-list a").first
    if slot.count() == 0:
        page.get_by_role("link", name="Show that week").click()
    page.locator(".slot-list a").first.click()
    check("details", "Your details")
    page.get_by_role("button", name="Book this time").click()
    expect(page.locator(".error-summary")).to_be_visible()
    check("details with errors")

    # A free couples booking: its page, its reschedule page, cancel without ticking, cancelled, its link then.
    booking_id, token = book(live_app, "lucia-fernandez", paid=False)
    manage = f"/bookings/{booking_id}?token={token}"
    page.goto(manage + "&booked=1")
    check("manage, just booked", "You're booked")
    page.get_by_role("link", name="Choose a new time").click()
    check("reschedule", "Choose a new time")
    page.get_by_role("button", name="Move my booking to this time").click()
    check("reschedule with no time chosen", "Choose a new time")

    # The client's intake: first page, a page with errors, the review with what's missing, then sent.
    page.goto(manage)
    page.get_by_role("button", name=re.compile("questionnaire|intake", re.I)).first.click()
    expect(page).to_have_url(re.compile(r"/intake/"))
    intake_path = "/intake/" + page.url.rsplit("/intake/", 1)[1].split("?")[0]
    check("intake, first page")
    sections = load_items().for_format("couple").sections
    with_number = next(s for s in sections if any(item.type == "number" for item in s.items))
    page.goto(f"{intake_path}?step={with_number.id}")
    page.locator("#q-relationship_length_years").fill("-7")
    page.get_by_role("button", name=re.compile("^Save and")).click()
    expect(page.locator(".error").first).to_be_visible()
    check("intake page with errors")
    page.goto(f"{intake_path}?step=review")
    check("intake review", "Review and send")
    page.get_by_role("button", name="Send my answers").click()
    check("intake review with what's missing")
    api = live_app.test_client()
    token_of_intake = intake_path.rsplit("/", 1)[1]
    for section in sections:
        answers = {k: v for k, v in valid_answers().items() if k in {item.id for item in section.items}}
        saved = api.put(f"/api/v1/intakes/{token_of_intake}/sections/{section.id}", json={"answers": answers})
        assert saved.status_code == 200, saved.get_json()
    page.goto(f"{intake_path}?step=review")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your answers are with us")
    check("intake thanks")
    page.goto("/intake/not-a-real-link")
    check("intake link problem")

    page.goto(manage)
    page.get_by_label("Yes, cancel this booking").check()
    page.get_by_role("button", name="Cancel booking").click()
    check("cancelled", "Your booking is cancelled")
    page.goto(manage)
    check("link of a cancelled booking", "This booking was cancelled")
    page.goto(f"/bookings/{booking_id}?token=not-the-token")
    check("link problem", "This link doesn't open a booking")

    # A paid booking: held with its countdown, the estimate, the payment page.
    paid_id, paid_token = book(live_app, "priya-raman", paid=True)
    page.goto(f"/bookings/{paid_id}?token={paid_token}&booked=1")
    check("held", "Your time is held")
    page.goto(f"/bookings/{paid_id}/estimate?token={paid_token}")
    check("estimate")
    page.goto(f"/bookings/{paid_id}?token={paid_token}")
    page.get_by_role("button", name=re.compile(r"^Pay \$[\d,.]+ now$")).click()
    check("payment", "Pay for your session")

    assert found == {}, "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in found.items())
