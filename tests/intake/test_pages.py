"""A person answers in pages: one section at a time, saved as they go, resumable, with the suicide follow-up
shown only when needed and crisis resources at once; then review and send."""
from __future__ import annotations

import re

from sqlalchemy import select

from practice.booking.models import Participant
from practice.extensions import db
from practice.intake.models import Intake, RoutingDecision
from tests.intake.helpers import SECTIONS, answer_in_pages, book, form_data, section_of, valid_answers

CRISIS = "call or text 988"


def page_text(response) -> str:
    return response.get_data(as_text=True)


def intake_of(role: str) -> Intake:
    db.session.expire_all()
    return db.session.scalars(select(Intake).join(Participant).where(Participant.role == role)).one()


def visible_crisis(html: str) -> bool:
    match = re.search(r'<section class="crisis"[^>]*>', html)
    return match is not None and " hidden" not in match.group(0)


def test_sections_are_saved_one_at_a_time_and_resumed_from_the_link(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    first = client.get(f"/intake/{token}")
    assert first.status_code == 200
    html = page_text(first)
    assert "Step 1 of 8" in html and "What brings you here" in html
    assert 'name="partner_willing"' not in html  # individual format only
    assert "Your partner never sees your answers." in html

    answers = valid_answers()
    mine = {k: v for k, v in answers.items() if section_of(k) == "what_brings_you"}
    saved = client.post(f"/intake/{token}", data={"section": "what_brings_you", "action": "next", **form_data(mine)})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("step=trust")
    assert intake_of("client").sections_done == ["what_brings_you"]
    assert intake_of("client").answers == mine

    # Coming back later with the same link opens the next unanswered section, answers kept.
    again = page_text(client.get(f"/intake/{token}"))
    assert "Step 2 of 8" in again and "Trust in your relationship" in again
    back = page_text(client.get(f"/intake/{token}?step=what_brings_you"))
    assert re.search(r'value="leaning_in" checked', back)
    assert client.get(f"/api/v1/intakes/{token}").get_json()["answers"] == mine


def test_a_section_with_problems_stores_nothing_and_says_what_to_fix(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    response = client.post(f"/intake/{token}", data={"section": "relationship_overall", "action": "next",
                                                     "csi4_1": "9", "csi4_2": "two", "csi4_3": "3"})
    assert response.status_code == 422
    html = page_text(response)
    assert "Some answers need attention" in html
    assert "Choose a whole number from 0 to 6." in html and "Choose a whole number from 0 to 5." in html
    assert "This question needs an answer." in html  # csi4_4
    intake = intake_of("client")
    assert intake.answers == {} and intake.sections_done == []


def test_every_item_type_renders_from_the_data_file(client, counselor, smtp_server):
    token = book(client, smtp_server, service="individual-trial").intake["client"]
    html = page_text(client.get(f"/intake/{token}?step=what_brings_you"))
    assert 'type="radio" id="q-seeking-1"' in html  # choice
    assert 'name="partner_willing"' in html  # individual format
    assert 'type="number"' in html and 'max="80"' in html  # number
    trust = page_text(client.get(f"/intake/{token}?step=trust"))
    assert trust.count('type="checkbox"') == 10 and "Almost always" in trust  # multi_choice, freq5
    feeling = page_text(client.get(f"/intake/{token}?step=feeling"))
    assert "Nearly every day" in feeling and 'value="true"' in feeling  # scale, yesno
    words = page_text(client.get(f"/intake/{token}?step=in_own_words"))
    assert 'maxlength="2000"' in words and "(optional)" in words  # text


def test_suicide_follow_up_appears_only_when_needed(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    section = page_text(client.get(f"/intake/{token}?step=looking_after_you"))
    assert re.search(r'<div class="followup" id="followup" data-show-if="[^"]+" hidden>', section)
    assert not visible_crisis(section)

    no = {"suicide_wished_dead": False, "suicide_better_off": False, "suicide_thoughts": False,
          "suicide_attempt_ever": False}
    saved = client.post(f"/intake/{token}", data={"section": "looking_after_you", "action": "next", **form_data(no)})
    assert saved.status_code == 303 and "step=safety_with_partner" in saved.headers["Location"]
    assert "suicide_now" not in intake_of("client").answers
    assert not visible_crisis(page_text(client.get(saved.headers["Location"])))

    # One yes: the answers are kept and the same section comes back with the follow-up and crisis resources.
    yes = {**no, "suicide_wished_dead": True}
    step = client.post(f"/intake/{token}", data={"section": "looking_after_you", "action": "next", **form_data(yes)})
    assert step.status_code == 303 and step.headers["Location"].endswith("step=looking_after_you#followup")
    assert intake_of("client").answers["suicide_wished_dead"] is True
    assert "looking_after_you" not in intake_of("client").sections_done
    shown = page_text(client.get(f"/intake/{token}?step=looking_after_you"))
    assert visible_crisis(shown) and CRISIS in shown
    assert re.search(r'<div class="followup" id="followup" data-show-if="[^"]+">', shown)
    assert 'name="followup_shown" value="1"' in shown

    # Now the follow-up must be answered.
    missing = client.post(f"/intake/{token}", data={"section": "looking_after_you", "action": "next",
                                                    "followup_shown": "1", **form_data(yes)})
    assert missing.status_code == 422 and "This question needs an answer." in page_text(missing)
    assert visible_crisis(page_text(missing))
    done = client.post(f"/intake/{token}", data={"section": "looking_after_you", "action": "next",
                                                 "followup_shown": "1", **form_data({**yes, "suicide_now": False})})
    assert done.status_code == 303 and "step=safety_with_partner" in done.headers["Location"]
    # The next page keeps the crisis resources in view.
    assert visible_crisis(page_text(client.get(done.headers["Location"])))


def test_review_lists_what_is_missing_and_sending_validates_everything(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    review = page_text(client.get(f"/intake/{token}?step=review"))
    assert "Step 8 of 8" in review and "7 parts still need" in review
    refused = client.post(f"/intake/{token}", data={"action": "submit"})
    assert refused.status_code == 422 and "Some answers need attention before you send" in page_text(refused)
    assert intake_of("client").submitted_at is None
    assert db.session.scalar(select(RoutingDecision)) is None


def test_answering_every_page_and_sending(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    answers = valid_answers(in_own_words="We keep circling the same argument.")
    responses = answer_in_pages(client, token, answers)
    review = page_text(responses[-2])
    assert "Review and send" in review and "We keep circling the same argument." in review
    sent = responses[-1]
    assert sent.status_code == 200 and "Your answers are with us" in page_text(sent)
    assert not visible_crisis(page_text(sent))
    intake = intake_of("client")
    assert intake.submitted_at is not None and intake.answers == answers
    assert intake.sections_done == list(SECTIONS)
    # Afterwards the link shows a plain thank-you, and nothing can be sent again.
    later = client.get(f"/intake/{token}")
    assert "Your answers were sent" in page_text(later)
    assert "circling" not in page_text(later)
    assert client.post(f"/intake/{token}", data={"action": "submit"}).status_code == 200


def test_crisis_resources_show_at_once_on_sending_and_only_then(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    responses = answer_in_pages(client, token, valid_answers(suicide_thoughts=True, suicide_now=False))
    sent = page_text(responses[-1])
    assert visible_crisis(sent) and CRISIS in sent and "data-focus-on-load" in sent
    # A link opened later (perhaps by someone else) shows nothing of it.
    assert not visible_crisis(page_text(client.get(f"/intake/{token}")))
