"""Who gets what from every staff route: one table, every role, on both engines.

Each row is a route (method and rule as in app.url_map) and what each of five people gets from it: nobody signed
in, counselor A (whose booking and client the ids name), counselor B (another counselor), front desk, admin.
A GET is sent for everyone. A POST is sent for everyone it must refuse, with a form that would do something if
it were let through, and nothing may change; for those it lets through, ALLOWED is checked against the route's
own declaration (sending them would act). A route under /staff with no row fails the test: a new route must say
here who may use it.

Front desk never receives full intake answers: no GET answers it (nor counselor B, nor a stranger) with the
words booking A's client wrote, which admins and counselor A do see on the intake and client pages.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
from sqlalchemy import func, select

from practice import clock
from practice.access import declared_access
from practice.audit.models import AuditEvent
from practice.auth.service import start_session
from practice.booking import service as booking_service
from practice.booking.models import Booking
from practice.extensions import db
from practice.intake import service as intake_service
from practice.intake.models import RoutingDecision
from practice.notify.models import OutboxMessage
from practice.scheduling import editing
from practice.scheduling.models import CalendarFeed
from tests.answers import valid_answers
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.scheduling.helpers import give_hours

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
MARKER = "quokka-lantern-5519"  # what booking A's client wrote in their own words
ROLES = ("anonymous", "counselor_a", "counselor_b", "frontdesk", "admin")

# Outcomes: an HTTP status, LOGIN (a redirect to the sign-in page), or ALLOWED (a POST the role may send).
LOGIN, ALLOWED = "login", "allowed"
OK, ELSEWHERE, FORBIDDEN, HIDDEN = 200, 302, 403, 404  # ELSEWHERE: a redirect, not to the sign-in page


def everyone(staff, anonymous=LOGIN) -> dict:
    return {"anonymous": anonymous, "counselor_a": staff, "counselor_b": staff, "frontdesk": staff, "admin": staff}


def only(allowed, *roles, refused=FORBIDDEN, **special) -> dict:
    """`allowed` for `roles`, `refused` for the other staff, LOGIN for nobody signed in; `special` per role."""
    outcome = {role: (allowed if role in roles else refused) for role in ROLES}
    outcome["anonymous"] = LOGIN
    outcome.update(special)
    return outcome


ADMIN = ("admin",)
DESK = ("admin", "frontdesk")
STAFF = ("admin", "frontdesk", "counselor_a", "counselor_b")
OWN = ("admin", "frontdesk", "counselor_a")  # the booking's or client's own counselor, front desk, admins
PROFILE = ("admin", "counselor_a")  # a counselor's own profile, services and calendar links: not front desk

# (method, rule, outcome by role, form sent to those refused). Rules as app.url_map spells them.
MATRIX: list[tuple[str, str, dict, dict]] = [
    # signing in and one's own account
    ("GET", "/staff/login", everyone(ELSEWHERE, anonymous=OK), {}),  # signed in: on to the staff pages
    ("POST", "/staff/login", everyone(ALLOWED, anonymous=ALLOWED), {}),
    ("POST", "/staff/logout", everyone(ALLOWED), {}),
    ("GET", "/staff", everyone(OK), {}),
    ("GET", "/staff/account/password", everyone(OK), {}),
    ("POST", "/staff/account/password", everyone(ALLOWED), {}),
    ("POST", "/staff/account/two-step/reset", everyone(ALLOWED), {}),
    ("GET", "/staff/two-step", everyone(ELSEWHERE), {}),  # nobody here has a code to give: nothing to verify
    ("POST", "/staff/two-step", everyone(ALLOWED), {}),
    ("GET", "/staff/two-step/setup", everyone(OK), {}),
    ("POST", "/staff/two-step/setup", everyone(ALLOWED), {}),
    # admins only: staff accounts, settings, the audit log, the outbox
    ("GET", "/staff/users", only(OK, *ADMIN), {}),
    ("GET", "/staff/users/new", only(OK, *ADMIN), {}),
    ("POST", "/staff/users/new", only(ALLOWED, *ADMIN),
     {"email": "intruder@practice.test", "name": "Intruder", "role": "admin", "password": "x" * 20}),
    ("GET", "/staff/users/<int:user_id>", only(OK, *ADMIN), {}),
    ("POST", "/staff/users/<int:user_id>", only(ALLOWED, *ADMIN), {"name": "Renamed", "role": "admin"}),
    ("POST", "/staff/users/<int:user_id>/two-step/reset", only(ALLOWED, *ADMIN), {}),
    ("GET", "/staff/settings", only(OK, *ADMIN), {}),
    ("POST", "/staff/settings", only(ALLOWED, *ADMIN), {"practice_name": "Taken over"}),
    ("GET", "/staff/audit", only(OK, *ADMIN), {}),
    ("GET", "/staff/audit.csv", only(OK, *ADMIN), {}),
    ("GET", "/staff/outbox", only(OK, *ADMIN), {}),
    ("POST", "/staff/outbox/<int:message_id>/retry", only(ALLOWED, *ADMIN), {}),
    # counselors: the list and new ones for the office, a profile for its own counselor and admins
    ("GET", "/staff/counselors", only(OK, *DESK), {}),
    ("GET", "/staff/counselors/new", only(OK, *ADMIN), {}),
    ("POST", "/staff/counselors/new", only(ALLOWED, *ADMIN), {"name": "New Person", "slug": "new-person"}),
    ("GET", "/staff/counselors/<slug>/edit", only(OK, *PROFILE), {}),
    ("POST", "/staff/counselors/<slug>/edit", only(ALLOWED, *PROFILE), {"name": "Renamed", "headline": "Edited"}),
    ("POST", "/staff/counselors/<slug>/licenses", only(ALLOWED, *PROFILE),
     {"state": "CA", "number": "X-1", "kind": "LMFT"}),
    ("POST", "/staff/counselors/<slug>/licenses/<int:license_id>/delete", only(ALLOWED, *PROFILE), {}),
    ("POST", "/staff/counselors/<slug>/photo", only(ALLOWED, *PROFILE), {}),
    ("POST", "/staff/counselors/<slug>/photo/delete", only(ALLOWED, *PROFILE), {}),
    ("GET", "/staff/counselors/<slug>/services", only(OK, *PROFILE), {}),
    ("GET", "/staff/counselors/<slug>/services/new", only(OK, *PROFILE), {}),
    ("POST", "/staff/counselors/<slug>/services/new", only(ALLOWED, *PROFILE),
     {"slug": "stolen", "name": "Stolen", "format": "individual", "duration_minutes": "50", "price": "1"}),
    ("GET", "/staff/counselors/<slug>/services/<service_slug>/edit", only(OK, *PROFILE), {}),
    ("POST", "/staff/counselors/<slug>/services/<service_slug>/edit", only(ALLOWED, *PROFILE),
     {"name": "Edited", "price": "1"}),
    ("POST", "/staff/counselors/<slug>/calendar/caldav", only(ALLOWED, *PROFILE),
     {"url": "https://calendar.example.org/", "username": "x", "password": "y"}),
    ("POST", "/staff/counselors/<slug>/calendar/caldav/remove", only(ALLOWED, *PROFILE), {}),
    ("POST", "/staff/counselors/<slug>/calendar/subscription", only(ALLOWED, *PROFILE), {}),
    # a counselor's schedule: front desk keeps it too
    ("GET", "/staff/counselors/<slug>/availability", only(OK, *OWN), {}),
    ("POST", "/staff/counselors/<slug>/availability", only(ALLOWED, *OWN), {"notice_minutes": "0"}),
    ("GET", "/staff/counselors/<slug>/calendar", only(OK, *OWN), {}),
    ("GET", "/staff/counselors/<slug>/calendar-feeds", only(OK, *OWN), {}),
    ("POST", "/staff/counselors/<slug>/calendar-feeds", only(ALLOWED, *OWN),
     {"url": "https://calendar.example.org/feed.ics", "label": "Sneaky"}),
    ("POST", "/staff/counselors/<slug>/calendar-feeds/<int:feed_id>/refresh", only(ALLOWED, *OWN), {}),
    ("POST", "/staff/counselors/<slug>/calendar-feeds/<int:feed_id>/remove", only(ALLOWED, *OWN), {}),
    ("GET", "/staff/counselors/<slug>/time-off", only(OK, *OWN), {}),
    ("POST", "/staff/counselors/<slug>/time-off", only(ALLOWED, *OWN),
     {"start_date": "2026-12-20", "end_date": "2026-12-21", "note": "Sneaky"}),
    ("POST", "/staff/counselors/<slug>/time-off/<int:time_off_id>/remove", only(ALLOWED, *OWN), {}),
    ("POST", "/staff/counselors/<slug>/time-off/dates/<day>/remove", only(ALLOWED, *OWN), {}),
    # the dashboard
    ("GET", "/staff/dashboard", only(OK, *DESK), {}),
    ("GET", "/staff/dashboard.csv", only(OK, *DESK), {}),
    # the intake queue and a booking's intakes: another counselor's booking is not there for them (404)
    ("GET", "/staff/intakes", only(OK, *STAFF), {}),
    ("GET", "/staff/intakes/<booking_id>", only(OK, *OWN, refused=HIDDEN), {}),
    ("POST", "/staff/intakes/<booking_id>/decision", only(ALLOWED, *OWN, refused=HIDDEN),
     {"action": "override", "track": "individual", "reason": "Not theirs to decide", "version": "1"}),
    ("POST", "/staff/intakes/<booking_id>/lift-block", only(ALLOWED, *DESK), {}),
    ("POST", "/staff/intakes/<booking_id>/processed", only(ALLOWED, *DESK), {"version": "1"}),
    ("POST", "/staff/intakes/<booking_id>/assign", only(ALLOWED, *DESK), {"counselor": "counselor-b"}),
    ("GET", "/staff/intakes/<booking_id>/convert", only(OK, *DESK), {}),
    ("POST", "/staff/intakes/<booking_id>/convert", only(ALLOWED, *DESK), {"confirm": "y"}),
    # the day, bookings and refunds
    ("GET", "/staff/today", only(OK, *STAFF), {}),
    ("GET", "/staff/bookings/<booking_id>", only(OK, *OWN, counselor_b=HIDDEN), {}),
    ("POST", "/staff/bookings/<booking_id>/reschedule", only(ALLOWED, *DESK),
     {"start": "2026-12-14T10:00", "date": "2026-12-14", "time": "10:00"}),
    ("POST", "/staff/bookings/<booking_id>/cancel", only(ALLOWED, *DESK),
     {"reason": "Not theirs to cancel", "refund": "policy", "confirm": "y"}),
    ("POST", "/staff/bookings/<booking_id>/attendance", only(ALLOWED, *OWN, counselor_b=HIDDEN),
     {"attendance": "no_show", "status": "no_show"}),
    ("POST", "/staff/bookings/<booking_id>/resend", only(ALLOWED, *DESK), {}),
    ("GET", "/staff/bookings/<booking_id>/refund", only(OK, *DESK), {}),
    ("POST", "/staff/bookings/<booking_id>/refund", only(ALLOWED, *DESK), {"how_much": "all", "reason": "Mine"}),
    # clients
    ("GET", "/staff/clients", only(OK, *STAFF), {}),
    ("GET", "/staff/clients/<int:client_id>", only(OK, *OWN, counselor_b=HIDDEN), {}),
    ("GET", "/staff/clients/<int:client_id>/export", only(OK, *ADMIN), {}),
    ("GET", "/staff/clients/<int:client_id>/delete", only(OK, *ADMIN), {}),
    ("POST", "/staff/clients/<int:client_id>/delete", only(ALLOWED, *ADMIN), {"confirm": "y", "reason": "Gone"}),
]

# Pages that show a booking's intakes in full to those allowed (admins, the booking's counselor).
ANSWER_PAGES = ("/staff/intakes/<booking_id>", "/staff/clients/<int:client_id>")


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def world(app):
    """Counselor A's couple booking with both intakes in (booking A's client wrote MARKER), A's license, service,
    calendar feed, time off and date override, and a user for each role."""
    a = make_counselor(slug="counselor-a", name="Alma Counselor", timezone="America/New_York", licenses=("NY",))
    b = make_counselor(slug="counselor-b", name="Bruno Counselor", timezone="America/New_York", licenses=("NY",))
    for service in a.services:
        service.price = 0  # confirmed at once, with no payment to wait for
    db.session.commit()
    give_hours(a, {d: [("08:00", "18:00")] for d in range(7)})
    created = booking_service.book(booking_service.BookingRequest(
        counselor="counselor-a", service="couple-trial", start=datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc),
        timezone="America/New_York",
        client=booking_service.PersonIn(name="Robin Client", email="robin@example.org", state="NY"),
        partner=booking_service.PersonIn(name="Sam Partner", email="sam@example.org")), now=NOW)
    booking_id = created.booking.id
    for role in ("client", "partner"):
        token = created.intake_urls[role].rsplit("/", 1)[1]
        words = MARKER if role == "client" else "an ordinary week"
        intake_service.submit(token, valid_answers(in_own_words=words), now=NOW)
    booking = db.session.get(Booking, booking_id)
    users = {"counselor_a": make_user(role="counselor", counselor=a),
             "counselor_b": make_user(role="counselor", counselor=b),
             "frontdesk": make_user(role="frontdesk"), "admin": make_user(role="admin")}
    editing.add_time_off(a, datetime(2026, 12, 24, 0, 0), datetime(2026, 12, 24, 23, 59), "Holiday", actor=None,
                         now=NOW)
    day = date(2026, 12, 28)
    editing.add_override(a, day, [(time(10), time(12))], actor=None, now=NOW)
    feed = CalendarFeed(counselor_id=a.id, label="Home", url="https://calendar.example.org/a.ics")
    db.session.add(feed)
    db.session.commit()
    time_off = editing.upcoming_time_off(a, now=NOW)[0]
    message_id = db.session.scalar(select(func.min(OutboxMessage.id))) or 1
    params = {"booking_id": str(booking_id), "client_id": booking.participants[0].client_id, "slug": a.slug,
              "license_id": a.licenses[0].id, "service_slug": "individual-trial", "feed_id": feed.id,
              "time_off_id": time_off.id, "day": day.isoformat(), "message_id": message_id,
              "user_id": users["frontdesk"].id}
    return {"params": params, "users": users, "booking_id": booking_id}


def url_of(rule: str, params: dict) -> str:
    url = rule
    for name, value in params.items():
        url = url.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    assert "<" not in url, f"no value for a part of {rule}"
    return url


def clients_by_role(app, users) -> dict:
    """A browser for each role, its person signed in through the service the login form uses."""
    browsers = {"anonymous": app.test_client()}
    for role, user in users.items():
        browser = app.test_client()
        with app.test_request_context():
            start_session(user, now=clock.now())
            token = user.session_token
        with browser.session_transaction() as session:
            session["_user_id"], session["_fresh"] = token, True
        browsers[role] = browser
    return browsers


def state_of_things() -> tuple:
    """What a POST let through would change: the audit log above all (every change is recorded), and the rows."""
    db.session.rollback()
    from practice.auth.models import PracticeSettings, User
    from practice.counselors.models import Counselor, License, Service
    from practice.payments.models import Refund
    from practice.scheduling.models import TimeOff

    decision = db.session.scalar(select(RoutingDecision))
    return (
        db.session.scalar(select(func.count()).select_from(AuditEvent)),
        tuple(db.session.execute(select(Booking.id, Booking.status, Booking.starts_at, Booking.counselor_id)
                                 .order_by(Booking.id)).all()),
        (decision.accepted_at, decision.override_track, decision.processed_at, decision.version),
        db.session.scalar(select(func.count()).select_from(Refund)),
        tuple(db.session.execute(select(User.id, User.name, User.role, User.totp_enabled).order_by(User.id)).all()),
        PracticeSettings.current().practice_name,
        tuple(db.session.execute(select(Counselor.id, Counselor.name, Counselor.headline)
                                 .order_by(Counselor.id)).all()),
        db.session.scalar(select(func.count()).select_from(License)),
        tuple(db.session.execute(select(Service.id, Service.name, Service.price).order_by(Service.id)).all()),
        db.session.scalar(select(func.count()).select_from(TimeOff)),
        tuple(db.session.execute(select(CalendarFeed.id, CalendarFeed.active)).all()),
    )


def outcome_of(response) -> object:
    if response.status_code in (301, 302, 303) and "/staff/login" in response.headers.get("Location", ""):
        return LOGIN
    return response.status_code


def staff_rules(app) -> set[tuple[str, str]]:
    """Every route under /staff, and any route elsewhere that only staff may use."""
    def for_staff(rule) -> bool:
        declared = declared_access(app, rule.endpoint)
        return rule.rule.startswith("/staff") or (declared is not None and declared.kind == "staff")

    return {(method, rule.rule) for rule in app.url_map.iter_rules() if for_staff(rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_staff_route_has_a_row(app):
    rows = {(method, rule) for method, rule, _, _ in MATRIX}
    missing = sorted(staff_rules(app) - rows)
    assert missing == [], f"staff routes with no row in the access matrix (add one): {missing}"


def test_the_matrix_names_every_role_for_every_row():
    for method, rule, outcome, _ in MATRIX:
        assert set(outcome) == set(ROLES), (method, rule)
        assert method == "POST" or ALLOWED not in outcome.values(), (method, rule)


def test_allowed_posts_agree_with_each_routes_declaration(app):
    """The roles the table lets send a POST are the ones the route declares (the rest are refused by it)."""
    role_of = {"counselor_a": "counselor", "counselor_b": "counselor", "frontdesk": "frontdesk", "admin": "admin"}
    existing = staff_rules(app)
    adapter = app.url_map.bind("practice.test")
    for method, rule, outcome, _ in MATRIX:
        if method != "POST" or (method, rule) not in existing:
            continue
        endpoint, _ = adapter.match(url_of(rule, {k: 1 if "id" in k else "x" for k in
                                                  ("booking_id", "client_id", "slug", "license_id", "service_slug",
                                                   "feed_id", "time_off_id", "day", "message_id", "user_id")}),
                                    method="POST")
        declared = declared_access(app, endpoint)
        for role, expected in outcome.items():
            if role == "anonymous" or (role == "counselor_b" and outcome["counselor_a"] == ALLOWED):
                continue  # B is refused A's things by the handler (ownership), not by the declaration
            if expected == ALLOWED:
                assert declared.kind == "public" or role_of[role] in declared.roles, (rule, role)
            elif expected == FORBIDDEN:
                assert declared.kind == "staff" and role_of[role] not in declared.roles, (rule, role)


def test_each_role_gets_what_the_matrix_says_and_a_refused_post_changes_nothing(app, world):
    browsers = clients_by_role(app, world["users"])
    existing = staff_rules(app)
    wrong = []
    for method, rule, outcome, form in MATRIX:
        if (method, rule) not in existing:
            continue  # a route not built (yet): test_every_staff_route_has_a_row covers the other direction
        url = url_of(rule, world["params"])
        for role in ROLES:
            expected = outcome[role]
            if expected == ALLOWED:
                continue
            if method == "GET":
                response = browsers[role].get(url)
            else:
                before = state_of_things()
                response = browsers[role].post(url, data=form)
                if state_of_things() != before:
                    wrong.append(f"{method} {url} as {role}: refused ({outcome_of(response)}) but something changed")
            got = outcome_of(response)
            if got != expected:
                wrong.append(f"{method} {url} as {role}: expected {expected}, got {got}")
            body = response.get_data(as_text=True)
            if role in ("anonymous", "counselor_b", "frontdesk") and MARKER in body:
                wrong.append(f"{method} {url} as {role}: the client's own words were sent")
    assert not wrong, "\n".join(wrong)


def test_front_desk_never_receives_the_answers_that_admins_and_the_counselor_see(app, world):
    browsers = clients_by_role(app, world["users"])
    pages = [url_of(rule, world["params"]) for rule in ANSWER_PAGES if ("GET", rule) in staff_rules(app)]
    assert pages, "the intake page at least exists"
    for url in pages:
        seen = {role: browsers[role].get(url) for role in ("frontdesk", "admin", "counselor_a", "counselor_b")}
        assert seen["frontdesk"].status_code == 200 and MARKER not in seen["frontdesk"].get_data(as_text=True)
        assert seen["admin"].status_code == 200 and MARKER in seen["admin"].get_data(as_text=True), url
        assert seen["counselor_a"].status_code == 200 and MARKER in seen["counselor_a"].get_data(as_text=True)
        assert seen["counselor_b"].status_code == 404 and MARKER not in seen["counselor_b"].get_data(as_text=True)


def test_a_counselor_opening_another_counselors_booking_or_client_by_id_finds_nothing(app, world):
    browsers = clients_by_role(app, world["users"])
    existing = staff_rules(app)
    rules = [r for r in ("/staff/intakes/<booking_id>", "/staff/bookings/<booking_id>",
                         "/staff/clients/<int:client_id>") if ("GET", r) in existing]
    for rule in rules:
        url = url_of(rule, world["params"])
        other = browsers["counselor_b"].get(url)
        unknown = browsers["counselor_b"].get(url_of(rule, {**world["params"], "client_id": 999999,
                                                            "booking_id": "00000000-0000-4000-8000-000000000000"}))
        assert other.status_code == unknown.status_code == 404, url  # no hint that it exists
        assert browsers["counselor_a"].get(url).status_code == 200, url
