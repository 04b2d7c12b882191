"""`flask --app app seed-demo`: a realistic demo practice, the same after every run, whose accounts work."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from practice import clock
from practice.audit.models import AuditEvent
from practice.auth import service as auth_service
from practice.auth.models import User
from practice.counselors.models import Counselor, CounselorTag, License, Service
from practice.extensions import db

CREDENTIALS = re.compile(r"^\s+(\w+)\s+(\S+@demo\.practice)\s+password: (\S+)$", re.M)


def counts() -> dict[str, int]:
    from practice.booking.models import Booking, Client
    from practice.intake.models import Intake, RoutingDecision
    from practice.payments.models import Payment

    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Counselor, License, CounselorTag, Service, User, AuditEvent, Booking, Client, Intake,
                          RoutingDecision, Payment)}


@pytest.fixture
def seeded(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_demo_is_idempotent(runner, seeded):
    first = counts()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert counts() == first
    assert result.output == seeded


def test_seed_demo_sets_back_edited_demo_data(runner, seeded):
    maya = db.session.scalar(select(Counselor).where(Counselor.slug == "maya-okafor"))
    maya.headline = "Edited in a demo"
    db.session.commit()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.expire_all()
    assert maya.headline != "Edited in a demo"


def test_demo_practice_is_varied_enough_to_show_every_feature(seeded):
    counselors = db.session.scalars(select(Counselor).where(Counselor.active)).all()
    assert len(counselors) >= 6
    assert len({c.timezone for c in counselors}) >= 3
    assert len({lic.state for c in counselors for lic in c.licenses}) >= 3
    trials = [s for c in counselors for s in c.active_services if s.is_trial]
    assert {s.format for s in trials} == {"individual", "couple"}
    assert any(s.price == 0 for s in trials) and any(s.price > 0 for s in trials)
    assert all(any(not s.is_trial for s in c.active_services) for c in counselors)  # a regular session each
    assert all(any(s.is_trial for s in c.active_services) for c in counselors)
    assert any(c.formats == ["individual"] for c in counselors)
    assert any(c.formats == ["couple"] for c in counselors)
    assert any("partner_violence" in c.specialties for c in counselors)
    assert any("discernment" in c.modalities for c in counselors)
    assert any(set(c.languages) - {"en"} for c in counselors)
    assert all(len(c.bio) > 200 and "\n\n" in c.bio for c in counselors)


def test_demo_data_is_served_by_the_api(client, seeded):
    body = client.get("/api/v1/counselors?modality=discernment").get_json()
    assert [c["slug"] for c in body["counselors"]] == ["priya-raman"]


def test_printed_credentials_sign_in(app, client, auth, seeded):
    accounts = CREDENTIALS.findall(seeded)
    assert {role for role, _, _ in accounts} == {"admin", "frontdesk", "counselor"}
    assert "Sign in at http://practice.test/staff/login" in seeded
    for role, email, password in accounts:
        user = auth_service.authenticate(email, password, now=clock.now())
        assert user is not None and user.role == role
    admin_email, admin_password = next((e, p) for role, e, p in accounts if role == "admin")
    response = auth.login(admin_email, admin_password)
    assert response.status_code == 302
    assert client.get("/staff/counselors").status_code == 200


def test_demo_counselor_account_edits_its_own_profile(client, auth, seeded):
    email, password = next((e, p) for role, e, p in CREDENTIALS.findall(seeded) if role == "counselor")
    assert auth.login(email, password).status_code == 302
    own = db.session.scalar(select(User).where(User.email == email)).counselor
    assert client.get(f"/staff/counselors/{own.slug}/edit").status_code == 200
    other = db.session.scalar(select(Counselor).where(Counselor.id != own.id).limit(1))
    assert client.get(f"/staff/counselors/{other.slug}/edit").status_code == 403


def test_demo_counselors_have_hours_time_off_and_bookings(client, seeded, runner):
    from practice.booking.models import Booking
    from practice.scheduling.models import TimeOff, WeeklyHours

    counts = {model: db.session.scalar(select(func.count()).select_from(model))
              for model in (Booking, TimeOff, WeeklyHours)}
    assert all(counts.values()), counts
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts == {model: db.session.scalar(select(func.count()).select_from(model)) for model in counts}
    for slug in ("maya-okafor", "daniel-reyes", "hana-seo"):
        slots = client.get(f"/api/v1/counselors/{slug}/slots?tz=America/Chicago").get_json()["slots"]
        assert slots, slug
        assert all(slot["start"].endswith(("-06:00", "-05:00")) for slot in slots)


# --- the demo day ---------------------------------------------------------------------------------------

def sign_in_as(auth, seeded, role):
    email, password = next((e, p) for r, e, p in CREDENTIALS.findall(seeded) if r == role)
    assert auth.login(email, password).status_code == 302


def queue_rows(client) -> list[str]:
    """The queue's rows as a reader sees them (no tags)."""
    page = client.get("/staff/intakes")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    tbody = body[body.index("<tbody"):body.index("</tbody>")]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in tbody.split("<tr")[1:]]


def test_the_demo_day_queue_has_the_urgent_intake_first_and_every_kind_of_case(client, auth, seeded):
    from practice.intake.models import RoutingDecision

    sign_in_as(auth, seeded, "frontdesk")
    rows = queue_rows(client)
    assert len(rows) >= 5
    assert "Urgent" in rows[0] and "Dana Whitfield" in rows[0]
    assert not any("Urgent" in row for row in rows[1:])
    assert any("Partial" in row and "Priyanka Shah" in row for row in rows)
    decisions = db.session.scalars(select(RoutingDecision)).all()
    assert {d.track for d in decisions} >= {"safety_review", "couples", "discernment", "individual"}
    urgent = [d for d in decisions if d.urgent]
    assert len(urgent) == 1 and "ipv_risk" in {f["code"] for f in urgent[0].flags}
    assert sum(d.partial for d in decisions) == 1


def test_the_demo_day_has_sessions_today_this_week_and_just_past(seeded):
    from datetime import datetime, timedelta, timezone

    from practice.booking.models import Booking, BookingStatus

    zone = clock.practice_zone()
    today = clock.now().astimezone(zone).date()
    midnight = datetime.combine(today, datetime.min.time(), zone).astimezone(timezone.utc)
    bookings = db.session.scalars(select(Booking).where(Booking.status == BookingStatus.confirmed)).all()
    todays = [b for b in bookings if midnight <= b.starts_at < midnight + timedelta(days=1)]
    assert len({b.counselor_id for b in todays}) >= 3
    assert {b.service.format for b in todays} == {"individual", "couple"}
    this_week = [b for b in bookings if midnight + timedelta(days=1) <= b.starts_at < midnight + timedelta(days=7)]
    assert len(this_week) >= 3
    past = [b for b in bookings if b.starts_at < midnight]
    assert len(past) >= 3  # for front desk to mark attended or missed


def test_demo_intake_answers_are_stored_encrypted(seeded):
    from sqlalchemy import text

    from practice.intake.models import Intake

    submitted = db.session.scalars(select(Intake).where(Intake.submitted_at.is_not(None))).all()
    assert len(submitted) == 7  # both partners of two couples, one of a third, and two people on their own
    words = "He reads my messages"
    assert any(words in (i.answers.get("in_own_words") or "") for i in submitted)
    raw = db.session.execute(text("SELECT answers FROM intake")).scalars().all()
    assert raw and not any(words.encode() in bytes(value) for value in raw if value is not None)


def test_without_a_stripe_stand_in_the_demo_makes_no_paid_session_and_says_so(seeded):
    from practice.payments.models import Payment

    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert "No paid sessions were made" in seeded


class TestWithTheStripeStandIn:
    @pytest.fixture
    def app_config(self, app_config, stripe_standin):
        from tests.conftest import stripe_config

        # inline: the refund is sent to Stripe before the request returns, so the test sees where it ended
        return {**app_config, **stripe_config(stripe_standin), "MAIL_DELIVERY": "inline"}

    def test_paid_demo_sessions_are_paid_at_the_stand_in_and_front_desk_refunds_one(self, client, auth, seeded,
                                                                                   runner):
        from practice.payments.models import Payment, PaymentStatus, Refund, RefundState
        from practice.payments.stripe_api import client as stripe_client

        assert "No paid sessions were made" not in seeded
        paid = db.session.scalars(select(Payment).order_by(Payment.id)).all()
        assert len(paid) == 2 and all(p.status == PaymentStatus.succeeded for p in paid)
        assert all(p.booking.status.value == "confirmed" for p in paid)
        intent = stripe_client().v1.payment_intents.retrieve(paid[0].stripe_payment_intent_id)
        assert (intent.status, intent.amount) == ("succeeded", paid[0].amount)

        again = runner.invoke(args=["seed-demo"])  # the stand-in still has them: nothing new
        assert again.exit_code == 0, again.output
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 2

        sign_in_as(auth, seeded, "frontdesk")
        booking_id = paid[0].booking_id
        assert client.get(f"/staff/bookings/{booking_id}/refund").status_code == 200
        sent = client.post(f"/staff/bookings/{booking_id}/refund",
                           data={"how_much": "all", "reason": "The couple moved away.", "request_key": "demo-1"})
        assert sent.status_code == 302, sent.get_data(as_text=True)
        db.session.rollback()
        [refund] = db.session.scalars(select(Refund)).all()
        assert (refund.state, refund.amount) == (RefundState.succeeded, paid[0].amount)
        assert stripe_client().v1.refunds.retrieve(refund.stripe_refund_id).status == "succeeded"


def test_front_desk_closes_the_demo_days_past_sessions(client, auth, seeded):
    from practice.booking.models import Booking, BookingStatus, Client, Participant

    def booking_of(email):
        return db.session.scalar(select(Booking).join(Participant).join(Client).where(Client.email == email))

    sign_in_as(auth, seeded, "frontdesk")
    for email, outcome, status in (("rosa.delgado@example.org", "completed", BookingStatus.completed),
                                   ("ethan.cole@example.org", "no_show", BookingStatus.no_show)):
        booking = booking_of(email)
        assert booking.status == BookingStatus.confirmed and booking.starts_at < clock.now()
        sent = client.post(f"/staff/bookings/{booking.id}/attendance",
                           data={"outcome": outcome, "sequence": booking.ics_sequence})
        assert sent.status_code == 303, sent.get_data(as_text=True)
        db.session.expire_all()
        assert booking_of(email).status == status
