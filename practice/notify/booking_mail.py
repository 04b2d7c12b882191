"""The emails a booking sends, queued in the outbox inside the transaction that causes them.

Links are built from BASE_URL, never from the request. Messages name the counselor, the session and the time;
never anything from an intake. Each person gets their own message with their own links only; the messages of
one change are queued together (one statement).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from practice.booking.links import manage_url
from practice.booking.models import Booking, Participant
from practice.calendar import invites
from practice.notify.outbox import CalendarInvite, Email, queue_emails


def when(moment: datetime, zone: str) -> str:
    """'Monday, December 7, 2026 at 10:00 AM EST' in the reader's zone, the zone always named."""
    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%A, %B %-d, %Y at %-I:%M %p ") + (local.tzname() or zone)


def _context(booking: Booking, participant: Participant, token: str | None) -> dict:
    zone = booking.client_timezone or booking.counselor.timezone
    return {
        "name": participant.client.name,
        "role": participant.role,
        "counselor": booking.counselor.name,
        "service": booking.service.name,
        "duration": booking.service.duration_minutes,
        "when": when(booking.starts_at, zone),
        "zone": zone,
        "manage_url": manage_url(booking, token) if token else None,
        "booking_ref": str(booking.id)[:8].upper(),
    }


def _to(participant: Participant, template: str, context: dict, dedupe: str | None,
        attachments: tuple[CalendarInvite, ...] = ()) -> Email:
    return Email(to=participant.client.email, to_name=participant.client.name, template=template, kind=template,
                 context=context, dedupe_key=dedupe, attachments=attachments)


def _invites(booking: Booking, now: datetime | None) -> dict[str, tuple[CalendarInvite, ...]]:
    """Each person's own calendar invite (iMIP), by role: the transport sends it as the message's text/calendar
    part. Stamped when the change was made; its bytes are made when the message is delivered."""
    method = invites.invite_method(booking)
    return {role: (CalendarInvite(invites.FILENAME, method, (event,)),)
            for role, event in invites.invite_events(booking, now=now or booking.updated_at).items()}


def booking_confirmed(booking: Booking, tokens: dict[str, str], intake_urls: dict[str, str] | None = None, *,
                      now: datetime | None = None) -> None:
    """Each person's confirmation, with their own manage link and (intake_urls) their own intake link only, and
    their own calendar invite. A paid booking's first invite comes with its confirmation (nothing was put in a
    calendar while it was held), so its SEQUENCE is sent as it stands."""
    emails, attachments = [], _invites(booking, now)
    for participant in booking.participants:
        context = _context(booking, participant, tokens.get(participant.role))
        context["intake_url"] = (intake_urls or {}).get(participant.role)
        context["couple"] = booking.service.format == "couple"
        emails.append(_to(participant, "booking_confirmed", context, f"confirmed:{booking.id}:{participant.role}",
                          attachments[participant.role]))
    queue_emails(emails)


def booking_rescheduled(booking: Booking, old_start: datetime, tokens: dict[str, str], *,
                        now: datetime | None = None) -> None:
    emails, attachments = [], _invites(booking, now)
    for participant in booking.participants:
        context = _context(booking, participant, tokens.get(participant.role))
        context["old_when"] = when(old_start, context["zone"])
        emails.append(_to(participant, "booking_rescheduled", context,
                          f"rescheduled:{booking.id}:{booking.ics_sequence}:{participant.role}",
                          attachments[participant.role]))
    queue_emails(emails)


def booking_cancelled(booking: Booking, *, now: datetime | None = None) -> None:
    emails, attachments = [], _invites(booking, now)
    for participant in booking.participants:
        context = _context(booking, participant, None)
        context["book_again_url"] = f"{current_app.config['BASE_URL']}/counselors/{booking.counselor.slug}"
        context["by_practice"] = booking.cancelled_by == "staff"  # never the reason: staff write it for staff
        emails.append(_to(participant, "booking_cancelled", context, f"cancelled:{booking.id}:{participant.role}",
                          attachments[participant.role]))
    queue_emails(emails)


def links_resent(email: str, links: list[tuple[Participant, str]], *, by_staff: bool = False) -> None:
    """One message to the address that asked, with a fresh link for each of its bookings (by_staff: the
    practice sent them, nobody asked)."""
    first = links[0][0]
    items = []
    for participant, token in links:
        booking = participant.booking
        zone = booking.client_timezone or booking.counselor.timezone
        items.append({"counselor": booking.counselor.name, "service": booking.service.name,
                      "when": when(booking.starts_at, zone), "manage_url": manage_url(booking, token)})
    queue_emails([Email(to=email, to_name=first.client.name, template="booking_links", kind="booking_links",
                        context={"name": first.client.name, "bookings": items, "by_staff": by_staff})])


def payment_declined(booking: Booking, *, message: str, now: datetime) -> None:
    """To the booker: the card was declined; the time stays held until the hold runs out. Stripe's own short
    reason is given (e.g. "Your card was declined."), nothing about the card."""
    client = booking.participant("client")
    context = _context(booking, client, None)
    context["reason"] = message
    holds = booking.hold_expires_at is not None and booking.hold_expires_at > now
    context["held_until"] = when(booking.hold_expires_at, context["zone"]) if holds else None
    context["resend_url"] = f"{current_app.config['BASE_URL']}/bookings/resend"
    queue_emails([_to(client, "payment_declined", context, None)])  # one per decline: each event is applied once


def late_payment_refunded(booking: Booking, *, amount: int, currency: str, reason: str) -> None:
    """To the booker: the payment came after the hold ran out and the time was taken (or the booking had been
    cancelled), so it is refunded in full."""
    from practice.web.filters import money

    client = booking.participant("client")
    context = _context(booking, client, None)
    context["amount"] = money(amount, currency)
    context["taken"] = reason == "taken"
    context["book_again_url"] = f"{current_app.config['BASE_URL']}/counselors/{booking.counselor.slug}"
    queue_emails([_to(client, "payment_refunded", context, f"late-refund:{booking.id}")])


def booking_reassigned(booking: Booking, old_counselor, old_start: datetime, tokens: dict[str, str], *,
                       now: datetime | None = None) -> None:
    """Staff gave the booking to another counselor (and perhaps another time): each person their own message
    with the new counselor, the time, a fresh link and an updated invite."""
    emails, attachments = [], _invites(booking, now)
    for participant in booking.participants:
        context = _context(booking, participant, tokens.get(participant.role))
        context["old_counselor"] = old_counselor.name
        context["old_when"] = when(old_start, context["zone"]) if old_start != booking.starts_at else None
        emails.append(_to(participant, "booking_reassigned", context,
                          f"reassigned:{booking.id}:{booking.ics_sequence}:{participant.role}",
                          attachments[participant.role]))
    queue_emails(emails)


def booking_converted(couple: Booking, sessions: dict[str, Booking], tokens: dict[str, str],
                      intake_urls: dict[str, str] | None = None, *, now: datetime | None = None) -> None:
    """A couple booking split into individual sessions: each person one message about their own new session
    only (never the other's time or counselor, nor why), with its link, its invite and (intake_urls, by the
    couple booking's roles) a new intake link of their own. It stands in for the couple booking's cancellation
    message, which is not sent."""
    emails = []
    for role, session in sessions.items():
        participant = session.participant("client")
        context = _context(session, participant, tokens.get(role))
        context["old_service"] = couple.service.name
        context["old_when"] = when(couple.starts_at, context["zone"])
        context["intake_url"] = (intake_urls or {}).get(role)
        emails.append(_to(participant, "booking_converted", context, f"converted:{session.id}",
                          _invites(session, now)["client"]))
    queue_emails(emails)
