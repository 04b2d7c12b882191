"""Staff on one booking (/staff/bookings/<id>): what the page shows to whom, and moving, cancelling with each
refund choice (against the Stripe stand-in), marking attendance and sending fresh links, each through the
calendar guard and audited with the staff member who acted."""
from __future__ import annotations

import html
import re
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from practice import clock as practice_clock
from practice.audit.models import AuditEvent
from practice.auth.models import PracticeSettings
from practice.auth.service import start_session
from practice.booking import display, service as booking_service, staff as staff_changes
from practice.booking.errors import ActionRefused, LinkInvalid, SlotUnavailable
from practice.booking.models import Booking, BookingStatus, ManageToken
from practice.counselors.models import Counselor, Service
from practice.extensions import db
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from practice.payments.models import Refund, RefundState
from practice.payments.stripe_api import client as stripe_client
from tests.answers import valid_answers
from tests.conftest import freeze_clock, stripe_config
from tests.factories import make_counselor, make_user
from tests.payments.helpers import pay_for
from tests.scheduling.helpers import add_booking, give_hours
from tests.smtp import smtp_server  # noqa: F401  (the real SMTP server fixture)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)  # Tuesday 7 AM in New York
MON_10 = datetime.fromisoformat("2026-12-07T10:00:00-05:00")
MON_11 = datetime.fromisoformat("2026-12-07T11:00:00-05:00")
LATE = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)  # 5 AM in New York, five hours before MON_10
MARKER = "quartz-harbour-5519"


@pytest.fixture
def app_config(app_config, stripe_standin, smtp_server):
    # inline: a refund reaches Stripe (and an email the SMTP server) before the request returns
    return {**app_config, **stripe_config(stripe_standin), **smtp_server.app_config, "MAIL_DELIVERY": "inline"}


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", name="Ana Counselor", timezone="America/New_York", licenses=("NY",))
    give_hours(c, {d: [("08:00", "18:00")] for d in range(7)})
    return c


@pytest.fixture
def other_counselor(app):
    c = make_counselor(slug="ben", name="Ben Counselor", timezone="America/Chicago", licenses=("NY",))
    give_hours(c, {d: [("08:00", "18:00")] for d in range(7)})
    return c


@pytest.fixture
def sign_in(app, client):
    def _sign_in(user, on=None):
        with app.test_request_context():
            start_session(user, now=practice_clock.now())
            token = user.session_token
        with (on or client).session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        return user
    return _sign_in


@pytest.fixture
def frontdesk(app):
    return make_user(role="frontdesk")


def book(counselor_slug="ana", *, start=MON_10, couple=True, client_email="robin@example.org"):
    created = booking_service.book(booking_service.BookingRequest(
        counselor=counselor_slug, service="couple-trial" if couple else "individual-trial", start=start,
        timezone="America/Los_Angeles",
        client=booking_service.PersonIn(name="Robin Client", email=client_email, state="NY", phone="555-0101"),
        partner=booking_service.PersonIn(name="Sam Partner", email="sam@example.org") if couple else None),
        now=practice_clock.now())
    return created


def paid_booking(standin: str, *, start=MON_10):
    """A couple trial ($75) booked and paid at the stand-in, the payment row written as the webhook would."""
    created = book(start=start)
    booking = created.booking
    payment = pay_for(standin, booking, now=NOW)
    return booking, created.tokens, payment


def free_booking(counselor_slug="ana", *, start=MON_10, couple=False):
    c = db.session.scalar(select(Counselor).where(Counselor.slug == counselor_slug))
    for s in db.session.scalars(select(Service).where(Service.counselor_id == c.id)):
        s.price = 0
    db.session.commit()
    created = book(counselor_slug, start=start, couple=couple)
    assert created.booking.status == BookingStatus.confirmed
    return created


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(response.get_data(as_text=True))))


def audit(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def fresh(booking_id) -> Booking:
    db.session.rollback()
    return db.session.get(Booking, booking_id, populate_existing=True)


def set_policy(kind: str, *, fee: int = 0) -> None:
    settings = PracticeSettings.for_update()
    settings.late_cancel_policy, settings.late_cancel_fee = kind, fee
    db.session.commit()


def mails(kind: str) -> dict:
    """Address -> the text of the last email of this kind sent there."""
    db.session.rollback()
    return {m.to_email: rendered(m).text for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))}


def mail_tokens(kind: str, booking_id) -> dict[str, set[str]]:
    """Address -> the manage tokens in that person's emails of this kind."""
    found: dict[str, set[str]] = {}
    db.session.rollback()
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)):
        text = rendered(message).text
        found.setdefault(message.to_email, set()).update(re.findall(rf"/bookings/{booking_id}\?token=([\w-]+)", text))
    return found


# --- the page ----------------------------------------------------------------------------------------------

def test_front_desk_sees_people_times_in_both_zones_payment_and_intake_progress(client, counselor, frontdesk,
                                                                                sign_in, stripe_standin):
    booking, _, _ = paid_booking(stripe_standin)
    sign_in(frontdesk)
    page = client.get(f"/staff/bookings/{booking.id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Robin Client" in text and "Sam Partner" in text
    assert "robin@example.org" in text and "sam@example.org" in text and "555-0101" in text
    assert "Monday, December 7, 2026, 10:00 AM – 10:50 AM EST" in text  # the practice's zone
    assert "Monday, December 7, 2026, 7:00 AM – 7:50 AM PST" in text  # the client's zone
    assert "America/New_York (Eastern Time)" in text
    assert "Paid $75" in text and "Not started" in text
    assert f'href="/staff/bookings/{booking.id}/refund"' in page.get_data(as_text=True)
    assert f'href="/staff/intakes/{booking.id}"' in page.get_data(as_text=True)
    assert "By the cancellation policy, as if the client had cancelled: $75" in text
    [seen] = audit("frontdesk.view_booking")
    assert (seen.actor_id, seen.record_id) == (frontdesk.id, str(booking.id))


def test_the_refund_page_links_back_to_the_booking(client, counselor, frontdesk, sign_in, stripe_standin):
    booking, _, _ = paid_booking(stripe_standin)
    sign_in(frontdesk)
    page = client.get(f"/staff/bookings/{booking.id}/refund").get_data(as_text=True)
    assert f'href="/staff/bookings/{booking.id}"' in page


def test_front_desk_never_sees_intake_answers_here(client, counselor, frontdesk, sign_in):
    created = free_booking(couple=True)
    for role, url in created.intake_urls.items():
        token = url.rsplit("/", 1)[1]
        answered = client.post(f"/api/v1/intakes/{token}", json={"answers": valid_answers(
            in_own_words=f"{MARKER} {role}")})
        assert answered.status_code == 201, answered.get_json()
    sign_in(frontdesk)
    page = client.get(f"/staff/bookings/{created.booking.id}")
    day = client.get("/staff/today?date=2026-12-07")
    for response in (page, day):
        assert response.status_code == 200
        assert MARKER not in response.get_data(as_text=True)
        assert "How often do you hold back" not in response.get_data(as_text=True)
    assert "Sent" in text_of(page)  # progress, and only progress
    assert audit("intake.view_answers") == []


def test_a_counselor_sees_their_own_booking_read_only_and_gets_404_for_anothers(
        app, client, counselor, other_counselor, sign_in, stripe_standin):
    own, _, _ = paid_booking(stripe_standin)
    other = free_booking("ben", start=MON_11).booking
    me = sign_in(make_user(role="counselor", counselor=counselor))
    page = client.get(f"/staff/bookings/{own.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Move the session" not in body and "Cancel the booking" not in body and "Send new links" not in body
    assert "Attendance" in body
    assert client.get(f"/staff/bookings/{other.id}").status_code == 404
    assert client.post(f"/staff/bookings/{other.id}/attendance",
                       data={"outcome": "completed", "sequence": 0}).status_code == 404
    for action in ("cancel", "reschedule", "resend"):
        assert client.post(f"/staff/bookings/{own.id}/{action}", data={"sequence": 0}).status_code == 403
    assert fresh(own.id).status == BookingStatus.confirmed
    assert [e.actor_id for e in audit("frontdesk.view_booking")] == [me.id]


@pytest.mark.parametrize("booking_id", ["not-a-uuid", "1f0f3c9e-3c7a-4b7e-9a3e-000000000000"])
def test_unknown_or_malformed_ids_are_404(client, counselor, frontdesk, sign_in, booking_id):
    sign_in(frontdesk)
    assert client.get(f"/staff/bookings/{booking_id}").status_code == 404
    assert client.post(f"/staff/bookings/{booking_id}/cancel", data={"reason": "x"}).status_code == 404


# --- reschedule --------------------------------------------------------------------------------------------

def test_staff_reschedule_moves_it_and_each_person_gets_a_new_link_of_their_own(client, counselor, frontdesk,
                                                                               sign_in, stripe_standin):
    booking, tokens, _ = paid_booking(stripe_standin)
    sign_in(frontdesk)
    page = client.get(f"/staff/bookings/{booking.id}").get_data(as_text=True)
    assert f'value="{display.url_start(MON_11)}"' in page  # one of the open times offered
    moved = client.post(f"/staff/bookings/{booking.id}/reschedule",
                        data={"slot": display.url_start(MON_11), "sequence": 0})
    assert moved.status_code == 303
    after = client.get(moved.headers["Location"])
    assert "Moved to Monday, December 7, 2026 at 11:00 AM EST" in text_of(after)
    booking = fresh(booking.id)
    assert (booking.starts_at, booking.reschedule_count, booking.ics_sequence) == (MON_11, 1, 1)
    for role in ("client", "partner"):
        with pytest.raises(LinkInvalid) as refused:
            booking_service.open_link(booking.id, tokens[role], now=NOW)
        assert refused.value.reason == "revoked_reissued"
    sent = mail_tokens("booking_rescheduled", booking.id)
    assert set(sent) == {"robin@example.org", "sam@example.org"}
    assert all(len(found) == 1 for found in sent.values())
    assert sent["robin@example.org"] != sent["sam@example.org"]
    for address, role in (("robin@example.org", "client"), ("sam@example.org", "partner")):
        assert booking_service.open_link(booking.id, next(iter(sent[address])), now=NOW).participant.role == role
    [event] = audit("booking.reschedule")
    assert event.actor_id == frontdesk.id and event.detail["by"] == "staff"


def test_staff_can_type_a_date_and_time_in_the_practice_zone(client, counselor, frontdesk, sign_in):
    booking = free_booking().booking
    sign_in(frontdesk)
    moved = client.post(f"/staff/bookings/{booking.id}/reschedule",
                        data={"day": "2026-12-08", "time": "14:30", "sequence": 0})
    assert moved.status_code == 303
    assert fresh(booking.id).starts_at == datetime(2026, 12, 8, 19, 30, tzinfo=timezone.utc)


def test_a_typed_time_that_is_not_a_time_is_a_clear_422(client, counselor, frontdesk, sign_in):
    booking = free_booking().booking
    sign_in(frontdesk)
    page = client.post(f"/staff/bookings/{booking.id}/reschedule",
                       data={"day": "2026-12-08", "time": "half past two", "sequence": 0})
    assert page.status_code == 422
    assert "Write the time as hours and minutes" in text_of(page)
    assert fresh(booking.id).starts_at == MON_10


def test_a_staff_reschedule_into_a_taken_slot_is_refused(client, counselor, frontdesk, sign_in):
    booking = free_booking().booking
    service = booking.service
    add_booking(counselor, service, MON_11)
    sign_in(frontdesk)
    page = client.post(f"/staff/bookings/{booking.id}/reschedule",
                       data={"slot": display.url_start(MON_11), "sequence": 0})
    assert page.status_code == 409
    assert "isn't open for Ana Counselor" in text_of(page)
    assert fresh(booking.id).starts_at == MON_10
    # The service refuses it too, whatever a page offered.
    with pytest.raises(SlotUnavailable):
        staff_changes.reschedule(booking.id, MON_11, actor=frontdesk, now=NOW, expected_sequence=0)


def test_two_staff_moving_the_same_booking_from_the_same_page_one_wins(app, client, counselor, frontdesk,
                                                                      sign_in):
    booking = free_booking().booking
    admin = make_user(role="admin")
    other = app.test_client()
    sign_in(frontdesk)
    sign_in(admin, on=other)
    # Both opened the page at sequence 0.
    first = client.post(f"/staff/bookings/{booking.id}/reschedule",
                        data={"slot": display.url_start(MON_11), "sequence": 0})
    second = other.post(f"/staff/bookings/{booking.id}/reschedule",
                        data={"slot": display.url_start(MON_10 + timedelta(hours=3)), "sequence": 0})
    assert first.status_code == 303
    assert second.status_code == 409
    text = text_of(second)
    assert "changed since you opened it" in text
    assert "Monday, December 7, 2026, 11:00 AM" in text  # the booking as it stands now
    booking = fresh(booking.id)
    assert (booking.starts_at, booking.reschedule_count) == (MON_11, 1)
    assert len(audit("booking.reschedule")) == 1


def test_two_staff_moving_it_at_the_same_moment_take_turns_and_one_is_told_it_changed(app, counselor, frontdesk):
    """Two requests at once, each with its own connection: the calendar lock makes them take turns, and the
    second re-reads the booking under it and finds it moved."""
    booking = free_booking().booking
    booking_id = booking.id
    actor = SimpleNamespace(id=frontdesk.id, email=frontdesk.email, role=frontdesk.role, name=frontdesk.name)
    targets = [MON_11, MON_10 + timedelta(hours=3)]
    barrier, outcomes = threading.Barrier(len(targets)), []

    def move_to(start):
        with app.app_context():
            db.session.execute(select(1))  # connected before the starting gun
            barrier.wait(timeout=30)
            try:
                staff_changes.reschedule(booking_id, start, actor=actor, now=NOW, expected_sequence=0)
                outcomes.append(("moved", start))
            except ActionRefused as exc:
                outcomes.append(("refused", str(exc)))
            finally:
                db.session.remove()

    db.session.remove()
    threads = [threading.Thread(target=move_to, args=(start,)) for start in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(kind for kind, _ in outcomes) == ["moved", "refused"], outcomes
    [(_, won)] = [o for o in outcomes if o[0] == "moved"]
    [(_, told)] = [o for o in outcomes if o[0] == "refused"]
    assert told == staff_changes.CHANGED
    booking = fresh(booking_id)
    assert (booking.starts_at, booking.reschedule_count, booking.ics_sequence) == (won, 1, 1)


# --- cancel ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("choice, extra, refunded", [
    ("policy", {}, 5000),  # late: the $25 fee is kept, as if the client had cancelled
    ("full", {}, 7500),
    ("amount", {"amount": "20", "override_reason": "Goodwill for a late change on our side"}, 2000),
    ("amount", {"amount": "0", "override_reason": "Client asked to keep it as a credit"}, 0),
])
def test_staff_cancel_refunds_what_was_chosen_at_stripe(client, counselor, frontdesk, sign_in, stripe_standin,
                                                        clock, choice, extra, refunded):
    set_policy("fee_fixed", fee=2500)
    booking, tokens, payment = paid_booking(stripe_standin)
    clock["now"] = LATE
    sign_in(frontdesk)
    done = client.post(f"/staff/bookings/{booking.id}/cancel",
                       data={"reason": "Counselor is ill", "refund": choice, "sequence": 0, **extra})
    assert done.status_code == 303, text_of(done)
    booking = fresh(booking.id)
    assert (booking.status, booking.cancelled_by, booking.cancel_reason) == (
        BookingStatus.cancelled, "staff", "Counselor is ill")
    at_stripe = list(stripe_client().v1.refunds.list(
        params={"payment_intent": payment.stripe_payment_intent_id}).auto_paging_iter())
    assert sum(r.amount for r in at_stripe) == refunded
    saved = list(db.session.scalars(select(Refund)))
    if refunded:
        [refund] = saved
        assert (refund.amount, refund.state, refund.kind) == (refunded, RefundState.succeeded, "cancellation")
        assert frontdesk.email in refund.requested_by
    else:
        assert saved == []
    [event] = audit("booking.cancel")
    assert event.actor_id == frontdesk.id
    assert event.detail["refund"]["how"] == choice
    assert "reason" not in event.detail  # why it was cancelled: the booking keeps it, encrypted
    if choice == "amount" and refunded:  # the refund keeps why this amount, encrypted
        assert "reason" not in event.detail["refund"] and extra["override_reason"] in refund.reason
    elif choice == "amount":  # nothing given back, no refund: the log says why
        assert event.detail["refund"]["reason"] == extra["override_reason"]
    for token in tokens.values():
        with pytest.raises(LinkInvalid):
            booking_service.open_link(booking.id, token, now=LATE)
    told = mails("booking_cancelled")
    assert set(told) == {"robin@example.org", "sam@example.org"}
    assert all("The practice cancelled it" in text and "Counselor is ill" not in text for text in told.values())
    page = text_of(client.get(f"/staff/bookings/{booking.id}"))
    assert "Cancelled" in page and "Counselor is ill" in page


def test_a_cancel_needs_a_reason_and_an_override_needs_its_own(client, counselor, frontdesk, sign_in,
                                                               stripe_standin):
    booking, _, _ = paid_booking(stripe_standin)
    sign_in(frontdesk)
    no_reason = client.post(f"/staff/bookings/{booking.id}/cancel",
                            data={"reason": " ", "refund": "full", "sequence": 0})
    assert no_reason.status_code == 422
    assert "Say why the booking is being cancelled." in text_of(no_reason)
    no_why = client.post(f"/staff/bookings/{booking.id}/cancel",
                         data={"reason": "Moved away", "refund": "amount", "amount": "10", "sequence": 0})
    assert no_why.status_code == 422
    assert "Say why this amount is refunded" in text_of(no_why)
    too_much = client.post(f"/staff/bookings/{booking.id}/cancel",
                           data={"reason": "Moved away", "refund": "amount", "amount": "80",
                                 "override_reason": "Extra", "sequence": 0})
    assert too_much.status_code == 422
    assert "You can refund at most $75" in text_of(too_much)
    assert fresh(booking.id).status == BookingStatus.confirmed  # nothing cancelled, nothing refunded
    assert list(db.session.scalars(select(Refund))) == []


def test_a_stale_cancel_is_refused_and_shows_the_booking_as_it_stands(client, counselor, frontdesk, sign_in):
    booking = free_booking().booking
    staff_changes.reschedule(booking.id, MON_11, actor=frontdesk, now=NOW, expected_sequence=0)
    sign_in(frontdesk)
    page = client.post(f"/staff/bookings/{booking.id}/cancel",
                       data={"reason": "Asked by phone", "refund": "full", "sequence": 0})
    assert page.status_code == 409
    assert "changed since you opened it" in text_of(page)
    assert fresh(booking.id).status == BookingStatus.confirmed


def test_staff_may_cancel_a_session_that_has_started_but_not_one_that_took_place(counselor, frontdesk, clock):
    started = free_booking().booking
    held = free_booking(start=MON_10 + timedelta(hours=3)).booking
    clock["now"] = MON_10 + timedelta(hours=4)
    staff_changes.mark_attendance(held.id, "completed", actor=frontdesk, now=clock["now"])
    staff_changes.cancel(started.id, reason="Counselor could not join", refund=staff_changes.RefundChoice("full"),
                         actor=frontdesk, now=clock["now"], expected_sequence=0)
    assert fresh(started.id).status == BookingStatus.cancelled
    with pytest.raises(ActionRefused, match="already taken place"):
        staff_changes.cancel(held.id, reason="Too late", refund=staff_changes.RefundChoice("full"), actor=frontdesk,
                             now=clock["now"], expected_sequence=None)
    assert fresh(held.id).status == BookingStatus.completed


# --- attendance --------------------------------------------------------------------------------------------

def test_attendance_only_once_a_confirmed_session_has_started_and_can_be_corrected(client, counselor, frontdesk,
                                                                                   sign_in, clock):
    booking = free_booking().booking
    sign_in(frontdesk)
    early = client.post(f"/staff/bookings/{booking.id}/attendance", data={"outcome": "completed", "sequence": 0})
    assert early.status_code == 409
    assert "hasn't started yet" in text_of(early)
    clock["now"] = MON_10 + timedelta(minutes=55)
    sign_in(frontdesk)  # a new sign-in: a staff session ends after a while idle
    done = client.post(f"/staff/bookings/{booking.id}/attendance", data={"outcome": "completed", "sequence": 0})
    assert done.status_code == 303
    assert fresh(booking.id).status == BookingStatus.completed
    corrected = client.post(f"/staff/bookings/{booking.id}/attendance", data={"outcome": "no_show", "sequence": 0})
    assert corrected.status_code == 303
    assert fresh(booking.id).status == BookingStatus.no_show
    bad = client.post(f"/staff/bookings/{booking.id}/attendance", data={"outcome": "maybe", "sequence": 0})
    assert bad.status_code == 422
    assert [(e.detail["from"], e.detail["to"], e.actor_id) for e in audit("booking.attendance")] == [
        ("confirmed", "completed", frontdesk.id), ("completed", "no_show", frontdesk.id)]


def test_a_cancelled_or_unpaid_booking_cannot_be_marked(counselor, frontdesk, clock):
    booking = free_booking().booking
    held = add_booking(counselor, booking.service, MON_11 + timedelta(hours=2), status=BookingStatus.pending_payment)
    staff_changes.cancel(booking.id, reason="Double booked", refund=staff_changes.RefundChoice("full"),
                         actor=frontdesk, now=NOW, expected_sequence=0)
    clock["now"] = MON_11 + timedelta(hours=4)
    with pytest.raises(ActionRefused, match="cancelled"):
        staff_changes.mark_attendance(booking.id, "completed", actor=frontdesk, now=clock["now"])
    with pytest.raises(ActionRefused, match="Only a confirmed session"):
        staff_changes.mark_attendance(held.id, "no_show", actor=frontdesk, now=clock["now"])


def test_a_counselor_marks_their_own_session(client, counselor, sign_in, clock):
    booking = free_booking().booking
    clock["now"] = MON_10 + timedelta(minutes=40)
    me = sign_in(make_user(role="counselor", counselor=counselor))
    done = client.post(f"/staff/bookings/{booking.id}/attendance", data={"outcome": "no_show", "sequence": 0})
    assert done.status_code == 303
    assert fresh(booking.id).status == BookingStatus.no_show
    assert audit("booking.attendance")[0].actor_id == me.id


# --- resend links ------------------------------------------------------------------------------------------

def test_resend_gives_each_person_their_own_new_link_and_old_links_stop_working(client, counselor, frontdesk,
                                                                              sign_in, stripe_standin):
    booking, tokens, _ = paid_booking(stripe_standin)
    sign_in(frontdesk)
    sent = client.post(f"/staff/bookings/{booking.id}/resend", data={})
    assert sent.status_code == 303
    assert "A fresh link was emailed to each of the 2 people" in text_of(client.get(sent.headers["Location"]))
    for role, token in tokens.items():
        page = client.get(f"/bookings/{booking.id}?token={token}")
        assert page.status_code == 410 and "This link has been replaced" in text_of(page)
    got = mail_tokens("booking_links", booking.id)
    assert set(got) == {"robin@example.org", "sam@example.org"}
    robin, sam = next(iter(got["robin@example.org"])), next(iter(got["sam@example.org"]))
    assert len(got["robin@example.org"]) == len(got["sam@example.org"]) == 1 and robin != sam
    assert booking_service.open_link(booking.id, robin, now=NOW).participant.role == "client"
    assert booking_service.open_link(booking.id, sam, now=NOW).participant.role == "partner"
    texts = mails("booking_links")
    assert "The practice is sending you a fresh link" in texts["sam@example.org"]
    assert robin not in texts["sam@example.org"] and sam not in texts["robin@example.org"]
    [event] = audit("booking.links_resent")
    assert event.actor_id == frontdesk.id and event.record_id == str(booking.id)
    live = db.session.scalars(select(ManageToken).where(ManageToken.revoked_at.is_(None))).all()
    assert len(live) == 2


def test_links_are_not_resent_for_a_cancelled_booking(client, counselor, frontdesk, sign_in):
    booking = free_booking().booking
    staff_changes.cancel(booking.id, reason="Asked by phone", refund=staff_changes.RefundChoice("full"),
                         actor=frontdesk, now=NOW, expected_sequence=0)
    sign_in(frontdesk)
    page = client.post(f"/staff/bookings/{booking.id}/resend", data={})
    assert page.status_code == 409
    assert "Links are sent only for bookings that are still to come." in text_of(page)
    assert mails("booking_links") == {}


def test_every_form_carries_a_csrf_token_and_a_post_without_one_changes_nothing(app, client, counselor, frontdesk,
                                                                                sign_in):
    booking = free_booking().booking
    sign_in(frontdesk)
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/staff/bookings/{booking.id}").get_data(as_text=True)
    assert page.count('name="csrf_token"') == page.count('method="post"') == 4  # move, cancel, links; sign out
    refused = client.post(f"/staff/bookings/{booking.id}/cancel",
                          data={"reason": "Forged", "refund": "full", "sequence": 0})
    assert refused.status_code == 400
    assert fresh(booking.id).status == BookingStatus.confirmed
