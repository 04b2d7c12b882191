"""What the booking use cases refuse with; the views and the API's error handlers turn each into a response."""
from __future__ import annotations


class BookingInvalid(ValueError):
    """Bad input or a broken rule; `errors` maps field names to messages (422)."""

    def __init__(self, errors: dict[str, list[str]], *, alternatives: list[str] | None = None):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        self.alternatives = alternatives or []


class SlotUnavailable(Exception):
    """The time is taken (or no longer bookable) (409)."""


class BookingBusy(Exception):
    """The database stayed busy through every retry (503): nothing was written."""


class LinkInvalid(Exception):
    """A manage link that does not open this booking; `reason` says why, for a clear page."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # unknown, revoked_cancelled, revoked_reissued, expired


class ActionRefused(Exception):
    """An action this link or this booking's state does not allow; the message is for the person (403/409)."""

    def __init__(self, message: str, *, status: int = 409):
        super().__init__(message)
        self.status = status
