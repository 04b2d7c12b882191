"""The booking pages as a client meets them: choose a time, give details, the manage page behind each link,
"resend my links", first available, and the embed. Each test runs on SQLite and PostgreSQL with a frozen clock."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from practice import clock
from practice.booking import service
from practice.booking.models import Booking, BookingStatus, ManageToken
from practice.database import dispose_engines
from practice.extensions import db
from practice.notify.models import OutboxMessage
from tests.conftest import statements_sent
from tests.factories import make_counselor
from tests.scheduling.helpers import add_booking, give_hours

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)  # a Tuesday
MONDAY_9_EST = datetime(2026, 12, 7, 14, 0, tzinfo=timezone.utc)  # 8:00 AM in Chicago
CHICAGO = "America/Chicago"
EMBED_ORIGIN = "https://www.example-practice.com"


@pytest.fixture
def app_config(app_config):
    app_config["MAIL_DELIVERY"] = "none"  # messages are queued in the outbox; no thread sends them
    app_config["EMBED_ALLOWED_ORIGINS"] = [EMBED_ORIGIN]
    return app_config


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def maya(app):
    counselor = make_counselor(slug="maya", name="Maya Okafor", timezone="America/New_York", licenses=("NY",))
    give_hours(counselor, {0: [("09:00", "17:00")]}, notice_minutes=0)  # Mondays, New York time
    return counselor


@pytest.fixture
def sam(app):
    counselor = make_counselor(slug="sam", name="Sam Licensed-in-NJ", licenses=("NJ",))
    give_hours(counselor, {0: [("09:00", "17:00")]}, notice_minutes=0)
    return counselor


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def details_url(service_slug="individual-trial", start=MONDAY_9_EST, slug="maya", tz=CHICAGO, **query) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"/book/{slug}/{service_slug}/{stamp(start)}?tz={tz}{extra}"


def client_form(**overrides) -> dict:
    form = {"name": "Ana Rivera", "email": "ana@example.org", "phone": "", "state": "NY", "accept_policies": "y"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def book(counselor_slug="maya", service_slug="individual-trial", start=MONDAY_9_EST, partner=True):
    """A booking made through the service, with each person's plaintext token."""
    req = service.BookingRequest(
        counselor=counselor_slug, service=service_slug, start=start, timezone=CHICAGO,
        client=service.PersonIn(name="Ana Rivera", email="ana@example.org", state="NY"),
        partner=service.PersonIn(name="Ben Rivera", email="ben@example.org")
        if service_slug == "couple-trial" and partner else None,
    )
    return service.book(req, now=NOW)


def trial(counselor, slug):
    return next(s for s in counselor.services if s.slug == slug)


def manage_url(booking_id, token) -> str:
    return f"/bookings/{booking_id}?token={token}"


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def booking_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Booking))


def text(response) -> str:
    """The page with entities decoded and whitespace collapsed, to read it as a person would."""
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


# --- choosing a time ------------------------------------------------------------------------------------

def test_time_picker_lists_open_times_in_the_visitors_zone_and_names_it(client, maya):
    response = client.get(f"/book/maya?service=individual-trial&tz={CHICAGO}&week=2026-12-07")
    assert response.status_code == 200
    page = text(response)
    assert "Times shown in <strong>America/Chicago (Central Time)</strong>" in page
    assert "8:00 AM" in page and "3:30 PM" in page  # 9:00 to 16:30 New York time, as Chicago reads it
    assert 'href="/book/maya/individual-trial/2026-12-07T14:00Z?tz=America/Chicago"' in page
    assert "data-zone-auto" not in page


def test_time_picker_without_a_zone_uses_the_counselors_and_says_whose_it_is(client, maya):
    page = text(client.get("/book/maya?week=2026-12-07"))
    assert "America/New_York (Eastern Time)</strong>, Maya Okafor's time zone" in page
    assert "data-zone-auto" in page  # timezone.js swaps in the visitor's own zone
    assert "9:00 AM" in page
    assert '<script src="/static/js/timezone.js" defer></script>' in page


def test_profile_offers_the_trial_sessions_with_links_to_the_time_picker(client, maya):
    page = text(client.get("/counselors/maya"))
    assert "Book a trial session" in page
    assert 'href="/book/maya?service=individual-trial"' in page
    assert 'href="/book/maya?service=couple-trial"' in page


# --- details and booking --------------------------------------------------------------------------------

def test_booking_an_individual_free_trial_through_the_pages_confirms_it(client, maya):
    form_page = client.get(details_url())
    assert form_page.status_code == 200
    assert "Monday, December 7, 2026, 8:00 AM – 8:30 AM CST" in text(form_page)

    response = client.post(details_url(), data=client_form())
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    booking_id = location.path.rsplit("/", 1)[-1]
    assert location.path == f"/bookings/{booking_id}"
    assert "token" in parse_qs(location.query)

    booking = db.session.get(Booking, service.open_link(booking_id, parse_qs(location.query)["token"][0],
                                                        now=NOW).booking.id)
    assert booking.status == BookingStatus.confirmed
    assert booking.starts_at == MONDAY_9_EST
    assert booking.client_timezone == CHICAGO

    confirmation = client.get(response.headers["Location"])
    assert confirmation.status_code == 200
    page = text(confirmation)
    assert "You're booked" in page
    assert "Monday, December 7, 2026, 8:00 AM – 8:30 AM CST" in page
    assert "America/Chicago (Central Time)" in page
    assert confirmation.headers["Cache-Control"] == "no-store"
    assert confirmation.headers["Referrer-Policy"] == "no-referrer"


def test_a_couple_booking_requires_the_partners_name_and_email(client, maya):
    url = details_url("couple-trial")
    page = text(client.get(url))
    assert 'name="partner_name"' in page and 'name="partner_email"' in page

    response = client.post(url, data=client_form())
    assert response.status_code == 422
    page = text(response)
    assert "Enter your partner's name." in page
    assert "Enter your partner's email address" in page
    assert 'href="#partner_name"' in page  # the error summary links to the field
    assert booking_count() == 0

    response = client.post(url, data=client_form(partner_name="Ben Rivera", partner_email="ben@example.org"))
    assert response.status_code == 302
    held = text(client.get(response.headers["Location"]))
    assert "Your time is held" in held  # a paid service waits for payment
    assert "Held for you until 6:10 AM CST" in held  # NOW (6:00 AM in Chicago) + 10 minutes
    assert 'data-seconds-left="600"' in held
    assert "$75" in held and "not confirmed until it has been paid" in held
    assert "Ben Rivera" in held


def test_individual_service_pages_have_no_partner_fields(client, maya):
    page = text(client.get(details_url()))
    assert 'name="partner_name"' not in page


def test_policies_must_be_accepted(client, maya):
    response = client.post(details_url(), data=client_form(accept_policies=None))
    assert response.status_code == 422
    assert "Please read and accept the practice's policies to book." in text(response)
    assert booking_count() == 0


def test_licensing_error_lists_counselors_licensed_in_the_clients_state(client, maya, sam):
    response = client.post(details_url(), data=client_form(state="NJ"))
    assert response.status_code == 422
    page = text(response)
    assert "Maya Okafor isn't licensed in New Jersey" in page
    assert "Counselors who can see you in New Jersey" in page
    assert 'href="/book/sam?service=individual-trial&tz=America/Chicago"' in page
    assert 'href="#state"' in page
    assert booking_count() == 0


def test_a_taken_slot_sends_you_back_to_the_times_with_a_kind_message(client, maya):
    form_page = client.get(details_url())
    assert form_page.status_code == 200
    book()  # someone else, while this visitor was typing

    response = client.post(details_url(), data=client_form(email="late@example.org"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/book/maya?")
    assert "notice=slot_taken" in response.headers["Location"]
    page = text(client.get(response.headers["Location"]))
    assert "Someone just booked that time. Here are the times still open." in page
    assert "2026-12-07T14:00Z" not in page
    assert booking_count() == 1


def test_opening_the_details_of_a_time_already_gone_goes_back_to_the_times(client, maya):
    add_booking(maya, trial(maya, "individual-trial"), MONDAY_9_EST)
    response = client.get(details_url())
    assert response.status_code == 302
    assert "notice=slot_gone" in response.headers["Location"]


def test_unknown_counselor_service_or_time_is_not_found(client, maya):
    assert client.get("/book/nobody").status_code == 404
    assert client.get(details_url(slug="nobody")).status_code == 404
    assert client.get(details_url("no-such-service")).status_code == 404
    assert client.get("/book/maya/individual-trial/not-a-time").status_code == 404


# --- the manage page ------------------------------------------------------------------------------------

def test_opening_the_manage_page_changes_nothing(client, maya):
    created = book("maya", "couple-trial")
    booking_id = created.booking.id
    db.session.expire_all()
    before = db.session.get(Booking, booking_id)
    status, updated_at, sequence = before.status, before.updated_at, before.ics_sequence
    outbox, tokens = outbox_count(), db.session.scalar(select(func.count()).select_from(ManageToken))

    for role in ("client", "partner", "client"):
        assert client.get(manage_url(booking_id, created.tokens[role])).status_code == 200
    assert client.get(f"/bookings/{booking_id}/reschedule?token={created.tokens['client']}").status_code == 200

    db.session.expire_all()
    after = db.session.get(Booking, booking_id)
    assert (after.status, after.updated_at, after.ics_sequence) == (status, updated_at, sequence)
    assert outbox_count() == outbox
    assert db.session.scalar(select(func.count()).select_from(ManageToken).where(ManageToken.revoked_at.is_(None))) \
        == tokens


def test_the_partners_link_shows_the_booking_but_cannot_change_it(client, maya):
    trial(maya, "couple-trial").price = 0  # a free couples trial: confirmed at once
    db.session.commit()
    created = book("maya", "couple-trial")
    booking_id = created.booking.id

    page = text(client.get(manage_url(booking_id, created.tokens["partner"])))
    assert "Only the person who booked can change it" in page
    assert "Cancel booking" not in page and "/cancel" not in page and "/reschedule" not in page
    assert "Monday, December 7, 2026, 8:00 AM – 8:50 AM CST" in page

    response = client.post(f"/bookings/{booking_id}/cancel",
                           data={"token": created.tokens["partner"], "confirm": "y"})
    assert response.status_code == 403
    assert "Only the person who booked can change it" in text(response)
    response = client.post(f"/bookings/{booking_id}/reschedule",
                           data={"token": created.tokens["partner"], "start": stamp(MONDAY_9_EST + timedelta(hours=2)),
                                 "expected_start": stamp(MONDAY_9_EST)})
    assert response.status_code == 403
    db.session.expire_all()
    booking = db.session.get(Booking, booking_id)
    assert booking.status == BookingStatus.confirmed and booking.starts_at == MONDAY_9_EST


def test_the_clients_link_offers_reschedule_and_cancel_with_the_free_change_deadline(client, maya):
    created = book()
    page = text(client.get(manage_url(created.booking.id, created.tokens["client"])))
    assert "Choose a new time" in page and "Cancel booking" in page
    assert "free until <strong>Sunday, December 6, 2026 at 8:00 AM CST</strong>" in page


def test_rescheduling_keeps_the_booking_and_the_old_link_says_a_newer_one_was_sent(client, maya):
    created = book()
    booking_id, old_token = created.booking.id, created.tokens["client"]
    new_start = MONDAY_9_EST + timedelta(hours=2)

    choices = text(client.get(f"/bookings/{booking_id}/reschedule?token={old_token}&tz={CHICAGO}"))
    assert f'value="{stamp(new_start)}"' in choices
    assert f'name="expected_start" type="hidden" value="{stamp(MONDAY_9_EST)}"' in choices

    response = client.post(f"/bookings/{booking_id}/reschedule",
                           data={"token": old_token, "start": stamp(new_start), "expected_start": stamp(MONDAY_9_EST)})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == f"/bookings/{booking_id}"  # the same booking
    new_token = parse_qs(location.query)["token"][0]
    assert new_token != old_token
    page = text(client.get(response.headers["Location"]))
    assert "Your session has been moved." in page
    assert "Monday, December 7, 2026, 10:00 AM – 10:30 AM CST" in page

    old = client.get(manage_url(booking_id, old_token))
    assert old.status_code == 410
    assert "A newer link was sent to you by email; please use that one." in text(old)
    assert 'href="/bookings/resend"' in text(old)


def test_a_stale_reschedule_page_is_refused(client, maya):
    created = book()
    booking_id, token = created.booking.id, created.tokens["client"]
    seen_earlier = MONDAY_9_EST - timedelta(hours=1)  # the page was opened when the booking was at another time
    response = client.post(f"/bookings/{booking_id}/reschedule",
                           data={"token": token, "start": stamp(MONDAY_9_EST + timedelta(hours=3)),
                                 "expected_start": stamp(seen_earlier)})
    assert response.status_code == 409
    assert "This booking was changed since this page was opened" in text(response)
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).starts_at == MONDAY_9_EST

    # Submitting an old page again after a real move: its link was replaced, so it says so.
    moved = client.post(f"/bookings/{booking_id}/reschedule",
                        data={"token": token, "start": stamp(MONDAY_9_EST + timedelta(hours=1)),
                              "expected_start": stamp(MONDAY_9_EST)})
    assert moved.status_code == 302
    again = client.post(f"/bookings/{booking_id}/reschedule",
                        data={"token": token, "start": stamp(MONDAY_9_EST + timedelta(hours=2)),
                              "expected_start": stamp(MONDAY_9_EST)})
    assert again.status_code == 410
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).starts_at == MONDAY_9_EST + timedelta(hours=1)


def test_rescheduling_to_a_taken_time_shows_the_times_still_open(client, maya):
    created = book()
    taken = MONDAY_9_EST + timedelta(hours=2)
    add_booking(maya, trial(maya, "individual-trial"), taken)
    response = client.post(f"/bookings/{created.booking.id}/reschedule",
                           data={"token": created.tokens["client"], "start": stamp(taken),
                                 "expected_start": stamp(MONDAY_9_EST)})
    assert response.status_code == 409
    assert "Someone just booked that time. Here are the times still open." in text(response)


def test_cancelling_needs_confirmation_and_then_the_link_says_cancelled(client, maya):
    created = book()
    booking_id, token = created.booking.id, created.tokens["client"]

    response = client.post(f"/bookings/{booking_id}/cancel", data={"token": token, "reason": "Plans changed"})
    assert response.status_code == 422
    assert "Tick the box to confirm you want to cancel." in text(response)
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == BookingStatus.confirmed

    response = client.post(f"/bookings/{booking_id}/cancel",
                           data={"token": token, "reason": "Plans changed", "confirm": "y"})
    assert response.status_code == 200
    assert "Your booking is cancelled" in text(response)
    db.session.expire_all()
    booking = db.session.get(Booking, booking_id)
    assert booking.status == BookingStatus.cancelled and booking.cancel_reason == "Plans changed"

    old = client.get(manage_url(booking_id, token))
    assert old.status_code == 410
    assert "This booking was cancelled" in text(old)


def test_a_hold_that_ran_out_says_so_and_offers_no_changes(client, maya, monkeypatch):
    created = book("maya", "couple-trial")  # paid: held for BOOKING_HOLD_MINUTES
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(minutes=11))
    page = text(client.get(manage_url(created.booking.id, created.tokens["client"])))
    assert "The hold on this time ran out" in page
    assert "Cancel booking" not in page and "data-seconds-left" not in page


def test_links_that_open_nothing_say_so(client, maya):
    created = book()
    unknown = client.get(manage_url(created.booking.id, "x" * 32))
    assert unknown.status_code == 404
    assert "This link doesn't open a booking" in text(unknown)
    assert client.get(f"/bookings/not-a-uuid?token={created.tokens['client']}").status_code == 404
    assert client.get(f"/bookings/{created.booking.id}").status_code == 404


def test_a_link_expires_a_day_after_the_session(client, maya, monkeypatch):
    created = book()
    monkeypatch.setattr(clock, "now", lambda: MONDAY_9_EST + timedelta(days=2))
    response = client.get(manage_url(created.booking.id, created.tokens["client"]))
    assert response.status_code == 410
    assert "This link has expired" in text(response)


# --- resend my links ------------------------------------------------------------------------------------

def test_resend_answers_the_same_after_the_same_work_for_known_and_unknown_addresses(client, maya):
    from practice.booking.models import LinkRequest
    from practice.booking.service import process_link_requests

    book()
    before = outbox_count()
    with statements_sent() as for_known:
        known = client.post("/bookings/resend", data={"email": "ana@example.org"})
    with statements_sent() as for_unknown:
        unknown = client.post("/bookings/resend", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert "If that address has upcoming bookings, we've emailed fresh links." in text(known)
    # Neither request looked the address up: the same statements, and no email yet.
    assert for_known == for_unknown and not any("booking" in statement for statement in for_known)
    assert outbox_count() == before
    # After the response (here the worker's round: MAIL_DELIVERY is "none"), only the known address gets links.
    assert process_link_requests(now=NOW) == 2
    assert outbox_count() == before + 1
    assert db.session.scalar(select(func.count()).select_from(LinkRequest)) == 0


def test_resend_asks_for_an_email_address(client):
    response = client.post("/bookings/resend", data={"email": "not an address"})
    assert response.status_code == 422
    assert "Enter an email address like name@example.com." in text(response)


@pytest.fixture
def limited_client(app_config):
    from practice import create_app

    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "BOOKING_RATE_LIMIT": "2 per minute"})
    with app.app_context():
        yield app.test_client()
        db.session.remove()
    dispose_engines(app)


def test_resend_is_rate_limited(limited_client):
    statuses = [limited_client.post("/bookings/resend", data={"email": f"p{n}@example.org"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]


# --- first available ------------------------------------------------------------------------------------

def test_first_available_lists_the_earliest_time_of_each_licensed_counselor(client, maya, sam):
    page = text(client.get(f"/book/first-available?format=individual&state=NY&tz={CHICAGO}"))
    assert "Maya Okafor" in page and "Sam Licensed-in-NJ" not in page
    assert "Monday, December 7 at 8:00 AM" in page
    assert f'href="/book/maya/individual-trial/{stamp(MONDAY_9_EST)}?tz=America/Chicago&state=NY"' in page

    page = text(client.get("/book/first-available?format=individual"))
    assert "Choose the state you live in" in page


def test_the_state_from_first_available_is_filled_in_on_the_form(client, maya):
    page = text(client.get(details_url(state="NY")))
    assert '<option selected value="NY">' in page or '<option value="NY" selected>' in page


# --- embed ----------------------------------------------------------------------------------------------

def test_embed_pages_may_be_framed_by_the_configured_origin_and_others_not(client, maya):
    framed = [client.get("/embed/book?counselor=maya&tz=America/Chicago"), client.get("/embed/book"),
              client.get(details_url(embed=1))]
    for response in framed:
        assert response.status_code == 200
        assert f"frame-ancestors 'self' {EMBED_ORIGIN}" in response.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in response.headers
    # Inside the embed, the flow's links keep the visitor inside it.
    slot_links = re.findall(r'href="(/book/maya/[^"]+)"', text(framed[0]))
    assert slot_links and all("embed=1" in link for link in slot_links)

    booked = client.post(details_url(embed=1), data=client_form())
    assert booked.status_code == 302 and "embed=1" in booked.headers["Location"]
    confirmation = client.get(booked.headers["Location"])
    assert f"frame-ancestors 'self' {EMBED_ORIGIN}" in confirmation.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in confirmation.headers

    for path in ("/book/maya", details_url(), "/bookings/resend", "/policies", "/counselors/maya"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_embed_script_is_served_as_javascript(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert b"/embed/book" in response.data


def test_forms_need_csrf_outside_the_embed_but_not_inside_it(client, app, maya):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/bookings/resend", data={"email": "a@example.org"}).status_code == 400
    # Cookies don't reach a cross-site frame, so the embed's forms can't carry a session-bound token.
    assert client.post("/bookings/resend?embed=1", data={"email": "a@example.org"}).status_code == 200


def test_no_inline_scripts_or_styles_on_booking_pages(client, maya):
    created = book()
    for path in (f"/book/maya?tz={CHICAGO}", details_url(), manage_url(created.booking.id, created.tokens["client"]),
                 "/bookings/resend", "/policies", "/book/first-available?state=NY", "/embed/book?counselor=maya"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert " style=" not in page and "<style" not in page, path
