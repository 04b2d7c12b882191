"""Calendars: each person's invite for a booking (iCalendar, iTIP/iMIP), session reminders, a counselor's private
subscription feed of their sessions, and pushing sessions to a counselor's own CalDAV calendar."""


def register(app) -> None:
    """Each person's invite.ics (practice.calendar.views)."""
    from practice.calendar.views import bp

    app.register_blueprint(bp)
