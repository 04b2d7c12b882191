"""What staff see: front desk the minimum (track, flags, scores, reasons, matching counselors), the booking's
counselor and admins the full answers too; every view audited; accept or override with a reason."""
from __future__ import annotations

import html
import uuid

from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.extensions import db
from practice.intake.models import RoutingDecision
from tests.factories import make_counselor, make_user
from tests.intake.helpers import MON_11, book, valid_answers

MARKER = "zebra-lighthouse-7731"


def submitted_couple(client, smtp_server, **client_answers):
    booked = book(client, smtp_server)
    for role, extra in (("client", client_answers), ("partner", {})):
        answers = valid_answers(in_own_words=f"{MARKER} from {role}", **extra)
        assert client.post(f"/api/v1/intakes/{booked.intake[role]}", json={"answers": answers}).status_code == 201
    return booked


def audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_front_desk_sees_the_routing_but_never_the_answers(client, counselor, smtp_server, frontdesk, sign_in):
    booked = submitted_couple(client, smtp_server, sources=["infidelity", "attachment_fears"], sign_avoidance=3,
                              sign_disconnection=3, sign_doubts_honesty=3)
    sign_in(frontdesk)
    page = client.get(f"/staff/intakes/{booked.id}")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert "Couples therapy with individual support" in text and "R5:" in text
    assert "past_wounds" in text and "infidelity" in text and "CSI-4" in text
    assert "Counselors who fit" in text and "Ana Example" in text
    assert MARKER not in text and "How often do you hold back" not in text  # no answers, not even questions
    assert [e.record_id for e in audit("intake.view_summary")] == [booked.id]
    assert audit("intake.view_answers") == []
    queue = client.get("/staff/intakes").get_data(as_text=True)
    assert booked.id[:8].upper() in queue and MARKER not in queue
    assert audit("intake.view_queue")


def test_the_bookings_counselor_and_admins_see_the_answers(client, counselor, smtp_server, counselor_user, admin,
                                                            sign_in, app):
    booked = submitted_couple(client, smtp_server)
    for user in (counselor_user, admin):
        viewer = app.test_client()
        sign_in(user, on=viewer)
        text = html.unescape(viewer.get(f"/staff/intakes/{booked.id}").get_data(as_text=True))
        assert f"{MARKER} from client" in text and f"{MARKER} from partner" in text
        assert "How often do you hold back from raising something important" in text
        views = [e for e in audit("intake.view_answers") if e.actor_id == user.id]
        assert len(views) == 2 and {e.detail["role"] for e in views} == {"client", "partner"}
        assert all(MARKER not in str(e.detail) for e in views)


def test_another_counselor_cannot_open_the_booking(client, counselor, smtp_server, sign_in):
    booked = submitted_couple(client, smtp_server)
    other = make_user(role="counselor", counselor=make_counselor(slug="other"))
    sign_in(other)
    response = client.get(f"/staff/intakes/{booked.id}")
    assert response.status_code == 404 and MARKER not in response.get_data(as_text=True)
    assert booked.id[:8].upper() not in client.get("/staff/intakes").get_data(as_text=True)
    assert client.get("/staff/intakes/not-a-uuid").status_code == 404


def test_clients_and_strangers_are_kept_out(client, counselor, smtp_server):
    booked = submitted_couple(client, smtp_server)
    assert client.get(f"/staff/intakes/{booked.id}").status_code == 302  # to sign-in
    assert client.get("/staff/intakes").status_code == 302


def version_of(booking_id: str) -> str:
    return str(db.session.scalar(select(RoutingDecision.version).join(RoutingDecision.booking)
                                 .where(RoutingDecision.booking_id == uuid.UUID(booking_id))))


def test_accept_or_override_with_a_reason(client, counselor, smtp_server, frontdesk, sign_in):
    booked = submitted_couple(client, smtp_server)
    sign_in(frontdesk)
    v = version_of(booked.id)
    refused = client.post(f"/staff/intakes/{booked.id}/decision", data={"action": "override", "version": v,
                                                                         "track": "individual"})
    assert refused.status_code == 422
    assert "Say why you are overriding the recommendation." in html.unescape(refused.get_data(as_text=True))
    same = client.post(f"/staff/intakes/{booked.id}/decision", data={"action": "override", "track": "couples",
                                                                      "reason": "x", "version": v})
    assert same.status_code == 422
    saved = client.post(f"/staff/intakes/{booked.id}/decision", data={
        "action": "override", "track": "individual", "reason": "Spoke with both; they want individual work first.",
        "version": v})
    assert saved.status_code == 303
    decision = db.session.scalar(select(RoutingDecision))
    db.session.refresh(decision)
    assert (decision.track, decision.override_track, decision.accepted_by_id) == ("couples", "individual", frontdesk.id)
    assert decision.override_reason.startswith("Spoke with both")
    [event] = audit("intake.override")
    assert event.actor_id == frontdesk.id and event.record_id == booked.id and "Spoke" not in str(event.detail)
    page = html.unescape(client.get(f"/staff/intakes/{booked.id}").get_data(as_text=True))
    assert "Overridden to Individual therapy" in page and "Spoke with both" in page
    assert client.post(f"/staff/intakes/{booked.id}/decision",
                       data={"action": "accept", "version": version_of(booked.id)}).status_code == 303
    assert audit("intake.accept")


def test_queue_puts_urgent_first(client, counselor, smtp_server, frontdesk, sign_in, frozen_clock):
    from datetime import timedelta

    calm = submitted_couple(client, smtp_server)
    urgent = book(client, smtp_server, start=MON_11, email="kim@example.org", partner_email="lee@example.org")
    frozen_clock["now"] -= timedelta(hours=1)  # recommended earlier, still first
    client.post(f"/api/v1/intakes/{urgent.intake['client']}",
                json={"answers": valid_answers(safety_hurt=True)})
    sign_in(frontdesk)
    queue = client.get("/staff/intakes").get_data(as_text=True)
    assert queue.index(urgent.id[:8].upper()) < queue.index(calm.id[:8].upper())
    assert "Urgent" in queue and "Partial" in queue
