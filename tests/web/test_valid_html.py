"""Every page a visitor or staff member can reach is valid HTML (tests/web/html_check.py: html5lib parses it
without error, ids are unique, every id reference and label points at something on the page).

The pages are those of the demo practice on SQLite, as `make run` serves it, in each state a person can see them
in: with and without filters, with a form's errors, a booking held, paid, moved and cancelled, an intake part
answered, under review and sent, and the staff pages of each role.
"""
from __future__ import annotations

import re
import shutil
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from practice import clock, create_app
from practice.booking.models import Booking, Client
from practice.core.intake import load_items
from practice.database import dispose_engines
from practice.demo import DEMO_STAFF
from practice.extensions import db
from practice.payments.stripe_api import close as close_stripe
from tests.answers import valid_answers
from tests.conftest import _base_config, stripe_config
from tests.web.html_check import problems

STAFF = {person.role: person for person in DEMO_STAFF}


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, sqlite_template, stripe_standin):
    tmp = tmp_path_factory.mktemp("valid-html")
    db_path = tmp / "demo.sqlite3"
    shutil.copyfile(sqlite_template, db_path)
    config = _base_config(tmp, f"sqlite:///{db_path}")
    config.update(stripe_config(stripe_standin))
    app = create_app(config)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    yield app
    dispose_engines(app)
    close_stripe(app)


def check(client, url: str, status: int = 200, *, method: str = "get", data=None, json=None, found=None) -> str:
    """Open the page, check it is the page meant (by its status) and record what is wrong with its HTML."""
    # Pages are read as served, with their CSRF fields (several forms on a page must not repeat an id); forms are
    # sent without a token, as everywhere in the tests (tests/test_security.py proves the check).
    client.application.config["WTF_CSRF_ENABLED"] = method == "get"
    try:
        response = client.open(url, method=method.upper(), data=data, json=json)
    finally:
        client.application.config["WTF_CSRF_ENABLED"] = False
    html = response.get_data(as_text=True)
    assert response.status_code == status, f"{method.upper()} {url}: {response.status_code}\n{html[:600]}"
    assert response.mimetype == "text/html", url
    wrong = problems(html)
    if wrong and found is not None:
        found[f"{method.upper()} {url} ({status})"] = wrong
    return html


def slots(client, slug: str, service: str) -> list[str]:
    today = date.today()
    found = client.get(f"/api/v1/counselors/{slug}/slots?service={service}&from={today + timedelta(days=1)}"
                       f"&to={today + timedelta(days=40)}&tz=America/Chicago").get_json()["slots"]
    assert found, f"the demo gives {slug} open times"
    return [slot["start"] for slot in found]


def book(client, slug: str, service: str, start: str, *, partner: bool, state: str) -> tuple[str, str]:
    """A booking through the API: (its id, the client's manage token)."""
    body = {"counselor": slug, "service": service, "start": start, "timezone": "America/Chicago",
            "client": {"name": "Iris Moreno", "email": f"iris.{uuid.uuid4().hex[:6]}@example.org", "state": state}}
    if state == "IL":  # a paid one: the client pays themselves, and so has a good-faith estimate
        body.update(insurance="self_pay", date_of_birth="1987-02-11")
    if partner:
        body["partner"] = {"name": "Jon Moreno", "email": f"jon.{uuid.uuid4().hex[:6]}@example.org"}
    made = client.post("/api/v1/bookings", json=body)
    assert made.status_code == 201, made.get_json()
    answer = made.get_json()
    return answer["id"], answer["manage_url"].split("token=")[1]


def intake_token(client, booking_id: str, token: str) -> str:
    opened = client.post(f"/intake/from-booking/{booking_id}", data={"token": token})
    assert opened.status_code == 303
    return opened.headers["Location"].rsplit("/intake/", 1)[1]


def test_every_public_page_is_valid_html(demo_app):
    client = demo_app.test_client()
    found = {}
    free_couple = slots(client, "lucia-fernandez", "couple-trial")
    paid = slots(client, "wei-zhang", "couple-trial")

    for url in ("/", "/counselors", "/counselors?format=couple&state=CA&language=es",
                "/counselors?specialty=nonsense", "/counselors?state=AK", "/counselors/lucia-fernandez",
                "/counselors/wei-zhang", "/book/lucia-fernandez", "/book/lucia-fernandez?service=couple-trial",
                "/book/wei-zhang?service=couple-trial&tz=Europe/Paris", "/book/wei-zhang?tz=Nowhere/Else",
                "/book/first-available", "/book/first-available?format=couple&state=IL", "/policies",
                "/bookings/resend", "/embed/book", "/embed/book?counselor=hana-seo",
                "/book/hana-seo?embed=1", "/staff/login"):
        check(client, url, found=found)
    check(client, "/no/such/page", 404, found=found)
    check(client, "/counselors/no-such-counselor", 404, found=found)
    check(client, "/bookings/resend", 422, method="post", data={"email": "not an address"}, found=found)
    check(client, "/bookings/resend", method="post", data={"email": "someone@example.org"}, found=found)
    check(client, "/staff/login", 422, method="post", data={"email": "", "password": ""}, found=found)

    # Booking details: empty, then sent with every error, for one person and a couple.
    details = f"/book/lucia-fernandez/couple-trial/{free_couple[0]}"
    html = check(client, details, found=found)
    check(client, details, 422, method="post", data={"name": "", "email": "nope", "state": "ZZ"}, found=found)
    check(client, details, 422, method="post", data={"name": "Iris", "email": "iris@example.org", "state": "NY",
                                                     "partner_name": "Jon", "policies": "y"}, found=found)
    assert "Your details" in html
    check(client, f"/book/wei-zhang/couple-trial/{paid[0]}", found=found)  # a paid one: the price and policy

    # A free couples booking: the manage page as booked, its reschedule page, a cancel refused, then cancelled.
    booking_id, token = book(client, "lucia-fernandez", "couple-trial", free_couple[1], partner=True, state="CA")
    manage = f"/bookings/{booking_id}?token={token}"
    check(client, manage + "&booked=1", found=found)
    check(client, manage + "&notice=moved", found=found)
    check(client, f"/bookings/{booking_id}/reschedule?token={token}", found=found)
    check(client, f"/bookings/{booking_id}/reschedule?token={token}&week={date.today() + timedelta(days=14)}",
          found=found)
    check(client, f"/bookings/{booking_id}/reschedule", 422, method="post", data={"token": token}, found=found)
    check(client, f"/bookings/{booking_id}/cancel", 422, method="post", data={"token": token}, found=found)

    # Both partners' intakes: a section, a section sent with errors, the review with what's missing, sent.
    questions = load_items().for_format("couple")
    first, last = questions.sections[0], questions.sections[-1]
    mine = intake_token(client, booking_id, token)
    check(client, f"/intake/{mine}", found=found)
    bad = {"section": first.id, "action": "next", **{item.id: "-7" if item.type == "number" else "nonsense"
                                                    for item in first.items}}
    check(client, f"/intake/{mine}", 422, method="post", data=bad, found=found)
    check(client, f"/intake/{mine}?step={last.id}", found=found)
    check(client, f"/intake/{mine}?step=review", found=found)
    check(client, f"/intake/{mine}", 422, method="post", data={"action": "submit"}, found=found)
    for section in questions.sections:
        answers = {k: v for k, v in valid_answers(suicide_wished_dead=True, suicide_now=False).items()
                   if k in {item.id for item in section.items}}
        saved = client.put(f"/api/v1/intakes/{mine}/sections/{section.id}", json={"answers": answers})
        assert saved.status_code == 200, saved.get_json()
    check(client, f"/intake/{mine}?step=looking_after_you", found=found)  # the follow-up and crisis shown
    check(client, f"/intake/{mine}?step=review", found=found)
    check(client, f"/intake/{mine}", method="post", data={"action": "submit"}, found=found)  # thanks, crisis
    check(client, f"/intake/{mine}", found=found)  # thanks, opened again
    check(client, "/intake/not-a-real-token", 404, found=found)

    check(client, f"/bookings/{booking_id}/cancel", method="post", data={"token": token, "confirm": "y"},
          found=found)  # the cancelled page
    check(client, manage, 410, found=found)  # its link now says the booking was cancelled
    check(client, f"/bookings/{booking_id}/reschedule?token={token}", 410, found=found)
    check(client, f"/bookings/{booking_id}?token=wrong", 404, found=found)  # the link problem page

    # A paid booking: held, the payment page, its estimate.
    paid_id, paid_token = book(client, "wei-zhang", "couple-trial", paid[0], partner=True, state="IL")
    check(client, f"/bookings/{paid_id}?token={paid_token}&booked=1", found=found)
    check(client, f"/bookings/{paid_id}/pay", method="post", data={"token": paid_token}, found=found)
    check(client, f"/bookings/{paid_id}/estimate?token={paid_token}", found=found)
    check(client, f"/bookings/{paid_id}/pay", 404, method="post", data={"token": "wrong"}, found=found)

    assert found == {}, "\n".join(f"{url}:\n  " + "\n  ".join(lines) for url, lines in found.items())


def sign_in(client, role: str) -> None:
    person = STAFF[role]
    signed = client.post("/staff/login", data={"email": person.email, "password": person.password})
    assert signed.status_code == 302 and "/staff" in signed.headers["Location"], signed.get_data(as_text=True)[:300]


def test_every_staff_page_is_valid_html(demo_app):
    found = {}
    with demo_app.app_context():
        booking = db.session.scalars(select(Booking).order_by(Booking.starts_at.desc())).first()
        couple = next(b for b in db.session.scalars(select(Booking)) if b.participant("partner"))
        clients = list(db.session.scalars(select(Client.id).limit(1)))
        counselor_own = next(b for b in db.session.scalars(select(Booking))
                             if b.counselor.slug == STAFF["counselor"].counselor_slug)
        ids = str(booking.id), str(couple.id), clients[0], str(counselor_own.id)
        db.session.remove()
    booking_id, couple_id, client_id, own_id = ids
    today = clock.now().date().isoformat()

    admin = demo_app.test_client()
    sign_in(admin, "admin")
    for url in ("/staff", "/staff/dashboard", "/staff/today", f"/staff/today?date={today}&view=week",
                "/staff/intakes", "/staff/intakes?show=processed", "/staff/intakes?show=all",
                f"/staff/intakes/{couple_id}", f"/staff/intakes/{couple_id}/convert",
                f"/staff/bookings/{booking_id}", f"/staff/bookings/{couple_id}",
                f"/staff/bookings/{booking_id}/refund", "/staff/clients", "/staff/clients?q=ri",
                f"/staff/clients/{client_id}", f"/staff/clients/{client_id}/delete",
                "/staff/audit", "/staff/outbox", "/staff/users", "/staff/users/new", "/staff/users/1",
                "/staff/settings", "/staff/account/password", "/staff/two-step/setup",
                "/staff/counselors", "/staff/counselors/new", "/staff/counselors/maya-okafor/edit",
                "/staff/counselors/maya-okafor/services", "/staff/counselors/maya-okafor/services/new",
                "/staff/counselors/maya-okafor/services/couple-trial/edit",
                "/staff/counselors/maya-okafor/availability", "/staff/counselors/maya-okafor/calendar",
                "/staff/counselors/maya-okafor/calendar-feeds", "/staff/counselors/maya-okafor/time-off"):
        check(admin, url, found=found)
    # Forms sent with errors.
    check(admin, "/staff/users/new", 422, method="post", data={"email": "nope", "name": ""}, found=found)
    check(admin, "/staff/counselors/new", 422, method="post", data={"name": ""}, found=found)
    check(admin, "/staff/account/password", 422, method="post", data={"current_password": "x"}, found=found)
    check(admin, f"/staff/intakes/{couple_id}/decision", 422, method="post", data={"action": "override"},
          found=found)
    check(admin, "/staff/counselors/maya-okafor/time-off", 422, method="post", data={"form": "time_off", "timeoff-start_date": "x",
                                                                   "timeoff-end_time": "25:00"},
          found=found)
    check(admin, "/staff/no-such-page", 404, found=found)

    desk = demo_app.test_client()
    sign_in(desk, "frontdesk")
    for url in ("/staff", "/staff/intakes", f"/staff/intakes/{couple_id}", f"/staff/bookings/{couple_id}",
                f"/staff/clients/{client_id}"):
        check(desk, url, found=found)
    check(desk, "/staff/users", 403, found=found)

    counselor = demo_app.test_client()
    sign_in(counselor, "counselor")
    for url in ("/staff", "/staff/today", "/staff/intakes", f"/staff/intakes/{own_id}",
                f"/staff/bookings/{own_id}", "/staff/clients"):
        check(counselor, url, found=found)

    assert found == {}, "\n".join(f"{url}:\n  " + "\n  ".join(lines) for url, lines in found.items())


def test_the_checker_finds_what_it_is_for():
    """A page with each kind of problem, and a clean one: the check can fail."""
    clean = ('<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main><h1>x</h1>'
             '<label for="a">A</label><input id="a" aria-describedby="h"><p id="h">hint</p></main></body></html>')
    assert problems(clean) == []
    broken = ('<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main><h1>x</h1>'
              '<label for="missing">A</label><input id="a" aria-describedby=""><input id="a">'
              '<label for="p">B</label><p id="p">text</p><div></span></div><p id="">e</p></main></body></html>')
    found = "\n".join(problems(broken))
    for expected in ("for names 'missing'", 'empty aria-describedby=""', "the id 'a' is used 2 times",
                     "points at <p", "parse error", 'an empty id=""'):
        assert expected in found, (expected, found)
    assert re.search(r"parse error \S*end-tag", found)
