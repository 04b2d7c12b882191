"""What other domains do when something happens to a booking: the one place where booking, intake and email
meet. Booking sends its signals (practice.booking.signals) and knows nothing of what follows; create_app
imports this module, which connects the receivers.

Each receiver runs inside the booking's own transaction, so an intake link or an email is saved with the
change that caused it, or not at all.
"""
from __future__ import annotations

from practice.booking.errors import BookingInvalid
from practice.booking.models import BookingStatus
from practice.booking.signals import (
    booking_cancelled, booking_confirmed, booking_created, booking_requested, booking_rescheduled, booking_shown,
    links_reissued,
)
from practice.intake import service as intake
from practice.notify import booking_mail
from practice.payments import service as payments
from practice.payments.signals import late_payment_refused, payment_failed


@booking_requested.connect
def _refuse_a_blocked_booker(request, **_):
    """Staff must speak with this person first (an urgent intake). Only the booker's own address is checked:
    refusing because of a partner's would tell the booker something about the partner's answers."""
    if intake.self_booking_blocked(request.client.email):
        raise BookingInvalid({"client.email": [intake.SELF_BOOKING_BLOCKED]})


@booking_created.connect
def _issue_intakes_and_confirm(created, *, now, **_):
    """Each person's own private intake link; a free session is confirmed at once, by email with both links."""
    tokens = intake.issue_intakes(created.booking, now=now, new_booking=True)
    created.intake_urls.update({role: intake.intake_url(token) for role, token in tokens.items()})
    if created.booking.status == BookingStatus.confirmed:
        booking_mail.booking_confirmed(created.booking, created.tokens, created.intake_urls, now=now)


@booking_rescheduled.connect
def _tell_of_the_new_time(booking, *, old_start, tokens, now, **_):
    booking_mail.booking_rescheduled(booking, old_start, tokens, now=now)


@booking_cancelled.connect
def _tell_of_the_cancellation(booking, *, now, converted=False, **_):
    if converted:  # split into individual sessions: booking_converted tells each person of their own instead
        return
    booking_mail.booking_cancelled(booking, now=now)


@links_reissued.connect
def _send_the_links(email, *, links, by_staff=False, **_):
    booking_mail.links_resent(email, links, by_staff=by_staff)


@booking_confirmed.connect
def _send_the_confirmation(booking, *, tokens, now, **_):
    """A paid booking, confirmed: each person's confirmation with their own links. Intake links are issued
    afresh (only hashes are kept); an earlier link of the booker's stops working, their answers stay."""
    intake_tokens = intake.issue_intakes(booking, now=now)
    intake_urls = {role: intake.intake_url(token) for role, token in intake_tokens.items()}
    booking_mail.booking_confirmed(booking, tokens, intake_urls, now=now)


@booking_shown.connect
def _show_the_payment(booking, *, role, now, may_start=False, **_):
    return {"payment": payments.payment_json(booking, role=role, now=now, may_start=may_start)}


@payment_failed.connect
def _tell_of_the_declined_payment(booking, *, message, now, **_):
    booking_mail.payment_declined(booking, message=message, now=now)


@late_payment_refused.connect
def _tell_of_the_refund(booking, *, amount, currency, reason, now, **_):
    booking_mail.late_payment_refunded(booking, amount=amount, currency=currency, reason=reason)


from practice.payments import estimate as good_faith  # noqa: E402  (beside its one receiver)


@booking_created.connect
def _give_a_good_faith_estimate(created, *, now, **_):
    """A self-pay client of a paid session gets their good-faith estimate with the booking, before paying."""
    good_faith.issue_estimate(created, now=now)


# Refunds by the practice's cancellation policy (practice.payments.refunds): written in the cancel's own
# transaction, sent to Stripe after it commits; the cancel's answer says what is being refunded.
from practice.payments import policy as payment_policy, refunds as payment_refunds  # noqa: E402


@booking_cancelled.connect
def _refund_by_the_policy(booking, *, now, refund=None, actor=None, **_):
    payment_refunds.refund_for_cancellation(booking, now=now, choice=refund, actor=actor)


@booking_shown.connect
def _show_the_refund(booking, **_):
    if booking.status == BookingStatus.cancelled:
        return payment_policy.refund_json(booking)
    return None


from practice.calendar import invites  # noqa: E402  (beside its one receiver)


@booking_shown.connect
def _offer_the_invite(booking, *, token=None, **_):
    """The client's invite.ics, beside their manage link, once the booking is in a calendar."""
    return {"invite_url": invites.invite_url(booking, token) if token and invites.has_invite(booking) else None}


# A counselor's CalDAV calendar (practice.calendar.caldav_sync): a change only marks the session's event due; the
# worker talks to the calendar server afterwards, and finds newly confirmed sessions by itself.
from practice.calendar import caldav_sync  # noqa: E402


@booking_rescheduled.connect
@booking_cancelled.connect
def _push_the_change(booking, *, now, **_):
    caldav_sync.mark_due(booking, now=now)


# Staff moves from the intake page (practice.booking.assign, practice.booking.convert).
from practice.booking.signals import booking_converted, booking_reassigned  # noqa: E402


@booking_reassigned.connect
def _tell_of_the_new_counselor(booking, *, old_counselor, old_start, tokens, now, **_):
    booking_mail.booking_reassigned(booking, old_counselor, old_start, tokens, now=now)
    caldav_sync.mark_due(booking, now=now)


@booking_converted.connect
def _tell_each_of_their_own_session(couple, *, sessions, tokens, now, **_):
    """One message per person, about their own new session only; the couple booking's refund and calendar
    copy are booking_cancelled's receivers' (sent with converted=True). A person whose couples intake was not
    sent yet can no longer open it (its booking is cancelled): they get an individual one for their new session,
    with its link in the same message. Answers already sent stay with the couple booking, for staff."""
    intake_urls = {}
    for role, session in sessions.items():
        earlier = intake.intake_of(couple.participant(role))
        if earlier is None or earlier.submitted_at is None:
            issued = intake.issue_intakes(session, now=now, new_booking=True)
            intake_urls[role] = intake.intake_url(issued["client"])
    booking_mail.booking_converted(couple, sessions, tokens, intake_urls, now=now)
