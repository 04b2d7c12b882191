"""What happens to bookings, for other domains to act on (blinker signals; practice.reactions connects them).

Booking knows nothing of intakes or email: it sends these, and the receivers do their part. Every signal but
`booking_requested` is sent inside the transaction that makes the change, after its rows are in the session
and before the commit, so whatever a receiver adds to db.session is saved with the change, or not at all.

    booking_requested   sender: the BookingRequest, before anything is written. A receiver refuses the
                        booking by raising BookingInvalid (e.g. a booker whom staff must speak with first).
    booking_created     sender: the BookingCreated (booking, tokens); receivers may fill in its intake_urls.
                        now=
    booking_rescheduled sender: the booking, moved. old_start=, tokens= (role -> new manage token), now=
    booking_cancelled   sender: the booking, cancelled. now=; when staff cancelled (booking.staff): also
                        refund= (a RefundChoice: by the policy, in full, or an override amount with its
                        reason) and actor= (the staff user). A client's cancel sends neither.
    booking_confirmed   sender: the booking, confirmed once paid (a free one is confirmed by booking_created).
                        tokens= (role -> a new manage token for each person), now=
    links_reissued      sender: the address the links were asked for. links= [(participant, token)], now=,
                        by_staff=True when staff sent them from the booking's page (one person each)
    booking_reassigned  sender: the booking, now with another counselor (and perhaps another start), by staff.
                        old_counselor= (the Counselor), old_start=, tokens= (role -> new manage token), now=
    booking_converted   sender: the couple booking staff split into individual sessions (cancelled, and
                        booking_cancelled was sent with converted=True: receivers that tell people stay quiet).
                        sessions= (role on the couple booking -> the new individual Booking), tokens= (role on
                        the couple booking -> the manage token of that person's new session), now=

And one that asks rather than tells, sent outside any transaction:
    booking_shown       sender: the booking, about to be shown to one of its people (API answers). role=, now=,
                        token= (the client's manage token when the answer carries it, else None)
                        Each receiver returns a dict of fields to add to what is shown (e.g. "payment"), or None.
"""
from blinker import Namespace

_signals = Namespace()

booking_requested = _signals.signal("booking-requested")
booking_created = _signals.signal("booking-created")
booking_rescheduled = _signals.signal("booking-rescheduled")
booking_cancelled = _signals.signal("booking-cancelled")
links_reissued = _signals.signal("links-reissued")
booking_confirmed = _signals.signal("booking-confirmed")
booking_shown = _signals.signal("booking-shown")
booking_reassigned = _signals.signal("booking-reassigned")
booking_converted = _signals.signal("booking-converted")
