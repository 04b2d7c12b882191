"""The booking flow's pages, on one blueprint ("booking"): `book` (choose a time, details, first available,
policies, the embed) and `manage` (the manage page behind a link, reschedule, cancel, resend), with what they
share in `common`. Importing this package registers every route on `bp`."""
from practice.booking.views import book, manage  # noqa: F401  (their routes register on bp)
from practice.booking.views.common import bp

__all__ = ["bp"]
