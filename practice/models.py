"""Imports every domain's models, so SQLAlchemy and Alembic see all tables."""
from practice.audit.models import AuditEvent  # noqa: F401
from practice.auth.models import PracticeSettings, StaffSession, User  # noqa: F401
from practice.counselors.models import Counselor, CounselorTag, License, Service  # noqa: F401
from practice.booking.models import Booking, Client, LinkRequest, ManageToken, Participant  # noqa: F401
from practice.scheduling.models import (  # noqa: F401
    CalendarFeed, DateOverride, ExternalBusy, SchedulingPolicy, TimeOff, WeeklyHours,
)
from practice.notify.models import OutboxMessage  # noqa: F401
from practice.intake.models import Intake, RoutingDecision, SelfBookingBlock  # noqa: F401
from practice.payments.models import GoodFaithEstimate, Payment, ProcessedStripeEvent, Refund  # noqa: F401
from practice.calendar.models import CalDAVConnection, CalDAVEvent, CounselorFeed, SessionReminder  # noqa: F401
