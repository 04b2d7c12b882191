"""The messages a booking sends, queued in the outbox inside the transaction that causes them.

Links are built from BASE_URL, never from the request. Messages name the counselor, the session and the time;
never anything from an intake.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from practice.booking.models import Booking, Participant


def manage_url(booking: Booking, token: str) -> str:
    return f"{current_app.config['BASE_URL']}/bookings/{booking.id}?token={token}"


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


def _queue(booking: Booking, participant: Participant, template: str, kind: str, context: dict,
           dedupe: str) -> None:
    from practice.notify.outbox import queue_email

    queue_email(to=participant.client.email, to_name=participant.client.name, template=template, context=context,
                kind=kind, dedupe_key=dedupe)


def booking_confirmed(booking: Booking, tokens: dict[str, str], intake_tokens: dict[str, str] | None = None) -> None:
    """Each person's confirmation, with their own manage link and (intake_tokens) their own intake link only."""
    from practice.intake.service import intake_url

    for participant in booking.participants:
        context = _context(booking, participant, tokens.get(participant.role))
        intake_token = (intake_tokens or {}).get(participant.role)
        context["intake_url"] = intake_url(intake_token) if intake_token else None
        context["couple"] = booking.service.format == "couple"
        _queue(booking, participant, "booking_confirmed", "booking_confirmed", context,
               f"confirmed:{booking.id}:{participant.role}")


def booking_rescheduled(booking: Booking, old_start: datetime, tokens: dict[str, str]) -> None:
    for participant in booking.participants:
        context = _context(booking, participant, tokens.get(participant.role))
        context["old_when"] = when(old_start, context["zone"])
        _queue(booking, participant, "booking_rescheduled", "booking_rescheduled", context,
               f"rescheduled:{booking.id}:{booking.ics_sequence}:{participant.role}")


def booking_cancelled(booking: Booking) -> None:
    for participant in booking.participants:
        context = _context(booking, participant, None)
        context["book_again_url"] = f"{current_app.config['BASE_URL']}/counselors/{booking.counselor.slug}"
        _queue(booking, participant, "booking_cancelled", "booking_cancelled", context,
               f"cancelled:{booking.id}:{participant.role}")


def links_resent(email: str, links: list[tuple[Participant, str]]) -> None:
    from practice.notify.outbox import queue_email

    first = links[0][0]
    items = []
    for participant, token in links:
        booking = participant.booking
        zone = booking.client_timezone or booking.counselor.timezone
        items.append({"counselor": booking.counselor.name, "service": booking.service.name,
                      "when": when(booking.starts_at, zone), "manage_url": manage_url(booking, token)})
    queue_email(to=email, to_name=first.client.name, template="booking_links", context={"name": first.client.name,
                "bookings": items}, kind="booking_links", dedupe_key=None)
