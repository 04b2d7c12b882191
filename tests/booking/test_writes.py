"""What one booking writes, and what it costs: every row in its one transaction, a fixed number of statements
whatever the data, each person's own links in their own email, the objects returned as written."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from practice.audit.models import AuditEvent
from practice.booking import create, service
from practice.booking.models import Booking, BookingStatus, Client, ManageToken, Participant
from practice.booking.tokens import hash_token
from practice.extensions import db
from practice.intake.models import Intake, SelfBookingBlock
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from tests.conftest import freeze_clock, statements_sent
from tests.factories import make_counselor
from tests.scheduling.helpers import add_booking, give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)  # 10:00 in New York


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", name="Ana Counselor", timezone="America/New_York", licenses=("NY",))
    for s in c.services:
        s.price = 0  # free: confirmed at once, with its emails
    db.session.commit()
    give_hours(c, {d: [("08:00", "20:00")] for d in range(7)}, notice_minutes=60)
    return c


def body(start: datetime, *, couple=False, email="robin@example.org") -> dict:
    data = {"counselor": "ana", "service": "couple-trial" if couple else "individual-trial",
            "start": start.isoformat(), "timezone": "America/Chicago",
            "client": {"name": "Robin Client", "email": email, "state": "NY"}}
    if couple:
        data["partner"] = {"name": "Sam Partner", "email": "sam@example.org"}
    return data


def count_of(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- what it costs -------------------------------------------------------------------------------------

def test_statements_per_booking_do_not_grow_with_data(client, counselor):
    assert client.post("/api/v1/bookings", json=body(MONDAY)).status_code == 201  # warm: settings, caches
    with statements_sent() as few:
        assert client.post("/api/v1/bookings", json=body(MONDAY + timedelta(hours=1))).status_code == 201
    # Many more bookings, of this counselor (the same day and others) and of others, and the same booker.
    other = make_counselor(slug="other", timezone="America/New_York")
    give_hours(other, {d: [("08:00", "20:00")] for d in range(7)})
    trial = next(s for s in counselor.services if s.slug == "individual-trial")
    for day in range(7):
        for hour in range(8, 19):
            start = MONDAY.replace(hour=13) + timedelta(days=day + 1, hours=hour - 8)
            add_booking(counselor, trial, start)
            add_booking(other, other.services[0], start)
    assert client.post("/api/v1/bookings", json=body(MONDAY + timedelta(hours=3))).status_code == 201
    with statements_sent() as many:
        assert client.post("/api/v1/bookings", json=body(MONDAY + timedelta(hours=4))).status_code == 201
    assert len(many) == len(few)
    # The counselor with its service and rules, the booker's self-booking block, the calendar lock (PostgreSQL),
    # the day's schedule, the guard's look for anything in the way (a run-out hold to release would add one),
    # what the calendar invites say that the booking doesn't hold (the practice's name and address, the
    # counselor's address: one statement), and an INSERT per table (the booking, its person, link, intake
    # link, email and audit events); the response is made from the rows as written.
    # SQLite has BEGIN IMMEDIATE instead of the lock, and a statement per row (its driver gives no RETURNING
    # order the ORM could batch on).
    assert len(few) == (13 if db.engine.dialect.name == "postgresql" else 14), few


def test_a_couple_costs_no_more_statements_on_postgresql(client, counselor):
    assert client.post("/api/v1/bookings", json=body(MONDAY)).status_code == 201
    with statements_sent() as one:
        assert client.post("/api/v1/bookings", json=body(MONDAY + timedelta(hours=2))).status_code == 201
    with statements_sent() as two:
        assert client.post("/api/v1/bookings", json=body(MONDAY + timedelta(hours=4), couple=True)).status_code == 201

    def kind(statement: str) -> str:  # e.g. "INSERT INTO client"
        return " ".join(statement.split()[:3])

    extra = [kind(s) for s in two]
    for statement in one:
        extra.remove(kind(statement))
    if db.engine.dialect.name == "postgresql":  # the partner's rows are more values of the same statement
        assert extra == []
    else:  # a row for each: client, participant, link, intake link and its audit event (the emails go together)
        assert sorted(extra) == sorted(f"INSERT INTO {table}" for table in (
            "client", "booking_participant", "manage_token", "intake", "audit_event"))


# --- what it writes ------------------------------------------------------------------------------------

def test_each_person_gets_their_own_links_by_email_and_only_hashes_are_stored(client, counselor):
    response = client.post("/api/v1/bookings", json=body(MONDAY, couple=True))
    assert response.status_code == 201
    booking_id = response.get_json()["id"]
    messages = {m.to_email: rendered(m) for m in db.session.scalars(select(OutboxMessage))}
    assert set(messages) == {"robin@example.org", "sam@example.org"}
    seen = set()
    for participant in db.session.scalars(select(Participant)):
        message = messages[participant.client.email]
        manage = re.findall(rf"http://practice\.test/bookings/{booking_id}\?token=([\w-]+)", message.text)
        intake = re.findall(r"http://practice\.test/intake/([\w-]+)", message.text)
        assert len(manage) == 1 and len(intake) == 1, message.text
        assert f"/bookings/{booking_id}?token={manage[0]}" in message.html
        assert f"/intake/{intake[0]}" in message.html
        # The link opens this person's place on the booking, and only the hash is kept.
        assert [t.token_hash for t in participant.tokens] == [hash_token(manage[0])]
        intake_row = db.session.scalar(select(Intake).where(Intake.participant_id == participant.id))
        assert intake_row.token_hash == hash_token(intake[0])
        assert client.get(f"/api/v1/bookings/{booking_id}?token={manage[0]}").get_json()["role"] == participant.role
        seen.update((manage[0], intake[0]))
    tables = [*db.session.scalars(select(ManageToken.token_hash)), *db.session.scalars(select(Intake.token_hash))]
    assert not seen & set(tables)  # no plaintext token stored
    # Neither person's email carries the other's links.
    for address, message in messages.items():
        others = [m for a, m in messages.items() if a != address]
        for other in others:
            for token in re.findall(r"token=([\w-]+)|/intake/([\w-]+)", other.text):
                assert not any(t and t in message.text + message.html for t in token)


def test_booking_writes_its_people_intakes_and_audit_events_together(client, counselor):
    response = client.post("/api/v1/bookings", json=body(MONDAY, couple=True))
    assert response.status_code == 201
    booking_id = response.get_json()["id"]
    booking = db.session.get(Booking, uuid.UUID(booking_id))
    assert booking.status == BookingStatus.confirmed and booking.confirmed_at == NOW
    assert booking.counselor.slug == "ana" and booking.service.slug == "couple-trial"
    assert [(p.role, p.client.email, p.client.state) for p in booking.participants] == [
        ("client", "robin@example.org", "NY"), ("partner", "sam@example.org", None)]
    assert [len(p.tokens) for p in booking.participants] == [1, 1]
    intakes = db.session.scalars(select(Intake).order_by(Intake.id)).all()
    assert [(i.participant.role, i.format, i.answers, i.submitted_at) for i in intakes] == [
        ("client", "couple", {}, None), ("partner", "couple", {}, None)]
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.record_type, e.detail) for e in events] == [
        ("intake.issue_link", "intake", {"role": "client"}),
        ("intake.issue_link", "intake", {"role": "partner"}),
        ("booking.create", "booking", {"status": "confirmed", "service": "couple-trial"}),
    ]
    assert [e.record_id for e in events] == [str(intakes[0].id), str(intakes[1].id), booking_id]
    assert all(e.at is not None and e.actor == "anonymous" and e.ip == "127.0.0.1" for e in events)


def test_nothing_of_a_booking_stays_when_its_email_fails(client, counselor, app, monkeypatch):
    from practice.notify import booking_mail as notices

    def broken(*_args, **_kwargs):
        raise RuntimeError("mail template broke")

    monkeypatch.setattr(notices, "booking_confirmed", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.post("/api/v1/bookings", json=body(MONDAY, couple=True)).status_code == 500
    for model in (Booking, Participant, Client, ManageToken, Intake, AuditEvent, OutboxMessage):
        assert count_of(model) == 0, model


def test_the_booking_returned_is_as_written_without_reading_it_back(app, counselor):
    req = service.BookingRequest(counselor="ana", service="couple-trial", start=MONDAY, timezone="America/Chicago",
                                 client=service.PersonIn(name="Robin Client", email="Robin@Example.org", state="ny"),
                                 partner=service.PersonIn(name="Sam Partner", email="sam@example.org"))
    created = service.book(req, now=NOW)

    def seen(b: Booking) -> tuple:
        return (b.id, b.status, b.starts_at, b.counselor.slug, b.service.price,
                [(p.role, p.client.email, p.client.id, [t.token_hash for t in p.tokens]) for p in b.participants])

    with statements_sent() as statements:
        as_written = seen(created.booking)
    assert statements == []
    db.session.expire_all()
    assert as_written == seen(db.session.get(Booking, created.booking.id))
    assert as_written[5][0][1] == "robin@example.org"
    assert as_written[5][0][3] == [hash_token(created.tokens["client"])]


def test_the_guard_releases_an_overlapping_hold_that_ran_out(client, counselor, frozen_clock):
    held = add_booking(counselor, next(s for s in counselor.services if s.slug == "individual-trial"), MONDAY,
                       status=BookingStatus.held, hold_expires_at=NOW + timedelta(minutes=10))
    held_id = held.id
    assert client.post("/api/v1/bookings", json=body(MONDAY)).status_code == 409  # still held
    frozen_clock["now"] = NOW + timedelta(minutes=10)
    assert client.post("/api/v1/bookings", json=body(MONDAY)).status_code == 201
    db.session.expire_all()
    old = db.session.get(Booking, held_id)
    assert (old.status, old.cancelled_by, old.cancel_reason) == (BookingStatus.cancelled, "system", "hold expired")
    assert count_of(Booking) == 2


def test_a_blocked_booker_is_refused_but_a_blocked_partner_is_not_revealed(client, counselor):
    db.session.add(SelfBookingBlock(email="sam@example.org", created_at=NOW))
    db.session.commit()
    assert client.post("/api/v1/bookings", json=body(MONDAY, couple=True)).status_code == 201
    refused = client.post("/api/v1/bookings", json=body(MONDAY + timedelta(hours=2), email=" SAM@example.org "))
    assert refused.status_code == 422 and "client.email" in refused.get_json()["errors"]


def test_an_unlicensed_state_and_an_unknown_service_are_422(client, counselor):
    wrong_state = {**body(MONDAY), "client": {"name": "Robin", "email": "robin@example.org", "state": "NJ"}}
    response = client.post("/api/v1/bookings", json=wrong_state)
    assert response.status_code == 422 and "client.state" in response.get_json()["errors"]
    response = client.post("/api/v1/bookings", json={**body(MONDAY), "service": "nope"})
    assert response.status_code == 422
    assert "individual-trial" in response.get_json()["errors"]["service"][0]
    counselor.services[0].active = False
    db.session.commit()
    response = client.post("/api/v1/bookings", json={**body(MONDAY), "service": counselor.services[0].slug})
    assert response.status_code == 422 and "service" in response.get_json()["errors"]


def test_after_book_the_session_is_back_in_transactions_whether_it_booked_or_refused(app, counselor):
    """book() runs its statements on their own on PostgreSQL (autocommit); what the caller does next with the
    session must be in a transaction again, so that its writes are atomic."""
    def in_autocommit() -> bool:  # psycopg's own flag (SQLite's transactions are never left)
        connection = db.session.connection()
        return connection.dialect.name == "postgresql" and connection.connection.driver_connection.autocommit

    req = service.BookingRequest(counselor="ana", service="individual-trial", start=MONDAY, timezone="UTC",
                                 client=service.PersonIn(name="Robin", email="robin@example.org", state="NY"))
    service.book(req, now=NOW)
    assert not in_autocommit()
    db.session.rollback()
    with pytest.raises(service.BookingInvalid):
        service.book(service.BookingRequest(**{**req.__dict__, "service": "nope"}), now=NOW)
    assert not in_autocommit()
    db.session.rollback()
    with pytest.raises(service.SlotUnavailable):
        service.book(req, now=NOW)  # taken: the engine's check refuses it
    assert not in_autocommit()


def _lose_after_the_checks(monkeypatch, *, skip_guard: bool) -> None:
    """A rival commits between the engine's check and the write: the guard sees it, or, when it commits after
    the guard too, the exclusion constraint refuses the batch. Either way SlotUnavailable, nothing of the loser
    written, and the session back in transactions."""
    req = service.BookingRequest(counselor="ana", service="individual-trial", start=MONDAY, timezone="UTC",
                                 client=service.PersonIn(name="Robin", email="robin@example.org", state="NY"))
    rival = service.book(service.BookingRequest(**{**req.__dict__, "client": service.PersonIn(
        name="Sam", email="sam@example.org", state="NY")}), now=NOW)
    monkeypatch.setattr(create, "is_free", lambda *args, **kwargs: True)  # the check ran before the rival
    if skip_guard:
        monkeypatch.setattr(create, "claim", lambda *args, **kwargs: None)  # ... and so did the guard
    with pytest.raises(service.SlotUnavailable):
        service.book(req, now=NOW)
    if db.engine.dialect.name == "postgresql":
        assert not db.session.connection().connection.driver_connection.autocommit
    db.session.rollback()
    assert [b.id for b in db.session.scalars(select(Booking))] == [rival.booking.id]
    assert [c.email for c in db.session.scalars(select(Client))] == ["sam@example.org"]
    assert count_of(Intake) == 1 and count_of(OutboxMessage) == 1


def test_a_booking_that_loses_at_the_guard_is_409_and_writes_nothing(app, counselor, monkeypatch):
    _lose_after_the_checks(monkeypatch, skip_guard=False)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite's guard runs under its write lock
def test_a_booking_that_loses_at_the_exclusion_constraint_is_409_and_writes_nothing(app, counselor, monkeypatch):
    _lose_after_the_checks(monkeypatch, skip_guard=True)
