"""Clients: finding a person, their page, an export of their record (right of access), and its deletion.

Clients have no account: a Client row is made for each booking, so a person is every Client row with the same
email. Front desk and admins find and open anyone; a counselor only people who booked with them, and sees only
those bookings (anyone else is a 404, with no hint they exist). Full intake answers are shown only to admins and
to the counselor of that booking, and only this person's own: never their partner's answers, nor flags that
came from the partner. Every search, page, export and deletion is audited; the search term is not (it names
someone), only that a search was made and how many people it found.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from practice import clock
from practice.access import staff
from practice.audit import service as audit
from practice.booking.models import Booking, Client, Participant
from practice.extensions import db
from practice.frontdesk import erasure
from practice.intake.display import AnswerSection, answer_sections
from practice.intake.forms import TRACK_LABELS
from practice.intake.models import Intake, RoutingDecision, SelfBookingBlock
from practice.intake.service import ROLE_INDEX, Progress, progress
from practice.intake.staff import may_see_answers
from practice.notify.models import OutboxMessage
from practice.payments.models import GoodFaithEstimate, Payment

bp = Blueprint("frontdesk_clients", __name__)

MIN_QUERY, MAX_QUERY = 2, 100
SEARCH_LIMIT = 50
MESSAGE_LIMIT = 200


# --- finding people ---------------------------------------------------------------------------------------

class SearchInvalid(ValueError):
    """The search term cannot be used; str() says why."""


@dataclass(frozen=True)
class Found:
    client_id: int  # the newest Client row of the person: the page's address
    name: str
    email: str
    other_names: tuple[str, ...]
    bookings: int
    last_booked: datetime


def _records(viewer, *columns):
    """`columns` of the client records (not erased) with their bookings, as far as this staff member may see:
    a counselor only their own bookings."""
    query = (select(*columns).select_from(Client)
             .join(Participant, Participant.client_id == Client.id)
             .join(Booking, Booking.id == Participant.booking_id)
             .where(Client.erased_at.is_(None)))
    if viewer.role == "counselor":
        query = query.where(Booking.counselor_id == (viewer.counselor_id or -1))
    return query


def clean_query(text: str | None) -> str:
    q = " ".join((text or "").split()).lower()
    if len(q) < MIN_QUERY:
        raise SearchInvalid(f"Type at least {MIN_QUERY} characters of a name or an email address.")
    if len(q) > MAX_QUERY:
        raise SearchInvalid(f"That is longer than any name or address we keep; use at most {MAX_QUERY} characters.")
    return q


def search(q: str, viewer) -> tuple[list[Found], bool]:
    """People whose name (any of their records) or email contains `q`, newest booking first; at most
    SEARCH_LIMIT, and whether there were more. Audited as a count; the caller commits."""
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matching = _records(viewer, Client.email).where(Client.email != "", func.lower(Client.name).like(
        pattern, escape="\\") | Client.email.like(pattern, escape="\\"))
    last = func.max(Client.created_at).label("last")
    groups = db.session.execute(
        _records(viewer, Client.email, last, func.count(func.distinct(Participant.booking_id)))
        .where(Client.email.in_(matching))
        .group_by(Client.email).order_by(last.desc(), Client.email).limit(SEARCH_LIMIT + 1)).all()
    more = len(groups) > SEARCH_LIMIT
    groups = groups[:SEARCH_LIMIT]
    records: dict[str, list[tuple[int, str]]] = {}  # email -> (id, name) of each visible record, newest first
    for client_id, email, name in db.session.execute(
            _records(viewer, Client.id, Client.email, Client.name).where(Client.email.in_([g[0] for g in groups]))
            .order_by(Client.created_at.desc(), Client.id.desc())):
        records.setdefault(email, []).append((client_id, name))
    found = []
    for email, last_at, count in groups:
        (newest_id, newest_name), *older = records[email]
        others = tuple(dict.fromkeys(name for _, name in older if name != newest_name))
        found.append(Found(newest_id, newest_name, email, others, count, last_at))
    audit.record("client.search", record_type="client", actor=viewer,
                 detail={"results": len(found), "more": more})
    return found, more


# --- one person -------------------------------------------------------------------------------------------

class NotFound(Exception):
    """Unknown, or not for this staff member (404: no hint it exists)."""


@dataclass
class Place:
    """The person's place on one booking, with what they may be shown of it."""
    participant: Participant
    booking: Booking
    intake: Intake | None
    progress: Progress
    decision: RoutingDecision | None
    flags: list[dict]  # this person's flags, and the couple's (partner null); never the partner's own
    answers: tuple[AnswerSection, ...] | None  # None: not for this viewer, or not submitted
    payment: Payment | None = None  # only where they booked (the payer)
    estimate: GoodFaithEstimate | None = None

    @property
    def role(self) -> str:
        return self.participant.role

    @property
    def index(self) -> int:
        return ROLE_INDEX[self.participant.role]


@dataclass
class Person:
    client: Client  # the newest of their records: name, email, phone, state
    other_names: list[str]
    places: list[Place]
    messages: list[OutboxMessage] | None  # None: not for this viewer
    more_messages: bool = False
    blocks: list[SelfBookingBlock] = field(default_factory=list)

    @property
    def email(self) -> str:
        return self.client.email


def open_client(client_id: int, viewer) -> Client:
    """The Client row, if this staff member may open it (NotFound otherwise). A counselor only a row on one of
    their bookings, and never an erased one."""
    client = db.session.get(Client, client_id)
    if client is None:
        raise NotFound()
    if viewer.role == "counselor":
        if client.erased_at is not None or not db.session.scalar(
                select(func.count(Participant.id)).join(Booking, Booking.id == Participant.booking_id)
                .where(Participant.client_id == client.id, Booking.counselor_id == (viewer.counselor_id or -1))):
            raise NotFound()
    return client


def own_flags(decision: RoutingDecision | None, index: int, *, couple_level: bool = True) -> list[dict]:
    """The flags that came from this person's answers, and (couple_level) the couple's own; never the partner's."""
    if decision is None:
        return []
    return [f for f in decision.flags or []
            if isinstance(f, dict) and (f.get("partner") == index or (couple_level and f.get("partner") is None))]


def person_for(client: Client, viewer, *, with_answers: bool = True, audited: str | None = "client.view") -> Person:
    """Everything this staff member may see of the person `client` is one of. `audited`: the action recorded
    (with one intake.view_answers per intake whose answers are included); the caller commits."""
    rows = db.session.execute(_records(viewer, Client, Participant, Booking).where(Client.email == client.email)
                              .options(selectinload(Booking.counselor), selectinload(Booking.service))
                              .order_by(Booking.starts_at.desc())).all()
    clients = sorted({c.id: c for c, _, _ in rows}.values(), key=lambda c: (c.created_at, c.id), reverse=True)
    newest = clients[0] if clients else client
    other_names = []
    for c in clients:
        if c.name != newest.name and c.name not in other_names:
            other_names.append(c.name)
    participant_ids = [p.id for _, p, _ in rows]
    booking_ids = [b.id for _, _, b in rows]
    booked_ids = [b.id for _, p, b in rows if p.role == "client"]
    intakes = {i.participant_id: i for i in db.session.scalars(
        select(Intake).where(Intake.participant_id.in_(participant_ids)))} if participant_ids else {}
    decisions = {d.booking_id: d for d in db.session.scalars(
        select(RoutingDecision).where(RoutingDecision.booking_id.in_(booking_ids)))} if booking_ids else {}
    payments = {p.booking_id: p for p in db.session.scalars(
        select(Payment).where(Payment.booking_id.in_(booked_ids)).options(selectinload(Payment.refunds)))
    } if booked_ids else {}
    estimates = {e.booking_id: e for e in db.session.scalars(
        select(GoodFaithEstimate).where(GoodFaithEstimate.booking_id.in_(booked_ids)))} if booked_ids else {}
    places = []
    shown = 0
    for _, participant, booking in rows:
        intake = intakes.get(participant.id)
        answers = None
        if (with_answers and intake is not None and intake.submitted_at is not None
                and may_see_answers(viewer, booking)):
            answers = answer_sections(intake.answers or {}, intake.format, with_values=True)
            shown += 1
            if audited:
                audit.record("intake.view_answers", record_type="intake", record_id=intake.id, actor=viewer,
                             detail={"role": participant.role, "via": "client"})
        decision = decisions.get(booking.id)
        places.append(Place(participant, booking, intake, progress(intake), decision,
                            own_flags(decision, ROLE_INDEX[participant.role]), answers,
                            payments.get(booking.id) if participant.role == "client" else None,
                            estimates.get(booking.id) if participant.role == "client" else None))
    messages, more = None, False
    blocks: list[SelfBookingBlock] = []
    if viewer.in_office and client.email:
        # Messages and blocks are kept by address, not by booking: only staff who see every booking see them.
        found = db.session.scalars(select(OutboxMessage).where(func.lower(OutboxMessage.to_email) == client.email)
                                   .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                                   .limit(MESSAGE_LIMIT + 1)).all()
        messages, more = list(found[:MESSAGE_LIMIT]), len(found) > MESSAGE_LIMIT
        blocks = list(db.session.scalars(select(SelfBookingBlock).where(SelfBookingBlock.email == client.email)
                                         .order_by(SelfBookingBlock.created_at.desc())))
    if audited:
        audit.record(audited, record_type="client", record_id=client.id, actor=viewer,
                     detail={"bookings": len(places), "answers_shown": shown})
    return Person(newest, other_names, places, messages, more, blocks)


# --- the export (right of access) ----------------------------------------------------------------------------

def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_of(person: Person, *, now: datetime, zone: tzinfo) -> dict[str, Any]:
    """What the practice holds about the person, as plain JSON: their own answers and flags only."""
    def intake_of(place: Place) -> dict | None:
        intake = place.intake
        if intake is None:
            return None
        return {
            "issued_at": _iso(intake.token_issued_at), "submitted_at": _iso(intake.submitted_at),
            "sections_done": list(intake.sections_done or []),
            "answers": [{"section": s.title, "question": row.question, "answer": row.answer}
                        for s in answer_sections(intake.answers or {}, intake.format) for row in s.rows
                        if row.answer is not None],
        }

    def routing_of(place: Place) -> dict | None:
        decision = place.decision
        if decision is None:
            return None
        # Own flags and scores only: in a couple, the couple's flags and track come from the partner's answers
        # too (INTAKE.md, principle 1), so only an individual booking's track is theirs to read.
        out: dict[str, Any] = {
            "decided_at": _iso(decision.decided_at),
            "flags": [{"code": f.get("code"), "severity": f.get("severity")}
                      for f in own_flags(decision, place.index, couple_level=False)],
            "scores": {name: values[place.index] for name, values in (decision.scores or {}).items()
                       if isinstance(values, list) and len(values) > place.index},
        }
        if place.booking.service.format == "individual":
            out["track"] = decision.final_track
        return out

    def payment_of(place: Place) -> dict | None:
        payment = place.payment
        if payment is None:
            return None
        return {"amount": payment.amount, "currency": payment.currency, "status": payment.status.value,
                "amount_refunded": payment.amount_refunded, "paid_at": _iso(payment.succeeded_at),
                "stripe_payment_intent": payment.stripe_payment_intent_id,
                # Not the reason: staff write those for each other (an override's is inside it too), and it
                # may name the partner or what was disclosed.
                "refunds": [{"amount": r.amount, "kind": r.kind, "state": r.state.value,
                             "requested_at": _iso(r.created_at), "completed_at": _iso(r.completed_at)}
                            for r in payment.refunds]}

    client = person.client
    return {
        "exported_at": _iso(now),
        "note": "Times are in UTC (ISO 8601). Amounts are in minor units (cents).",
        "person": {"name": client.name, "email": client.email, "phone": client.phone, "state": client.state,
                   "other_names": person.other_names},
        "records": [{"id": p.participant.client.id, "name": p.participant.client.name,
                     "created_at": _iso(p.participant.client.created_at)} for p in person.places],
        "bookings": [{
            "id": str(place.booking.id), "role": place.role, "service": place.booking.service.name,
            "format": place.booking.service.format, "counselor": place.booking.counselor.name,
            "starts_at": _iso(place.booking.starts_at), "ends_at": _iso(place.booking.ends_at),
            "status": place.booking.status.value, "booked_at": _iso(place.booking.created_at),
            "cancelled_at": _iso(place.booking.cancelled_at),
            # Only the booker's own words: a reason staff gave is for staff (it may name the partner).
            "cancel_reason": (place.booking.cancel_reason
                              if place.role == "client" and place.booking.cancelled_by == "client" else None),
            "your_time_zone": place.booking.client_timezone if place.role == "client" else None,
            "intake": intake_of(place), "routing": routing_of(place), "payment": payment_of(place),
            "good_faith_estimate": place.estimate.content if place.estimate is not None else None,
        } for place in person.places],
        "messages": [{"kind": m.kind, "state": m.state.value, "queued_at": _iso(m.created_at),
                      "sent_at": _iso(m.sent_at)} for m in person.messages or []],
        "online_booking_blocks": [{"created_at": _iso(b.created_at), "lifted_at": _iso(b.lifted_at)}
                                  for b in person.blocks],
    }


# --- pages -------------------------------------------------------------------------------------------------

class DeleteForm(FlaskForm):
    email = StringField("Their email address, to confirm",
                        validators=[DataRequired("Type the person's email address to confirm."), Length(max=254)],
                        render_kw={"autocomplete": "off", "spellcheck": "false"})
    reason = TextAreaField("Why the record is being deleted",
                           validators=[DataRequired("Say why the record is being deleted."), Length(max=300)],
                           render_kw={"rows": 2})


def _me():
    return current_user._get_current_object()


def _audited(html: str):
    """Send a page only once the audit records of what it shows are saved."""
    db.session.commit()
    return html


def _client_or_404(client_id: int) -> Client:
    try:
        return open_client(client_id, _me())
    except NotFound:
        abort(404)


@bp.get("/staff/clients")
@staff("admin", "frontdesk", "counselor")
def clients():
    raw = request.args.get("q")
    if raw is None or raw == "":
        return render_template("frontdesk/clients.html", q="", error=None, found=None, more=False, zone=clock.practice_zone())
    try:
        q = clean_query(raw)
    except SearchInvalid as exc:
        return render_template("frontdesk/clients.html", q=raw, error=str(exc), found=None, more=False,
                               zone=clock.practice_zone()), 422
    found, more = search(q, _me())
    return _audited(render_template("frontdesk/clients.html", q=raw, error=None, found=found, more=more,
                                    zone=clock.practice_zone(), limit=SEARCH_LIMIT))


@bp.get("/staff/clients/<int:client_id>")
@staff("admin", "frontdesk", "counselor")
def client(client_id: int):
    me = _me()
    anchor = _client_or_404(client_id)
    if anchor.erased_at is not None:
        audit.record("client.view", record_type="client", record_id=anchor.id, actor=me, detail={"erased": True})
        return _audited(render_template("frontdesk/client.html", erased=anchor, person=None, zone=clock.practice_zone()))
    person = person_for(anchor, me)
    now = clock.now()
    verdict = (erasure.verdict(anchor.email, now=now, years=current_app.config["RECORD_RETENTION_YEARS"],
                               zone=clock.practice_zone()) if me.role == "admin" else None)
    return _audited(render_template("frontdesk/client.html", erased=None, person=person, anchor=anchor,
                                    zone=clock.practice_zone(), track_labels=TRACK_LABELS, verdict=verdict))


@bp.get("/staff/clients/<int:client_id>/export")
@staff("admin")
def export(client_id: int):
    me = _me()
    anchor = _client_or_404(client_id)
    if anchor.erased_at is not None:
        abort(404, description="This record was deleted; nothing about the person is left to export.")
    now = clock.now()
    person = person_for(anchor, me, with_answers=False, audited=None)
    document = export_of(person, now=now, zone=clock.practice_zone())
    audit.record("client.export", record_type="client", record_id=anchor.id, actor=me,
                 detail={"bookings": len(person.places),
                         "intakes": sum(1 for p in person.places if p.intake is not None)})
    db.session.commit()
    return Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="client-{anchor.id}-{now.astimezone(clock.practice_zone()):%Y-%m-%d}.json"',
        "Cache-Control": "no-store"})


@bp.route("/staff/clients/<int:client_id>/delete", methods=["GET", "POST"])
@staff("admin")
def delete(client_id: int):
    me = _me()
    anchor = _client_or_404(client_id)
    if anchor.erased_at is not None:
        return redirect(url_for("frontdesk_clients.client", client_id=client_id), 303)
    years, zone, now = current_app.config["RECORD_RETENTION_YEARS"], clock.practice_zone(), clock.now()
    form = DeleteForm()
    status, refusal = 200, None
    if form.is_submitted():
        status = 422
        if form.validate() and form.email.data.strip().lower() != anchor.email:
            form.email.errors.append("That is not this person's email address. Type it exactly as shown above.")
        elif not form.errors:
            try:
                counts = erasure.erase_person(anchor, reason=form.reason.data.strip(), actor=me, now=now,
                                              years=years, zone=zone)
            except erasure.ErasureRefused as refused:
                refusal = str(refused)
            else:
                flash(f"The record was deleted. {_counted(counts['client_records'], 'booking record')} no longer "
                      f"name the person; {_counted(counts['intakes'], 'intake')} and "
                      f"{_counted(counts['messages'], 'email')} were removed.", "success")
                return redirect(url_for("frontdesk_clients.client", client_id=client_id), 303)
    verdict = erasure.verdict(anchor.email, now=now, years=years, zone=zone)
    person = person_for(anchor, me, with_answers=False)  # the page names them and lists their bookings
    return _audited(render_template("frontdesk/client_delete.html", person=person, anchor=anchor, verdict=verdict,
                                    refusal=refusal, form=form, years=years, zone=zone)), status


def _counted(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"
