"""Manage links by email: each person's link, and "resend my link".

"Resend my link" tells nobody who booked, by its answer or by its time: the request only records the address
(a LinkRequest row) and answers; `process_link_request` looks the bookings up after the response, gives each
person a fresh link (links_reissued's receivers email them) and deletes the row. It runs by MAIL_DELIVERY's
mode once the request commits, or in the worker's next round.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from practice.audit import service as audit
from practice.booking.change import issue_link, revoke_links
from practice.booking.models import LIVE_STATUSES, Booking, Client, LinkRequest, Participant
from practice.booking.signals import links_reissued
from practice.database import begin_write
from practice.extensions import db
from practice.jobs import AfterCommit


def manage_url(booking: Booking, token: str) -> str:
    """A person's manage link, built from BASE_URL, never from the request's host."""
    return f"{current_app.config['BASE_URL']}/bookings/{booking.id}?token={token}"


def resend_links(email: str, *, now: datetime) -> None:
    """Send fresh links for every upcoming live booking of this email, committed. Says nothing about whether
    there are any."""
    email = (email or "").strip().lower()
    if "@" not in email:
        return
    participants = db.session.scalars(
        select(Participant).join(Client).join(Booking)
        .where(Client.email == email, Booking.status.in_(LIVE_STATUSES), Booking.ends_at > now)
        .options(selectinload(Participant.tokens))
    ).all()
    if not participants:
        return
    links = []
    for participant in participants:
        revoke_links(participant, now=now, reason="reissued")
        links.append((participant, issue_link(participant, now=now)))
    links_reissued.send(email, links=links, now=now)
    audit.record("booking.links_resent", record_type="client", record_id="", detail={"count": len(links)})
    db.session.commit()


_LINK_REQUESTS = AfterCommit("link request", "practice.tasks.send_requested_links")


def request_links(email: str, *, now: datetime) -> None:
    """"Resend my link": record the request, committed; the links go out after the response.

    Whatever the address, the request does the same work (one row) and answers the same, so neither its answer
    nor its time tells anyone whether the address has bookings.
    """
    request = LinkRequest(email=(email or "").strip().lower(), requested_at=now)
    db.session.add(request)
    db.session.flush()
    _LINK_REQUESTS.add(db.session, request.id)
    db.session.commit()


def process_link_request(request_id: int, *, now: datetime) -> bool:
    """Send the links one request asked for and delete it (the address is not kept). False when another
    worker has it or did it."""
    begin_write(db.session)
    query = select(LinkRequest).where(LinkRequest.id == request_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    request = db.session.scalar(query)
    if request is None:
        db.session.rollback()
        return False
    db.session.delete(request)
    resend_links(request.email, now=now)  # commits the deletion with the links it sends
    db.session.commit()  # when there were none
    return True


def process_link_requests(*, now: datetime) -> int:
    """Worker job: the requests no thread or queue job has handled yet (oldest first)."""
    ids = db.session.scalars(select(LinkRequest.id).order_by(LinkRequest.requested_at).limit(500)).all()
    db.session.rollback()
    return sum(process_link_request(request_id, now=now) for request_id in ids)
