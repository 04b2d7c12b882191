"""Changing availability through editing.py: the rules each use case enforces, what it stores, what it audits;
and the week calendar's layout of a DST week (pure)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from practice.audit.models import AuditEvent
from practice.booking.models import BookingStatus
from practice.core import slots as engine
from practice.extensions import db
from practice.scheduling import editing, week
from practice.scheduling.models import (CalendarFeed, DateOverride, ExternalBusy, SchedulingPolicy, TimeOff,
                                        WeeklyHours)
from practice.scheduling.service import ScheduleInvalid
from tests.factories import make_counselor, make_user

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)  # a Tuesday, before New York's clocks go back on 2026-11-01


def t(text: str) -> time:
    return time.fromisoformat(text)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def counselor(app):
    return make_counselor(timezone="America/New_York")


@pytest.fixture
def actor(counselor):
    return make_user(role="counselor", counselor=counselor)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- weekly hours ---------------------------------------------------------------------------------------

def test_weekly_hours_are_stored_sorted_and_replace_the_old_ones(counselor, actor):
    assert editing.set_weekly_hours(counselor, {0: [(t("13:00"), t("17:00")), (t("09:00"), t("12:00"))]},
                                    actor=actor)
    assert editing.weekly_hours_of(counselor) == {0: [(t("09:00"), t("12:00")), (t("13:00"), t("17:00"))]}

    assert editing.set_weekly_hours(counselor, {2: [(t("10:00"), t("11:00"))]}, actor=actor)
    assert editing.weekly_hours_of(counselor) == {2: [(t("10:00"), t("11:00"))]}
    assert actions() == ["availability.weekly_hours", "availability.weekly_hours"]


def test_saving_the_same_hours_writes_nothing(counselor, actor):
    hours = {0: [(t("09:00"), t("12:00"))], 4: []}
    assert editing.set_weekly_hours(counselor, hours, actor=actor)
    assert not editing.set_weekly_hours(counselor, hours, actor=actor)
    assert actions() == ["availability.weekly_hours"]


def test_touching_ranges_are_fine(counselor, actor):
    editing.set_weekly_hours(counselor, {1: [(t("09:00"), t("12:00")), (t("12:00"), t("13:00"))]}, actor=actor)
    assert count(WeeklyHours) == 2


@pytest.mark.parametrize("ranges, message", [
    ([(t("09:00"), t("12:00")), (t("11:00"), t("13:00"))], "9:00 AM to 12:00 PM and 11:00 AM to 1:00 PM overlap"),
    ([(t("12:00"), t("09:00"))], "12:00 PM to 9:00 AM ends before it starts"),
    ([(t("09:00"), t("09:00"))], "ends before it starts"),
    ([(time(h), time(h, 30)) for h in range(8, 15)], "at most 6 ranges"),
])
def test_invalid_hours_are_refused_and_nothing_is_saved(counselor, actor, ranges, message):
    editing.set_weekly_hours(counselor, {0: [(t("08:00"), t("09:00"))]}, actor=actor)
    with pytest.raises(ScheduleInvalid) as caught:
        editing.set_weekly_hours(counselor, {0: ranges, 1: [(t("09:00"), t("10:00"))]}, actor=actor)
    assert list(caught.value.errors) == ["monday"]
    assert message in " ".join(caught.value.errors["monday"])
    db.session.rollback()
    assert editing.weekly_hours_of(counselor) == {0: [(t("08:00"), t("09:00"))]}


# --- date overrides -------------------------------------------------------------------------------------

def test_override_replaces_an_earlier_one_for_the_same_date(counselor, actor):
    day = date(2026, 10, 30)
    assert not editing.add_override(counselor, day, [(t("10:00"), t("12:00"))], actor=actor, now=NOW)
    assert editing.add_override(counselor, day, None, actor=actor, now=NOW)
    assert editing.overrides_from(counselor, day) == {day: []}
    rows = db.session.scalars(select(DateOverride)).all()
    assert [(r.day, r.start_time, r.end_time) for r in rows] == [(day, None, None)]


def test_override_with_several_ranges(counselor, actor):
    day = date(2026, 10, 30)
    editing.add_override(counselor, day, [(t("14:00"), t("16:00")), (t("08:00"), t("09:30"))], actor=actor, now=NOW)
    assert editing.overrides_from(counselor, day) == {day: [(t("08:00"), t("09:30")), (t("14:00"), t("16:00"))]}


def test_override_today_in_the_counselors_zone_is_allowed(counselor, actor):
    # 02:00 UTC on the 21st is still the 20th in New York.
    editing.add_override(counselor, date(2026, 10, 20), None, actor=actor, now=utc(2026, 10, 21, 2, 0))
    with pytest.raises(ScheduleInvalid) as caught:
        editing.add_override(counselor, date(2026, 10, 19), None, actor=actor, now=utc(2026, 10, 21, 2, 0))
    assert caught.value.errors == {"day": ["Choose today or a later date."]}


@pytest.mark.parametrize("ranges, key", [
    ([], "ranges"),
    ([(t("09:00"), t("12:00")), (t("10:00"), t("11:00"))], "ranges"),
])
def test_invalid_overrides_are_refused(counselor, actor, ranges, key):
    with pytest.raises(ScheduleInvalid) as caught:
        editing.add_override(counselor, date(2026, 10, 30), ranges, actor=actor, now=NOW)
    assert list(caught.value.errors) == [key]
    db.session.rollback()
    assert count(DateOverride) == 0


def test_removing_an_override(counselor, actor):
    day = date(2026, 10, 30)
    editing.add_override(counselor, day, [(t("10:00"), t("12:00")), (t("13:00"), t("14:00"))], actor=actor,
                         now=NOW)
    assert editing.remove_override(counselor, day, actor=actor)
    assert count(DateOverride) == 0
    assert not editing.remove_override(counselor, day, actor=actor)


# --- time off -------------------------------------------------------------------------------------------

def test_time_off_across_the_fall_back_change_is_stored_in_utc(counselor, actor):
    # Saturday 22:00 EDT (UTC-4) to Sunday 12:00 EST (UTC-5): 15 real hours, not 14.
    time_off = editing.add_time_off(counselor, datetime(2026, 10, 31, 22, 0), datetime(2026, 11, 1, 12, 0),
                                    "family visit", actor=actor, now=NOW)
    db.session.expire_all()
    stored = db.session.get(TimeOff, time_off.id)
    assert (stored.starts_at, stored.ends_at) == (utc(2026, 11, 1, 2, 0), utc(2026, 11, 1, 17, 0))
    assert stored.ends_at - stored.starts_at == timedelta(hours=15)
    assert stored.note == "family visit"


def test_time_off_in_the_repeated_hour_covers_all_of_it(counselor, actor):
    # 01:00-01:30 happens twice on 2026-11-01 in New York: from the first 01:00 to the second 01:30.
    time_off = editing.add_time_off(counselor, datetime(2026, 11, 1, 1, 0), datetime(2026, 11, 1, 1, 30),
                                    actor=actor, now=NOW)
    assert (time_off.starts_at, time_off.ends_at) == (utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 6, 30))


def test_time_off_starting_in_the_spring_gap_starts_when_clocks_jump(counselor, actor):
    # 02:30 doesn't exist on 2027-03-14 in New York: the clocks go from 02:00 EST to 03:00 EDT (07:00 UTC).
    time_off = editing.add_time_off(counselor, datetime(2027, 3, 14, 2, 30), datetime(2027, 3, 14, 5, 0),
                                    actor=actor, now=NOW)
    assert (time_off.starts_at, time_off.ends_at) == (utc(2027, 3, 14, 7, 0), utc(2027, 3, 14, 9, 0))


def test_whole_days_run_from_local_midnight_to_local_midnight(counselor, actor):
    time_off = editing.add_time_off(counselor, datetime(2026, 10, 31, 0, 0), datetime(2026, 11, 2, 0, 0),
                                    actor=actor, now=NOW)
    assert (time_off.starts_at, time_off.ends_at) == (utc(2026, 10, 31, 4, 0), utc(2026, 11, 2, 5, 0))
    assert week.span_text(time_off.starts_at, time_off.ends_at, counselor.timezone) == \
        "Saturday, October 31 – Sunday, November 1, 2026 (whole days)"


@pytest.mark.parametrize("start, end, key", [
    (datetime(2026, 10, 19, 9, 0), datetime(2026, 10, 21, 9, 0), "start"),   # starts before today
    (datetime(2026, 10, 22, 9, 0), datetime(2026, 10, 22, 9, 0), "end"),     # empty
    (datetime(2026, 10, 22, 9, 0), datetime(2026, 10, 21, 9, 0), "end"),     # backwards
    (datetime(2026, 10, 22, 9, 0), datetime(2027, 11, 22, 9, 0), "end"),     # over a year
])
def test_invalid_time_off_is_refused(counselor, actor, start, end, key):
    with pytest.raises(ScheduleInvalid) as caught:
        editing.add_time_off(counselor, start, end, actor=actor, now=NOW)
    assert list(caught.value.errors) == [key]
    db.session.rollback()
    assert count(TimeOff) == 0


def test_time_off_note_stays_out_of_the_audit_log(counselor, actor):
    time_off = editing.add_time_off(counselor, datetime(2026, 10, 22, 9, 0), datetime(2026, 10, 22, 17, 0),
                                    "medical appointment", actor=actor, now=NOW)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "availability.time_off_add"))
    assert "medical" not in str(event.detail)
    assert event.actor_id == actor.id
    assert editing.remove_time_off(counselor, time_off.id, actor=actor) is not None
    assert count(TimeOff) == 0


def test_time_off_of_another_counselor_cannot_be_removed(counselor, actor):
    other = make_counselor()
    time_off = editing.add_time_off(other, datetime(2026, 10, 22, 9, 0), datetime(2026, 10, 22, 17, 0),
                                    actor=actor, now=NOW)
    assert editing.remove_time_off(counselor, time_off.id, actor=actor) is None
    assert count(TimeOff) == 1


# --- booking rules --------------------------------------------------------------------------------------

def test_first_save_of_rules_creates_the_row(counselor, actor):
    assert db.session.get(SchedulingPolicy, counselor.id) is None
    assert editing.policy_of(counselor).notice_minutes == 24 * 60  # the defaults, before any save
    assert editing.update_policy(counselor, notice_minutes=120, horizon_days=30, slot_step_minutes=15,
                                 max_sessions_per_day=4, actor=actor)
    db.session.expire_all()
    policy = db.session.get(SchedulingPolicy, counselor.id)
    assert (policy.notice_minutes, policy.horizon_days, policy.slot_step_minutes, policy.max_sessions_per_day) == \
        (120, 30, 15, 4)
    assert not editing.update_policy(counselor, notice_minutes=120, horizon_days=30, slot_step_minutes=15,
                                     max_sessions_per_day=4, actor=actor)
    assert editing.update_policy(counselor, notice_minutes=120, horizon_days=30, slot_step_minutes=15,
                                 max_sessions_per_day=None, actor=actor)
    assert db.session.get(SchedulingPolicy, counselor.id).max_sessions_per_day is None
    assert actions() == ["availability.policy", "availability.policy"]


@pytest.mark.parametrize("changes, key", [
    ({"notice_minutes": -1}, "notice"),
    ({"notice_minutes": 15 * 24 * 60}, "notice"),
    ({"horizon_days": 0}, "horizon_days"),
    ({"horizon_days": 366}, "horizon_days"),
    ({"notice_minutes": 3 * 24 * 60, "horizon_days": 3}, "horizon_days"),  # nobody could ever book
    ({"slot_step_minutes": 7}, "slot_step_minutes"),
    ({"max_sessions_per_day": 0}, "max_sessions_per_day"),
    ({"max_sessions_per_day": 25}, "max_sessions_per_day"),
])
def test_invalid_rules_are_refused(counselor, actor, changes, key):
    values = {"notice_minutes": 60, "horizon_days": 30, "slot_step_minutes": 30, "max_sessions_per_day": None}
    with pytest.raises(ScheduleInvalid) as caught:
        editing.update_policy(counselor, **{**values, **changes}, actor=actor)
    assert list(caught.value.errors) == [key]
    db.session.rollback()
    assert count(SchedulingPolicy) == 0


# --- calendar feeds -------------------------------------------------------------------------------------

def test_feed_address_is_normalized_and_kept_out_of_the_audit_log(counselor, actor):
    feed = editing.add_feed(counselor, " webcal://calendar.example.com/private-abc123/basic.ics ", "", actor=actor)
    assert feed.url == "https://calendar.example.com/private-abc123/basic.ics"
    assert feed.label == "My calendar"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "availability.feed_add"))
    assert "private-abc123" not in str(event.detail)


def test_bad_and_duplicate_feed_addresses_are_refused(counselor, actor):
    with pytest.raises(ScheduleInvalid) as caught:
        editing.add_feed(counselor, "calendar.example.com/cal.ics", "Work", actor=actor)
    assert caught.value.errors["url"] == ["Use the calendar's full web address, starting with https:// or webcal://."]
    editing.add_feed(counselor, "https://calendar.example.com/cal.ics", "Work", actor=actor)
    with pytest.raises(ScheduleInvalid) as caught:
        editing.add_feed(counselor, "webcal://calendar.example.com/cal.ics", "Again", actor=actor)
    assert caught.value.errors == {"url": ["This calendar is already connected."]}


def test_removing_a_feed_forgets_its_busy_times(counselor, actor):
    feed = editing.add_feed(counselor, "https://calendar.example.com/cal.ics", "Work", actor=actor)
    db.session.add(ExternalBusy(feed_id=feed.id, counselor_id=counselor.id, starts_at=utc(2026, 10, 22, 14),
                                ends_at=utc(2026, 10, 22, 15)))
    db.session.commit()
    assert editing.remove_feed(counselor, feed.id, actor=actor) is not None
    assert count(CalendarFeed) == 0
    assert count(ExternalBusy) == 0


def test_refresh_now_asks_the_worker(counselor, actor):
    feed = editing.add_feed(counselor, "https://calendar.example.com/cal.ics", "Work", actor=actor)
    assert editing.refresh_feed_now(counselor, feed.id, actor=actor, now=NOW) is not None
    db.session.expire_all()
    assert db.session.get(CalendarFeed, feed.id).refresh_requested_at == NOW
    assert actions()[-1] == "availability.feed_refresh"
    assert editing.refresh_feed_now(make_counselor(), feed.id, actor=actor, now=NOW) is None


# --- the week, laid out (pure) --------------------------------------------------------------------------

def test_fall_back_week_shows_every_time_on_the_local_clock():
    monday = date(2026, 10, 26)
    layout = week.build_week(
        "America/New_York", monday,
        weekly={5: [(t("09:00"), t("12:00"))], 6: [(t("09:00"), t("12:00"))]},
        overrides={date(2026, 10, 28): []},
        bookings=[
            week.BookingRow(utc(2026, 10, 31, 14, 0), utc(2026, 10, 31, 14, 50), "Couples trial session",
                            BookingStatus.confirmed),  # Saturday 10:00 EDT
            week.BookingRow(utc(2026, 11, 1, 15, 0), utc(2026, 11, 1, 15, 30), "Individual trial session",
                            BookingStatus.pending_payment),  # Sunday 10:00 EST: an hour later in UTC
        ],
        busy=[engine.Interval(utc(2026, 10, 26, 20, 0), utc(2026, 10, 27, 13, 0))],  # Monday 4 PM to Tuesday 9 AM
        time_off=[engine.Interval(utc(2026, 10, 29, 4, 0), utc(2026, 10, 30, 4, 0))],  # all of Thursday
        today=date(2026, 10, 27),
    )
    days = {d.day.strftime("%a"): d for d in layout.days}
    assert [d.day for d in layout.days] == [monday + timedelta(days=n) for n in range(7)]
    assert [(e.when, e.title, e.detail) for e in days["Sat"].entries] == \
        [("10:00 AM – 10:50 AM", "Couples trial session", "Confirmed")]
    sunday = days["Sun"]
    assert sunday.clock_change == "Clocks go back an hour today (EDT to EST)."
    assert [(e.when, e.title) for e in sunday.entries] == [("10:00 AM EST – 10:30 AM EST", "Individual trial session")]
    assert sunday.hours == ("9:00 AM EST – 12:00 PM EST",)
    assert days["Sat"].hours == ("9:00 AM – 12:00 PM",)
    assert [(e.when, e.kind) for e in days["Mon"].entries] == [("From 4:00 PM", "busy")]
    assert [(e.when, e.kind) for e in days["Tue"].entries] == [("Until 9:00 AM", "busy")]
    assert [(e.when, e.title) for e in days["Thu"].entries] == [("All day", "Time off")]
    assert days["Wed"].is_override and days["Wed"].hours == ()
    assert days["Tue"].is_today and not days["Mon"].is_today


def test_week_parameter_is_any_day_of_the_week():
    assert week.parse_week("2026-11-04", today=date(2026, 1, 1)) == (date(2026, 11, 2), True)
    assert week.parse_week(None, today=date(2026, 11, 8)) == (date(2026, 11, 2), True)
    assert week.parse_week("next tuesday", today=date(2026, 11, 8)) == (date(2026, 11, 2), False)


def test_local_instant_follows_the_engine_on_dst_days():
    assert editing.local_instant(NY, datetime(2026, 11, 1, 1, 30), boundary="start") == utc(2026, 11, 1, 5, 30)
    assert editing.local_instant(NY, datetime(2026, 11, 1, 1, 30), boundary="end") == utc(2026, 11, 1, 6, 30)
    assert editing.local_instant(NY, datetime(2027, 3, 14, 2, 30), boundary="end") == utc(2027, 3, 14, 7, 0)
    assert editing.local_instant(NY, datetime(2026, 7, 1, 0, 0), boundary="end") == utc(2026, 7, 1, 4, 0)
