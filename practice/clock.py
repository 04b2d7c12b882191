"""The one place the app reads the wall clock, and the zone the practice keeps its own day in. Views call now()
and pass the time down."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def now() -> datetime:
    return datetime.now(timezone.utc)


def practice_zone() -> ZoneInfo:
    """Where the practice is: staff pages, the day's sessions and the dashboard's weeks are in this zone
    (PRACTICE_TIMEZONE, checked when the settings are loaded)."""
    return ZoneInfo(current_app.config["PRACTICE_TIMEZONE"])
