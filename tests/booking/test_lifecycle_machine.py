"""The booking lifecycle as a state machine (hypothesis): random sequences of bookings, client changes through
the JSON API with current, stale, foreign and partner links, payments arriving by Stripe's signed webhook (in
time, late, twice), staff changes (practice.booking.staff), attendance, the clock moving on (across the clocks
going back) and holds running out, each checked against a model of what must exist.

The model (`Model`) knows each counselor's hours and rules and predicts every answer: which starts are free
(the slot rules restated plainly: the start on the range's grid stepped in real time, the session inside the
range, notice and horizon, no live booking nearer than either session's buffer), what a link opens, and what
each change is refused with. The slots the API offers must be those. After every step the database must agree:

- no two live bookings of one counselor overlap, buffers included (the guard's [starts_at, blocked_until));
- every status change seen is one DESIGN allows: held -> confirmed | cancelled, confirmed -> completed | no_show
  | cancelled, completed <-> no_show (staff correct attendance), and nothing back from cancelled, completed or
  no_show to a live status except a late payment re-confirming a hold the system released;
- the bookings, their statuses, times, who cancelled them and ics_sequence are the model's; ics_sequence never
  goes down;
- each person has a working link while the booking is not cancelled by the client or staff, none after; the
  client's is the one the API last gave out (a confirmed payment adds one, by email), the partner's the one in
  their email; a revoked link never opens anything, and a partner's never changes anything (403);
- one payment per paid booking, never more refunded than paid, and all of it when the practice keeps nothing;
- a 201 made exactly one booking row, every other answer left the number of rows as it was, the answers about a
  booking are what the database holds, and nothing answered 500 (TESTING propagates an unhandled error).

Each example starts from a clean database: __init__ deletes the rows bookings make (counselors, services and
hours are made once per test, and the audit log is append-only), a few milliseconds where a fresh database
would cost far more. Runs are derandomized, so CI sees the same sequences every time; LIFECYCLE_EXAMPLES=300
explores further (pytest -s prints what the steps came to).
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import re
import time as wall_clock
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test,
)
from sqlalchemy import delete, func, select

from practice.booking import change, staff
from practice.booking.errors import ActionRefused, BookingInvalid, SlotUnavailable
from practice.booking.models import Booking, ManageToken, Participant
from practice.booking.tokens import hash_token
from practice.counselors.models import Service
from practice.extensions import db
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from practice.payments.models import Payment, Refund
from tests.conftest import freeze_clock
from tests.factories import make_counselor, make_user
from tests.scheduling.helpers import give_hours

UTC = timezone.utc
# A Friday, 08:00 in New York: the clocks go back on Sunday (2026-11-01, 02:00 in both zones), inside the days
# bookings are made for, so slots are found on both sides of the change and across it.
NOW = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
HOLD_MINUTES = 10
WEBHOOK_SECRET = "whsec_lifecycle"
LIVE = {"held", "pending_payment", "confirmed"}
ALLOWED = {  # status -> the statuses it may become
    "held": {"pending_payment", "confirmed", "cancelled"},
    "pending_payment": {"confirmed", "cancelled"},
    "confirmed": {"completed", "no_show", "cancelled"},
    "completed": {"no_show"},
    "no_show": {"completed"},
    "cancelled": set(),  # but see the late payment, in the invariant
}
# The tables one example's bookings write, children first; the rest (counselors, hours, staff) stays.
PER_EXAMPLE_TABLES = ("refund", "payment", "processed_stripe_event", "good_faith_estimate", "session_reminder",
                      "caldav_event", "routing_decision", "intake", "self_booking_block", "manage_token",
                      "booking_participant", "booking", "client", "outbox_message", "link_request")


@dataclass(frozen=True)
class Offer:
    """A counselor's service and the rules that decide its free starts, as the model knows them."""

    counselor: str
    service: str
    zone: ZoneInfo
    hours: dict[int, tuple[tuple[time, time], ...]]  # weekday -> local ranges
    step: int  # minutes, as every duration here
    notice: int
    horizon_days: int
    duration: int
    buffer: int
    price: int
    couple: bool


def _ranges(*pairs: tuple[str, str]) -> tuple[tuple[time, time], ...]:
    return tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs)


# Two counselors in two zones with unlike hours, steps, notice, durations and buffers (mixed buffers are where
# the slots and the guard most easily disagree); one paid service, held until paid.
ANA = dict(counselor="ana", zone=ZoneInfo("America/New_York"), step=30, notice=60, horizon_days=14,
           hours={d: _ranges(("09:00", "17:00")) for d in range(5)})
BEN = dict(counselor="ben", zone=ZoneInfo("America/Los_Angeles"), step=20, notice=120, horizon_days=10,
           hours={**{d: _ranges(("08:00", "12:00"), ("13:00", "18:00")) for d in range(6)},
                  # Sundays through the night: on the day the clocks go back, 00:30-03:00 is 3.5 real hours.
                  6: _ranges(("00:30", "03:00"), ("13:00", "18:00"))})
OFFERS = (
    Offer(**ANA, service="individual-trial", duration=30, buffer=10, price=0, couple=False),
    Offer(**ANA, service="couple-trial", duration=50, buffer=10, price=7500, couple=True),
    Offer(**BEN, service="individual-trial", duration=50, buffer=0, price=0, couple=False),
    Offer(**BEN, service="couple-trial", duration=60, buffer=15, price=0, couple=True),
)


def _make_practice() -> None:
    for spec in (ANA, BEN):
        counselor = make_counselor(slug=spec["counselor"], name=spec["counselor"].title(),
                                   timezone=spec["zone"].key, licenses=("NY", "NJ"), services=False)
        counselor.services = [
            Service(slug=o.service, name=o.service, format="couple" if o.couple else "individual",
                    duration_minutes=o.duration, price=o.price, currency="USD", is_trial=True,
                    buffer_minutes=o.buffer)
            for o in OFFERS if o.counselor == spec["counselor"]]
        db.session.commit()
        give_hours(counselor, {d: [(a.isoformat("minutes"), b.isoformat("minutes")) for a, b in ranges]
                               for d, ranges in spec["hours"].items()},
                   notice_minutes=spec["notice"], horizon_days=spec["horizon_days"], step=spec["step"])


# --- the model --------------------------------------------------------------------------------------------

@dataclass
class Booked:
    id: str
    offer: Offer
    start: datetime
    status: str
    hold_expires_at: datetime | None
    client_token: str | None  # the client's link the API last gave; None once a cancel revoked it
    partner_token: str | None = None  # the partner's link from their confirmation email, until it is revoked
    ics: int = 0
    cancelled_by: str | None = None
    emailed_links: int = 0  # working links each person has beside that one, sent by email only (a payment's)
    payment_event: str | None = None  # the id of Stripe's event that paid it
    refunded_in_full: bool = False  # what was paid must all be refunded (or being refunded)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.offer.duration)

    @property
    def blocked_until(self) -> datetime:
        return self.end + timedelta(minutes=self.offer.buffer)

    def holds_time(self, now: datetime) -> bool:
        return self.status in LIVE and not self.hold_ran_out(now)

    def hold_ran_out(self, now: datetime) -> bool:
        return self.status == "held" and self.hold_expires_at <= now


@dataclass
class Model:
    now: datetime = NOW
    bookings: dict[str, Booked] = field(default_factory=dict)
    links: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # token -> (booking, why revoked)
    partner_links: set[str] = field(default_factory=set)

    def grid(self, offer: Offer, day: date) -> list[datetime]:
        """Every start of `offer` on the counselor's local `day` that fits in its hours, free or not: stepped in
        real time from the range's first instant (no range here starts or ends in a repeated or skipped hour)."""
        starts = []
        for a, b in offer.hours.get(day.weekday(), ()):
            t = datetime.combine(day, a, tzinfo=offer.zone).astimezone(UTC)
            last = datetime.combine(day, b, tzinfo=offer.zone).astimezone(UTC)
            while t + timedelta(minutes=offer.duration) <= last:
                starts.append(t)
                t += timedelta(minutes=offer.step)
        return starts

    @staticmethod
    def too_near(offer: Offer, start: datetime, other: Booked) -> bool:
        """Whether a session of `offer` at `start` meets the time `other` keeps after it (its own buffer), or
        comes within this service's buffer of it on either side."""
        end, buffer = start + timedelta(minutes=offer.duration), timedelta(minutes=offer.buffer)
        return (start < other.blocked_until and end + buffer > other.start) or (
            start - buffer < other.end and end > other.start)

    def is_free(self, offer: Offer, start: datetime, *, moving: str | None = None) -> bool:
        if start not in self.grid(offer, start.astimezone(offer.zone).date()):
            return False
        if not self.now + timedelta(minutes=offer.notice) <= start <= self.now + timedelta(days=offer.horizon_days):
            return False
        return not any(b.offer.counselor == offer.counselor and b.id != moving and b.holds_time(self.now)
                       and self.too_near(offer, start, b) for b in self.bookings.values())

    def free_starts(self, offer: Offer, day: date) -> list[datetime]:
        return [s for s in self.grid(offer, day) if self.is_free(offer, s)]

    def claim(self, offer: Offer, start: datetime, *, moving: str | None = None) -> None:
        """Beside a write, the guard releases the holds that ran out in its way."""
        until = start + timedelta(minutes=offer.duration + offer.buffer)
        for b in self.bookings.values():
            if (b.offer.counselor == offer.counselor and b.id != moving and b.hold_ran_out(self.now)
                    and b.start < until and b.blocked_until > start):
                self.release(b)

    def release(self, b: Booked) -> None:
        OUTCOMES["hold released"] += 1
        b.status, b.cancelled_by = "cancelled", "system"  # its links stay: nobody was told anything

    def revoke(self, b: Booked, reason: str) -> None:
        """Every link of the booking ends (a partner's new one, if any, goes by email only)."""
        for token in (b.client_token, b.partner_token):
            if token is not None:
                self.links[token] = (b.id, reason)
        b.client_token, b.partner_token, b.emailed_links = None, None, 0

    def reissue(self, b: Booked, token: str) -> None:
        self.revoke(b, "reissued")
        b.client_token = token
        self.links[token] = (b.id, None)

    def move(self, b: Booked, start: datetime, token: str) -> None:
        self.claim(b.offer, start, moving=b.id)
        b.start, b.ics = start, b.ics + 1
        self.reissue(b, token)

    def cancel(self, b: Booked, by: str) -> None:
        b.status, b.cancelled_by, b.ics = "cancelled", by, b.ics + 1
        self.revoke(b, "cancelled")

    def link_problem(self, b: Booked, token: str) -> tuple[int, str] | None:
        """What opening booking `b` with `token` answers instead of the booking: (status, error)."""
        owner, revoked = self.links.get(token, (None, None))
        if owner != b.id:
            return 404, "not_found"
        if revoked is not None:
            return 410, f"link_revoked_{revoked}"
        if self.now > b.end + timedelta(days=1):
            return 410, "link_expired"
        return None

    def client_may_not_change(self, b: Booked) -> bool:
        return b.status not in LIVE or b.start <= self.now or b.hold_ran_out(self.now)

    def staff_may_not_move(self, b: Booked) -> bool:  # booking.staff.move_refusal
        return self.client_may_not_change(b)

    def payment_outcome(self, b: Booked) -> str:
        """booking.change.confirm_paid's answer to a payment of `b` arriving now."""
        if b.status in ("confirmed", "completed", "no_show"):
            return "already"
        released = b.status == "cancelled" and b.cancelled_by == "system"
        if b.status == "cancelled" and not released:
            return "cancelled"
        if released or b.hold_ran_out(self.now):
            if b.start <= self.now or not self.is_free(b.offer, b.start, moving=b.id):
                return "taken"
        return "confirmed"


# --- the machine ------------------------------------------------------------------------------------------

# Where a start is asked for: one of the free starts the model knows of (index modulo how many), so that
# changes succeed often; any minute of a counselor's local day (on the grid or not, in the hours or not); or
# near an existing booking, to meet it and its buffers.
FREE_STARTS = st.tuples(st.just("free"), st.integers(0, 4), st.integers(0, 50))
DAY_STARTS = st.tuples(st.just("day"), st.integers(0, 4),
                       st.integers(6 * 12, 19 * 12).map(lambda n: n * 5))  # every 5 minutes, 06:00-19:00
NEAR_STARTS = st.tuples(st.just("near"), st.integers(0, 50), st.integers(-8, 8).map(lambda n: n * 10))
STARTS = st.one_of(FREE_STARTS, FREE_STARTS, DAY_STARTS, NEAR_STARTS)
PICK = st.tuples(st.sampled_from(["live", "live", "live", "any"]), st.integers(0, 50))
TOKENS = st.sampled_from(["current"] * 6 + ["partner", "stale", "other", "junk"])
SEQUENCES = st.sampled_from(["current", "current", "stale", "none"])
_numbers = itertools.count(1)
OUTCOMES: Counter[str] = Counter()  # what the steps came to over a run, printed (pytest -s) to see the reach


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self, http, clock, actor):
        super().__init__()
        self.http, self.clock, self.actor = http, clock, actor
        self.model = Model()
        self.clock["now"] = NOW
        self.seen: dict[str, tuple[str, int, str | None]] = {}  # id -> (status, ics_sequence, cancelled_by)
        OUTCOMES["examples"] += 1
        db.session.rollback()  # whatever the last example left half done
        for table in PER_EXAMPLE_TABLES:
            db.session.execute(delete(db.metadata.tables[table]))
        db.session.commit()

    # -- helpers ---------------------------------------------------------------------------------------

    def pick(self, which: tuple[str, int]) -> Booked:
        kind, n = which
        found = list(self.model.bookings.values())
        live = [b for b in found if b.status in LIVE]
        found = live if kind == "live" and live else found
        return found[n % len(found)]

    def start_of(self, offer: Offer, where: tuple) -> datetime:
        kind, a, b = where
        if kind == "near":
            return self.pick(("any", a)).start + timedelta(minutes=b) if self.model.bookings else NOW
        day = (self.model.now.astimezone(offer.zone) + timedelta(days=a)).date()
        if kind == "free":
            free = self.model.free_starts(offer, day)
            return free[b % len(free)] if free else datetime.combine(day, time(10), tzinfo=offer.zone)
        return (datetime.combine(day, time(0), tzinfo=offer.zone) + timedelta(minutes=b)).astimezone(UTC)

    def token_for(self, b: Booked, kind: str) -> str:
        stale = [t for t, (owner, revoked) in self.model.links.items() if owner == b.id and revoked]
        if kind == "stale" and stale:
            return stale[-1]
        others = [t for t, (owner, _) in self.model.links.items() if owner != b.id]
        if kind == "other" and others:
            return others[-1]
        if kind == "junk":
            return "x" * 32
        partner = [t for t in self.model.partner_links if self.model.links[t][0] == b.id]
        if kind == "partner" and partner:
            return b.partner_token or partner[-1]
        return b.client_token or stale[-1]

    def rows(self) -> int:
        count = db.session.scalar(select(func.count()).select_from(Booking))
        db.session.rollback()
        return count

    def send(self, method: str, url: str, label: str, **kwargs):
        """A request; its answer is never a 500, and only a 201 may add a booking."""
        before = self.rows() if method == "POST" else None  # a GET writes no booking: the invariant sees it
        db.session.rollback()
        response = self.http.open(url, method=method, **kwargs)
        body = response.get_json(silent=True) or {}
        OUTCOMES[f"{label}: {response.status_code} {body.get('error', body.get('outcome', ''))}".strip()] += 1
        assert response.status_code != 500, response.get_data(as_text=True)
        if before is not None and response.status_code != 201:
            assert self.rows() == before, f"{label} answered {response.status_code} and left a row"
        return response

    def db_status(self, booking_id: str) -> str:
        status = db.session.scalar(select(Booking.status).where(Booking.id == uuid.UUID(booking_id)))
        db.session.rollback()
        return status.value

    def agrees(self, response, b: Booked) -> None:
        """The API's answer about `b` is what the model and the database hold."""
        body = response.get_json()
        assert body["id"] == b.id
        assert body["status"] == b.status == self.db_status(b.id), (body["status"], b.status)
        assert datetime.fromisoformat(body["start"]) == b.start

    def refused(self, response, status: int, error: str | None = None) -> None:
        body = response.get_json()
        assert response.status_code == status, (status, error, response.status_code, body)
        assert error is None or body.get("error") == error, (error, body)

    def link_refused(self, b: Booked, token: str, response, *, changes: bool = True) -> bool:
        """Whether the link refused the request, as the model says it must: one that opens nothing, or (for a
        change) the partner's, which may only look."""
        problem = self.model.link_problem(b, token)
        if problem:
            self.refused(response, *problem)
        elif changes and token in self.model.partner_links:
            self.refused(response, 403, "not_allowed")
            return True
        return problem is not None

    def sequence(self, b: Booked, which: str) -> int | None:
        return {"current": b.ics, "stale": b.ics - 1, "none": None}[which]

    def staff_call(self, label: str, call) -> tuple[str, object]:
        """Run a booking.staff function: ("done", its result) or the kind of refusal."""
        try:
            result, outcome = call(), "done"
        except ActionRefused:
            result, outcome = None, "refused"
        except BookingInvalid:
            result, outcome = None, "invalid"
        except SlotUnavailable:
            result, outcome = None, "taken"
        finally:
            db.session.rollback()
        OUTCOMES[f"{label}: {outcome}"] += 1
        return outcome, result

    # -- the client, through the API ---------------------------------------------------------------------

    @rule(offer=st.sampled_from(OFFERS + OFFERS[1:2]), where=STARTS, state=st.sampled_from(["NY"] * 6 + ["NJ", "TX"]))
    def book(self, offer: Offer, where: tuple, state: str):
        self._book(offer, self.start_of(offer, where), state)

    @rule(offer=st.sampled_from(OFFERS + OFFERS[1:2]), where=FREE_STARTS)
    def book_a_free_start(self, offer: Offer, where: tuple):
        """As `book`, at a start the model holds free (most often: as many bookings are made as cancelled)."""
        self._book(offer, self.start_of(offer, where), "NY")

    def _book(self, offer: Offer, start: datetime, state: str):
        n = next(_numbers)
        body = {"counselor": offer.counselor, "service": offer.service, "start": start.isoformat(),
                "timezone": "America/Chicago",
                "client": {"name": "Robin", "email": f"robin{n}@example.org", "state": state}}
        if offer.couple:
            body["partner"] = {"name": "Sam", "email": f"sam{n}@example.org"}
        before = self.rows()
        response = self.send("POST", "/api/v1/bookings", "book", json=body)
        if state == "TX":  # neither counselor is licensed there
            return self.refused(response, 422)
        if not self.model.is_free(offer, start):
            return self.refused(response, 409, "slot_unavailable")
        assert response.status_code == 201, (start, response.get_json())
        answer = response.get_json()
        assert self.rows() == before + 1
        assert db.session.scalar(select(func.count()).select_from(Booking)
                                 .where(Booking.id == uuid.UUID(answer["id"]))) == 1
        self.model.claim(offer, start)
        paid = offer.price > 0
        b = Booked(id=answer["id"], offer=offer, start=start, status="held" if paid else "confirmed",
                   hold_expires_at=self.model.now + timedelta(minutes=HOLD_MINUTES) if paid else None,
                   client_token=None)
        self.model.bookings[b.id] = b
        self.model.reissue(b, answer["manage_url"].split("token=")[1])
        self.agrees(response, b)
        if offer.couple and not paid:  # the partner's own link, from their confirmation email
            found = [re.findall(rf"/bookings/{b.id}\?token=([\w-]+)", rendered(m).text)
                     for m in db.session.scalars(select(OutboxMessage).where(
                         OutboxMessage.to_email == body["partner"]["email"]))]
            db.session.rollback()
            assert [len(tokens) for tokens in found] == [1], found
            b.partner_token = found[0][0]
            self.model.links[b.partner_token] = (b.id, None)
            self.model.partner_links.add(b.partner_token)

    @precondition(lambda self: self.model.bookings)
    @rule(pick=PICK, token=TOKENS)
    def view(self, pick, token: str):
        b = self.pick(pick)
        secret = self.token_for(b, token)
        response = self.send("GET", f"/api/v1/bookings/{b.id}?token={secret}", "view")
        if not self.link_refused(b, secret, response, changes=False):
            assert response.status_code == 200, response.get_json()
            self.agrees(response, b)
            partner = secret in self.model.partner_links
            assert (response.get_json()["role"], response.get_json()["may_change"]) == (
                ("partner", False) if partner else ("client", True))

    @precondition(lambda self: self.model.bookings)
    @rule(pick=PICK, token=TOKENS, where=STARTS)
    def reschedule(self, pick, token: str, where: tuple):
        self._reschedule(pick, token, where)

    @precondition(lambda self: any(b.status in LIVE for b in self.model.bookings.values()))
    @rule(pick=st.integers(0, 50), where=FREE_STARTS)
    def reschedule_to_a_free_start(self, pick: int, where: tuple):
        self._reschedule(("live", pick), "current", where)

    def _reschedule(self, pick, token: str, where: tuple):
        b = self.pick(pick)
        secret, start = self.token_for(b, token), self.start_of(b.offer, where)
        response = self.send("POST", f"/api/v1/bookings/{b.id}/reschedule", "reschedule",
                             json={"token": secret, "start": start.isoformat()})
        if self.link_refused(b, secret, response):
            return
        if self.model.client_may_not_change(b):
            return self.refused(response, 409, "not_allowed")
        if start == b.start:
            return self.refused(response, 422)
        if not self.model.is_free(b.offer, start, moving=b.id):
            return self.refused(response, 409, "slot_unavailable")
        assert response.status_code == 200, (start, response.get_json())
        self.model.move(b, start, response.get_json()["manage_url"].split("token=")[1])
        self.agrees(response, b)

    @precondition(lambda self: self.model.bookings)
    @rule(pick=PICK, token=TOKENS)
    def cancel(self, pick, token: str):
        b = self.pick(pick)
        secret = self.token_for(b, token)
        response = self.send("POST", f"/api/v1/bookings/{b.id}/cancel", "cancel",
                             json={"token": secret, "reason": "plans changed"})
        if self.link_refused(b, secret, response):
            return
        if self.model.client_may_not_change(b):
            return self.refused(response, 409, "not_allowed")
        assert response.status_code == 200, response.get_json()
        self.model.cancel(b, "client")
        self.agrees(response, b)

    @precondition(lambda self: any(b.offer.price for b in self.model.bookings.values()))
    @rule(which=st.sampled_from(["held", "held", "released", "any"]), pick=st.integers(0, 50))
    def payment_arrives(self, which: str, pick: int):
        """Stripe's signed payment_intent.succeeded for a paid booking, whatever became of it meanwhile: in time,
        after its hold ran out or was released, after a cancel; a second delivery of the same event changes
        nothing."""
        paid = [b for b in self.model.bookings.values() if b.offer.price]
        preferred = [b for b in paid if (which == "held" and b.status == "held")
                     or (which == "released" and b.cancelled_by == "system")]
        b = (preferred or paid)[pick % len(preferred or paid)]
        again = b.payment_event is not None
        b.payment_event = b.payment_event or f"evt_{next(_numbers)}"
        intent = {"id": f"pi_{uuid.UUID(b.id).hex}", "object": "payment_intent", "amount": b.offer.price,
                  "currency": "usd", "status": "succeeded", "metadata": {"booking_id": b.id}}
        event = {"id": b.payment_event, "object": "event", "type": "payment_intent.succeeded",
                 "created": int(wall_clock.time()), "livemode": False, "data": {"object": intent}}
        payload = json.dumps(event).encode()
        stamp = int(wall_clock.time())  # Stripe's signature is checked against the real clock
        signature = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
        response = self.send("POST", "/stripe/webhook", "payment", data=payload,
                             headers={"Stripe-Signature": f"t={stamp},v1={signature}",
                                      "Content-Type": "application/json"})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["outcome"] == ("duplicate" if again else "applied"), response.get_json()
        if again:
            return
        outcome = self.model.payment_outcome(b)
        OUTCOMES[f"payment: {outcome}{' late' if b.status == 'cancelled' and outcome == 'confirmed' else ''}"] += 1
        if outcome == "confirmed":
            if b.status == "cancelled":  # released, and its time is still free: taken again
                self.model.claim(b.offer, b.start, moving=b.id)
            b.status, b.cancelled_by, b.hold_expires_at = "confirmed", None, None
            b.emailed_links += 1
        elif outcome in ("taken", "cancelled"):  # the practice keeps nothing of a payment it can't honour
            b.refunded_in_full = True

    @precondition(lambda self: self.model.bookings)
    @rule(offer=st.sampled_from(OFFERS), days=st.integers(0, 4))
    def slots_agree(self, offer: Offer, days: int):
        """The slots the API offers for a day are the model's free starts."""
        day = (self.model.now.astimezone(offer.zone) + timedelta(days=days)).date()
        response = self.send("GET", f"/api/v1/counselors/{offer.counselor}/slots?service={offer.service}"
                                    f"&from={day}&to={day}&tz={offer.zone.key}", "slots")
        assert response.status_code == 200, response.get_json()
        offered = [datetime.fromisoformat(s["start"]) for s in response.get_json()["slots"]]
        assert offered == self.model.free_starts(offer, day)

    # -- staff ---------------------------------------------------------------------------------------------

    @precondition(lambda self: self.model.bookings)
    @rule(pick=PICK, where=STARTS, which=SEQUENCES)
    def staff_reschedule(self, pick, where: tuple, which: str):
        b = self.pick(pick)
        start, expected = self.start_of(b.offer, where), self.sequence(b, which)
        outcome, moved = self.staff_call("staff reschedule", lambda: staff.reschedule(
            b.id, start, actor=self.actor, now=self.model.now, expected_sequence=expected))
        if (expected is not None and expected != b.ics) or self.model.staff_may_not_move(b):
            assert outcome == "refused", outcome
        elif start == b.start or start <= self.model.now:
            assert outcome == "invalid", outcome
        elif not self.model.is_free(b.offer, start, moving=b.id):
            assert outcome == "taken", outcome
        else:
            assert outcome == "done", (outcome, start)
            self.model.move(b, start, moved.tokens["client"])

    @precondition(lambda self: self.model.bookings)
    @rule(pick=PICK, which=SEQUENCES, refund=st.sampled_from(["full", "policy"]))
    def staff_cancel(self, pick, which: str, refund: str):
        """Staff may cancel any live booking, one that has started included (booking.staff.cancel_refusal)."""
        b = self.pick(pick)
        expected = self.sequence(b, which)
        outcome, _ = self.staff_call("staff cancel", lambda: staff.cancel(
            b.id, reason="the counselor is ill", refund=staff.RefundChoice(refund), actor=self.actor,
            now=self.model.now, expected_sequence=expected))
        if (expected is not None and expected != b.ics) or b.status not in LIVE:
            assert outcome == "refused", outcome
        else:
            assert outcome == "done", outcome
            self.model.cancel(b, "staff")
            b.refunded_in_full = b.refunded_in_full or (refund == "full" and b.payment_event is not None)

    @precondition(lambda self: self.model.bookings)
    @rule(pick=PICK, outcome=st.sampled_from(["completed", "no_show"]), which=st.sampled_from(["current", "none"]))
    def mark_attendance(self, pick, outcome: str, which: str):
        b = self.pick(pick)
        expected = self.sequence(b, which)
        got, _ = self.staff_call("attendance", lambda: staff.mark_attendance(
            b.id, outcome, actor=self.actor, now=self.model.now, expected_sequence=expected))
        if b.status in ("confirmed", "completed", "no_show") and b.start <= self.model.now and b.status != outcome:
            assert got == "done", got
            b.status = outcome
        else:
            assert got == "refused", (got, b.status, b.start, self.model.now)

    # -- time ----------------------------------------------------------------------------------------------

    @rule(minutes=st.sampled_from([1, 5, 9, 11, 30, 60, 180, 600, 1500, 2900]))
    def advance(self, minutes: int):
        self.model.now += timedelta(minutes=minutes)
        self.clock["now"] = self.model.now

    @precondition(lambda self: self.model.bookings)
    @rule(pick=PICK, delta=st.sampled_from([-61, -1, 0, 1, 31]))
    def advance_to_a_session(self, pick, delta: int):
        at = self.pick(pick).start + timedelta(minutes=delta)
        if at > self.model.now:
            self.model.now = self.clock["now"] = at

    @precondition(lambda self: any(b.status == "held" for b in self.model.bookings.values()))
    @rule()
    def release_expired_holds(self):
        """The worker's job."""
        released = change.release_expired_holds(now=self.model.now)
        expected = [b for b in self.model.bookings.values() if b.hold_ran_out(self.model.now)]
        for b in expected:
            self.model.release(b)
        assert released == len(expected)

    # -- invariants, read from the database ----------------------------------------------------------------

    @invariant()
    def money_adds_up(self):
        """One payment per paid booking, never more refunded than paid, all of it where the practice keeps
        nothing (a payment for a time it could not honour, staff's full refund)."""
        rows = db.session.execute(
            select(Payment.booking_id, Payment.amount, func.coalesce(func.sum(Refund.amount), 0))
            .outerjoin(Refund).group_by(Payment.id, Payment.booking_id, Payment.amount)).all()
        db.session.rollback()
        assert sorted(str(r[0]) for r in rows) == sorted(
            b.id for b in self.model.bookings.values() if b.payment_event), rows
        for booking_id, amount, refunded in rows:
            b = self.model.bookings[str(booking_id)]
            assert refunded <= amount, (b, amount, refunded)
            assert refunded == amount or not b.refunded_in_full, (b, amount, refunded)

    @invariant()
    def the_database_is_the_model(self):
        rows = db.session.execute(select(Booking.id, Booking.counselor_id, Booking.starts_at,
                                         Booking.blocked_until, Booking.status, Booking.ics_sequence,
                                         Booking.cancelled_by)).all()
        tokens = db.session.execute(select(Participant.booking_id, Participant.role, ManageToken.token_hash)
                                    .join(ManageToken).where(ManageToken.revoked_at.is_(None))).all()
        db.session.rollback()
        assert {str(r.id) for r in rows} == set(self.model.bookings)
        live: dict[int, list] = {}
        for r in rows:
            b, status = self.model.bookings[str(r.id)], r.status.value
            was, sequence, cancelled_by = self.seen.get(b.id, (status, r.ics_sequence, r.cancelled_by))
            late_payment = (was, cancelled_by, status) == ("cancelled", "system", "confirmed")
            assert status == was or status in ALLOWED[was] or late_payment, f"{b.id}: {was} -> {status}"
            assert r.ics_sequence >= sequence, f"{b.id}: ics_sequence {sequence} -> {r.ics_sequence}"
            self.seen[b.id] = (status, r.ics_sequence, r.cancelled_by)
            assert (status, r.starts_at, r.ics_sequence, r.cancelled_by) == (
                b.status, b.start, b.ics, b.cancelled_by), b
            if status in LIVE:
                live.setdefault(r.counselor_id, []).append(r)
        for of_one in live.values():
            of_one.sort(key=lambda r: r.starts_at)
            for a, b in zip(of_one, of_one[1:]):
                assert a.blocked_until <= b.starts_at, f"live bookings {a.id} and {b.id} overlap"
        working: dict[str, dict[str, list[str]]] = {}
        for booking_id, role, token_hash in tokens:
            working.setdefault(str(booking_id), {}).setdefault(role, []).append(token_hash)
        for b in self.model.bookings.values():
            links = working.get(b.id, {})
            if b.cancelled_by in ("client", "staff"):
                assert links == {}, f"{b.id} was cancelled but still has working links {links}"
                continue
            assert set(links) == ({"client", "partner"} if b.offer.couple else {"client"}), (b.id, links)
            assert all(len(of_one) == 1 + b.emailed_links for of_one in links.values()), (b, links)
            assert hash_token(b.client_token) in links["client"]
            assert b.partner_token is None or hash_token(b.partner_token) in links["partner"]


@pytest.fixture
def app_config(app_config):
    # Payments arrive by the signed webhook only: no Stripe key, so nothing calls Stripe.
    return {**app_config, "BOOKING_HOLD_MINUTES": HOLD_MINUTES, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


def test_the_booking_lifecycle_keeps_its_rules(app, client, monkeypatch):
    clock = freeze_clock(monkeypatch, NOW)
    _make_practice()
    actor = make_user(role="frontdesk")
    OUTCOMES.clear()
    run_state_machine_as_test(
        lambda: LifecycleMachine(client, clock, actor),
        settings=settings(max_examples=int(os.environ.get("LIFECYCLE_EXAMPLES", 25)), stateful_step_count=50,
                          deadline=None, derandomize=True, database=None, print_blob=False,
                          suppress_health_check=list(HealthCheck)),
    )
    print("\n".join(f"{n:6} {label}" for label, n in sorted(OUTCOMES.items())))
