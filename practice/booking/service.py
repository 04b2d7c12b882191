"""Booking use cases, the only writers of bookings, their participants and their manage links.

Every path that creates, moves or cancels a booking runs through booking.guard: under the counselor's calendar
lock it checks the start is offered (scheduling.is_free) and claims the time, so a loser sees SlotUnavailable,
never an error page. Other domains act on what happens here through booking.signals.

    create   book(): a new booking for one person or a couple
    change   open_link(), reschedule(), cancel(), confirm_paid(), release_expired_holds()
    links    manage_url(), request_links() and resend_links() ("resend my link")
"""
from practice.booking.change import (  # noqa: F401
    LinkAccess, cancel, confirm_paid, free_change_until, open_link, release_expired_holds, reschedule,
    within_free_change_window,
)
from practice.booking.create import (  # noqa: F401
    BookingCreated, BookingRequest, PersonIn, book, licensed_alternatives,
)
from practice.booking.errors import (  # noqa: F401
    ActionRefused, BookingBusy, BookingInvalid, LinkInvalid, SlotUnavailable,
)
from practice.booking.links import (  # noqa: F401
    manage_url, process_link_request, process_link_requests, request_links, resend_links,
)
