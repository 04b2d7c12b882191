"""The one place the app reads the wall clock. Views call now() and pass the time down."""
from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)
