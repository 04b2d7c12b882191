"""Staff split a couple booking into an individual session for each partner when safety requires it (INTAKE.md,
R1): one transaction under the guard; the couple booking cancelled by the practice and its payment refunded in
full at the Stripe stand-in; each partner one email about their own session only, never the reason; the
intakes still reachable from the staff pages."""
from __future__ import annotations

import html
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from practice import clock
from practice.audit.models import AuditEvent
from practice.auth.service import start_session
from practice.booking import service as booking_service
from practice.booking.models import Booking, BookingStatus
from practice.extensions import db
from practice.intake.models import RoutingDecision
from practice.payments.models import Payment, Refund, RefundState
from practice.payments.stripe_api import client as stripe_client
from tests.conftest import freeze_clock, stripe_config
from tests.factories import make_counselor, make_user
from tests.intake.helpers import text_of, valid_answers
from tests.payments.helpers import pay_for
from tests.scheduling.helpers import give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
MON_10 = datetime.fromisoformat("2026-12-07T10:00:00-05:00").astimezone(timezone.utc)
MON_11 = MON_10 + timedelta(hours=1)
REASON = "Robin disclosed being hurt at home; separate assessments first."


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def app_config(app_config, stripe_standin, smtp_server):
    # inline: the refund reaches the stand-in, and the mail the SMTP server, before the request returns
    return {**app_config, **stripe_config(stripe_standin), **smtp_server.app_config, "MAIL_DELIVERY": "inline"}


def counselor(slug: str, name: str):
    made = make_counselor(slug=slug, name=name, timezone="America/New_York", licenses=("NY",),
                          specialties=("partner_violence",))
    give_hours(made, {0: [("08:00", "18:00")]})
    return made


@pytest.fixture
def ana(app):
    return counselor("ana", "Ana Counselor")


@pytest.fixture
def bea(app):
    return counselor("bea", "Bea Other")


@pytest.fixture
def desk(app, client):
    user = make_user(role="frontdesk")
    with app.test_request_context():
        start_session(user, now=clock.now())
        token = user.session_token
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = token, True
    return user


def paid_couple(standin: str, client, *, safety=True) -> tuple[str, Payment]:
    """A couple trial ($75) at Ana's Monday 10:00, paid at the stand-in, with the booker's intake in (a
    partner-violence disclosure when `safety`)."""
    created = booking_service.book(booking_service.BookingRequest(
        counselor="ana", service="couple-trial", start=MON_10, timezone="America/New_York",
        client=booking_service.PersonIn(name="Robin Client", email="robin@example.org", state="NY"),
        partner=booking_service.PersonIn(name="Sam Partner", email="sam@example.org")), now=NOW)
    booking = created.booking
    payment = pay_for(standin, booking, now=NOW)
    token = created.intake_urls["client"].rsplit("/", 1)[1]
    answers = valid_answers(safety_hurt=True) if safety else valid_answers()
    assert client.post(f"/api/v1/intakes/{token}", json={"answers": answers}).status_code == 201
    return str(booking.id), payment


def version(booking_id: str) -> str:
    return str(db.session.scalar(select(RoutingDecision.version)
                                 .where(RoutingDecision.booking_id == uuid.UUID(booking_id))))


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def choice(counselor_, start: datetime) -> str:
    return f"{counselor_.id}|{start.isoformat()}"


def test_a_couple_booking_becomes_two_individual_sessions_refunded_and_told_apart(
        client, ana, bea, desk, stripe_standin, smtp_server):
    booking_id, payment = paid_couple(stripe_standin, client)
    form = client.get(f"/staff/intakes/{booking_id}/convert")
    assert form.status_code == 200
    raw = form.get_data(as_text=True)
    assert f'value="{choice(ana, MON_10)}"' in raw  # the couple's own time is free for the new sessions
    assert f'value="{choice(bea, MON_10)}"' in raw and "Mon, Dec 7, 2026, 10:00 AM EST" in page(form)
    sent_before = len(smtp_server.messages)

    done = client.post(f"/staff/intakes/{booking_id}/convert", data={
        "client": choice(ana, MON_10), "partner": choice(bea, MON_11), "reason": REASON,
        "version": version(booking_id)})
    assert done.status_code == 303, page(done)

    couple = db.session.get(Booking, uuid.UUID(booking_id), populate_existing=True)
    assert couple.status == BookingStatus.cancelled and couple.cancelled_by == "staff"
    assert couple.cancel_reason == f"changed to individual sessions: {REASON}"  # encrypted; staff see it
    sessions = db.session.scalars(select(Booking).where(Booking.converted_from_id == couple.id)
                                  .order_by(Booking.starts_at)).all()
    assert [(s.counselor_id, s.starts_at, s.status, s.service.slug) for s in sessions] == [
        (ana.id, MON_10, BookingStatus.confirmed, "individual-trial"),
        (bea.id, MON_11, BookingStatus.confirmed, "individual-trial")]
    people = {p.role: p.client_id for p in couple.participants}
    assert [[(p.role, p.client_id) for p in s.participants] for s in sessions] == [
        [("client", people["client"])], [("client", people["partner"])]]

    # the practice cancelled: refunded in full, at Stripe
    [refund] = db.session.scalars(select(Refund).where(Refund.payment_id == payment.id)
                                  .execution_options(populate_existing=True)).all()
    assert (refund.amount, refund.kind, refund.state) == (7500, "cancellation", RefundState.succeeded)
    at_stripe = list(stripe_client().v1.refunds.list(
        params={"payment_intent": payment.stripe_payment_intent_id}).auto_paging_iter())
    assert [r.amount for r in at_stripe] == [7500]

    # one email each, about their own session only; no cancellation email; never the reason
    mails = smtp_server.wait_for(sent_before + 2)[sent_before:]
    assert len(smtp_server.messages) == sent_before + 2
    by_person = {m["To"].addresses[0].addr_spec: m for m in mails}
    robin, sam = text_of(by_person["robin@example.org"]), text_of(by_person["sam@example.org"])
    assert by_person["robin@example.org"]["Subject"] == "Your new session with Ana Counselor"
    assert "Monday, December 7, 2026 at 10:00 AM EST" in robin and "Bea" not in robin and "11:00" not in robin
    assert by_person["sam@example.org"]["Subject"] == "Your new session with Bea Other"
    assert "Monday, December 7, 2026 at 11:00 AM EST" in sam and "Ana" not in sam
    assert f"/bookings/{sessions[0].id}?token=" in robin and str(sessions[1].id) not in robin
    assert f"/bookings/{sessions[1].id}?token=" in sam and str(sessions[0].id) not in sam
    for mail in mails:
        assert "disclosed" not in text_of(mail) and "hurt" not in text_of(mail) and "cancelled" not in mail["Subject"]

    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "booking.convert")).all()
    assert event.actor_id == desk.id and "reason" not in event.detail  # the audit log can't be erased

    # the intakes stay with the couple booking, which links to the new sessions; each new one links back
    couple_page = page(client.get(f"/staff/intakes/{booking_id}"))
    assert "This couples booking was changed into individual sessions" in couple_page
    assert "Partner violence" in couple_page or "ipv_risk" in couple_page
    for session in sessions:
        assert f"/staff/intakes/{session.id}" in couple_page
        assert f"/staff/intakes/{booking_id}" in client.get(f"/staff/intakes/{session.id}").get_data(as_text=True)
    again = client.post(f"/staff/intakes/{booking_id}/convert", data={
        "client": choice(ana, MON_10), "partner": choice(bea, MON_11), "reason": REASON,
        "version": version(booking_id)})
    assert again.status_code == 409 and "still on" in page(again)


def test_two_sessions_on_one_counselor_cannot_overlap_and_nothing_changes(client, ana, bea, desk, stripe_standin,
                                                                         smtp_server):
    booking_id, payment = paid_couple(stripe_standin, client)
    clash = client.post(f"/staff/intakes/{booking_id}/convert", data={
        "client": choice(ana, MON_10), "partner": choice(ana, MON_10), "reason": REASON,
        "version": version(booking_id)})
    assert clash.status_code == 422 and "Ana Counselor is no longer free at that time" in page(clash)
    assert REASON in page(clash)  # what was typed is kept
    couple = db.session.get(Booking, uuid.UUID(booking_id), populate_existing=True)
    assert couple.status == BookingStatus.confirmed
    assert db.session.scalars(select(Booking).where(Booking.converted_from_id == couple.id)).all() == []
    assert db.session.scalars(select(Refund)).all() == []
    no_reason = client.post(f"/staff/intakes/{booking_id}/convert", data={
        "client": choice(ana, MON_10), "partner": choice(ana, MON_11), "reason": " ", "version": version(booking_id)})
    assert no_reason.status_code == 422 and "Say why the sessions are being separated" in page(no_reason)
    # one after the other on one counselor is fine
    fine = client.post(f"/staff/intakes/{booking_id}/convert", data={
        "client": choice(ana, MON_10), "partner": choice(ana, MON_11), "reason": REASON,
        "version": version(booking_id)})
    assert fine.status_code == 303


def test_only_a_live_couple_booking_routed_away_from_joint_sessions_is_converted(client, ana, bea, desk,
                                                                                 stripe_standin):
    calm_id, _ = paid_couple(stripe_standin, client, safety=False)  # routed to couples therapy
    refused = client.post(f"/staff/intakes/{calm_id}/convert", data={
        "client": choice(ana, MON_11), "partner": choice(bea, MON_11), "reason": REASON, "version": version(calm_id)})
    assert refused.status_code == 409 and "override the recommendation first" in page(refused)
    assert db.session.get(Booking, uuid.UUID(calm_id), populate_existing=True).status == BookingStatus.confirmed

    single = booking_service.book(booking_service.BookingRequest(
        counselor="bea", service="individual-trial", start=MON_10, timezone="America/New_York",
        client=booking_service.PersonIn(name="Kim Solo", email="kim@example.org", state="NY")), now=NOW).booking
    shown = client.get(f"/staff/intakes/{single.id}/convert")
    assert "Only a couples booking can be changed into individual sessions." in page(shown)
    posted = client.post(f"/staff/intakes/{single.id}/convert", data={"reason": REASON, "version": "1"})
    assert posted.status_code == 409


def test_converting_from_an_older_page_is_refused(app, client, ana, bea, desk, stripe_standin):
    booking_id, _ = paid_couple(stripe_standin, client)
    seen = version(booking_id)
    other = app.test_client()
    sam = make_user(role="frontdesk")
    sam.name = "Sam Front"
    db.session.commit()
    with app.test_request_context():
        start_session(sam, now=clock.now())
        token = sam.session_token
    with other.session_transaction() as session:
        session["_user_id"], session["_fresh"] = token, True
    assert other.post(f"/staff/intakes/{booking_id}/decision",
                      data={"action": "accept", "version": seen}).status_code == 303
    late = client.post(f"/staff/intakes/{booking_id}/convert", data={
        "client": choice(ana, MON_10), "partner": choice(bea, MON_11), "reason": REASON, "version": seen})
    assert late.status_code == 409
    assert "Sam Front accepted the recommendation at" in page(late) and REASON in page(late)
    assert db.session.get(Booking, uuid.UUID(booking_id), populate_existing=True).status == BookingStatus.confirmed
    assert db.session.scalars(select(Refund)).all() == []


def test_a_partner_who_had_not_answered_gets_an_individual_intake_with_their_new_session(
        client, ana, bea, desk, stripe_standin, smtp_server):
    """Sam never sent the couples intake, whose link dies with the couple booking: Sam's message carries a new,
    individual one for the new session. Robin, who had answered, is asked nothing again."""
    booking_id, _ = paid_couple(stripe_standin, client)
    sent_before = len(smtp_server.messages)
    done = client.post(f"/staff/intakes/{booking_id}/convert", data={
        "client": choice(ana, MON_10), "partner": choice(bea, MON_11), "reason": REASON,
        "version": version(booking_id)})
    assert done.status_code == 303, page(done)
    mails = smtp_server.wait_for(sent_before + 2)[sent_before:]
    by_person = {m["To"].addresses[0].addr_spec: text_of(m) for m in mails}
    assert "/intake/" not in by_person["robin@example.org"]
    [link] = [line.strip() for line in by_person["sam@example.org"].splitlines() if "/intake/" in line]
    token = link.rsplit("/", 1)[1]
    opened = client.get(f"/api/v1/intakes/{token}")
    assert opened.status_code == 200 and opened.get_json()["format"] == "individual"
    sam_session = db.session.scalar(select(Booking).where(Booking.converted_from_id == uuid.UUID(booking_id),
                                                          Booking.counselor_id == bea.id))
    assert client.post(f"/api/v1/intakes/{token}", json={"answers": valid_answers()}).status_code == 201
    assert db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == sam_session.id)) is not None


def test_a_couple_booking_still_waiting_for_payment_is_not_converted(client, ana, bea, desk, stripe_standin):
    """Its sessions would be confirmed and free: cancel it instead."""
    created = booking_service.book(booking_service.BookingRequest(
        counselor="ana", service="couple-trial", start=MON_10, timezone="America/New_York",
        client=booking_service.PersonIn(name="Robin Client", email="robin@example.org", state="NY"),
        partner=booking_service.PersonIn(name="Sam Partner", email="sam@example.org")), now=NOW)
    booking_id = str(created.booking.id)
    token = created.intake_urls["client"].rsplit("/", 1)[1]
    assert client.post(f"/api/v1/intakes/{token}", json={"answers": valid_answers(safety_hurt=True)}).status_code == 201
    posted = client.post(f"/staff/intakes/{booking_id}/convert", data={
        "client": choice(ana, MON_10), "partner": choice(bea, MON_11), "reason": REASON,
        "version": version(booking_id)})
    assert posted.status_code == 409 and "waiting for payment" in page(posted)
    assert db.session.get(Booking, uuid.UUID(booking_id), populate_existing=True).status == BookingStatus.held
    assert db.session.scalars(select(Booking).where(Booking.converted_from_id == uuid.UUID(booking_id))).all() == []
