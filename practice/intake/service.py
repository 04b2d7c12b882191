"""Intake use cases: issue each person's link, save a section, submit, route the booking, and what staff do.

The only writer of intakes, routing decisions and self-booking blocks. Scoring, flags and routing are the pure
functions of practice.core (validate_section, validate_answers, decide); this module stores what they return.

Privacy rules this module keeps (INTAKE.md, principles 1 and 5):
- Answers live only in `Intake.answers` (encrypted). Audit details, log lines, emails and exceptions carry
  ids, roles and section ids, never a value.
- What a person is shown (pages, API, the suggestion) is computed from that person's own intake and booking
  only; the couple's decision is for staff.
"""
from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from flask import current_app
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from practice.audit import service as audit
from practice.booking.models import LIVE_STATUSES, Booking, BookingStatus, Participant
from practice.booking.tokens import hash_token, looks_like_token, new_token
from practice.core.intake import (
    SUICIDE_RISK_ITEMS, CrisisResources, Questionnaire, load_items, validate_answers,
    validate_section,
)
from practice.core.numbers import whole_number
from practice.core.routing import decide
from practice.database import begin_write
from practice.extensions import db
from practice.intake.models import LINK_DAYS, TRACKS, Intake, RoutingDecision, SelfBookingBlock

log = logging.getLogger(__name__)

ROLE_INDEX = {"client": 0, "partner": 1}  # a person's number in flags and reasons, whoever submits first
SUICIDE_ITEMS = (*SUICIDE_RISK_ITEMS, "suicide_now")
SELF_BOOKING_BLOCKED = ("We'd like to talk with you before you book online again. Please call the practice, and "
                        "we'll find the right time with you.")


# --- errors the views turn into responses ---------------------------------------------------------------

class IntakeLinkInvalid(Exception):
    """A link that opens no intake; `reason` is unknown (404), expired or cancelled (410)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class IntakeAlreadySubmitted(Exception):
    """The answers were sent already (409); they can't be changed through the link."""


class DecisionRefused(ValueError):
    """A staff decision that can't be recorded; `errors` maps form fields to messages (422)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


# --- what callers get back ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Suggestion:
    """A gentle note to one person when their booked format may not be what they are looking for."""
    code: str  # couples_may_fit, individual_may_fit
    message: str
    format: str  # the format the note points to, for a directory link

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "format": self.format}


@dataclass(frozen=True)
class Submitted:
    intake: Intake
    crisis: bool  # this person answered a suicide item yes: show crisis resources now
    suggestion: Suggestion | None


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    submitted: bool
    started: bool


def questionnaire(format: str) -> Questionnaire:
    """The questions one person of this format sees (the data file's wording)."""
    return load_items().for_format(format)


def crisis_resources() -> CrisisResources:
    return load_items().crisis_resources


def intake_url(token: str) -> str:
    """The link emailed and shown to a person; built from BASE_URL, never the request's host."""
    return f"{current_app.config['BASE_URL']}/intake/{token}"


def has_positive_suicide_item(answers: Mapping[str, Any]) -> bool:
    return any(answers.get(item) is True for item in SUICIDE_ITEMS)


# --- transactions ---------------------------------------------------------------------------------------

def _write_transaction() -> None:
    """A fresh transaction that holds SQLite's write lock from its first read."""
    begin_write(db.session)


# --- issuing links --------------------------------------------------------------------------------------

def _expiry(booking: Booking, now: datetime) -> datetime:
    return max(now + timedelta(days=LINK_DAYS), booking.starts_at + timedelta(days=1))


def issue_for(participant: Participant, *, now: datetime) -> str:
    """A fresh link for this person's intake (created if needed); an older link of theirs stops working.

    Runs in the caller's transaction, without committing.
    """
    token, intake = _issue(participant, intake_of(participant), now=now)
    db.session.flush()  # the intake's id, for the audit
    audit.record("intake.issue_link", record_type="intake", record_id=intake.id, detail={"role": participant.role})
    return token


def issue_intakes(booking: Booking, *, now: datetime, new_booking: bool = False) -> dict[str, str]:
    """Every person on the booking gets an intake and a link of their own: role -> token (shown once).

    Runs in the caller's transaction (the booking's), without committing. Intakes already submitted get no
    new link. `new_booking`: the booking was created in this transaction, so nobody on it has an intake yet
    and none is looked for.
    """
    tokens, issued = {}, []
    for participant in booking.participants:
        intake = None if new_booking else intake_of(participant)
        if intake is not None and intake.submitted_at is not None:
            continue
        tokens[participant.role], intake = _issue(participant, intake, now=now)
        issued.append(intake)
    db.session.flush()  # the intakes' ids, for the audit
    for intake in issued:
        audit.record("intake.issue_link", record_type="intake", record_id=intake.id,
                     detail={"role": intake.participant.role})
    return tokens


def _issue(participant: Participant, intake: Intake | None, *, now: datetime) -> tuple[str, Intake]:
    """A new token on this person's intake, made if they have none yet."""
    booking = participant.booking
    if intake is None:
        intake = Intake(participant=participant, format=booking.service.format, answers={}, sections_done=[],
                        created_at=now, updated_at=now)
        db.session.add(intake)
    token = new_token()
    intake.token_hash, intake.token_issued_at, intake.expires_at = hash_token(token), now, _expiry(booking, now)
    return token, intake


def issue_from_manage_link(booking_id: str | uuid.UUID, manage_token: str | None, *, now: datetime) -> str:
    """A fresh intake link for the person whose booking link this is (the manage page's button), committed.

    Raises booking.service.LinkInvalid for a link that opens no booking, IntakeLinkInvalid("cancelled") for a
    booking that is no longer live.
    """
    from practice.booking import service as booking_service

    access = booking_service.open_link(booking_id, manage_token, now=now)
    if access.booking.status not in LIVE_STATUSES:
        raise IntakeLinkInvalid("cancelled")
    participant_id = access.participant.id
    _write_transaction()
    participant = db.session.get(Participant, participant_id)
    token = issue_for(participant, now=now)
    db.session.commit()
    return token


# --- opening, saving, submitting ------------------------------------------------------------------------

def open_intake(token: str | None, *, now: datetime) -> Intake:
    """The intake a link opens. Reading only. Raises IntakeLinkInvalid."""
    if not looks_like_token(token):
        raise IntakeLinkInvalid("unknown")
    intake = db.session.scalar(
        select(Intake).where(Intake.token_hash == hash_token(token))
        .options(selectinload(Intake.participant).selectinload(Participant.booking))
    )
    if intake is None:
        raise IntakeLinkInvalid("unknown")
    if intake.booking.status == BookingStatus.cancelled:
        raise IntakeLinkInvalid("cancelled")
    if now > intake.link_expires_at():
        raise IntakeLinkInvalid("expired")
    return intake


def _open_for_writing(token: str, *, now: datetime) -> Intake:
    _write_transaction()
    intake = open_intake(token, now=now)
    # PostgreSQL: the booking row is the lock that puts partners' submissions one after the other, so the
    # second always routes with the first (SQLite: BEGIN IMMEDIATE above already does).
    db.session.execute(select(Booking.id).where(Booking.id == intake.booking.id).with_for_update())
    db.session.refresh(intake)
    if intake.submitted_at is not None:
        raise IntakeAlreadySubmitted()
    return intake


def save_section(token: str, section_id: str, answers: Mapping[str, Any], *, now: datetime,
                 complete: bool = True) -> Intake:
    """Save one section's answers into the draft, replacing what that section held; committed.

    `complete` (the person pressed "next"): the section's required items must be there, and the section is
    marked done. Otherwise (the suicide follow-up's first step) the valid answers are kept and the section
    stays open. IntakeInvalid on any problem, and then nothing is stored.
    """
    try:
        intake = _open_for_writing(token, now=now)
        cleaned = validate_section(answers, section_id, format=intake.format, require_complete=complete)
        section = load_items().section(section_id)
        draft = {k: v for k, v in (intake.answers or {}).items() if k not in {i.id for i in section.items}}
        draft.update(cleaned)
        intake.answers = draft
        done = set(intake.sections_done or ())
        done.add(section_id) if complete else done.discard(section_id)
        order = [s.id for s in load_items().sections]
        intake.sections_done = [s for s in order if s in done]
        intake.updated_at = now
        audit.record("intake.save_section", record_type="intake", record_id=intake.id,
                     detail={"section": section_id, "complete": complete})
        db.session.commit()
        return intake
    except BaseException:
        db.session.rollback()
        raise


def submit(token: str, answers: Mapping[str, Any], *, now: datetime) -> Submitted:
    """Accept one person's complete answers, re-route the booking with every intake in, and act on safety.

    IntakeInvalid (field errors) and nothing stored when the answers don't validate. In the same transaction:
    the intake, the booking's routing decision, a self-booking block and the front-desk alert (suicide_acute).
    """
    try:
        intake = _open_for_writing(token, now=now)
        cleaned = validate_answers(answers, format=intake.format)
        intake.answers = cleaned
        intake.sections_done = [s.id for s in load_items().sections]
        intake.submitted_at = intake.updated_at = now
        db.session.flush()
        audit.record("intake.submit", record_type="intake", record_id=intake.id, detail={"role": intake.role})
        route_booking(intake.booking, now=now)
        if cleaned.get("suicide_now") is True:
            _block_self_booking(intake, now=now)
            _alert_front_desk(intake.booking, intake, now=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Submitted(intake, has_positive_suicide_item(cleaned), suggestion_for(intake))


# --- routing --------------------------------------------------------------------------------------------

_PARTNER_NUMBER = re.compile(r"\bpartner ([12])\b")


def route_booking(booking: Booking, *, now: datetime) -> RoutingDecision | None:
    """Route the booking on every submitted intake and store the decision (in the caller's transaction).

    The engine numbers partners by their place in its input; we feed it the submitted intakes in booking
    order (client, then partner) and renumber, so that partner 0/"partner 1" is always the client who booked
    and 1/"partner 2" the invited partner, also while only the partner's intake is in. A new recommendation
    clears an earlier acceptance or override: staff review it again.
    """
    intakes = sorted(
        db.session.scalars(select(Intake).join(Participant).where(Participant.booking_id == booking.id,
                                                                  Intake.submitted_at.is_not(None))),
        key=lambda i: ROLE_INDEX[i.role])
    if not intakes:
        return None
    format = intakes[0].format
    places = [ROLE_INDEX[i.role] for i in intakes]
    result = decide(format, [i.answers for i in intakes])
    flags = [{**flag.to_json(), "partner": None if flag.partner is None else places[flag.partner]}
             for flag in result.flags]
    reasons = [_PARTNER_NUMBER.sub(lambda m: f"partner {places[int(m.group(1)) - 1] + 1}", reason)
               for reason in result.reasons]
    seats = 2 if format == "couple" else 1
    scores: dict[str, list] = {}
    for name in ("csi4", "phq2", "gad2", "trust_sign_load"):
        scores[name] = [None] * seats
        for place, partner_scores in zip(places, result.scores):
            scores[name][place] = getattr(partner_scores, name)

    # Locked, and read as it stands: a staff decision committed meanwhile is seen (and its version kept in
    # step), rather than making this UPDATE stale and the person's submission fail.
    decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking.id)
                                 .with_for_update().execution_options(populate_existing=True))
    if decision is None:
        decision = RoutingDecision(booking_id=booking.id)
        db.session.add(decision)
    decision.track, decision.urgent, decision.rule = result.track, result.urgent, result.rule
    decision.partial, decision.blocks_self_booking = result.partial, result.blocks_self_booking
    decision.flags, decision.reasons, decision.scores = flags, reasons, scores
    decision.decided_at = now
    reviewed = decision.accepted_at is not None
    decision.accepted_by_id = decision.accepted_at = decision.override_track = decision.override_reason = None
    decision.processed_at = decision.processed_by_id = None  # and front desk's "done" with it
    db.session.flush()
    audit.record("intake.route", record_type="booking", record_id=booking.id,
                 detail={"intakes": len(intakes), "review_cleared": reviewed, "version": decision.version})
    return decision


def _block_self_booking(intake: Intake, *, now: datetime) -> None:
    email = intake.participant.client.email.strip().lower()
    if self_booking_blocked(email):
        return
    db.session.add(SelfBookingBlock(email=email, reason="staff_review", intake_id=intake.id, created_at=now))
    audit.record("intake.block_self_booking", record_type="intake", record_id=intake.id)


def _alert_front_desk(booking: Booking, intake: Intake, *, now: datetime) -> None:
    """An email to ALERT_EMAIL that says only that an intake needs attention, and where to look."""
    to = (current_app.config.get("ALERT_EMAIL") or "").strip()
    if not to:
        log.warning("ALERT_EMAIL is not set: an urgent intake waits at the top of the staff queue unannounced")
        return
    from practice.notify.outbox import queue_email

    queue_email(to=to, to_name="", template="intake_alert", kind="intake_alert", now=now,
                context={"staff_url": f"{current_app.config['BASE_URL']}/staff/intakes/{booking.id}"},
                dedupe_key=f"intake_alert:{intake.id}")
    audit.record("intake.alert_queued", record_type="booking", record_id=booking.id)


# --- what a person is shown -----------------------------------------------------------------------------

def suggestion_for(intake: Intake) -> Suggestion | None:
    """A note for this person only, from their own answers and their own booking's format.

    Never from the couple's decision: a note that changed with what the other partner answered would tell
    them something (INTAKE.md, principle 1).
    """
    answers = intake.answers or {}
    if intake.format == "individual" and answers.get("seeking") == "couples" \
            and answers.get("partner_willing") == "yes":
        return Suggestion("couples_may_fit",
                          "You mentioned you'd like sessions together with your partner, and that they may be "
                          "willing to come. A couples session might suit you well. You're welcome to keep this "
                          "session and talk it over with your counselor, or to look at couples sessions.",
                          "couple")
    if intake.format == "couple" and answers.get("seeking") == "individual":
        return Suggestion("individual_may_fit",
                          "You mentioned you'd like some sessions on your own. That's often helpful alongside "
                          "couples sessions: you can tell your counselor, or look at individual sessions.",
                          "individual")
    return None


def progress(intake: Intake | None) -> Progress:
    """How far a person is, for their own pages (sections done, never answers)."""
    total = len(load_items().sections)
    if intake is None:
        return Progress(0, total, False, False)
    done = len(intake.sections_done or ())
    return Progress(done, total, intake.submitted_at is not None, bool(done or intake.answers))


def intake_of(participant: Participant | None) -> Intake | None:
    if participant is None:
        return None
    return db.session.scalar(select(Intake).where(Intake.participant_id == participant.id))


# --- self-booking blocks --------------------------------------------------------------------------------

def self_booking_blocked(email: str | None) -> bool:
    """Whether online booking is refused for this email (booking.service checks the booker's address)."""
    email = blocked_email_key(email)
    if not email:
        return False
    return db.session.scalar(_BLOCKED, {"blocked_email": email}) is True


def blocked_email_key(email: str | None) -> str:
    """An address as self-booking blocks keep it."""
    return (email or "").strip().lower()


def self_booking_block_exists(email):
    """The SQL condition behind self_booking_blocked(): a block on `email` (a blocked_email_key value, or a
    bind parameter carrying one) that was not lifted. For a caller that asks inside a query of its own."""
    return exists().where(SelfBookingBlock.email == email, SelfBookingBlock.lifted_at.is_(None))


_BLOCKED = select(self_booking_block_exists(bindparam("blocked_email")))  # built once: asked on every booking


def active_blocks(booking: Booking) -> list[SelfBookingBlock]:
    emails = [p.client.email for p in booking.participants]
    return list(db.session.scalars(select(SelfBookingBlock).where(SelfBookingBlock.email.in_(emails),
                                                                 SelfBookingBlock.lifted_at.is_(None))))


def lift_blocks(booking_id: uuid.UUID, *, actor, now: datetime) -> int:
    """Staff have spoken with the person: online booking is open to the booking's people again."""
    booking = db.session.get(Booking, booking_id)
    lifted = 0
    for block in active_blocks(booking):
        block.lifted_at, block.lifted_by_id = now, actor.id
        lifted += 1
    audit.record("intake.block_lifted", record_type="booking", record_id=booking.id, detail={"blocks": lifted},
                 actor=actor)
    db.session.commit()
    return lifted


# --- staff: decisions ---------------------------------------------------------------------------------
#
# Optimistic locking: each staff form carries the decision's version as the page showed it. A change made from
# an older page is refused with DecisionChanged, which says what happened since and who did it, so the second
# person decides again knowingly. The check is made on the row read in the write transaction, and the UPDATE
# itself only matches that version (RoutingDecision.version is SQLAlchemy's version_id_col): two commits at the
# very same moment end in StaleDataError for one of them, reported the same way.
#
# Every change of a decision is audited with the version it produced, which is how changes_since() finds them.

CHANGE_ACTIONS = ("intake.route", "intake.accept", "intake.override", "intake.processed", "intake.reassigned",
                  "intake.converted")


@dataclass(frozen=True)
class Change:
    action: str  # one of CHANGE_ACTIONS
    by: str | None  # the staff member's name; None for a person's intake arriving
    at: datetime


class DecisionChanged(Exception):
    """The decision moved on since the page was opened (409): `changes` says how, `version` is where it is now."""

    def __init__(self, changes: list[Change], version: int):
        super().__init__(f"changed since: {[c.action for c in changes]}")
        self.changes = changes
        self.version = version


def parse_version(value) -> int | None:
    """The version a form carried, or None when it carried none that can be read."""
    return whole_number(value)


def changes_since(booking_id: uuid.UUID, version: int) -> list[Change]:
    """What was done to this booking's decision after `version`, oldest first (from the audit log)."""
    from practice.audit.models import AuditEvent
    from practice.auth.models import User

    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.at, AuditEvent.detail, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.record_type == "booking", AuditEvent.record_id == str(booking_id),
               AuditEvent.action.in_(CHANGE_ACTIONS))
        .order_by(AuditEvent.id)).all()
    return [Change(row.action, row.name, row.at) for row in rows
            if isinstance(row.detail, dict) and (row.detail.get("version") or 0) > version]


def _decision_for_change(booking_id: uuid.UUID, expected_version: int | None) -> RoutingDecision:
    """The booking's decision, read in the caller's write transaction; DecisionChanged if it is not at the
    version the staff member saw (None: no page to compare with, e.g. a command), DecisionRefused if there is
    none."""
    decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking_id)
                                 .execution_options(populate_existing=True))
    if decision is None:
        raise DecisionRefused({"action": ["There is no recommendation to decide on yet."]})
    if expected_version is not None and decision.version != expected_version:
        raise DecisionChanged(changes_since(booking_id, expected_version), decision.version)
    return decision


def _audit_change(action: str, booking_id: uuid.UUID, decision: RoutingDecision, *, actor,
                  detail: dict | None = None) -> None:
    db.session.flush()  # the UPDATE, checked against the version read: the version it made is now known
    audit.record(action, record_type="booking", record_id=booking_id, actor=actor,
                 detail={**(detail or {}), "version": decision.version})


def _stale(booking_id: uuid.UUID, expected_version: int) -> DecisionChanged:
    """After a StaleDataError (and its rollback): what the winner did."""
    version = db.session.scalar(select(RoutingDecision.version).where(RoutingDecision.booking_id == booking_id))
    db.session.rollback()
    return DecisionChanged(changes_since(booking_id, expected_version), version or expected_version)


def _committed_change(booking_id: uuid.UUID, expected_version: int | None, change) -> RoutingDecision:
    """Run `change(decision)` on the decision at the version the staff member saw, and commit."""
    _write_transaction()
    try:
        decision = _decision_for_change(booking_id, expected_version)
        change(decision)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise _stale(booking_id, expected_version) from None
    except BaseException:
        db.session.rollback()
        raise
    return decision


def record_staff_decision(booking_id: uuid.UUID, *, actor, action: str, track: str | None = None,
                          reason: str | None = None, version: int | None = None, now: datetime) -> RoutingDecision:
    """Accept the recommendation, or override it with another track and a reason; audited.

    `version`: the decision's version on the page the staff member decided from (DecisionChanged if it moved;
    the intake page always sends it).
    """
    reason = (reason or "").strip()

    def change(decision: RoutingDecision) -> None:
        errors: dict[str, list[str]] = {}
        if action == "override":
            if track not in TRACKS:
                errors["track"] = ["Choose the track to use instead."]
            elif track == decision.track:
                errors["track"] = ["That is the recommended track: accept it instead."]
            if not reason:
                errors["reason"] = ["Say why you are overriding the recommendation."]
            elif len(reason) > 2000:
                errors["reason"] = ["Keep the reason to 2,000 characters or fewer."]
        elif action != "accept":
            errors["action"] = ["Accept or override."]
        if errors:
            raise DecisionRefused(errors)
        decision.accepted_by_id, decision.accepted_at = actor.id, now
        decision.override_track = track if action == "override" else None
        decision.override_reason = reason if action == "override" else None
        _audit_change(f"intake.{action}", booking_id, decision, actor=actor)

    return _committed_change(booking_id, version, change)


def mark_processed(booking_id: uuid.UUID, *, actor, version: int | None, now: datetime) -> RoutingDecision:
    """Front desk is done with this intake: it leaves the queue's "to do" list. Only once the recommendation
    was accepted or overridden; a new recommendation (the partner's intake) puts it back. Audited."""

    def change(decision: RoutingDecision) -> None:
        if decision.accepted_at is None:
            raise DecisionRefused({"processed": ["Accept the recommendation or override it first: an intake is "
                                                 "done only once someone has decided on it."]})
        if decision.processed_at is not None:
            raise DecisionRefused({"processed": ["This intake is already marked as done."]})
        decision.processed_at, decision.processed_by_id = now, actor.id
        _audit_change("intake.processed", booking_id, decision, actor=actor)

    return _committed_change(booking_id, version, change)


def note_booking_changed(booking_id: uuid.UUID, *, expected_version: int | None, action: str, actor) -> None:
    """Inside the transaction of a staff change to the booking itself (a counselor assigned, the booking split
    into individual sessions), made from the intake page: the decision must still be at the version that page
    showed (DecisionChanged otherwise, which rolls the change back), and moves on, so that other open pages see
    it. `action`: "reassigned" or "converted". No decision (no intake yet): nothing to check."""
    decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking_id)
                                 .execution_options(populate_existing=True))
    if decision is None:
        return
    if expected_version is not None and decision.version != expected_version:
        raise DecisionChanged(changes_since(booking_id, expected_version), decision.version)
    flag_modified(decision, "rule")  # an UPDATE with nothing else changed: the version moves on
    _audit_change(f"intake.{action}", booking_id, decision, actor=actor)


def stale_change(booking_id: uuid.UUID, expected_version: int) -> DecisionChanged:
    """For a caller whose own transaction ended in StaleDataError (and was rolled back): what happened."""
    return _stale(booking_id, expected_version)
