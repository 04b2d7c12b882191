"""Both partners of a couple answer their private intakes in headless Chromium. Partner A answers a suicide
question yes and sees crisis resources at once; partner B completes theirs and sees nothing of it. axe finds
nothing serious on the intake pages.

The couple books the demo counselor Wei Zhang (no other browser test books her) through the API with the live
app's own test client; the client reaches their intake from their booking page's button, the partner through a
link issued to them as the confirmation email would carry it.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from practice import clock
from practice.booking.models import Booking
from practice.core.intake import load_items
from practice.intake import service as intake_service
from practice.extensions import db
from practice.intake.models import Intake, RoutingDecision
from tests.answers import valid_answers
from tests.e2e.conftest import open_page, serious_violations, watch_problems

pytestmark = pytest.mark.browser

CRISIS_LINE = "call or text 988"


def book_couple(live_app) -> dict[str, str]:
    """role -> the path of that person's intake."""
    api = live_app.test_client()
    today = date.today()
    slots = api.get(f"/api/v1/counselors/wei-zhang/slots?service=couple-trial&from={today + timedelta(days=1)}"
                    f"&to={today + timedelta(days=30)}&tz=America/Chicago").get_json()["slots"]
    assert slots, "the demo gives Wei Zhang open times"
    booked = api.post("/api/v1/bookings", json={
        "counselor": "wei-zhang", "service": "couple-trial", "start": slots[0]["start"], "timezone": "America/Chicago",
        "client": {"name": "Alex Rivera", "email": "alex.rivera@example.org", "state": "IL"},
        "partner": {"name": "Blair Rivera", "email": "blair.rivera@example.org"}})
    assert booked.status_code == 201, booked.get_json()
    body = booked.get_json()
    response = api.post(f"/intake/from-booking/{body['id']}", data={"token": body["manage_url"].split("token=")[1]})
    assert response.status_code == 303
    paths = {"booking_id": body["id"], "client": "/intake/" + response.headers["Location"].rsplit("/intake/", 1)[1]}
    # The partner's links go to the partner by email once the session is paid for; issue theirs directly.
    with live_app.app_context():
        booking = db.session.get(Booking, uuid.UUID(body["id"]))
        paths["partner"] = "/intake/" + intake_service.issue_for(booking.participant("partner"), now=clock.now())
        db.session.commit()
        db.session.remove()
    return paths


def answer_section(page, section, answers) -> None:
    """Fill one page as a person would: click the labels, type in the boxes."""
    for item in section.items:
        if item.id not in answers or (item.show_if and not item.show_if.is_met(answers)):
            continue
        value = answers[item.id]
        if item.type in ("number", "text"):
            page.locator(f"#q-{item.id}").fill(str(value))
            continue
        wanted = value if isinstance(value, list) else [value]
        for index, option in enumerate(item.options, start=1):
            if option.value in wanted and type(option.value) is type(wanted[0]):
                page.locator(f"label[for='q-{item.id}-{index}']").click()


def answer_everything(page, path: str, answers: dict, *, on_safety_page=None) -> list[str]:
    """Answer every page and send; returns the HTML of each page as it opened."""
    page.goto(path)
    seen = []
    sections = load_items().for_format("couple").sections
    for number, section in enumerate(sections, start=1):
        expect(page.locator("#progress-text")).to_have_text(f"Step {number} of {len(sections) + 1}")
        expect(page.get_by_role("heading", name=section.title, level=1)).to_be_visible()
        seen.append(page.content())
        answer_section(page, section, answers)
        if on_safety_page and section.id == "looking_after_you":
            on_safety_page(page)
        button = "Save and review" if number == len(sections) else "Save and continue"
        page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", name="Review and send", level=1)).to_be_visible()
    seen.append(page.content())
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your answers are with us")
    seen.append(page.content())
    return seen


def test_both_partners_answer_privately_and_only_a_sees_crisis_resources(browser, live_server, live_app):
    paths = book_couple(live_app)
    problems = []

    def open_watched_page():
        context, page = open_page(browser, live_server)
        watch_problems(page, problems)
        return context, page

    # Partner A: one yes on the suicide questions. The follow-up and crisis resources appear at once.
    a_context, a = open_watched_page()
    a.goto(paths["client"])
    assert serious_violations(a) == []

    def safety_page(page):
        expect(page.locator("#crisis")).to_be_visible()
        expect(page.locator("#crisis")).to_contain_text(CRISIS_LINE)
        followup = page.get_by_role("group", name="Right now, at this moment, are you having thoughts of killing "
                                                   "yourself?")
        expect(followup).to_be_visible()
        assert serious_violations(page) == []

    a_answers = valid_answers(suicide_wished_dead=True, suicide_now=False,
                              in_own_words="Things have felt very heavy lately.")
    answer_everything(a, paths["client"], a_answers, on_safety_page=safety_page)
    expect(a.locator("#crisis")).to_be_visible()
    expect(a.locator("#crisis")).to_be_focused()
    assert serious_violations(a) == []
    a_context.close()

    # Partner B: a calm intake; none of A's answers shows anywhere.
    b_context, b = open_watched_page()

    def b_safety_page(page):
        expect(page.locator("#crisis")).to_be_hidden()
        expect(page.locator("#followup")).to_be_hidden()

    seen = answer_everything(b, paths["partner"], valid_answers(), on_safety_page=b_safety_page)
    expect(b.locator("#crisis")).to_have_count(0)
    assert serious_violations(b) == []
    assert len(seen) == 9
    for html in seen:
        assert "heavy lately" not in html and 'role="alert"' not in html
    b_context.close()

    with live_app.app_context():
        booking_id = uuid.UUID(paths["booking_id"])
        decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking_id))
        assert (decision.track, decision.urgent, decision.partial) == ("safety_review", True, False)
        assert decision.reasons[0].startswith("R0: partner 1 answered yes to suicide screening questions")
        assert db.session.scalars(select(Intake).where(Intake.submitted_at.is_not(None))).all()
        db.session.remove()
    assert problems == []
