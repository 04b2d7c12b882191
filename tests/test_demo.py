"""`flask --app app seed-demo`: a realistic demo practice, the same after every run, whose accounts work."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from practice import clock
from practice.audit.models import AuditEvent
from practice.auth import service as auth_service
from practice.auth.models import User
from practice.counselors.models import Counselor, CounselorTag, License, Service
from practice.extensions import db

CREDENTIALS = re.compile(r"^\s+(\w+)\s+(\S+@demo\.practice)\s+password: (\S+)$", re.M)


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Counselor, License, CounselorTag, Service, User, AuditEvent)}


@pytest.fixture
def seeded(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_demo_is_idempotent(runner, seeded):
    first = counts()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert counts() == first
    assert result.output == seeded


def test_seed_demo_sets_back_edited_demo_data(runner, seeded):
    maya = db.session.scalar(select(Counselor).where(Counselor.slug == "maya-okafor"))
    maya.headline = "Edited in a demo"
    db.session.commit()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.expire_all()
    assert maya.headline != "Edited in a demo"


def test_demo_practice_is_varied_enough_to_show_every_feature(seeded):
    counselors = db.session.scalars(select(Counselor).where(Counselor.active)).all()
    assert len(counselors) >= 6
    assert len({c.timezone for c in counselors}) >= 3
    assert len({lic.state for c in counselors for lic in c.licenses}) >= 3
    trials = [s for c in counselors for s in c.active_services if s.is_trial]
    assert {s.format for s in trials} == {"individual", "couple"}
    assert any(s.price == 0 for s in trials) and any(s.price > 0 for s in trials)
    assert all(any(not s.is_trial for s in c.active_services) for c in counselors)  # a regular session each
    assert all(any(s.is_trial for s in c.active_services) for c in counselors)
    assert any(c.formats == ["individual"] for c in counselors)
    assert any(c.formats == ["couple"] for c in counselors)
    assert any("partner_violence" in c.specialties for c in counselors)
    assert any("discernment" in c.modalities for c in counselors)
    assert any(set(c.languages) - {"en"} for c in counselors)
    assert all(len(c.bio) > 200 and "\n\n" in c.bio for c in counselors)


def test_demo_data_is_served_by_the_api(client, seeded):
    body = client.get("/api/v1/counselors?modality=discernment").get_json()
    assert [c["slug"] for c in body["counselors"]] == ["priya-raman"]


def test_printed_credentials_sign_in(app, client, auth, seeded):
    accounts = CREDENTIALS.findall(seeded)
    assert {role for role, _, _ in accounts} == {"admin", "frontdesk", "counselor"}
    assert "Sign in at http://practice.test/staff/login" in seeded
    for role, email, password in accounts:
        user = auth_service.authenticate(email, password, now=clock.now())
        assert user is not None and user.role == role
    admin_email, admin_password = next((e, p) for role, e, p in accounts if role == "admin")
    response = auth.login(admin_email, admin_password)
    assert response.status_code == 302
    assert client.get("/staff/counselors").status_code == 200


def test_demo_counselor_account_edits_its_own_profile(client, auth, seeded):
    email, password = next((e, p) for role, e, p in CREDENTIALS.findall(seeded) if role == "counselor")
    assert auth.login(email, password).status_code == 302
    own = db.session.scalar(select(User).where(User.email == email)).counselor
    assert client.get(f"/staff/counselors/{own.slug}/edit").status_code == 200
    other = db.session.scalar(select(Counselor).where(Counselor.id != own.id).limit(1))
    assert client.get(f"/staff/counselors/{other.slug}/edit").status_code == 403


def test_demo_counselors_have_hours_time_off_and_bookings(client, seeded, runner):
    from practice.booking.models import Booking
    from practice.scheduling.models import TimeOff, WeeklyHours

    counts = {model: db.session.scalar(select(func.count()).select_from(model))
              for model in (Booking, TimeOff, WeeklyHours)}
    assert all(counts.values()), counts
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts == {model: db.session.scalar(select(func.count()).select_from(model)) for model in counts}
    for slug in ("maya-okafor", "daniel-reyes", "hana-seo"):
        slots = client.get(f"/api/v1/counselors/{slug}/slots?tz=America/Chicago").get_json()["slots"]
        assert slots, slug
        assert all(slot["start"].endswith(("-06:00", "-05:00")) for slot in slots)
