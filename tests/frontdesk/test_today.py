"""The practice's day and week (/staff/today): every counselor's sessions in the practice's zone, grouped by
counselor (day) or by day (week); a counselor sees only their own; a bad date or view is a 422 that says why;
every look is audited."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from practice import clock as practice_clock
from practice.audit.models import AuditEvent
from practice.auth.service import start_session
from practice.booking.models import BookingStatus, Client, Participant
from practice.extensions import db
from practice.payments.models import Payment, PaymentStatus
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.scheduling.helpers import add_booking

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)  # Wednesday, 10 AM in New York
WED_9 = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)  # 9 AM EST
WED_LATE = datetime(2026, 12, 3, 3, 30, tzinfo=timezone.utc)  # 10:30 PM EST on Wednesday, Thursday in UTC
FRI_13 = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def sign_in(app, client):
    def _sign_in(user):
        with app.test_request_context():
            start_session(user, now=practice_clock.now())
            token = user.session_token
        with client.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        return user
    return _sign_in


@pytest.fixture
def practice(app):
    """Two counselors (New York, Chicago) and a few sessions around Wednesday, December 2."""
    ana = make_counselor(slug="ana", name="Ana Counselor", timezone="America/New_York")
    ben = make_counselor(slug="ben", name="Ben Counselor", timezone="America/Chicago")
    individual = {c.id: next(s for s in c.services if s.format == "individual") for c in (ana, ben)}
    couple = next(s for s in ana.services if s.format == "couple")

    def session(counselor, service, start, *, names, status=BookingStatus.confirmed, **extra):
        booking = add_booking(counselor, service, start, status=status, **extra)
        roles = ("client", "partner")
        booking.participants = [Participant(role=roles[n], client=Client(name=name, email=f"p{n}-{name[:4].lower()}@example.org"))
                                for n, name in enumerate(names)]
        db.session.commit()
        return booking

    bookings = {
        "couple": session(ana, couple, WED_9, names=("Robin Client", "Sam Partner")),
        "late": session(ben, individual[ben.id], WED_LATE, names=("Late Evening",)),
        "friday": session(ana, individual[ana.id], FRI_13, names=("Friday Person",)),
        "cancelled": session(ana, individual[ana.id], WED_9 + timedelta(hours=3), names=("Gone Away",),
                             status=BookingStatus.cancelled),
        "expired": session(ben, individual[ben.id], WED_9 + timedelta(hours=2), names=("Never Paid",),
                           status=BookingStatus.held, hold_expires_at=NOW - timedelta(minutes=1)),
    }
    db.session.add(Payment(booking_id=bookings["couple"].id, amount=7500, currency="USD",
                           status=PaymentStatus.succeeded, succeeded_at=NOW, created_at=NOW))
    db.session.commit()
    return {"ana": ana, "ben": ben, **bookings}


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(response.get_data(as_text=True))))


def audit(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_the_day_shows_every_counselors_sessions_in_the_practice_zone(client, practice, sign_in):
    me = sign_in(make_user(role="frontdesk"))
    page = client.get("/staff/today")
    assert page.status_code == 200
    text = text_of(page)
    assert "Wednesday, December 2, 2026" in text
    assert "America/New_York (Eastern Time)" in text
    # Grouped by counselor, alphabetically; times in New York, a Chicago counselor's session too.
    assert text.index("Ana Counselor") < text.index("Ben Counselor")
    assert "9:00 AM – 9:50 AM" in text and "Robin Client and Sam Partner" in text
    assert "10:30 PM – 11:00 PM" in text and "Late Evening" in text  # Thursday in UTC, Wednesday here
    assert "Paid $75" in text and "Free" in text
    assert "Booker: not started" in text and "Partner: not started" in text
    for hidden in ("Gone Away", "Never Paid", "Friday Person"):
        assert hidden not in text
    body = page.get_data(as_text=True)
    assert f'href="/staff/bookings/{practice["couple"].id}"' in body
    assert 'href="/staff/today?date=2026-12-01&amp;view=day"' in body
    assert 'href="/staff/today?date=2026-12-03&amp;view=day"' in body
    assert 'action="/staff/clients"' in body and 'name="q"' in body
    [event] = audit("frontdesk.view_day")
    assert event.actor_id == me.id and event.detail == {"view": "day", "from": "2026-12-02", "rows": 2}


def test_the_week_starts_on_monday_and_is_grouped_by_day(client, practice, sign_in):
    sign_in(make_user(role="admin"))
    page = client.get("/staff/today?date=2026-12-04&view=week")
    assert page.status_code == 200
    text = text_of(page)
    assert "The week of Monday, November 30, 2026" in text
    days = [text.index(day) for day in ("Monday, November 30", "Tuesday, December 1", "Wednesday, December 2",
                                        "Thursday, December 3", "Friday, December 4", "Sunday, December 6")]
    assert days == sorted(days)
    assert text.index("Late Evening") < text.index("Thursday, December 3") < text.index("Friday Person")
    assert "Gone Away" not in text and "Never Paid" not in text
    body = page.get_data(as_text=True)
    assert 'href="/staff/today?date=2026-11-23&amp;view=week"' in body
    assert 'href="/staff/today?date=2026-12-07&amp;view=week"' in body


def test_a_counselor_sees_only_their_own_sessions(client, practice, sign_in):
    sign_in(make_user(role="counselor", counselor=practice["ben"]))
    text = text_of(client.get("/staff/today?view=week"))
    assert "Late Evening" in text
    assert "Robin Client" not in text and "Friday Person" not in text
    assert "Your sessions" in text


@pytest.mark.parametrize("query, message", [
    ("date=2026-13-01", "“2026-13-01” is not a date"),
    ("date=tomorrow", "“tomorrow” is not a date"),
    ("view=month", "“month” is not a view this page has: choose day or week."),
    ("date=1900-01-01", "Choose a date within ten years of today."),
])
def test_a_bad_date_or_view_is_a_422_that_says_what_is_wrong(client, practice, sign_in, query, message):
    sign_in(make_user(role="frontdesk"))
    page = client.get(f"/staff/today?{query}")
    assert page.status_code == 422
    assert message in text_of(page)
    assert "Robin Client" not in text_of(page)


def test_the_staff_home_links_to_the_day(client, practice, sign_in):
    sign_in(make_user(role="frontdesk"))
    assert 'href="/staff/today"' in client.get("/staff").get_data(as_text=True)
