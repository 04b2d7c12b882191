"""An admin sets the late-cancellation policy on the practice settings page; bad input gets a clear message."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from practice.audit.models import AuditEvent
from practice.auth.models import PracticeSettings
from practice.extensions import db
from tests.factories import make_user


@pytest.fixture
def admin(app, auth):
    user = make_user(role="admin")
    assert auth.login(user.email).status_code == 302
    return user


def words(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def saved() -> tuple[str, int, int]:
    db.session.rollback()
    s = PracticeSettings.current()
    return s.late_cancel_policy, s.late_cancel_fee, s.late_cancel_percent


def test_the_settings_page_shows_the_policy_and_what_clients_are_told(client, admin):
    page = client.get("/staff/settings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<input [^>]*checked [^>]*name="late_policy" type="radio" value="fee_percent">', html)
    assert re.search(r'<input [^>]*name="late_percent" type="text" value="50">', html)
    assert ("Clients are told now: \"Cancel at least 24 hours before a paid session for a full refund. If you cancel "
            "later than that, 50% of what you paid is kept") in words(page)


@pytest.mark.parametrize("form, expected, changed", [
    ({"late_policy": "fee_fixed", "late_fee": "25"}, ("fee_fixed", 2500, 50),
     ["late_cancel_fee", "late_cancel_policy"]),
    ({"late_policy": "fee_fixed", "late_fee": "$37.50"}, ("fee_fixed", 3750, 50),
     ["late_cancel_fee", "late_cancel_policy"]),
    ({"late_policy": "fee_percent", "late_percent": "30%"}, ("fee_percent", 0, 30), ["late_cancel_percent"]),
    # a field the kind doesn't use is not read
    ({"late_policy": "no_refund", "late_fee": "anything"}, ("no_refund", 0, 50), ["late_cancel_policy"]),
    ({"late_policy": "fee_none"}, ("fee_none", 0, 50), ["late_cancel_policy"]),
])
def test_an_admin_saves_the_late_cancellation_policy(client, admin, form, expected, changed):
    response = client.post("/staff/settings", data={"practice_name": "Harbor Trust Counseling", **form})
    assert response.status_code == 302, words(response)
    assert saved() == expected
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "settings.update"))
    assert [name for name in event.detail["changed"] if name.startswith("late_")] == changed


@pytest.mark.parametrize("form, message", [
    ({"late_policy": "fee_fixed", "late_fee": ""}, "Enter an amount in dollars, like 25 or 37.50."),
    ({"late_policy": "fee_fixed", "late_fee": "ten"}, "Enter an amount in dollars and cents"),
    ({"late_policy": "fee_fixed", "late_fee": "0"}, "Enter a fee above $0, or choose no fee."),
    ({"late_policy": "fee_percent", "late_percent": "150"},
     "Enter the percentage kept as a whole number from 0 to 100, like 50."),
    ({"late_policy": "fee_percent", "late_percent": "12.5"}, "Enter the percentage kept as a whole number"),
    ({"late_policy": "sometimes"}, "Choose what happens when a client cancels late."),
    ({"late_policy": ""}, "Choose what happens when a client cancels late."),
])
def test_bad_policy_input_is_refused_with_a_clear_message(client, admin, form, message):
    response = client.post("/staff/settings", data={"practice_name": "Harbor Trust Counseling", **form})
    assert response.status_code == 422
    assert message in words(response)
    assert saved() == ("fee_percent", 0, 50)  # the defaults, untouched


def test_a_settings_form_without_the_policy_leaves_it_as_it_is(client, admin):
    client.post("/staff/settings", data={"practice_name": "Harbor", "late_policy": "no_refund"})
    response = client.post("/staff/settings", data={"practice_name": "Harbor Trust"})
    assert response.status_code == 302
    assert saved()[0] == "no_refund"
