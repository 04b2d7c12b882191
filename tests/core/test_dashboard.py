from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from practice.core.dashboard import (BookingRow, PaymentRow, RefundRow, RoutingRow, as_rows,
                                     week_start, weekly_figures)
from practice.core.spreadsheet import safe_cell

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 18, 15, 0, tzinfo=timezone.utc)  # a Wednesday
THIS_MONDAY = datetime(2026, 3, 16, 14, 0, tzinfo=timezone.utc)  # 10:00 in New York


def figures(*, bookings=(), routings=(), payments=(), refunds=(), weeks=4):
    return weekly_figures(bookings=list(bookings), routings=list(routings), payments=list(payments),
                          refunds=list(refunds), now=NOW, weeks=weeks, zone=NY)


def test_weeks_start_on_monday_in_the_practice_zone_oldest_first():
    weeks = figures(weeks=4)
    assert [w.start.isoformat() for w in weeks] == ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16"]
    # Monday 02:00 UTC is still Sunday evening in New York: the week before.
    assert week_start(datetime(2026, 3, 16, 2, 0, tzinfo=timezone.utc), NY).isoformat() == "2026-03-09"


def test_trial_bookings_conversion_and_no_shows_by_week():
    last_week = THIS_MONDAY - timedelta(weeks=1)
    weeks = figures(bookings=[
        BookingRow(last_week, True, "individual", "completed", "a@example.org"),
        BookingRow(last_week, True, "couple", "completed", "b@example.org"),
        BookingRow(last_week, True, "individual", "no_show", "c@example.org"),
        BookingRow(last_week, True, "individual", "cancelled", "d@example.org"),
        BookingRow(THIS_MONDAY, False, "individual", "confirmed", "A@example.org"),  # a converted
        BookingRow(THIS_MONDAY, False, "couple", "cancelled", "b@example.org"),  # cancelled: not ongoing
        BookingRow(last_week - timedelta(weeks=1), False, "individual", "confirmed", "b@example.org"),  # before
    ])
    week = weeks[-2]
    assert (week.trial_bookings, week.trials_completed, week.trials_converted) == (4, 2, 1)
    assert week.conversion == 0.5
    assert (week.completed, week.no_shows) == (2, 1)
    assert week.no_show_rate == pytest.approx(1 / 3)
    assert weeks[-1].trial_bookings == 0 and weeks[-1].conversion is None and weeks[-1].no_show_rate is None


def test_routing_tracks_flags_and_money_by_week():
    weeks = figures(
        routings=[RoutingRow(THIS_MONDAY, "couples", False, ("trust_breach", "jealousy")),
                  RoutingRow(THIS_MONDAY, "individual", True, ("trust_breach",)),
                  RoutingRow(NOW - timedelta(weeks=10), "couples", False, ("ignored",))],
        payments=[PaymentRow(THIS_MONDAY, 7500), PaymentRow(THIS_MONDAY, 12000)],
        refunds=[RefundRow(THIS_MONDAY, 2000), RefundRow(THIS_MONDAY - timedelta(weeks=1), 500)])
    week = weeks[-1]
    assert week.tracks == {"couples": 1, "individual": 1}
    assert week.flags == {"jealousy": 1, "trust_breach": 2}
    assert week.urgent == 1
    assert (week.payments, week.refunds, week.revenue) == (19500, 2000, 17500)
    assert weeks[-2].revenue == -500
    assert all(w.tracks == {} for w in weeks[:-1])


@pytest.mark.parametrize("weeks", [0, 3, 53])
def test_window_outside_4_to_52_weeks_is_refused(weeks):
    with pytest.raises(ValueError):
        figures(weeks=weeks)


def test_rows_hold_every_figure_of_every_week():
    weeks = figures(routings=[RoutingRow(THIS_MONDAY, "couples", False, ("=cmd",))])
    rows = as_rows(weeks)
    assert ("2026-03-16", "track:couples", "1") in rows
    assert ("2026-03-16", "flag:=cmd", "1") in rows
    assert ("2026-03-16", "conversion_rate", "") in rows
    assert {r[0] for r in rows} == {w.start.isoformat() for w in weeks}


@pytest.mark.parametrize("cell, safe", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
                                        ("\tx", "'\tx"), ("\rx", "'\rx"), ("flag:=x", "flag:=x"), ("12", "12")])
def test_spreadsheet_safe_neutralises_formula_starts(cell, safe):
    assert safe_cell(cell) == safe


moments = st.datetimes(min_value=datetime(2025, 10, 1), max_value=datetime(2026, 3, 22),
                       timezones=st.just(timezone.utc))
booking_rows = st.builds(BookingRow, moments, st.booleans(), st.sampled_from(["individual", "couple"]),
                         st.sampled_from(["held", "confirmed", "completed", "no_show", "cancelled"]),
                         st.sampled_from(["a@x.org", "b@x.org", "c@x.org"]))


@given(st.lists(booking_rows, max_size=30), st.integers(4, 52))
def test_rates_stay_between_0_and_1_and_counts_add_up(bookings, n):
    weeks = figures(bookings=bookings, weeks=n)
    assert len(weeks) == n
    assert all(b.start - a.start == timedelta(weeks=1) for a, b in zip(weeks, weeks[1:]))
    for w in weeks:
        assert 0 <= w.trials_converted <= w.trials_completed <= w.trial_bookings
        assert w.conversion is None or 0 <= w.conversion <= 1
        assert w.no_show_rate is None or 0 <= w.no_show_rate <= 1
    window_start = weeks[0].start
    counted = [b for b in bookings if b.is_trial and window_start <= week_start(b.created_at, NY)]
    assert sum(w.trial_bookings for w in weeks) == len(counted)


@given(st.lists(st.tuples(moments, st.integers(0, 100_000)), max_size=20),
       st.lists(st.tuples(moments, st.integers(0, 100_000)), max_size=20))
def test_revenue_is_payments_less_refunds_in_every_week(payments, refunds):
    weeks = figures(payments=[PaymentRow(*p) for p in payments], refunds=[RefundRow(*r) for r in refunds], weeks=52)
    for w in weeks:
        assert w.revenue == w.payments - w.refunds
    assert sum(w.payments for w in weeks) == sum(a for at, a in payments if week_start(at, NY) >= weeks[0].start)


@given(st.text(max_size=20))
def test_a_safe_cell_never_starts_a_formula(cell):
    safe = safe_cell(cell)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert safe.endswith(cell)
