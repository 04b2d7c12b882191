"""Session reminders as the worker queues them: on time, in the client's zone, once, and only for confirmed
sessions; and what the email says."""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from practice.booking.models import Booking, BookingStatus
from practice.calendar.models import SessionReminder
from practice.extensions import db
from practice.notify import reminders
from practice.notify.delivery import deliver_due
from practice.notify.models import OutboxMessage
from practice.notify.reminders import queue_due_reminders
from tests.conftest import freeze_clock
from tests.factories import make_counselor
from tests.scheduling.helpers import add_booking, give_hours

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MON_10 = "2026-12-07T10:00:00-05:00"  # 15:00 UTC
MON_14 = "2026-12-07T14:00:00-05:00"  # 19:00 UTC
DAY_BEFORE_MON_10 = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, **smtp_server.app_config}  # MAIL_DELIVERY "none": each test delivers when it says


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", name="Ana Ruiz", timezone="America/New_York")
    for service in c.services:
        service.price = 0  # free sessions are confirmed at once
    db.session.commit()
    give_hours(c, {0: [("09:00", "17:00")], 6: [("09:00", "17:00")]}, notice_minutes=60, horizon_days=365)
    return c


def book(client, start=MON_10, *, service="individual-trial", zone="America/New_York") -> dict:
    body = {"counselor": "ana", "service": service, "start": start, "timezone": zone,
            "client": {"name": "Robin Client", "email": "robin@example.org", "state": "NY"}}
    if service == "couple-trial":
        body["partner"] = {"name": "Sam Partner", "email": "sam@example.org"}
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def reminders_queued() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "session_reminder")
                                   .order_by(OutboxMessage.id)))


def reminder_rows() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(SessionReminder))


def reminder_mails(smtp_server) -> list:
    """What arrived, without the booking confirmations."""
    return [m for m in smtp_server.messages if m["Subject"].startswith("Reminder")]


def bodies(mail) -> tuple[str, str]:
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


def test_the_reminder_is_queued_a_day_before_and_carries_a_working_link(client, counselor, smtp_server):
    booking = book(client)
    assert queue_due_reminders(now=DAY_BEFORE_MON_10 - timedelta(minutes=1)) == 0
    assert reminders_queued() == []

    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 1
    deliver_due(now=DAY_BEFORE_MON_10)
    [mail] = reminder_mails(smtp_server)
    text, html = bodies(mail)
    assert mail["To"] == "Robin Client <robin@example.org>"
    assert mail["Subject"] == "Reminder: your session with Ana Ruiz on Monday, December 7, 2026 at 10:00 AM EST"
    assert "Individual trial session with Ana Ruiz" in text and "reschedule or cancel" in text
    assert "Reschedule or cancel" in html
    for private in ("intake", "questionnaire", "health", "therapy", "flag"):
        assert private not in text.lower() and private not in html.lower()

    link = re.search(r"http://practice\.test/bookings/\S+", text).group(0)
    assert link != booking["manage_url"]  # a fresh link, made for this message
    path = link.removeprefix("http://practice.test")
    page = client.get(path)
    assert page.status_code == 200
    assert "Cancel this booking" in page.get_data(as_text=True)  # the booker's link may change it
    # The link from the confirmation still opens the booking too.
    assert client.get(booking["manage_url"].removeprefix("http://practice.test")).status_code == 200


def test_each_partner_gets_their_own_link_and_only_the_booker_may_change(client, counselor, smtp_server):
    book(client, service="couple-trial")
    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 1
    queued = reminders_queued()
    assert sorted(m.to_email for m in queued) == ["robin@example.org", "sam@example.org"]
    deliver_due(now=DAY_BEFORE_MON_10)
    by_address = {m["To"].addresses[0].addr_spec: bodies(m)[0] for m in reminder_mails(smtp_server)}
    assert "reschedule or cancel" in by_address["robin@example.org"]
    assert "to see the details" in by_address["sam@example.org"]
    assert "reschedule" not in by_address["sam@example.org"]
    links = {address: re.search(r"token=(\S+)", body).group(1) for address, body in by_address.items()}
    assert links["robin@example.org"] != links["sam@example.org"]
    partner_link = re.search(r"http://practice\.test(/bookings/\S+)", by_address["sam@example.org"]).group(1)
    page = client.get(partner_link)
    assert page.status_code == 200 and "Cancel this booking" not in page.get_data(as_text=True)


def test_a_reminder_in_the_clients_night_goes_out_when_their_evening_ends(client, counselor, smtp_server):
    # Monday 10:00 in New York is Tuesday 00:00 in Tokyo; a day before is midnight there, so the reminder goes
    # out at 21:00 Tokyo time on Sunday (12:00 UTC), and shows the time as the client reads it.
    book(client, zone="Asia/Tokyo")
    sunday_9pm_tokyo = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert queue_due_reminders(now=sunday_9pm_tokyo - timedelta(seconds=1)) == 0
    assert queue_due_reminders(now=sunday_9pm_tokyo) == 1
    deliver_due(now=sunday_9pm_tokyo)
    [mail] = reminder_mails(smtp_server)
    assert "Tuesday, December 8, 2026 at 12:00 AM JST" in bodies(mail)[0]


def test_the_reminder_on_the_day_clocks_go_back_is_24_real_hours_before(client, counselor, frozen_clock):
    frozen_clock["now"] = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    book(client, "2026-11-01T10:00:00-05:00")  # Sunday, the first day of standard time: 15:00 UTC
    assert queue_due_reminders(now=datetime(2026, 10, 31, 14, 59, tzinfo=UTC)) == 0  # 10:59 EDT
    assert queue_due_reminders(now=datetime(2026, 10, 31, 15, 0, tzinfo=UTC)) == 1  # 11:00 EDT


def test_running_again_or_after_a_restart_queues_nothing_more(client, counselor):
    book(client, service="couple-trial")
    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 1
    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 0
    assert queue_due_reminders(now=DAY_BEFORE_MON_10 + timedelta(hours=3)) == 0
    assert len(reminders_queued()) == 2 and reminder_rows() == 1


def test_a_failure_before_the_commit_leaves_nothing_so_the_next_run_sends_it(client, counselor, monkeypatch):
    book(client)
    real = reminders.queue_emails

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(reminders, "queue_emails", broken)
    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 0  # logged; the other bookings would still go ahead
    assert reminder_rows() == 0 and reminders_queued() == []  # the reminder row went with the emails

    monkeypatch.setattr(reminders, "queue_emails", real)
    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 1
    assert reminder_rows() == 1 and len(reminders_queued()) == 1


def test_two_workers_at_the_same_moment_queue_it_once(app, client, counselor):
    book(client, service="couple-trial")
    db.session.remove()
    start = threading.Barrier(2)
    counts, errors = [], []

    def worker():
        with app.app_context():
            try:
                start.wait()
                counts.append(queue_due_reminders(now=DAY_BEFORE_MON_10))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(counts) == [0, 1]
    assert len(reminders_queued()) == 2 and reminder_rows() == 1


def test_a_cancelled_session_gets_no_reminder(client, counselor):
    booking = book(client)
    token = booking["manage_url"].split("token=")[1]
    assert client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"token": token}).status_code == 200
    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 0
    assert reminders_queued() == []


def test_held_and_completed_sessions_get_no_reminder(app, counselor):
    service = counselor.services[0]
    add_booking(counselor, service, datetime(2026, 12, 7, 15, 0, tzinfo=UTC), status=BookingStatus.held,
                hold_expires_at=datetime(2026, 12, 8, tzinfo=UTC))
    add_booking(counselor, service, datetime(2026, 12, 7, 17, 0, tzinfo=UTC), status=BookingStatus.completed)
    assert queue_due_reminders(now=DAY_BEFORE_MON_10 + timedelta(hours=2)) == 0
    assert reminder_rows() == 0


def test_a_session_cancelled_after_it_was_found_is_skipped(client, counselor, monkeypatch):
    # The job reads the candidates, then the client cancels before its write transaction: the status is read
    # again under the calendar lock, so no reminder goes out.
    book(client)
    real = reminders._queue_reminder

    def cancelled_first(booking_id, starts_at, *, now):
        db.session.get(Booking, booking_id).status = BookingStatus.cancelled
        db.session.commit()
        return real(booking_id, starts_at, now=now)

    monkeypatch.setattr(reminders, "_queue_reminder", cancelled_first)
    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 0
    assert reminders_queued() == [] and reminder_rows() == 0


def test_a_rescheduled_session_gets_a_reminder_for_its_new_time(client, counselor, smtp_server):
    booking = book(client)
    assert queue_due_reminders(now=DAY_BEFORE_MON_10) == 1
    token = booking["manage_url"].split("token=")[1]
    moved = client.post(f"/api/v1/bookings/{booking['id']}/reschedule", json={"token": token, "start": MON_14})
    assert moved.status_code == 200, moved.get_json()

    assert queue_due_reminders(now=DAY_BEFORE_MON_10 + timedelta(hours=3, minutes=59)) == 0
    assert queue_due_reminders(now=DAY_BEFORE_MON_10 + timedelta(hours=4)) == 1
    assert queue_due_reminders(now=DAY_BEFORE_MON_10 + timedelta(hours=5)) == 0
    queued = reminders_queued()
    assert len(queued) == 2 and reminder_rows() == 2
    assert queued[1].dedupe_key == f"reminder:{booking['id']}:2026-12-07T19:00:00+00:00:client"
    deliver_due(now=DAY_BEFORE_MON_10 + timedelta(hours=4))
    subjects = [m["Subject"] for m in reminder_mails(smtp_server)]
    assert subjects[-1].endswith("Monday, December 7, 2026 at 2:00 PM EST")


def test_a_session_booked_after_its_reminder_time_is_reminded_at_once_unless_it_is_close(client, counselor,
                                                                                      frozen_clock):
    frozen_clock["now"] = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 08:00 in New York
    book(client, MON_14)  # six hours away
    book(client, "2026-12-07T09:30:00-05:00")  # 14:30 UTC: ninety minutes away
    assert queue_due_reminders(now=frozen_clock["now"]) == 1
    [message] = reminders_queued()
    assert "2026-12-07T19:00:00+00:00" in message.dedupe_key


@pytest.mark.parametrize("value", ["9pm-8am", "21:00-21:00", "24:00-08:00"])
def test_quiet_hours_that_make_no_sense_stop_the_app_with_a_clear_message(app_config, monkeypatch, value):
    from config import ConfigError
    from practice import create_app

    monkeypatch.setenv("QUIET_HOURS", value)
    with pytest.raises(ConfigError, match="QUIET_HOURS"):
        create_app(app_config)
    monkeypatch.delenv("QUIET_HOURS")
    with pytest.raises(ConfigError, match="QUIET_HOURS"):
        create_app({**app_config, "QUIET_HOURS": value})


def test_reminder_settings_are_read_from_the_environment(app_config, monkeypatch):
    from practice import create_app
    from practice.database import dispose_engines
    from practice.payments.stripe_api import close as close_stripe

    monkeypatch.setenv("QUIET_HOURS", "22:30-7:00")
    monkeypatch.setenv("REMINDER_HOURS_BEFORE", "48")
    app = create_app(app_config)
    assert (app.config["QUIET_HOURS"], app.config["REMINDER_HOURS_BEFORE"]) == ("22:30-07:00", 48)
    dispose_engines(app)
    close_stripe(app)
