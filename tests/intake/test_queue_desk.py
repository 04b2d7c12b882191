"""The front desk's intake queue: urgent first, then by session date; the to-do/done lists; marking an intake
done; and two staff acting on one intake, where the second is told what the first did and loses nothing."""
from __future__ import annotations

import html
import re
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from practice.audit.models import AuditEvent
from practice.extensions import db
from practice.intake import service
from practice.intake.models import RoutingDecision
from tests.factories import make_user
from tests.intake.conftest import counselor_with_hours
from tests.intake.helpers import MON_10, MON_11, book, valid_answers

NEXT_MON_10 = "2026-12-14T10:00:00-05:00"
NEXT_MON_11 = "2026-12-14T11:00:00-05:00"
NEXT_MON_13 = "2026-12-14T13:00:00-05:00"


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def ref(booking_id: str) -> str:
    return booking_id[:8].upper()


def answer(client, booked, role="client", **answers):
    response = client.post(f"/api/v1/intakes/{booked.intake[role]}", json={"answers": valid_answers(**answers)})
    assert response.status_code == 201, response.get_json()


def decision_of(booking_id: str) -> RoutingDecision:
    return db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == uuid.UUID(booking_id))
                             .execution_options(populate_existing=True))


def version_of(booking_id: str) -> str:
    return str(decision_of(booking_id).version)


def couple(client, smtp_server, start, n: int):
    return book(client, smtp_server, start=start, email=f"client{n}@example.org",
                partner_email=f"partner{n}@example.org")


def sam_front():
    user = make_user(role="frontdesk")
    user.name = "Sam Front"
    db.session.commit()
    return user


@pytest.fixture
def desk(app, sign_in, frontdesk):
    """A second front-desk member, signed in on a test client of their own."""
    other = app.test_client()
    sam = sam_front()
    sign_in(sam, on=other)
    other.user = sam
    return other


def test_queue_puts_urgent_first_then_soonest_session_and_past_sessions_last(
        client, counselor, smtp_server, frontdesk, sign_in, frozen_clock):
    past = couple(client, smtp_server, MON_10, 1)
    later = couple(client, smtp_server, NEXT_MON_11, 2)
    sooner = couple(client, smtp_server, NEXT_MON_10, 3)
    urgent = couple(client, smtp_server, NEXT_MON_13, 4)
    for booked in (past, later, sooner):
        answer(client, booked)
    answer(client, urgent, safety_hurt=True)  # partner violence: urgent, though its session is the latest
    frozen_clock["now"] = datetime(2026, 12, 8, 12, 0, tzinfo=timezone.utc)  # the first session is now past
    sign_in(frontdesk)
    text_ = page(client.get("/staff/intakes"))
    order = [text_.index(ref(b.id)) for b in (urgent, sooner, later, past)]
    assert order == sorted(order)


def test_each_row_shows_names_local_time_flags_reasons_partial_and_state(client, counselor, smtp_server, frontdesk,
                                                                        sign_in):
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked, safety_hurt=True)
    sign_in(frontdesk)
    response = client.get("/staff/intakes")
    text_ = page(response)
    assert response.status_code == 200
    assert "Robin Client & Sam Partner" in text_
    assert "Mon, Dec 7, 2026, 10:00 AM EST" in text_ and "America/New_York" in text_
    assert "Partner violence (P1)" in text_ and "Urgent" in text_ and "Safety review" in text_
    assert "<summary>Why</summary>" in response.get_data(as_text=True)
    assert any("R1" in reason for reason in decision_of(booked.id).reasons)
    for reason in decision_of(booked.id).reasons:
        assert reason in text_
    assert "Partial" in text_ and "1 of 2" in text_ and "Waiting" in text_ and "Not yet" in text_
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "intake.view_queue")).all()
    assert event.actor_id == frontdesk.id and event.detail == {"rows": 1, "show": "todo"}


def test_show_lists_to_do_done_or_all_and_refuses_anything_else(client, counselor, smtp_server, frontdesk, sign_in):
    done = couple(client, smtp_server, MON_10, 1)
    open_ = couple(client, smtp_server, MON_11, 2)
    answer(client, done)
    answer(client, open_)
    sign_in(frontdesk)
    assert client.post(f"/staff/intakes/{done.id}/decision",
                       data={"action": "accept", "version": version_of(done.id)}).status_code == 303
    assert client.post(f"/staff/intakes/{done.id}/processed",
                       data={"version": version_of(done.id)}).status_code == 303
    lists = {show: page(client.get(f"/staff/intakes?show={show}")) for show in ("todo", "processed", "all")}
    assert ref(open_.id) in lists["todo"] and ref(done.id) not in lists["todo"]
    assert ref(done.id) in lists["processed"] and ref(open_.id) not in lists["processed"]
    assert ref(done.id) in lists["all"] and ref(open_.id) in lists["all"]
    assert ref(open_.id) in page(client.get("/staff/intakes"))  # to do is the default
    bad = client.get("/staff/intakes?show=everything")
    assert bad.status_code == 422 and "Choose To do, Done or All" in page(bad)


def test_marking_done_needs_a_decision_and_a_new_intake_reopens_it(client, counselor, smtp_server, frontdesk,
                                                                    sign_in):
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked)
    sign_in(frontdesk)
    early = client.post(f"/staff/intakes/{booked.id}/processed", data={"version": version_of(booked.id)})
    assert early.status_code == 422
    assert "Accept the recommendation or override it first" in page(early)
    assert decision_of(booked.id).processed_at is None
    client.post(f"/staff/intakes/{booked.id}/decision", data={"action": "accept", "version": version_of(booked.id)})
    done = client.post(f"/staff/intakes/{booked.id}/processed", data={"version": version_of(booked.id)})
    assert done.status_code == 303
    decision = decision_of(booked.id)
    assert decision.processed_by_id == frontdesk.id and decision.processed_at is not None
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "intake.processed")).all()
    assert event.actor_id == frontdesk.id and event.record_id == booked.id
    assert "Marked done by" in page(client.get(f"/staff/intakes/{booked.id}"))

    answer(client, booked, role="partner")  # the partner's intake: a new recommendation, to review again
    decision = decision_of(booked.id)
    assert decision.processed_at is None and decision.processed_by_id is None and decision.accepted_at is None
    assert ref(booked.id) in page(client.get("/staff/intakes?show=todo"))


def test_two_staff_deciding_the_second_is_shown_who_decided_and_keeps_their_reason(
        client, counselor, smtp_server, frontdesk, sign_in, desk):
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked)
    sign_in(frontdesk)
    seen = version_of(booked.id)  # both opened the page at this version
    assert desk.post(f"/staff/intakes/{booked.id}/decision",
                     data={"action": "accept", "version": seen}).status_code == 303
    late = client.post(f"/staff/intakes/{booked.id}/decision", data={
        "action": "override", "track": "individual", "reason": "Robin asked for time alone first.", "version": seen})
    assert late.status_code == 409
    text_ = page(late)
    assert re.search(r"Sam Front accepted the recommendation at \w{3}, \w{3} \d+, \d{4}, \d+:\d\d [AP]M E[SD]T\.",
                     text_)
    assert "Robin asked for time alone first." in text_  # what they typed is still in the form
    assert f'name="version" type="hidden" value="{version_of(booked.id)}"' in late.get_data(as_text=True)
    decision = decision_of(booked.id)
    assert decision.override_track is None and decision.accepted_by_id == desk.user.id
    again = client.post(f"/staff/intakes/{booked.id}/decision", data={
        "action": "override", "track": "individual", "reason": "Robin asked for time alone first.",
        "version": version_of(booked.id)})
    assert again.status_code == 303 and decision_of(booked.id).override_track == "individual"


def test_two_staff_one_marks_done_the_other_decides_from_an_older_page(client, counselor, smtp_server, frontdesk,
                                                                        sign_in, desk):
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked)
    sign_in(frontdesk)
    client.post(f"/staff/intakes/{booked.id}/decision", data={"action": "accept", "version": version_of(booked.id)})
    seen = version_of(booked.id)
    assert desk.post(f"/staff/intakes/{booked.id}/processed", data={"version": seen}).status_code == 303
    late = client.post(f"/staff/intakes/{booked.id}/decision", data={
        "action": "override", "track": "discernment", "reason": "One of them is leaning out.", "version": seen})
    assert late.status_code == 409
    assert "Sam Front marked it done at" in page(late) and "One of them is leaning out." in page(late)
    assert decision_of(booked.id).override_track is None
    # and the other way round: marking done from a page older than a decision
    seen = version_of(booked.id)
    desk.post(f"/staff/intakes/{booked.id}/decision", data={"action": "override", "track": "discernment",
                                                            "reason": "Leaning out.", "version": seen})
    stale = client.post(f"/staff/intakes/{booked.id}/processed", data={"version": seen})
    assert stale.status_code == 409 and "Sam Front chose another track at" in page(stale)


def test_a_partners_intake_arriving_makes_an_open_page_stale(client, counselor, smtp_server, frontdesk, sign_in):
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked)
    sign_in(frontdesk)
    seen = version_of(booked.id)
    answer(client, booked, role="partner")
    late = client.post(f"/staff/intakes/{booked.id}/decision", data={"action": "accept", "version": seen})
    assert late.status_code == 409
    assert "an intake arrived and the recommendation was made again" in page(late)
    assert decision_of(booked.id).accepted_at is None


def test_a_form_without_its_version_is_refused(client, counselor, smtp_server, frontdesk, sign_in):
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked)
    sign_in(frontdesk)
    response = client.post(f"/staff/intakes/{booked.id}/decision", data={"action": "accept"})
    assert response.status_code == 422 and "Reload the page" in page(response)
    for odd in ("\u00b2", "9" * 5000):  # a superscript two is a "digit" to str.isdigit, not to int()
        response = client.post(f"/staff/intakes/{booked.id}/decision", data={"action": "accept", "version": odd})
        assert response.status_code == 422 and "Reload the page" in page(response)
    assert decision_of(booked.id).accepted_at is None


# On SQLite the write lock taken first makes this impossible (no other writer comes between the read and the write).
@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_truly_simultaneous_commit_is_reported_as_a_change(app, counselor, client, smtp_server, frontdesk,
                                                             monkeypatch):
    """The version was right when read, but another transaction committed before this one's UPDATE: the UPDATE
    matches nothing (StaleDataError) and the person is told what happened. On SQLite the write lock taken first
    makes this impossible (no other writer can come between the read and the write), so it runs on PostgreSQL."""
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked)
    seen = int(version_of(booked.id))
    other = sam_front()
    real = service._decision_for_change

    def read_then_lose_the_race(booking_id, expected_version):
        decision = real(booking_id, expected_version)
        with db.engine.connect() as conn, Session(bind=conn) as other_session:  # the other staff member, first
            other_session.execute(update(RoutingDecision).where(RoutingDecision.id == decision.id).values(
                accepted_at=datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc), accepted_by_id=other.id,
                version=RoutingDecision.version + 1))
            other_session.add(AuditEvent(actor_id=other.id, actor="sam", action="intake.accept",
                                         record_type="booking", record_id=booked.id, ip="",
                                         detail={"version": seen + 1}))
            other_session.commit()
        return decision

    monkeypatch.setattr(service, "_decision_for_change", read_then_lose_the_race)
    with pytest.raises(service.DecisionChanged) as changed:
        service.record_staff_decision(uuid.UUID(booked.id), actor=frontdesk, action="override", track="individual",
                                      reason="Late.", version=seen, now=datetime(2026, 12, 1, 12, 1,
                                                                                   tzinfo=timezone.utc))
    assert [(c.action, c.by) for c in changed.value.changes] == [("intake.accept", "Sam Front")]
    assert changed.value.version == seen + 1
    assert decision_of(booked.id).override_track is None


def test_counselors_cannot_mark_done_assign_or_convert(client, counselor, smtp_server, counselor_user, sign_in):
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked)
    sign_in(counselor_user)  # the booking's own counselor: may read and decide, not run the desk
    v = version_of(booked.id)
    for path, data in (("processed", {"version": v}), ("assign", {"counselor": "1", "version": v}),
                       ("convert", {"reason": "x", "version": v})):
        assert client.post(f"/staff/intakes/{booked.id}/{path}", data=data).status_code in (403, 404)
    assert client.get(f"/staff/intakes/{booked.id}/convert").status_code in (403, 404)
    text_ = page(client.get(f"/staff/intakes/{booked.id}"))
    assert "Mark as done" not in text_ and "Give the booking to this counselor" not in text_
    assert decision_of(booked.id).processed_at is None


def test_assigning_from_an_older_page_is_refused_and_nothing_moves(client, counselor, smtp_server, frontdesk,
                                                                   sign_in, desk):
    bea = counselor_with_hours("bea", name="Bea Other")
    booked = couple(client, smtp_server, MON_10, 1)
    answer(client, booked)
    sign_in(frontdesk)
    seen = version_of(booked.id)
    assert "Give the booking to this counselor" in page(client.get(f"/staff/intakes/{booked.id}"))
    assert desk.post(f"/staff/intakes/{booked.id}/assign",
                     data={"counselor": str(bea.id), "version": seen}).status_code == 303
    late = client.post(f"/staff/intakes/{booked.id}/decision", data={"action": "accept", "version": seen})
    assert late.status_code == 409 and "Sam Front gave the booking to another counselor at" in page(late)
    back = client.post(f"/staff/intakes/{booked.id}/assign",
                       data={"counselor": str(counselor.id), "version": seen})
    assert back.status_code == 409
    from practice.booking.models import Booking

    booking = db.session.get(Booking, uuid.UUID(booked.id), populate_existing=True)
    assert booking.counselor_id == bea.id
