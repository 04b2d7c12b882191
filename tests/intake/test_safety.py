"""suicide_acute: online booking is refused for that person until staff act, and front desk is alerted by an
email that carries no health information."""
from __future__ import annotations

from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.extensions import db
from practice.intake.models import SelfBookingBlock
from practice.notify.models import OutboxMessage
from tests.intake.conftest import ALERT_EMAIL
from tests.intake.helpers import MON_11, book, html_of, text_of, valid_answers

ACUTE = dict(suicide_wished_dead=True, suicide_thoughts=True, suicide_now=True,
             in_own_words="I can't see a way through this.")
# Words that would tell a reader of the alert what the intake says.
TELLING = ("suicid", "kill", "dead", "crisis", "988", "safety", "acute", "risk", "flag", "answer",
           "Robin", "Sam", "robin@", "sam@", "way through")


def alert_mails(smtp_server):
    return [m for m in smtp_server.messages if ALERT_EMAIL in str(m["To"])]


def test_suicide_acute_blocks_that_persons_online_booking_and_alerts_front_desk(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    response = client.post(f"/api/v1/intakes/{booked.intake['partner']}", json={"answers": valid_answers(**ACUTE)})
    assert response.status_code == 201 and "crisis_resources" in response.get_json()

    [block] = db.session.scalars(select(SelfBookingBlock)).all()
    assert block.email == "sam@example.org" and block.reason == "staff_review" and block.lifted_at is None

    [alert] = alert_mails(smtp_server)
    assert alert["Subject"] == "An intake needs attention"
    staff_url = f"http://practice.test/staff/intakes/{booked.id}"
    for body in (text_of(alert), html_of(alert), alert["Subject"]):
        assert staff_url in body or body == alert["Subject"]
        # The booking's id is random hex, which can spell "dead": the link is checked above, the words without it.
        words = body.replace(staff_url, "").lower()
        for word in TELLING:
            assert word.lower() not in words, word
    assert "intake.alert_queued" in db.session.scalars(select(AuditEvent.action)).all()

    # The blocked person can't book online; the message is kind and says what to do.
    refused = client.post("/api/v1/bookings", json={
        "counselor": "ana", "service": "individual-trial", "start": MON_11, "timezone": "America/New_York",
        "client": {"name": "Sam Partner", "email": "Sam@Example.org", "state": "NY"}})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"client.email": [
        "We'd like to talk with you before you book online again. Please call the practice, and we'll find the "
        "right time with you."]}
    # The other partner books as usual, even with the blocked partner on a couples booking: refusing would tell
    # them something about their partner's answers.
    assert book(client, start=MON_11).id


def test_staff_lift_the_block(client, counselor, smtp_server, frontdesk, sign_in):
    booked = book(client, smtp_server)
    client.post(f"/api/v1/intakes/{booked.intake['client']}", json={"answers": valid_answers(**ACUTE)})
    sign_in(frontdesk)
    page = client.get(f"/staff/intakes/{booked.id}").get_data(as_text=True)
    assert "Online booking is blocked for 1 person" in page
    assert client.post(f"/staff/intakes/{booked.id}/lift-block").status_code == 303
    assert db.session.scalar(select(SelfBookingBlock.lifted_by_id)) == frontdesk.id
    assert "intake.block_lifted" in db.session.scalars(select(AuditEvent.action)).all()
    again = client.post("/api/v1/bookings", json={
        "counselor": "ana", "service": "individual-trial", "start": MON_11, "timezone": "America/New_York",
        "client": {"name": "Robin Client", "email": "robin@example.org", "state": "NY"}})
    assert again.status_code == 201


def test_risk_without_acute_thoughts_is_urgent_but_blocks_nothing(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    client.post(f"/api/v1/intakes/{booked.intake['client']}",
                json={"answers": valid_answers(suicide_attempt_ever=True, suicide_now=False)})
    assert db.session.scalars(select(SelfBookingBlock)).all() == []
    assert alert_mails(smtp_server) == []


def test_no_alert_address_still_blocks_and_queues_nothing(client, counselor, smtp_server, app):
    app.config["ALERT_EMAIL"] = ""
    booked = book(client, smtp_server)
    before = db.session.scalar(select(db.func.count()).select_from(OutboxMessage))
    client.post(f"/api/v1/intakes/{booked.intake['client']}", json={"answers": valid_answers(**ACUTE)})
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == before
    assert len(db.session.scalars(select(SelfBookingBlock)).all()) == 1
