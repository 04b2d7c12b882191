"""What happens to payments, for other domains to act on (practice.reactions connects them). Sent inside the
transaction of the change, so what a receiver queues (an email) is saved with it, or not at all.

    payment_failed        sender: the booking, whose payment was declined; it stays held. message=, now=
    late_payment_refused  sender: the booking, paid for after its time was taken or it was cancelled; the
                          payment is being refunded in full. amount=, currency=, reason= ("taken" |
                          "cancelled"), now=
"""
from blinker import Namespace

_signals = Namespace()

payment_failed = _signals.signal("payment-failed")
late_payment_refused = _signals.signal("late-payment-refused")
