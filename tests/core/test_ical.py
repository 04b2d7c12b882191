"""core.ical's events as JSON: an email's invite is kept as its events and made when the message is delivered,
so the round trip must give back the same event, and the same bytes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from practice.core.ical import Person, SessionEvent, event_from_json, event_to_json, session_calendar

ZONES = ("America/New_York", "America/Los_Angeles", "Europe/Berlin", "UTC", "Australia/Lord_Howe")
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
people = st.builds(Person, text, st.emails())
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                       timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-5)),
                                                  timezone(timedelta(hours=5, minutes=30))]))


@st.composite
def events(draw):
    start = draw(moments)
    return SessionEvent(
        uid=draw(text), sequence=draw(st.integers(0, 10**6)), start=start,
        end=start + timedelta(minutes=draw(st.integers(15, 240))), zone=draw(st.sampled_from(ZONES)),
        summary=draw(text), stamp=draw(moments), organizer=draw(st.none() | people),
        attendees=tuple(draw(st.lists(people, max_size=3))), description=draw(text), location=draw(text),
        url=draw(text), cancelled=draw(st.booleans()),
        alarm_before=draw(st.none() | st.builds(timedelta, minutes=st.integers(1, 10_000))),
        schedule_agent_client=draw(st.booleans()), categories=tuple(draw(st.lists(text, max_size=2))),
    )


@settings(deadline=None)  # the first example pays for the strategies' set-up
@given(events())
def test_an_event_comes_back_from_json_as_it_was(event):
    back = event_from_json(event_to_json(event))
    assert back == event
    assert back.start.utcoffset() == event.start.utcoffset() and back.stamp.utcoffset() == event.stamp.utcoffset()


def test_the_calendar_made_from_json_is_the_same_bytes():
    event = SessionEvent(uid="b1@practice.example", sequence=2, start=datetime(2026, 3, 8, 6, 30, tzinfo=timezone.utc),
                         end=datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc), zone="America/New_York",
                         summary="Session at Harbor", stamp=datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc),
                         organizer=Person("Harbor", "desk@harbor.example"),
                         attendees=(Person("Robin Ö", "robin@example.org"),), description="Line one\nline two",
                         alarm_before=timedelta(hours=1))
    assert (session_calendar([event_from_json(event_to_json(event))], method="REQUEST")
            == session_calendar([event], method="REQUEST"))
