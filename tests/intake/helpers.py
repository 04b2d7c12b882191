"""Steps the intake tests share: booking a couple through the API, links from the emails, answering."""
from __future__ import annotations

import re
from dataclasses import dataclass

from tests.answers import OMIT, valid_answers  # noqa: F401  (re-exported for the tests)

MON_10 = "2026-12-07T10:00:00-05:00"
MON_11 = "2026-12-07T11:00:00-05:00"
INTAKE_LINK = re.compile(r"http://practice\.test/intake/([A-Za-z0-9_-]{32})")
SECTIONS = ("what_brings_you", "trust", "relationship_overall", "feeling", "looking_after_you",
            "safety_with_partner", "in_own_words")


@dataclass
class Booked:
    id: str
    manage: dict[str, str]  # role -> manage token
    intake: dict[str, str]  # role -> intake token (from each person's own email; empty for a held booking)


def book(client, smtp_server=None, *, counselor="ana", service="couple-trial", start=MON_10,
         email="robin@example.org", partner_email="sam@example.org", state="NY") -> Booked:
    body = {"counselor": counselor, "service": service, "start": start, "timezone": "America/New_York",
            "client": {"name": "Robin Client", "email": email, "state": state}}
    if service == "couple-trial":
        body["partner"] = {"name": "Sam Partner", "email": partner_email}
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    manage = {"client": data["manage_url"].split("token=")[1]}  # the partner's comes by email only
    intake = {}
    if smtp_server is not None and data["status"] == "confirmed":
        people = {email: "client", partner_email: "partner"}
        expected = 2 if service == "couple-trial" else 1
        for message in mails_of_booking(smtp_server, data["id"], expected):
            role = people[message["To"].addresses[0].addr_spec]
            links = INTAKE_LINK.findall(text_of(message))
            assert len(set(links)) == 1, "each email carries exactly one intake link: the reader's own"
            intake[role] = links[0]
            manage[role] = re.search(rf"/bookings/{data['id']}\?token=([A-Za-z0-9_-]+)", text_of(message)).group(1)
    return Booked(data["id"], manage, intake)


def mails_of_booking(smtp_server, booking_id: str, count: int):
    found = []
    for _ in range(2):
        found = [m for m in smtp_server.messages if f"/bookings/{booking_id}?token=" in text_of(m)]
        if len(found) >= count:
            break
        smtp_server.wait_for(len(smtp_server.messages) + 1, timeout=2)
    assert len(found) == count, f"expected {count} emails for the booking, got {len(found)}"
    return found


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def form_data(answers: dict) -> dict:
    """Answers as a page's form sends them."""
    data = {}
    for key, value in answers.items():
        if isinstance(value, bool):
            data[key] = "true" if value else "false"
        elif isinstance(value, list):
            data[key] = value
        else:
            data[key] = str(value)
    return data


def section_of(item_id: str) -> str:
    from practice.core.intake import load_items

    return next(s.id for s in load_items().sections if item_id in {i.id for i in s.items})


def answer_in_pages(client, token: str, answers: dict) -> list:
    """Answer every section through the pages (following the follow-up's extra step), then send.

    Returns every response on the way, the sending last.
    """
    responses = []
    for section_id in SECTIONS:
        mine = {k: v for k, v in answers.items() if section_of(k) == section_id}
        data = {"section": section_id, "action": "next", **form_data(mine)}
        if "suicide_now" in mine:
            first = {k: v for k, v in data.items() if k != "suicide_now"}
            responses.append(client.post(f"/intake/{token}", data=first))
            responses.append(client.get(f"/intake/{token}?step={section_id}"))
            data["followup_shown"] = "1"
        responses.append(client.post(f"/intake/{token}", data=data))
        assert responses[-1].status_code == 303, responses[-1].get_data(as_text=True)
        responses.append(client.get(responses[-1].headers["Location"]))
    responses.append(client.post(f"/intake/{token}", data={"action": "submit"}))
    return responses
