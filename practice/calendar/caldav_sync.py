"""Pushing a counselor's sessions to their own CalDAV calendar (Nextcloud, Fastmail, iCloud, Radicale ...).

No network call ever holds a booking's transaction open. The worker finds confirmed sessions that have no event
yet (new ones, and those from before the calendar was connected) by itself, which keeps a new booking's
transaction at its fixed number of statements (tests/booking/test_writes.py); a change to a session (moved,
cancelled) marks its event as due in the booking's transaction (mark_due, from practice.reactions), so it goes
at once even after a failure's wait. The worker's job (push_due_events) then makes the calendar match the
booking: creates the event, replaces it with a higher SEQUENCE when the session moves, deletes it when the
session is cancelled or given to another counselor. A failure is kept on the event and on the connection (the
counselor's page shows it) and tried again later, waiting longer each time.

Each event carries no organizer and no attendees, so the server has nobody to invite (which is what
SCHEDULE-AGENT=CLIENT asks of a server for the people an event names; core/ical sets it on any that are named).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import caldav
from caldav.lib import error as dav_error
from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from practice.audit import service as audit
from practice.booking.models import Booking, BookingStatus
from practice.calendar.feed import private_event
from practice.calendar.models import CalDAVConnection, CalDAVEvent
from practice.core.ical import session_calendar
from practice.counselors.models import Counselor
from practice.extensions import db
from practice.scheduling.fetch import FetchError, FetchPolicy, _checked_address

log = logging.getLogger(__name__)

BATCH = 50  # events per round; the rest wait for the next
LEASE = timedelta(minutes=5)  # a push claimed by one worker is left alone by others this long
MAX_BACKOFF = timedelta(hours=1)
TIMEOUT_SECONDS = 15
URL_MAX = 500  # CalDAVConnection.url


class CalDAVInvalid(Exception):
    """A connection that can't be saved, with a message for the counselor."""


class CalDAVFailure(Exception):
    """A push that failed, with a message for the counselor (never a password)."""


@dataclass(frozen=True)
class Login:
    url: str
    username: str
    password: str


def connection_of(counselor: Counselor) -> CalDAVConnection | None:
    return db.session.scalar(select(CalDAVConnection).where(CalDAVConnection.counselor_id == counselor.id))


# --- connecting -----------------------------------------------------------------------------------------

def connect(counselor: Counselor, *, url: str, username: str, password: str, actor) -> CalDAVConnection:
    """Check that the calendar opens with these details, then keep them (the password encrypted). The worker
    then sends the counselor's upcoming confirmed sessions."""
    login = Login(_checked_url(url), username.strip(), password)
    _open(login)
    connection = connection_of(counselor) or CalDAVConnection(counselor_id=counselor.id)
    if connection.id is not None and connection.url != login.url:
        # Another calendar: what was pushed to the old one is not there (the worker sends every upcoming session
        # again), and nothing of the old calendar's may be sent the new password.
        db.session.execute(CalDAVEvent.__table__.delete().where(CalDAVEvent.connection_id == connection.id))
    db.session.add(connection)
    connection.url, connection.username, connection.password = login.url, login.username, login.password
    connection.active, connection.last_error, connection.last_error_at = True, None, None
    audit.record("caldav.connected", record_type="counselor", record_id=counselor.id, actor=actor,
                 detail={"host": urlsplit(login.url).hostname})
    db.session.commit()
    return connection


def disconnect(counselor: Counselor, *, actor) -> bool:
    """Forget the connection and its password. Events already there stay: they are the counselor's calendar."""
    connection = connection_of(counselor)
    if connection is None:
        return False
    db.session.execute(CalDAVEvent.__table__.delete().where(CalDAVEvent.connection_id == connection.id))
    db.session.delete(connection)
    audit.record("caldav.disconnected", record_type="counselor", record_id=counselor.id, actor=actor)
    db.session.commit()
    return True


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > URL_MAX - 1:  # room for the "/" a collection's address ends with
        raise CalDAVInvalid(f"That address is too long (at most {URL_MAX - 1} characters).")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it (a port that is not a number is a ValueError)
        hostname = parts.hostname
        hostname and hostname.encode("idna")  # a name no DNS could hold (UnicodeError)
    except (ValueError, UnicodeError):
        raise CalDAVInvalid("That doesn't look like a web address. Copy the calendar's CalDAV address from "
                            "your calendar's settings.") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise CalDAVInvalid("Use the calendar's full address, starting with https://.")
    if parts.username or parts.password:
        raise CalDAVInvalid("Leave the username and password out of the address; there are fields for them.")
    _check_network(url)
    return url if url.endswith("/") else url + "/"  # a collection; events are its members


def _check_network(url: str) -> None:
    """Refuse addresses inside private networks (the server would be asked to reach its own neighbours),
    except those FEED_ALLOWED_NETWORKS names, as for imported calendar feeds."""
    parts = urlsplit(url)
    policy = FetchPolicy(allowed_networks=tuple(current_app.config["FEED_ALLOWED_NETWORKS"]))
    try:
        _checked_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), policy)
    except FetchError as exc:
        raise CalDAVInvalid(str(exc)) from None


def _client(login: Login) -> caldav.DAVClient:
    client = caldav.DAVClient(login.url, username=login.username, password=login.password,
                              timeout=TIMEOUT_SECONDS, enable_rfc6764=False)
    # A redirect is not followed: it could lead the checked address to one inside a private network, with the
    # password. A server that moves the calendar is answered by connecting its new address.
    client.session.max_redirects = 0
    return client


def _open(login: Login) -> None:
    """Read the calendar's name: proves that the address is a calendar and that the server lets us in."""
    client = _client(login)
    try:
        client.calendar(url=login.url).get_display_name()
    except dav_error.AuthorizationError:
        raise CalDAVInvalid("The calendar server didn't accept that username and password.") from None
    except dav_error.NotFoundError:
        raise CalDAVInvalid("There is no calendar at that address. Copy the calendar's own CalDAV address "
                            "from your calendar's settings.") from None
    except dav_error.DAVError as exc:
        raise CalDAVInvalid(f"The calendar server refused the request ({_reason(exc)}).") from None
    except OSError:
        raise CalDAVInvalid("The calendar server could not be reached. Check the address.") from None
    finally:
        client.close()


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "reason", "") or exc.__class__.__name__)[:100]


# --- marking sessions as due (inside the booking's transaction) -----------------------------------------

def mark_due(booking: Booking, *, now: datetime) -> None:
    """Ask the worker to bring this session's copy up to date now, without the wait of an earlier failure.

    Only events that exist are touched: new sessions are the worker's to adopt (adopt_new_sessions). An insert
    here could collide with the worker's and fail the booking's own change."""
    # An event whose next try is within a lease from now is left alone: it may be a push in progress, and two
    # pushes of one event at once could land in either order; the round after it sends the new version (a
    # failed one waiting that little is tried again by then anyway).
    db.session.execute(update(CalDAVEvent).where(
        CalDAVEvent.booking_id == booking.id,
        or_(CalDAVEvent.next_attempt_at <= now, CalDAVEvent.next_attempt_at > now + LEASE))
        .values(attempts=0, next_attempt_at=now))


# --- the worker's job -----------------------------------------------------------------------------------

def _not_here():
    """The session no longer belongs in this calendar: cancelled, or given to another counselor (whose own
    calendar, if connected, adopts it as a new session)."""
    return or_(Booking.status == BookingStatus.cancelled, Booking.counselor_id != CalDAVConnection.counselor_id)


def _out_of_step():
    """Events whose calendar copy differs from their booking: a session that no longer belongs there still
    there, or one that does missing or showing an older version. (Used with CalDAVConnection joined.)"""
    gone = _not_here()
    return or_(and_(gone, CalDAVEvent.deleted.is_(False)),
               and_(~gone, or_(CalDAVEvent.deleted.is_(True),
                               CalDAVEvent.pushed_sequence != Booking.ics_sequence)))


def adopt_new_sessions(*, now: datetime) -> int:
    """Give every upcoming confirmed session of a connected counselor that has no event yet one, due now."""
    missing = db.session.execute(
        select(CalDAVConnection.id, Booking.id)
        .join(Booking, Booking.counselor_id == CalDAVConnection.counselor_id)
        .where(CalDAVConnection.active.is_(True), Booking.status == BookingStatus.confirmed, Booking.ends_at > now,
               ~select(CalDAVEvent.id).where(CalDAVEvent.connection_id == CalDAVConnection.id,
                                             CalDAVEvent.booking_id == Booking.id).exists())
        .limit(BATCH)
    ).all()
    for connection_id, booking_id in missing:
        db.session.add(CalDAVEvent(connection_id=connection_id, booking_id=booking_id, pushed_sequence=-1,
                                   deleted=False, attempts=0, next_attempt_at=now))
    try:
        db.session.commit()
    except IntegrityError:  # another worker adopted them first: theirs stand
        db.session.rollback()
    return len(missing)


def push_due_events(*, now: datetime) -> int:
    """Push every due event (at most BATCH); returns how many were tried."""
    adopt_new_sessions(now=now)
    due = db.session.execute(
        select(CalDAVEvent.id)
        .join(CalDAVConnection, CalDAVEvent.connection_id == CalDAVConnection.id)
        .join(Booking, CalDAVEvent.booking_id == Booking.id)
        .where(CalDAVConnection.active.is_(True), CalDAVEvent.next_attempt_at <= now, _out_of_step())
        .order_by(CalDAVEvent.next_attempt_at).limit(BATCH)
    ).scalars().all()
    db.session.commit()
    tried = 0
    for event_id in due:
        if _push_one(event_id, now=now):
            tried += 1
    return tried


def _push_one(event_id: int, *, now: datetime) -> bool:
    # Claim it: another worker's claim moved next_attempt_at past now, and then this one changes nothing.
    claimed = db.session.execute(
        update(CalDAVEvent).where(CalDAVEvent.id == event_id, CalDAVEvent.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE)
    ).rowcount
    db.session.commit()
    if not claimed:
        return False
    event = db.session.get(CalDAVEvent, event_id)
    if event is None:  # disconnected meanwhile
        db.session.commit()
        return False
    connection, booking = event.connection, event.booking
    login = Login(connection.url, connection.username, connection.password)
    remove = booking.status == BookingStatus.cancelled or booking.counselor_id != connection.counselor_id
    href = event.href or f"{login.url}{booking.id}.ics"
    sequence = booking.ics_sequence
    body = None if remove else session_calendar([private_event(booking, stamp=now, schedule_agent_client=True)])
    db.session.commit()  # no transaction stays open while the calendar server answers
    try:
        if remove and event.href is None:
            pass  # never created there: nothing to delete
        elif remove:
            _delete(login, href)
        else:
            _put(login, href, body)
    except CalDAVFailure as exc:
        _failed(event_id, str(exc), now=now)
        return True
    except Exception:  # noqa: BLE001 - anything else still counts as a failed try, shown and retried
        log.exception("caldav push of event %s failed unexpectedly", event_id)
        _failed(event_id, "Something went wrong sending this session. It will be tried again.", now=now)
        return True
    event = db.session.get(CalDAVEvent, event_id)
    if event is None:  # disconnected meanwhile
        return True
    event.href = None if remove else href
    event.deleted = remove
    event.pushed_sequence = sequence
    event.attempts, event.last_error, event.next_attempt_at = 0, None, now
    event.connection.last_error, event.connection.last_error_at = None, None
    event.connection.last_synced_at = now
    db.session.commit()
    return True


def _failed(event_id: int, message: str, *, now: datetime) -> None:
    event = db.session.get(CalDAVEvent, event_id)
    if event is None:
        return
    event.attempts += 1
    wait = min(timedelta(minutes=2 ** (event.attempts - 1)), MAX_BACKOFF)
    event.next_attempt_at = now + wait
    event.last_error = message[:500]
    event.connection.last_error, event.connection.last_error_at = message[:500], now
    log.warning("caldav push of event %s failed (attempt %s): %s", event_id, event.attempts, message)
    db.session.commit()


def _put(login: Login, href: str, body: bytes) -> None:
    _check(login, lambda client: client.put(href, body.decode("utf-8"),
                                            {"Content-Type": "text/calendar; charset=utf-8"}), ok=(200, 201, 204))


def _delete(login: Login, href: str) -> None:
    _check(login, lambda client: client.delete(href), ok=(200, 204, 404))  # 404: already gone, as wanted


def _check(login: Login, send, *, ok: tuple[int, ...]) -> None:
    try:
        _check_network(login.url)
    except CalDAVInvalid as exc:
        raise CalDAVFailure(str(exc)) from None
    client = _client(login)
    try:
        status = send(client).status
    except dav_error.DAVError as exc:
        raise CalDAVFailure(f"The calendar server refused the change ({_reason(exc)}).") from None
    except OSError:
        raise CalDAVFailure("The calendar server could not be reached. It will be tried again.") from None
    finally:
        client.close()
    if status in (401, 403):
        raise CalDAVFailure("The calendar server no longer accepts the username and password. Connect the "
                            "calendar again with the current ones.")
    if status not in ok:
        raise CalDAVFailure(f"The calendar server answered {status} to a change. It will be tried again.")
