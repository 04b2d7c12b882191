"""The availability pages as staff use them: signed in through the real form, editing through the real forms."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from practice import clock
from practice.booking.models import BookingStatus
from practice.extensions import db
from practice.scheduling import service
from practice.scheduling.models import (CalendarFeed, DateOverride, ExternalBusy, SchedulingPolicy, TimeOff,
                                        WeeklyHours)
from tests.factories import make_counselor, make_user
from tests.scheduling.helpers import add_booking

UTC = timezone.utc
NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)  # a Tuesday, before New York's clocks go back on 2026-11-01
PAGES = ("availability", "time-off", "calendar", "calendar-feeds")


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def counselor(app):
    return make_counselor(slug="ana", name="Ana Ruiz", timezone="America/New_York")


@pytest.fixture
def signed_in(auth, counselor):
    """Ana, signed in as herself."""
    user = make_user(role="counselor", counselor=counselor)
    assert auth.login(user.email).status_code == 302
    return user


def text(response) -> str:
    """The page's visible text, tags stripped and spaces collapsed, for reading like a person."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).replace("&#39;", "'").replace("&amp;", "&").split())


def hours_form(**rows: str) -> dict:
    """A weekly hours submission: hours_form(monday_0=("09:00", "12:00")) -> the form's field names."""
    data = {"form": "hours"}
    for key, (start, end) in rows.items():
        day, index = key.rsplit("_", 1)
        data[f"hours-{day}-{index}-start"], data[f"hours-{day}-{index}-end"] = start, end
    return data


def stored_hours(counselor) -> list[tuple[int, time, time]]:
    return [(r.weekday, r.start_time, r.end_time) for r in db.session.scalars(
        select(WeeklyHours).where(WeeklyHours.counselor_id == counselor.id)
        .order_by(WeeklyHours.weekday, WeeklyHours.start_time))]


# --- who may see and change what ------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, counselor, page):
    response = client.get(f"/staff/counselors/ana/{page}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


def test_a_counselor_cannot_see_or_change_another_counselors_availability(client, auth, counselor):
    other = make_counselor(slug="ben", timezone="America/Chicago")
    user = make_user(role="counselor", counselor=other)
    auth.login(user.email)
    for page in PAGES:
        assert client.get(f"/staff/counselors/ana/{page}").status_code == 403
    response = client.post("/staff/counselors/ana/availability", data=hours_form(monday_0=("09:00", "12:00")))
    assert response.status_code == 403
    assert stored_hours(counselor) == []
    assert client.get("/staff/counselors/ben/availability").status_code == 200


@pytest.mark.parametrize("role", ["frontdesk", "admin"])
def test_front_desk_and_admins_manage_any_counselor(client, auth, counselor, role):
    auth.login(make_user(role=role).email)
    for page in PAGES:
        response = client.get(f"/staff/counselors/ana/{page}")
        assert response.status_code == 200
        assert "Availability of Ana Ruiz" in text(response)
        assert "Ana Ruiz's time zone" in text(response)
    response = client.post("/staff/counselors/ana/availability", data=hours_form(friday_0=("10:00", "14:00")))
    assert response.status_code == 302
    assert stored_hours(counselor) == [(4, time(10), time(14))]


def test_every_form_carries_its_csrf_token(app, client, counselor, signed_in):
    app.config["WTF_CSRF_ENABLED"] = True
    html = client.get("/staff/counselors/ana/availability").get_data(as_text=True)
    token = re.search(r'name="hours-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = hours_form(monday_0=("09:00", "12:00"))
    assert client.post("/staff/counselors/ana/availability", data=data).status_code == 400
    assert stored_hours(counselor) == []
    response = client.post("/staff/counselors/ana/availability", data={**data, "hours-csrf_token": token})
    assert response.status_code == 302
    assert stored_hours(counselor) == [(0, time(9), time(12))]

    # The small forms behind Remove buttons carry one too.
    client.post("/staff/counselors/ana/time-off", data={
        "form": "time_off", "timeoff-start_date": "2026-10-28", "timeoff-end_date": "2026-10-28",
        "timeoff-csrf_token": token})
    row = db.session.scalar(select(TimeOff))
    html = client.get("/staff/counselors/ana/time-off").get_data(as_text=True)
    remove = re.search(rf'action="/staff/counselors/ana/time-off/{row.id}/remove".*?value="([^"]+)"', html, re.S)
    response = client.post(f"/staff/counselors/ana/time-off/{row.id}/remove", data={"csrf_token": remove.group(1)})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(TimeOff)) == 0


def test_unknown_counselor_is_404(client, signed_in):
    assert client.get("/staff/counselors/nobody/availability").status_code == 404


# --- weekly hours and rules -----------------------------------------------------------------------------

def test_weekly_hours_are_saved_and_shown_in_the_counselors_zone(client, counselor, signed_in):
    page = client.get("/staff/counselors/ana/availability")
    assert "Times are in America/New_York (your profile's time zone)" in text(page)

    response = client.post("/staff/counselors/ana/availability", data=hours_form(
        monday_0=("13:00", "17:00"), monday_1=("09:00", "12:00"), monday_2=("", ""), wednesday_0=("08:30", "11:00"),
    ), follow_redirects=True)
    assert response.status_code == 200
    assert "Weekly hours saved." in text(response)
    assert stored_hours(counselor) == [(0, time(9), time(12)), (0, time(13), time(17)), (2, time(8, 30), time(11))]
    html = response.get_data(as_text=True)
    assert 'name="hours-monday-0-start" type="time" value="09:00"' in html
    assert 'name="hours-monday-1-end" type="time" value="17:00"' in html
    assert 'id="hours-monday-2-start"' in html  # a free row to add a third range without a script


def test_overlapping_ranges_are_explained_and_nothing_is_saved(client, counselor, signed_in):
    client.post("/staff/counselors/ana/availability", data=hours_form(tuesday_0=("09:00", "10:00")))
    response = client.post("/staff/counselors/ana/availability", data=hours_form(
        monday_0=("09:00", "12:00"), monday_1=("11:00", "13:00"), tuesday_0=("14:00", "15:00")))
    assert response.status_code == 422
    assert "Monday: 9:00 AM to 12:00 PM and 11:00 AM to 1:00 PM overlap." in text(response)
    assert 'value="11:00"' in response.get_data(as_text=True)  # what was typed is still there to fix
    assert stored_hours(counselor) == [(1, time(9), time(10))]


def test_a_range_with_only_one_time_is_explained(client, counselor, signed_in):
    response = client.post("/staff/counselors/ana/availability", data=hours_form(thursday_0=("09:00", "")))
    assert response.status_code == 422
    assert "Enter both times, or clear both to remove this range." in text(response)
    assert stored_hours(counselor) == []


def test_hours_set_on_the_page_are_the_only_slots_offered(client, counselor, signed_in):
    client.post("/staff/counselors/ana/availability", data=hours_form(monday_0=("09:00", "12:00")))
    client.post("/staff/counselors/ana/availability", data={
        "form": "rules", "rules-notice": "2", "rules-notice_unit": "hours", "rules-horizon_days": "60",
        "rules-slot_step_minutes": "30", "rules-max_sessions_per_day": ""})
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    result = service.slots_for("ana", "individual-trial", start_day=date(2026, 12, 1), end_day=date(2026, 12, 14),
                               zone="America/New_York", now=now)
    local = [s.start.astimezone(ZoneInfo("America/New_York")) for s in result.slots]
    assert [s.strftime("%a %H:%M") for s in local] == [
        f"Mon {h:02d}:{m:02d}" for _ in range(2) for h in (9, 10, 11) for m in (0, 30)]
    assert {s.date() for s in local} == {date(2026, 12, 7), date(2026, 12, 14)}
    assert all(s.end.astimezone(ZoneInfo("America/New_York")).time() <= time(12) for s in result.slots)


def test_booking_rules_are_saved_and_shown_with_each_services_break(client, counselor, signed_in):
    page = client.get("/staff/counselors/ana/availability")
    assert "Individual trial session: 10 minutes after each session" in text(page)
    notice = re.search(r'<input[^>]*id="rules-notice"[^>]*>', page.get_data(as_text=True)).group(0)
    assert 'value="24"' in notice  # the default, 24 hours, before anything is saved

    response = client.post("/staff/counselors/ana/availability", data={
        "form": "rules", "rules-notice": "3", "rules-notice_unit": "days", "rules-horizon_days": "45",
        "rules-slot_step_minutes": "15", "rules-max_sessions_per_day": "5"}, follow_redirects=True)
    assert "Booking rules saved." in text(response)
    policy = db.session.get(SchedulingPolicy, counselor.id)
    assert (policy.notice_minutes, policy.horizon_days, policy.slot_step_minutes, policy.max_sessions_per_day) == \
        (3 * 24 * 60, 45, 15, 5)
    html = response.get_data(as_text=True)
    assert 'value="3"' in html and '<option selected value="days">' in html


def test_invalid_booking_rules_are_explained(client, counselor, signed_in):
    response = client.post("/staff/counselors/ana/availability", data={
        "form": "rules", "rules-notice": "20", "rules-notice_unit": "days", "rules-horizon_days": "400",
        "rules-slot_step_minutes": "30", "rules-max_sessions_per_day": "0"})
    assert response.status_code == 422
    page = text(response)
    assert "Choose a notice from none to 14 days." in page
    assert "Choose from 1 to 365 days." in page
    assert "Choose from 1 to 24, or leave it empty for no limit." in page
    assert db.session.get(SchedulingPolicy, counselor.id) is None


# --- dates off and time off -----------------------------------------------------------------------------

def test_time_off_entered_in_local_time_across_the_dst_change_is_stored_in_utc(client, counselor, signed_in):
    response = client.post("/staff/counselors/ana/time-off", data={
        "form": "time_off", "timeoff-start_date": "2026-10-31", "timeoff-start_time": "22:00",
        "timeoff-end_date": "2026-11-01", "timeoff-end_time": "12:00", "timeoff-note": "Family visit"},
        follow_redirects=True)
    assert response.status_code == 200
    row = db.session.scalar(select(TimeOff))
    # 22:00 EDT (UTC-4) and 12:00 EST (UTC-5): 15 real hours.
    assert (row.starts_at, row.ends_at) == (datetime(2026, 11, 1, 2, tzinfo=UTC), datetime(2026, 11, 1, 17, tzinfo=UTC))
    page = text(response)
    assert "Time off added: Saturday, October 31, 10:00 PM – Sunday, November 1, 2026, 12:00 PM." in page
    assert "Note: Family visit" in page


def test_time_off_without_times_is_whole_days(client, counselor, signed_in):
    client.post("/staff/counselors/ana/time-off", data={
        "form": "time_off", "timeoff-start_date": "2026-12-24", "timeoff-end_date": "2026-12-26"})
    row = db.session.scalar(select(TimeOff))
    # From the first day's local midnight to the midnight after the last day (EST, UTC-5).
    assert (row.starts_at, row.ends_at) == (datetime(2026, 12, 24, 5, tzinfo=UTC),
                                            datetime(2026, 12, 27, 5, tzinfo=UTC))
    page = text(client.get("/staff/counselors/ana/time-off"))
    assert "Thursday, December 24 – Saturday, December 26, 2026 (whole days)" in page


def test_time_off_over_booked_sessions_warns_that_they_stay_booked(client, counselor, signed_in):
    add_booking(counselor, counselor.services[0], datetime(2026, 10, 22, 14, tzinfo=UTC))
    response = client.post("/staff/counselors/ana/time-off", data={
        "form": "time_off", "timeoff-start_date": "2026-10-22", "timeoff-end_date": "2026-10-22"},
        follow_redirects=True)
    assert "1 booked session falls in this time off." in text(response)


def test_time_off_in_the_past_is_refused(client, counselor, signed_in):
    response = client.post("/staff/counselors/ana/time-off", data={
        "form": "time_off", "timeoff-start_date": "2026-10-01", "timeoff-end_date": "2026-10-02"})
    assert response.status_code == 422
    assert "Choose a start from today on." in text(response)
    assert db.session.scalar(select(func.count()).select_from(TimeOff)) == 0


def test_removing_time_off(client, counselor, signed_in):
    client.post("/staff/counselors/ana/time-off", data={
        "form": "time_off", "timeoff-start_date": "2026-10-28", "timeoff-end_date": "2026-10-28"})
    row = db.session.scalar(select(TimeOff))
    response = client.post(f"/staff/counselors/ana/time-off/{row.id}/remove", follow_redirects=True)
    assert "Time off removed: Wednesday, October 28, 2026 (whole day)." in text(response)
    assert db.session.scalar(select(func.count()).select_from(TimeOff)) == 0
    assert client.post(f"/staff/counselors/ana/time-off/{row.id}/remove").status_code == 404


def test_date_overrides_are_added_listed_and_removed(client, counselor, signed_in):
    response = client.post("/staff/counselors/ana/time-off", data={
        "form": "override", "override-day": "2026-10-30", "override-ranges-0-start": "10:00",
        "override-ranges-0-end": "12:00", "override-ranges-1-start": "14:00", "override-ranges-1-end": "15:00"},
        follow_redirects=True)
    assert "Set the hours for Friday, October 30." in text(response)
    assert "Friday, October 30, 2026 : 10:00 AM to 12:00 PM, 2:00 PM to 3:00 PM" in text(response)

    client.post("/staff/counselors/ana/time-off", data={
        "form": "override", "override-day": "2026-11-02", "override-day_off": "y"})
    assert "Monday, November 2, 2026 : not available" in text(client.get("/staff/counselors/ana/time-off"))
    assert db.session.scalar(select(func.count()).select_from(DateOverride)) == 3

    response = client.post("/staff/counselors/ana/time-off/dates/2026-10-30/remove", follow_redirects=True)
    assert "Friday, October 30 follows your weekly hours again." in text(response)
    assert [r.day for r in db.session.scalars(select(DateOverride))] == [date(2026, 11, 2)]


def test_override_needs_hours_or_a_day_off(client, counselor, signed_in):
    response = client.post("/staff/counselors/ana/time-off",
                           data={"form": "override", "override-day": "2026-10-30"})
    assert response.status_code == 422
    assert "Enter the hours you'll work that day, or mark the day as not available." in text(response)
    response = client.post("/staff/counselors/ana/time-off", data={
        "form": "override", "override-day": "2026-10-30", "override-day_off": "y",
        "override-ranges-0-start": "10:00", "override-ranges-0-end": "12:00"})
    assert response.status_code == 422
    assert "Either enter hours or mark the day as not available, not both." in text(response)
    assert db.session.scalar(select(func.count()).select_from(DateOverride)) == 0


# --- the week calendar ----------------------------------------------------------------------------------

def test_week_calendar_shows_bookings_at_local_time_in_a_dst_week(client, counselor, signed_in):
    trial, couples = (next(s for s in counselor.services if s.slug == slug)
                      for slug in ("individual-trial", "couple-trial"))
    client.post("/staff/counselors/ana/availability", data=hours_form(saturday_0=("09:00", "12:00"),
                                                                      sunday_0=("09:00", "12:00")))
    add_booking(counselor, couples, datetime(2026, 10, 31, 14, 0, tzinfo=UTC))  # Saturday 10:00 EDT
    add_booking(counselor, trial, datetime(2026, 11, 1, 15, 0, tzinfo=UTC),  # Sunday 10:00 EST
                status=BookingStatus.pending_payment)
    add_booking(counselor, trial, datetime(2026, 10, 30, 15, 0, tzinfo=UTC), status=BookingStatus.cancelled)
    feed = CalendarFeed(counselor_id=counselor.id, url="https://calendar.example.com/cal.ics")
    db.session.add(feed)
    db.session.flush()
    db.session.add(ExternalBusy(feed_id=feed.id, counselor_id=counselor.id,
                                starts_at=datetime(2026, 10, 27, 17, tzinfo=UTC),
                                ends_at=datetime(2026, 10, 27, 18, tzinfo=UTC)))  # Tuesday 1-2 PM EDT
    db.session.commit()
    client.post("/staff/counselors/ana/time-off", data={
        "form": "time_off", "timeoff-start_date": "2026-10-29", "timeoff-end_date": "2026-10-29"})

    response = client.get("/staff/counselors/ana/calendar?week=2026-10-28")
    assert response.status_code == 200
    page = text(response)
    assert "Week of October 26 – November 1, 2026" in page
    assert "Times are in America/New_York" in page
    assert "Saturday October 31 Working hours 9:00 AM – 12:00 PM 10:00 AM – 10:50 AM Couples trial session Confirmed" \
        in page
    assert ("Sunday November 1 Clocks go back an hour today (EDT to EST). Working hours 9:00 AM EST – 12:00 PM EST "
            "10:00 AM EST – 10:30 AM EST Individual trial session Waiting for payment") in page
    assert "1:00 PM – 2:00 PM Busy (from your calendar)" in page
    assert "Thursday October 29 Working hours" not in page
    assert "Thursday October 29 Not working All day Time off" in page
    assert "Cancelled" not in page
    html = response.get_data(as_text=True)
    assert 'href="/staff/counselors/ana/calendar?week=2026-10-19"' in html
    assert 'href="/staff/counselors/ana/calendar?week=2026-11-02"' in html


def test_week_calendar_defaults_to_this_week_and_survives_a_bad_date(client, counselor, signed_in):
    page = text(client.get("/staff/counselors/ana/calendar"))
    assert "Week of October 19 – October 25, 2026" in page
    assert "Tuesday October 20 Today" in page
    response = client.get("/staff/counselors/ana/calendar?week=soon")
    assert response.status_code == 200
    assert "That date couldn't be read, so this is the current week." in text(response)


# --- calendar feeds -------------------------------------------------------------------------------------

def test_connecting_a_calendar_feed(client, counselor, signed_in):
    page = text(client.get("/staff/counselors/ana/calendar-feeds"))
    assert "Secret address in iCal format" in page and "Publish a calendar" in page and "Public Calendar" in page
    assert "never the titles" in page

    response = client.post("/staff/counselors/ana/calendar-feeds",
                           data={"feed-url": "ftp://calendar.example.com/x.ics", "feed-label": "Work"})
    assert response.status_code == 422
    assert "Use the calendar's full web address, starting with https:// or webcal://." in text(response)

    response = client.post("/staff/counselors/ana/calendar-feeds", data={
        "feed-url": "webcal://calendar.example.com/secret-token-123/basic.ics", "feed-label": "Work"},
        follow_redirects=True)
    page = text(response)
    assert "“Work” connected." in page
    assert "From calendar.example.com" in page and "Not imported yet" in page
    assert "secret-token-123" not in response.get_data(as_text=True)  # the address is a secret: never shown again


def test_a_failing_feed_says_why_and_which_copy_is_used(client, counselor, signed_in):
    db.session.add(CalendarFeed(counselor_id=counselor.id, label="Work", url="https://calendar.example.com/c.ics",
                                last_success_at=datetime(2026, 10, 19, 18, 5, tzinfo=UTC),
                                last_error="The calendar's server answered 404 Not Found."))
    db.session.commit()
    page = text(client.get("/staff/counselors/ana/calendar-feeds"))
    assert ("We couldn't update this calendar: The calendar's server answered 404 Not Found. We're still using "
            "the copy from Monday, October 19, 2026 at 2:05 PM.") in page


def test_refresh_now_and_remove(client, counselor, signed_in):
    feed = CalendarFeed(counselor_id=counselor.id, label="Work", url="https://calendar.example.com/c.ics")
    db.session.add(feed)
    db.session.commit()
    response = client.post(f"/staff/counselors/ana/calendar-feeds/{feed.id}/refresh", follow_redirects=True)
    assert "“Work” will be updated within a minute or two." in text(response)
    db.session.expire_all()
    assert db.session.get(CalendarFeed, feed.id).refresh_requested_at == NOW

    response = client.post(f"/staff/counselors/ana/calendar-feeds/{feed.id}/remove", follow_redirects=True)
    assert "“Work” disconnected" in text(response)
    assert db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 0


def test_feeds_of_another_counselor_cannot_be_touched(client, counselor, signed_in):
    other = make_counselor(slug="ben")
    feed = CalendarFeed(counselor_id=other.id, label="Ben's", url="https://calendar.example.com/b.ics")
    db.session.add(feed)
    db.session.commit()
    assert client.post(f"/staff/counselors/ana/calendar-feeds/{feed.id}/remove").status_code == 404
    assert client.post(f"/staff/counselors/ben/calendar-feeds/{feed.id}/remove").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 1
