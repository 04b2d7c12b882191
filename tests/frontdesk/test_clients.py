"""Finding a client and their page: people grouped by email, a counselor's view kept to their own bookings,
front desk never given answers, nobody given a partner's answers or flags, and the export of a person's record.

The data is written as rows (bookings, intakes routed by the real engine, payments, emails): what the pages
show is read from the tables, whichever flow wrote them.
"""
from __future__ import annotations

import html
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.booking.models import Booking, BookingStatus, Client, ManageToken, Participant
from practice.booking.tokens import hash_token, new_token
from practice.extensions import db
from practice.intake.models import Intake
from practice.intake.service import route_booking
from practice.notify.models import OutboxMessage, OutboxState
from practice.payments.models import GoodFaithEstimate, Payment, PaymentStatus, Refund, RefundState
from tests.answers import valid_answers
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
BOOKER_WORDS = "heron-lantern-4410"  # the booker's own words: seen only where their answers may be
PARTNER_WORDS = "quartz-meadow-9902"  # the partner's: never on the booker's page or in their export
QUESTION = "How often do you hold back from raising something important"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


# --- data ------------------------------------------------------------------------------------------------

def make_booking(counselor, slug, *, start, status=BookingStatus.confirmed, people, created_at=None) -> Booking:
    """A booking with its people: [(role, name, email)]; one Client row each, as the booking flow makes."""
    service = next(s for s in counselor.services if s.slug == slug)
    booking = Booking(counselor_id=counselor.id, service_id=service.id, starts_at=start,
                      ends_at=start + timedelta(minutes=service.duration_minutes),
                      blocked_until=start + timedelta(minutes=service.duration_minutes + 10), status=status,
                      created_at=created_at or start - timedelta(days=7), client_timezone="America/Chicago")
    booking.participants = [
        Participant(role=role, client=Client(email=email, name=name, phone="555-0100", state="NY",
                                             created_at=created_at or start - timedelta(days=7)),
                    tokens=[ManageToken(token_hash=hash_token(new_token()), created_at=NOW)])
        for role, name, email in people]
    db.session.add(booking)
    db.session.commit()
    return booking


def answer(booking, role, answers, *, submitted=True) -> Intake:
    participant = booking.participant(role)
    intake = Intake(participant_id=participant.id, token_hash=hash_token(new_token()), token_issued_at=NOW,
                    expires_at=NOW + timedelta(days=30), format=booking.service.format, answers=answers,
                    sections_done=["what_brings_you", "trust"], submitted_at=NOW if submitted else None)
    db.session.add(intake)
    db.session.commit()
    return intake


def message(to, kind="booking_confirmed", state=OutboxState.sent) -> OutboxMessage:
    row = OutboxMessage(kind=kind, to_email=to, to_name="Someone", template="booking_confirmed",
                        context={"link": "secret"}, state=state, created_at=NOW - timedelta(days=2),
                        sent_at=NOW - timedelta(days=2) if state == OutboxState.sent else None,
                        message_id=f"<{uuid.uuid4().hex}@practice.test>")
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def practice(app):
    """Two counselors. Robin booked a couple session with Sam at Ana's (both answered: Robin's answers raise
    depression_screen, Sam's substance_concern), earlier an individual one at Ben's under another name; Kim
    booked once at Ben's. Robin paid, got a refund and an estimate; emails went to Robin and Sam."""
    ana = make_counselor(slug="ana", name="Ana Example")
    ben = make_counselor(slug="ben", name="Ben Example")
    couple = make_booking(ana, "couple-trial", start=NOW + timedelta(days=6),
                          people=[("client", "Robin Client", "robin@example.org"),
                                  ("partner", "Sam Partner", "sam@example.org")],
                          created_at=NOW - timedelta(days=1))
    earlier = make_booking(ben, "individual-trial", start=NOW - timedelta(days=40), status=BookingStatus.completed,
                           people=[("client", "Robin Oldname", "robin@example.org")],
                           created_at=NOW - timedelta(days=50))
    kim = make_booking(ben, "individual-trial", start=NOW + timedelta(days=3),
                       people=[("client", "Kim Robinson", "kim@example.net")], created_at=NOW - timedelta(days=3))
    answer(couple, "client", valid_answers(phq2_1=3, phq2_2=2, in_own_words=BOOKER_WORDS))
    answer(couple, "partner", valid_answers(substance_concern=True, in_own_words=PARTNER_WORDS))
    route_booking(couple, now=NOW)
    payment = Payment(booking_id=couple.id, amount=7500, currency="USD", status=PaymentStatus.partially_refunded,
                      amount_refunded=2500, succeeded_at=NOW - timedelta(days=1), stripe_payment_intent_id="pi_123")
    db.session.add(payment)
    db.session.flush()
    db.session.add_all([
        Refund(payment_id=payment.id, amount=2500, kind="staff", reason="goodwill", requested_by="Front Desk",
               state=RefundState.succeeded, created_at=NOW, completed_at=NOW),
        GoodFaithEstimate(booking_id=couple.id, content={"client": {"name": "Robin Client"}, "total": 7500},
                          issued_at=NOW - timedelta(days=1)),
    ])
    db.session.commit()
    message("robin@example.org", "booking_confirmed")
    message("robin@example.org", "session_reminder", OutboxState.pending)
    message("sam@example.org", "booking_confirmed")
    return {"ana": ana, "ben": ben, "couple": couple, "earlier": earlier, "kim": kim}


def client_id(booking, role="client") -> int:
    return booking.participant(role).client_id


def signed_in(app, user):
    viewer = app.test_client()
    response = viewer.post("/staff/login", data={"email": user.email, "password": "correct horse battery staple"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return viewer


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- search ------------------------------------------------------------------------------------------------

def test_search_finds_people_by_part_of_a_name_or_email_grouped_by_email(app, practice):
    desk = signed_in(app, make_user(role="frontdesk"))
    text = page_text(desk.get("/staff/clients?q=ROBIN"))
    # Robin (two records, one email) is one person, under the newest name; Kim Robinson matches too.
    assert text.count("robin@example.org") == 1 and "kim@example.net" in text
    assert "Robin Client" in text and "also: Robin Oldname" in text
    assert text.index("Robin Client") < text.index("Kim Robinson")  # Robin booked last
    assert "2 people found" in text
    assert f'href="/staff/clients/{client_id(practice["couple"])}"' in text  # the newest record

    by_email = page_text(desk.get("/staff/clients?q=@example.NET"))
    assert "Kim Robinson" in by_email and "Robin Client" not in by_email
    by_old_name = page_text(desk.get("/staff/clients?q=oldname"))
    assert "robin@example.org" in by_old_name and "Robin Client" in by_old_name
    assert "Nobody matches" in page_text(desk.get("/staff/clients?q=zelda"))
    assert "Nobody matches" in page_text(desk.get("/staff/clients?q=%25_"))  # wildcards are plain characters here

    searches = events("client.search")
    assert [e.detail for e in searches] == [{"results": 2, "more": False}, {"results": 1, "more": False},
                                            {"results": 1, "more": False}, {"results": 0, "more": False},
                                            {"results": 0, "more": False}]
    assert not any("robin" in json.dumps(e.detail).lower() for e in searches)  # the term is not kept


def test_a_short_or_missing_term_gets_a_clear_message(app, practice):
    desk = signed_in(app, make_user(role="frontdesk"))
    empty = desk.get("/staff/clients")
    assert empty.status_code == 200 and "Type at least two characters" in page_text(empty)
    short = desk.get("/staff/clients?q=+r+")
    assert short.status_code == 422
    assert "Type at least 2 characters of a name or an email address." in page_text(short)
    assert desk.get("/staff/clients?q=" + "x" * 101).status_code == 422
    assert events("client.search") == []


def test_more_than_fifty_people_are_cut_with_a_note(app, practice):
    ana = practice["ana"]
    for n in range(51):
        make_booking(ana, "individual-trial", start=NOW + timedelta(days=20, hours=n),
                     people=[("client", f"Lee Many {n}", f"lee{n}@many.example")])
    text = page_text(signed_in(app, make_user(role="admin")).get("/staff/clients?q=many"))
    assert text.count("@many.example") == 50 and "Only the first 50 people are shown" in text
    assert events("client.search")[-1].detail == {"results": 50, "more": True}


def test_a_counselor_finds_only_people_who_booked_with_them(app, practice):
    ana_user = make_user(role="counselor", counselor=practice["ana"])
    text = page_text(signed_in(app, ana_user).get("/staff/clients?q=robin"))
    assert "Robin Client" in text and "Kim Robinson" not in text
    assert "Robin Oldname" not in text  # that booking was with Ben
    assert "1 person found" in text


# --- a person's page --------------------------------------------------------------------------------------

def test_front_desk_sees_bookings_progress_and_flags_but_never_answers(app, practice):
    couple, earlier = practice["couple"], practice["earlier"]
    response = signed_in(app, make_user(role="frontdesk")).get(f"/staff/clients/{client_id(couple)}")
    assert response.status_code == 200
    text = page_text(response)
    assert "Robin Client" in text and "robin@example.org" in text and "555-0100" in text
    assert "Also booked as" in text and "Robin Oldname" in text
    assert f'href="/staff/bookings/{couple.id}"' in text and f'href="/staff/intakes/{earlier.id}"' in text
    assert "Booked it (partner 1)" in text and "Ana Example" in text and "Ben Example" in text
    assert "America/New_York" in text and "Mon 2026-12-07 10:00" in text  # 15:00 UTC, in the practice's zone
    assert "depression_screen" in text and "Sent on 2026-12-01" in text
    assert "substance_concern" not in text  # Sam's flag
    assert BOOKER_WORDS not in text and PARTNER_WORDS not in text and QUESTION not in text
    assert "$75" in text and "$25" in text and "Good-faith estimate" in text
    assert "Session reminder" in text and "Not sent" in text  # emails to Robin, with their state
    assert text.count("Booking confirmed") == 1  # not Sam's
    assert "Download everything" not in text and "Delete this record" not in text  # admins only
    assert [e.detail for e in events("client.view")] == [{"bookings": 2, "answers_shown": 0}]
    assert events("intake.view_answers") == []


def test_an_admin_sees_only_this_persons_answers_never_the_partners(app, practice):
    couple = practice["couple"]
    admin = make_user(role="admin")
    text = page_text(signed_in(app, admin).get(f"/staff/clients/{client_id(couple)}"))
    assert BOOKER_WORDS in text and QUESTION in text
    assert PARTNER_WORDS not in text and "substance_concern" not in text
    booker_intake = db.session.scalar(select(Intake.id).where(Intake.participant_id == couple.participant("client").id))
    assert [(e.record_id, e.actor_id) for e in events("intake.view_answers")] == [(str(booker_intake), admin.id)]
    assert events("client.view")[0].detail == {"bookings": 2, "answers_shown": 1}

    partner_page = page_text(signed_in(app, admin).get(f"/staff/clients/{client_id(couple, 'partner')}"))
    assert PARTNER_WORDS in partner_page and "substance_concern" in partner_page
    assert BOOKER_WORDS not in partner_page and "depression_screen" not in partner_page
    assert "Invited partner (partner 2)" in partner_page


def test_a_counselor_sees_their_own_booking_only_and_gets_404_for_anyone_else(app, practice):
    couple, kim = practice["couple"], practice["kim"]
    ana = signed_in(app, make_user(role="counselor", counselor=practice["ana"]))
    text = page_text(ana.get(f"/staff/clients/{client_id(couple)}"))
    assert BOOKER_WORDS in text and PARTNER_WORDS not in text  # the booking's counselor sees the answers
    assert "Ben Example" not in text and "Robin Oldname" not in text  # only her bookings
    assert "Emails are listed for the front desk and admins." in text
    assert ana.get(f"/staff/clients/{client_id(kim)}").status_code == 404  # Ben's client, by id
    assert ana.get(f"/staff/clients/{client_id(practice['earlier'])}").status_code == 404  # Robin's row at Ben's
    assert ana.get("/staff/clients/999999").status_code == 404

    ben = signed_in(app, make_user(role="counselor", counselor=practice["ben"]))
    assert ben.get(f"/staff/clients/{client_id(couple)}").status_code == 404
    earlier = page_text(ben.get(f"/staff/clients/{client_id(practice['earlier'])}"))
    assert "Individual trial session" in earlier and BOOKER_WORDS not in earlier and "Ana Example" not in earlier


def test_access_for_each_role(app, practice):
    target = client_id(practice["kim"])
    routes = ["/staff/clients?q=kim", f"/staff/clients/{target}", f"/staff/clients/{target}/export",
              f"/staff/clients/{target}/delete"]
    expected = {
        "admin": [200, 200, 200, 200],
        "frontdesk": [200, 200, 403, 403],
        "counselor": [200, 200, 403, 403],  # Ben: Kim booked with him
    }
    for role, codes in expected.items():
        user = make_user(role=role, counselor=practice["ben"] if role == "counselor" else None)
        viewer = signed_in(app, user)
        assert [viewer.get(route).status_code for route in routes] == codes, role
    anonymous = app.test_client()
    for route in routes:
        response = anonymous.get(route)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert anonymous.post(routes[3], data={"email": "kim@example.net", "reason": "asked"}).status_code == 302
    assert db.session.get(Client, target).erased_at is None


# --- the export ---------------------------------------------------------------------------------------------

def test_the_export_holds_their_record_and_nothing_of_the_partner(app, practice):
    couple = practice["couple"]
    response = signed_in(app, make_user(role="admin")).get(f"/staff/clients/{client_id(couple)}/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="client-{client_id(couple)}-2026-12-01.json"')
    assert response.headers["Cache-Control"] == "no-store"
    raw = response.get_data(as_text=True)
    data = json.loads(raw)
    assert data["person"] == {"name": "Robin Client", "email": "robin@example.org", "phone": "555-0100",
                              "state": "NY", "other_names": ["Robin Oldname"]}
    bookings = {b["id"]: b for b in data["bookings"]}
    assert set(bookings) == {str(couple.id), str(practice["earlier"].id)}
    mine = bookings[str(couple.id)]
    assert mine["role"] == "client" and mine["counselor"] == "Ana Example" and mine["status"] == "confirmed"
    answers = {row["question"]: row["answer"] for row in mine["intake"]["answers"]}
    assert answers[next(q for q in answers if q.startswith(QUESTION))] == "Sometimes"  # sign_avoidance: 2
    assert BOOKER_WORDS in answers.values()
    assert sorted(f["code"] for f in mine["routing"]["flags"]) == ["depression_screen", "unresolved_conflict"]
    assert mine["routing"]["scores"]["phq2"] == 5 and "track" not in mine["routing"]  # the couple's track: no
    assert mine["payment"]["amount"] == 7500 and mine["payment"]["refunds"][0]["amount"] == 2500
    assert mine["good_faith_estimate"] == {"client": {"name": "Robin Client"}, "total": 7500}
    assert bookings[str(practice["earlier"].id)]["intake"] is None
    assert sorted(m["kind"] for m in data["messages"]) == ["booking_confirmed", "session_reminder"]
    assert PARTNER_WORDS not in raw and "substance_concern" not in raw and "sam@example.org" not in raw
    assert "Sam Partner" not in raw and "secret" not in raw  # nor the partner, nor a message's links
    assert "goodwill" not in raw  # a staff refund's reason is for staff
    assert [e.detail for e in events("client.export")] == [{"bookings": 2, "intakes": 1}]
    assert events("intake.view_answers") == []  # the export is its own record


def test_a_reason_staff_gave_for_cancelling_is_not_in_the_clients_export(app, practice):
    couple = practice["couple"]
    couple.status, couple.cancelled_by = BookingStatus.cancelled, "staff"
    couple.cancel_reason, couple.cancelled_at = "Sam disclosed a threat at home", NOW
    db.session.commit()
    raw = signed_in(app, make_user(role="admin")).get(f"/staff/clients/{client_id(couple)}/export").get_data(
        as_text=True)
    assert "disclosed a threat" not in raw
    assert {b["status"] for b in json.loads(raw)["bookings"]} == {"cancelled", "completed"}
