"""The booking's routing decision: stored with its reasons, re-run when the partner's intake arrives, partners
numbered by their place on the booking whoever answers first."""
from __future__ import annotations

from sqlalchemy import select

from practice.extensions import db
from practice.intake.models import RoutingDecision
from tests.intake.helpers import book, valid_answers


def decision() -> RoutingDecision:
    db.session.expire_all()
    return db.session.scalar(select(RoutingDecision))


def submit(client, token, **overrides):
    response = client.post(f"/api/v1/intakes/{token}", json={"answers": valid_answers(**overrides)})
    assert response.status_code == 201, response.get_json()


def test_first_intake_routes_partially_and_the_second_routes_the_couple(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    submit(client, booked.intake["client"], commitment="leaning_out")
    first = decision()
    assert (first.track, first.partial, first.rule) == ("couples", True, "R6")
    assert first.scores["csi4"] == [15, None]
    assert any("Only one partner's intake has arrived" in reason for reason in first.reasons)

    submit(client, booked.intake["partner"], commitment="leaning_in")
    both = decision()
    assert (both.track, both.partial, both.rule, both.urgent) == ("discernment", False, "R3", False)
    assert both.reasons[0].startswith("R3: partner 1 is thinking of ending the relationship")
    assert {"code": "mixed_agenda", "partner": None, "severity": "concern"} in both.flags
    assert both.scores["csi4"] == [15, 15]


def test_partner_first_is_still_partner_2(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    submit(client, booked.intake["partner"], affair_status="ongoing")
    only = decision()
    assert (only.track, only.partial) == ("individual", True)
    assert {"code": "ongoing_affair", "partner": 1, "severity": "concern"} in only.flags
    assert only.reasons[0].startswith("R2: partner 2 reported an ongoing affair")
    assert only.scores["phq2"] == [None, 1]

    submit(client, booked.intake["client"], safety_afraid=True)
    both = decision()
    assert (both.track, both.urgent, both.partial) == ("safety_review", True, False)
    assert {"code": "ipv_risk", "partner": 0, "severity": "urgent"} in both.flags
    assert {"code": "ongoing_affair", "partner": 1, "severity": "concern"} in both.flags
    assert both.reasons[0].startswith("R1: partner 1 reported being afraid of their partner")
    assert any(r.startswith("Also R2, outranked by R1: partner 2 reported an ongoing affair") for r in both.reasons)


def test_a_new_recommendation_clears_the_earlier_review(client, counselor, smtp_server, admin):
    from practice import clock
    from practice.intake import service

    booked = book(client, smtp_server)
    submit(client, booked.intake["client"])
    service.record_staff_decision(decision().booking_id, actor=admin, action="accept", now=clock.now())
    assert decision().accepted_at is not None
    submit(client, booked.intake["partner"])
    assert decision().accepted_at is None and decision().accepted_by_id is None


def test_answers_flags_and_reasons_are_encrypted_at_rest(client, counselor, smtp_server):
    from sqlalchemy import text

    booked = book(client, smtp_server)
    submit(client, booked.intake["client"], sources=["infidelity"])
    from practice.crypto import keyring

    raw = db.session.execute(text("SELECT flags, reasons, scores FROM routing_decision")).one()
    for value in raw:
        stored = bytes(value)
        # Ciphertext only: a Fernet token that decrypts to the JSON, with no plaintext fragment in what is stored.
        # (Short strings like "R6" can occur in random base64 by chance, so only long markers are searched.)
        assert stored.startswith(b"gAAAA") and b"infidelity" not in stored and b'"code"' not in stored
        assert keyring.decrypt(stored).startswith((b"[", b"{"))
    answers = db.session.execute(text("SELECT answers FROM intake WHERE submitted_at IS NOT NULL")).scalar()
    assert b"infidelity" not in bytes(answers)
