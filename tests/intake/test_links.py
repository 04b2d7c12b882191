"""Every person on a booking gets an intake link of their own: by email, and from their booking page."""
from __future__ import annotations

import uuid
from datetime import timedelta

from flask import render_template
from sqlalchemy import select

from practice.booking.models import Booking
from practice.booking.tokens import hash_token
from practice.extensions import db
from practice.intake.models import Intake
from tests.intake.helpers import book, text_of, valid_answers


def test_each_person_gets_their_own_link_by_email(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    assert set(booked.intake) == {"client", "partner"}
    assert booked.intake["client"] != booked.intake["partner"]
    for role, token in booked.intake.items():
        body = client.get(f"/api/v1/intakes/{token}").get_json()
        assert body["role"] == role and body["format"] == "couple" and body["submitted"] is False
    # Stored only as hashes.
    hashes = set(db.session.scalars(select(Intake.token_hash)))
    assert hashes == {hash_token(t) for t in booked.intake.values()}
    assert not hashes & set(booked.intake.values())
    # The partner's email says their questionnaire is their own.
    partner_mail = next(m for m in smtp_server.messages if "sam@example.org" in str(m["To"]))
    assert "neither of you sees the other's answers" in text_of(partner_mail)


def test_an_individual_booking_gets_one_link(client, counselor, smtp_server):
    booked = book(client, smtp_server, service="individual-trial")
    assert set(booked.intake) == {"client"}
    assert client.get(f"/api/v1/intakes/{booked.intake['client']}").get_json()["format"] == "individual"


def test_booking_page_button_gives_a_fresh_link_of_ones_own(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    response = client.post(f"/intake/from-booking/{booked.id}", data={"token": booked.manage["partner"]})
    assert response.status_code == 303
    fresh = response.headers["Location"].rsplit("/intake/", 1)[1]
    assert client.get(f"/api/v1/intakes/{fresh}").get_json()["role"] == "partner"
    # The older link of that person was replaced; the other person's still works.
    assert client.get(f"/api/v1/intakes/{booked.intake['partner']}").status_code == 404
    assert client.get(f"/api/v1/intakes/{booked.intake['client']}").get_json()["role"] == "client"


def test_a_held_booking_has_intakes_reached_from_the_booking_page(client, counselor):
    counselor.services[1].price = 7500
    db.session.commit()
    booked = book(client)  # held until paid: no email yet
    assert db.session.scalar(select(db.func.count()).select_from(Intake)) == 2
    response = client.post(f"/intake/from-booking/{booked.id}", data={"token": booked.manage["client"]})
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Step 1 of 8" in page.get_data(as_text=True)


def test_the_button_refuses_a_wrong_booking_link(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    response = client.post(f"/intake/from-booking/{booked.id}", data={"token": "x" * 32})
    assert response.status_code == 404
    assert "doesn&#39;t open a questionnaire" in response.get_data(as_text=True)
    # A GET never issues anything (mail scanners open links).
    assert client.get(f"/intake/from-booking/{booked.id}?token={booked.manage['client']}").status_code == 405


def test_unknown_expired_and_cancelled_links(client, counselor, smtp_server, frozen_clock):
    booked = book(client, smtp_server)
    assert client.get("/api/v1/intakes/" + "a" * 32).status_code == 404
    assert client.get("/intake/" + "a" * 32).status_code == 404
    assert client.get("/intake/not-a-token").status_code == 404
    token = booked.intake["client"]
    # Links live 30 days from issue (longer than a day after this session, a week away).
    frozen_clock["now"] += timedelta(days=29)
    assert client.get(f"/api/v1/intakes/{token}").status_code == 200
    frozen_clock["now"] += timedelta(days=2)
    assert client.get(f"/api/v1/intakes/{token}").get_json() == {"error": "expired"}
    assert client.get(f"/api/v1/intakes/{token}").status_code == 410
    page = client.get(f"/intake/{token}")
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)


def test_a_cancelled_bookings_intake_is_closed(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    assert client.post(f"/api/v1/bookings/{booked.id}/cancel",
                       json={"token": booked.manage["client"]}).status_code == 200
    response = client.get(f"/api/v1/intakes/{booked.intake['partner']}")
    assert response.status_code == 410 and response.get_json() == {"error": "booking_cancelled"}


def test_intake_pages_are_not_cached_nor_referred(client, counselor, smtp_server):
    booked = book(client, smtp_server)
    for url in (f"/intake/{booked.intake['client']}", f"/api/v1/intakes/{booked.intake['client']}"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store"
    assert client.get(f"/intake/{booked.intake['client']}").headers["Referrer-Policy"] == "no-referrer"


def test_manage_page_partial_shows_only_this_persons_questionnaire(app, client, counselor, smtp_server):
    booked = book(client, smtp_server)
    client.post(f"/api/v1/intakes/{booked.intake['client']}", json={"answers": valid_answers()})
    booking = db.session.get(Booking, uuid.UUID(booked.id))
    context = dict(b=booking, client=booking.participant("client"), partner=booking.participant("partner"),
                   embed=False)
    with app.test_request_context():
        partner_part = render_template("intake/_manage_link.html", role="partner", token="PARTNER-TOKEN", **context)
        client_part = render_template("intake/_manage_link.html", role="client", token="CLIENT-TOKEN", **context)
    assert f'action="/intake/from-booking/{booked.id}"' in partner_part and "PARTNER-TOKEN" in partner_part
    assert "Start my private questionnaire" in partner_part  # the client's sending changes nothing here
    assert "your answers were sent" in client_part and "CLIENT-TOKEN" not in client_part
