"""GET and POST /api/v1/intakes/{token} (DESIGN.md), and the draft of a section."""
from __future__ import annotations

from sqlalchemy import func, select

from practice.extensions import db
from practice.intake.models import Intake, RoutingDecision
from tests.intake.helpers import book, valid_answers


def test_get_gives_the_questions_for_that_person(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["partner"]
    body = client.get(f"/api/v1/intakes/{token}").get_json()
    assert {k: body[k] for k in ("format", "role", "answers", "sections_done", "submitted")} == {
        "format": "couple", "role": "partner", "answers": {}, "sections_done": [], "submitted": False}
    assert [s["id"] for s in body["sections"]][:2] == ["what_brings_you", "trust"]
    items = {i["id"]: i for s in body["sections"] for i in s["items"]}
    assert "partner_willing" not in items  # individual format only
    assert items["suicide_now"]["show_if"] == {"any_true": ["suicide_wished_dead", "suicide_better_off",
                                                            "suicide_thoughts", "suicide_attempt_ever"]}
    assert items["seeking"]["options"][0] == {"value": "couples", "label": "Sessions together with my partner"}
    assert items["suicide_thoughts"]["options"] == [{"value": True, "label": "Yes"}, {"value": False, "label": "No"}]
    assert items["relationship_length_years"]["min"] == 0 and items["relationship_length_years"]["max"] == 80
    assert items["in_own_words"]["max_length"] == 2000 and items["in_own_words"]["required"] is False


def test_invalid_answers_are_422_with_field_errors_and_nothing_is_stored(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    answers = valid_answers(csi4_1=7, safety_afraid="yes", sources=["gossip"], mystery=1, seeking=None,
                            suicide_wished_dead=True)
    response = client.post(f"/api/v1/intakes/{token}", json={"answers": answers})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"csi4_1", "safety_afraid", "sources", "mystery", "seeking", "suicide_now"}
    assert errors["suicide_now"] == ["This question needs an answer."]
    db.session.expire_all()
    intake = db.session.scalars(select(Intake)).first()
    assert intake.answers == {} and intake.submitted_at is None
    assert db.session.scalar(select(func.count()).select_from(RoutingDecision)) == 0
    for bad in ({}, {"answers": []}, []):
        assert client.post(f"/api/v1/intakes/{token}", json=bad).status_code == 422


def test_a_valid_submission_is_201_once(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    response = client.post(f"/api/v1/intakes/{token}", json={"answers": valid_answers()})
    assert response.status_code == 201
    body = response.get_json()
    assert body["submitted"] is True and body["suggestion"] is None and "crisis_resources" not in body
    again = client.post(f"/api/v1/intakes/{token}", json={"answers": valid_answers()})
    assert again.status_code == 409 and again.get_json()["error"] == "already_submitted"
    after = client.get(f"/api/v1/intakes/{token}").get_json()
    assert after["submitted"] is True and after["answers"] == {}  # a later reader of the link sees no answers


def test_unknown_token_is_404_before_the_body_is_read(client, counselor):
    assert client.post("/api/v1/intakes/" + "b" * 32, json={}).status_code == 404


def test_crisis_resources_only_in_the_body_of_the_person_who_answered_yes(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    a = client.post(f"/api/v1/intakes/{booked.intake['client']}",
                    json={"answers": valid_answers(suicide_better_off=True, suicide_now=False)})
    assert a.status_code == 201
    crisis = a.get_json()["crisis_resources"]
    assert any("988" in line for line in crisis["lines"]) and crisis["heading"]
    b = client.post(f"/api/v1/intakes/{booked.intake['partner']}", json={"answers": valid_answers()})
    assert b.status_code == 201 and "crisis_resources" not in b.get_json()


def test_sections_can_be_saved_as_drafts_over_the_api(client, counselor, smtp_server):
    token = book(client, smtp_server).intake["client"]
    feeling = {"phq2_1": 1, "phq2_2": 0, "gad2_1": 2, "gad2_2": 1, "substance_concern": False}
    saved = client.put(f"/api/v1/intakes/{token}/sections/feeling", json={"answers": feeling})
    assert saved.status_code == 200 and saved.get_json() == {"sections_done": ["feeling"]}
    refused = client.put(f"/api/v1/intakes/{token}/sections/feeling", json={"answers": {"phq2_1": 9, "csi4_1": 1}})
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert errors["phq2_1"] == ["Choose a whole number from 0 to 3."]
    assert errors["csi4_1"] == ["This question belongs to another section."]
    assert errors["gad2_1"] == ["This question needs an answer."]  # "complete" is the default
    assert client.get(f"/api/v1/intakes/{token}").get_json()["answers"]["phq2_1"] == 1
    partial = client.put(f"/api/v1/intakes/{token}/sections/trust", json={"answers": {"sign_avoidance": 2},
                                                                         "complete": False})
    assert partial.get_json() == {"sections_done": ["feeling"]}
    assert client.put(f"/api/v1/intakes/{token}/sections/nope", json={"answers": {}}).status_code == 422


def test_individual_client_whose_partner_would_come_gets_a_gentle_suggestion(client, counselor, smtp_server):
    token = book(client, smtp_server, service="individual-trial").intake["client"]
    response = client.post(f"/api/v1/intakes/{token}",
                           json={"answers": valid_answers(seeking="couples", partner_willing="yes")})
    suggestion = response.get_json()["suggestion"]
    assert suggestion["code"] == "couples_may_fit" and suggestion["format"] == "couple"
    assert "couples session" in suggestion["message"]
