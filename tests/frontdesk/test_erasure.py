"""Deleting a client's record under the retention rule: when the rule allows it and when not (with the date it
will), what is left in the database afterwards (nothing that names the person; the partner's intake and the
payments stay), and the audit trail."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from practice.audit.models import AuditEvent
from practice.booking.models import BookingStatus, Client, LinkRequest, ManageToken, Participant
from practice.core.retention import BookingFacts, add_years, may_erase
from practice.extensions import db
from practice.intake.erasure import ERASED_REASON
from practice.intake.models import Intake, RoutingDecision, SelfBookingBlock
from practice.intake.service import route_booking
from practice.notify.models import OutboxMessage
from practice.payments.models import GoodFaithEstimate, Payment, PaymentStatus, Refund, RefundState
from tests.answers import valid_answers
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.frontdesk.test_clients import (BOOKER_WORDS, PARTNER_WORDS, answer, client_id, events, make_booking,
                                          message, page_text, signed_in)

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


# --- the rule, on its own ----------------------------------------------------------------------------------

def facts(status, ended, *, live=False):
    return BookingFacts(status=status, starts_at=ended - timedelta(hours=1), ends_at=ended, live=live)


def test_the_rule_at_its_boundaries():
    years = 7
    open_one = may_erase([facts("confirmed", NOW + timedelta(days=3), live=True)], now=NOW, years=years)
    assert not open_one.allowed and "open booking" in open_one.reason and open_one.possible_from is None
    assert may_erase([], now=NOW, years=years).allowed
    never_came = may_erase([facts("cancelled", NOW - timedelta(days=2)), facts("held", NOW + timedelta(days=2))],
                           now=NOW, years=years)  # a hold that ran out is not live
    assert never_came.allowed and "never had a session" in never_came.reason
    six = may_erase([facts("completed", datetime(2020, 12, 1, 16, tzinfo=timezone.utc))], now=NOW, years=years)
    assert not six.allowed and six.possible_from == datetime(2027, 12, 1, 16, tzinfo=timezone.utc)
    assert "may be deleted from 2027-12-01" in six.reason
    eight = may_erase([facts("no_show", datetime(2018, 11, 30, tzinfo=timezone.utc)),
                       facts("cancelled", NOW - timedelta(days=30))], now=NOW, years=years)
    assert eight.allowed and "2018-11-30" in eight.reason
    just = datetime(2019, 12, 1, 15, tzinfo=timezone.utc)  # exactly seven years: not yet "more than"
    assert not may_erase([facts("completed", just)], now=NOW, years=years).allowed
    assert may_erase([facts("completed", just - timedelta(seconds=1))], now=NOW, years=years).allowed
    assert add_years(datetime(2024, 2, 29, tzinfo=timezone.utc), 7) == datetime(2031, 3, 1, tzinfo=timezone.utc)


# --- through the pages ---------------------------------------------------------------------------------------

@pytest.fixture
def admin(app):
    return make_user(role="admin")


@pytest.fixture
def ana(app):
    return make_counselor(slug="ana", name="Ana Example")


def person_with(counselor, *, status, start, email="lee@example.org", name="Lee Person"):
    booking = make_booking(counselor, "individual-trial", start=start, status=status,
                           people=[("client", name, email)])
    return booking, client_id(booking)


def test_an_open_booking_refuses_deletion_and_says_why(app, admin, ana):
    person_with(ana, status=BookingStatus.completed, start=NOW - timedelta(days=9 * 365))
    _, lee = person_with(ana, status=BookingStatus.confirmed, start=NOW + timedelta(days=3))
    viewer = signed_in(app, admin)
    page = page_text(viewer.get(f"/staff/clients/{lee}/delete"))
    assert "The rule does not allow it yet." in page and "1 open booking (the first on 2026-12-04, confirmed)" in page
    assert 'name="reason"' not in page  # no form to send
    refused = viewer.post(f"/staff/clients/{lee}/delete", data={"email": "lee@example.org", "reason": "asked"})
    assert refused.status_code == 422
    assert "The record was not deleted." in page_text(refused) and "open booking" in page_text(refused)
    assert db.session.get(Client, lee).name == "Lee Person" and events("client.erase") == []
    assert "can't be deleted yet" in page_text(viewer.get(f"/staff/clients/{lee}"))


def test_a_session_six_years_ago_is_kept_until_the_date_the_page_gives(app, admin, ana):
    _, lee = person_with(ana, status=BookingStatus.completed, start=NOW - timedelta(days=6 * 365))
    viewer = signed_in(app, admin)
    page = page_text(viewer.get(f"/staff/clients/{lee}/delete"))
    assert "Records are kept for 7 years after the last session, so this one may be deleted from 2027-12-02." in page
    response = viewer.post(f"/staff/clients/{lee}/delete", data={"email": "lee@example.org", "reason": "asked"})
    assert response.status_code == 422 and "may be deleted from 2027-12-02" in page_text(response)
    assert db.session.get(Client, lee).erased_at is None


def test_a_session_eight_years_ago_may_be_deleted(app, admin, ana):
    _, lee = person_with(ana, status=BookingStatus.no_show, start=NOW - timedelta(days=8 * 365))
    viewer = signed_in(app, admin)
    page = page_text(viewer.get(f"/staff/clients/{lee}/delete"))
    assert "The rule allows it." in page and "more than 7 years ago" in page
    response = viewer.post(f"/staff/clients/{lee}/delete", data={"email": "LEE@example.org ", "reason": "retention"})
    assert response.status_code == 303
    assert db.session.get(Client, lee).erased_at == NOW


def test_the_retention_period_is_a_setting(app, admin, ana):
    _, lee = person_with(ana, status=BookingStatus.completed, start=NOW - timedelta(days=6 * 365))
    app.config["RECORD_RETENTION_YEARS"] = 5
    assert "more than 5 years ago" in page_text(signed_in(app, admin).get(f"/staff/clients/{lee}/delete"))


def test_a_prospective_client_is_deleted_at_once_once_confirmed_with_email_and_reason(app, admin, ana):
    _, lee = person_with(ana, status=BookingStatus.cancelled, start=NOW + timedelta(days=5))
    viewer = signed_in(app, admin)
    assert "never had a session" in page_text(viewer.get(f"/staff/clients/{lee}/delete"))
    wrong = viewer.post(f"/staff/clients/{lee}/delete", data={"email": "lee@example.com", "reason": "asked"})
    assert wrong.status_code == 422 and "That is not this person's email address." in page_text(wrong)
    no_reason = viewer.post(f"/staff/clients/{lee}/delete", data={"email": "lee@example.org", "reason": " "})
    assert no_reason.status_code == 422 and "Say why the record is being deleted." in page_text(no_reason)
    assert db.session.get(Client, lee).erased_at is None and events("client.erase") == []
    done = viewer.post(f"/staff/clients/{lee}/delete", data={"email": "lee@example.org", "reason": "asked by phone"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/staff/clients/{lee}")
    shown = page_text(viewer.get(done.headers["Location"]))
    assert "The record was deleted." in shown and "deleted on 2026-12-01" in shown and "Lee Person" not in shown


# --- what erasure leaves -----------------------------------------------------------------------------------------

@pytest.fixture
def couple_history(app, ana):
    """Robin booked a couple session with Sam (cancelled after both answered; paid and partly refunded; an
    estimate), years after an individual session (completed, answered and routed, more than 7 years ago). Mail
    went to both; Robin asked for links again and is blocked from online booking."""
    old = make_booking(ana, "individual-trial", start=NOW - timedelta(days=8 * 365), status=BookingStatus.completed,
                       people=[("client", "Robin Earlier", "robin@example.org")])
    answer(old, "client", valid_answers(in_own_words=BOOKER_WORDS))
    route_booking(old, now=NOW - timedelta(days=8 * 365))
    couple = make_booking(ana, "couple-trial", start=NOW - timedelta(days=20), status=BookingStatus.cancelled,
                          people=[("client", "Robin Client", "robin@example.org"),
                                  ("partner", "Sam Partner", "sam@example.org")])
    answer(couple, "client", valid_answers(phq2_1=3, phq2_2=2, commitment="leaning_out", in_own_words=BOOKER_WORDS))
    answer(couple, "partner", valid_answers(substance_concern=True, in_own_words=PARTNER_WORDS))
    decision = route_booking(couple, now=NOW)
    decision.override_track, decision.override_reason = "individual", "Robin told us: walnut-ferry-2288"
    couple.cancelled_by, couple.cancel_reason = "client", "my plans changed: cedar-pond-6120"
    payment = Payment(booking_id=couple.id, amount=7500, currency="USD", status=PaymentStatus.partially_refunded,
                      amount_refunded=2500, succeeded_at=NOW - timedelta(days=25), stripe_payment_intent_id="pi_9")
    db.session.add(payment)
    db.session.flush()
    db.session.add_all([
        Refund(payment_id=payment.id, amount=2500, kind="cancellation", requested_by="client",
               state=RefundState.succeeded, completed_at=NOW - timedelta(days=21)),
        GoodFaithEstimate(booking_id=couple.id, content={"client": {"name": "Robin Client"}}, issued_at=NOW),
        LinkRequest(email="Robin@Example.org", requested_at=NOW),
        SelfBookingBlock(email="robin@example.org", reason="staff_review"),
    ])
    db.session.commit()
    message("robin@example.org")
    message("ROBIN@example.org", "session_reminder")
    message("sam@example.org")
    return {"old": old, "couple": couple}


def everything_in_the_database() -> str:
    """Every row of every table as text, encrypted columns decrypted (their column types do that)."""
    out = []
    for table in db.metadata.sorted_tables:
        out.extend(repr(tuple(row)) for row in db.session.execute(select(table)))
    return "\n".join(out)


def test_erasure_leaves_nothing_of_the_person_but_keeps_the_partner_and_the_money(app, admin, couple_history):
    couple, old = couple_history["couple"], couple_history["old"]
    robin, sam = client_id(couple), client_id(couple, "partner")
    robin_places = [couple.participant("client").id, old.participant("client").id]
    before = everything_in_the_database()
    assert "robin@example.org" in before.lower() and BOOKER_WORDS in before  # the scan does see them

    viewer = signed_in(app, admin)
    response = viewer.post(f"/staff/clients/{robin}/delete",
                           data={"email": "robin@example.org", "reason": "asked by email"})
    assert response.status_code == 303
    db.session.expire_all()

    after = everything_in_the_database()
    assert "robin" not in after.lower() and BOOKER_WORDS not in after
    assert "walnut-ferry-2288" not in after  # staff's written override reason spoke of them
    assert "cedar-pond-6120" not in after  # nor their own reason for cancelling
    records = db.session.scalars(select(Client).where(Client.id.in_([client_id(old), robin]))).all()
    assert {(c.name, c.email, c.phone, c.state, c.erased_at) for c in records} == {
        ("Deleted client", "", "", None, NOW)}
    assert db.session.scalar(select(func.count()).select_from(Intake)
                             .where(Intake.participant_id.in_(robin_places))) == 0
    assert db.session.scalar(select(func.count()).select_from(ManageToken)
                             .where(ManageToken.participant_id.in_(robin_places))) == 0
    assert db.session.scalar(select(func.count()).select_from(LinkRequest)) == 0
    assert db.session.scalar(select(func.count()).select_from(SelfBookingBlock)) == 0
    assert db.session.scalar(select(func.count()).select_from(GoodFaithEstimate)) == 0

    # The partner keeps her record, her intake and her links; the booking keeps its payment and refund.
    partner = db.session.get(Client, sam)
    assert (partner.name, partner.email, partner.erased_at) == ("Sam Partner", "sam@example.org", None)
    sams_intake = db.session.scalar(select(Intake).where(Intake.participant_id == couple.participant("partner").id))
    assert sams_intake.answers["in_own_words"] == PARTNER_WORDS
    assert db.session.scalar(select(func.count()).select_from(ManageToken)
                             .where(ManageToken.participant_id == couple.participant("partner").id)) == 1
    assert [m.to_email for m in db.session.scalars(select(OutboxMessage))] == ["sam@example.org"]
    payment = db.session.scalar(select(Payment).where(Payment.booking_id == couple.id))
    assert (payment.amount, payment.amount_refunded, payment.stripe_payment_intent_id) == (7500, 2500, "pi_9")
    assert [r.amount for r in payment.refunds] == [2500]

    # The couple's decision stays for Sam, without anything that came from Robin; the old one is gone.
    assert db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == old.id)) is None
    decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == couple.id))
    assert decision.flags and all(f["partner"] == 1 for f in decision.flags)
    assert "substance_concern" in {f["code"] for f in decision.flags}
    assert {"depression_screen", "mixed_agenda"}.isdisjoint(f["code"] for f in decision.flags)
    assert all(values[0] is None and values[1] is not None for values in decision.scores.values())
    assert decision.reasons[-1] == ERASED_REASON
    assert not any("partner 1" in reason for reason in decision.reasons)
    assert decision.track and decision.override_track == "individual"

    # Audited with the reason and the counts; no audit entry names the person.
    erase = events("client.erase")
    assert len(erase) == 1 and erase[0].record_id == str(robin) and erase[0].actor_id == admin.id
    assert erase[0].detail == {"reason": "asked by email", "bookings": 2, "client_records": 2, "manage_links": 2,
                               "link_requests": 1, "cancel_reasons": 1, "intakes": 2, "self_booking_blocks": 1,
                               "routing_decisions_deleted": 1, "routing_decisions_trimmed": 1, "estimates": 1,
                               "messages": 2}
    for event in db.session.scalars(select(AuditEvent)):
        assert "robin" not in (json.dumps(event.detail) + event.record_id + event.actor).lower()

    # Afterwards: admins see when it was deleted, a counselor nothing, search finds no one, no export.
    assert "deleted on 2026-12-01" in page_text(viewer.get(f"/staff/clients/{robin}"))
    assert viewer.get(f"/staff/clients/{robin}/export").status_code == 404
    assert "Nobody matches" in page_text(viewer.get("/staff/clients?q=deleted"))
    counselor = signed_in(app, make_user(role="counselor", counselor=couple.counselor))
    assert counselor.get(f"/staff/clients/{robin}").status_code == 404
    assert counselor.get(f"/staff/clients/{sam}").status_code == 200
    sam_page = page_text(viewer.get(f"/staff/clients/{sam}"))
    assert "Deleted client" not in sam_page and "Robin" not in sam_page


def test_when_both_partners_are_erased_the_decision_goes(app, admin, couple_history):
    couple = couple_history["couple"]
    viewer = signed_in(app, admin)
    for role, email in (("partner", "sam@example.org"), ("client", "robin@example.org")):
        response = viewer.post(f"/staff/clients/{client_id(couple, role)}/delete",
                               data={"email": email, "reason": "asked"})
        assert response.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(RoutingDecision)) == 0
    assert db.session.scalar(select(func.count()).select_from(Intake)) == 0
    assert db.session.scalar(select(func.count()).select_from(Participant)) == 3  # the bookings keep their places
    assert [e.detail["routing_decisions_trimmed"] for e in events("client.erase")] == [1, 0]
    assert [e.detail["routing_decisions_deleted"] for e in events("client.erase")] == [0, 2]


def test_the_retention_period_is_read_from_the_environment_and_checked(monkeypatch, tmp_path):
    from config import ConfigError
    from practice import create_app
    from tests.conftest import _base_config

    def build():
        return create_app(_base_config(tmp_path, f"sqlite:///{tmp_path}/unused.sqlite3"))

    assert build().config["RECORD_RETENTION_YEARS"] == 7
    monkeypatch.setenv("RECORD_RETENTION_YEARS", "10")
    assert build().config["RECORD_RETENTION_YEARS"] == 10
    for bad in ("0", "seven"):
        monkeypatch.setenv("RECORD_RETENTION_YEARS", bad)
        with pytest.raises(ConfigError, match="RECORD_RETENTION_YEARS"):
            build()
