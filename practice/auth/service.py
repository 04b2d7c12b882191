"""Staff accounts and sessions: the only writer of staff_user, staff_session and practice_settings.

Each use case that changes something records it in the audit log and commits, so a view never has to.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import pyotp
from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import select, update

from practice.access import ROLES
from practice.audit import service as audit
from practice.auth.models import PracticeSettings, StaffSession, User
from practice.auth.passwords import hash_password, needs_rehash, password_problems, verify_password
from practice.core import provider_ids
from practice.core.cancellation import KINDS as LATE_CANCEL_KINDS
from practice.core.money import AmountInvalid, parse_amount
from practice.core.numbers import whole_number
from practice.counselors.models import Counselor
from practice.database import begin_write
from practice.extensions import db

TOTP_ISSUER_FALLBACK = "Practice"
ADDRESS_MAX = 300  # practice_settings.address
# Updating last_seen_at on every request would write on every page view; once a minute is enough.
_SEEN_RESOLUTION = timedelta(minutes=1)
# Syntax only: deliverability is the admin's business, and test domains (.test) must pass.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A staff account change that cannot be made; the message is for the person making it."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


# --- accounts -------------------------------------------------------------------------------------------

def check_new_password(password: str, *, email: str = "", name: str = "", field: str = "password") -> None:
    cfg = current_app.config
    problems = password_problems(password, min_length=cfg["PASSWORD_MIN_LENGTH"],
                                 max_length=cfg["PASSWORD_MAX_LENGTH"], email=email, name=name)
    if problems:
        raise AccountError(" ".join(problems), field=field)


def _check_role_and_counselor(role: str, counselor_id: int | None, *, user_id: int | None) -> int | None:
    """The counselor link this role keeps (None unless the role is counselor), or AccountError."""
    if role not in ROLES:
        raise AccountError(f"Role must be one of: {', '.join(ROLES)}.", field="role")
    if role != "counselor":
        return None
    if counselor_id is None:
        raise AccountError("A counselor account must be linked to a counselor profile.", field="counselor_id")
    if db.session.get(Counselor, counselor_id) is None:
        raise AccountError("That counselor profile doesn't exist.", field="counselor_id")
    taken = select(User.id).where(User.counselor_id == counselor_id)
    if user_id is not None:
        taken = taken.where(User.id != user_id)
    if db.session.scalar(taken) is not None:
        raise AccountError("That counselor profile already has an account.", field="counselor_id")
    return counselor_id


def create_user(*, email: str, name: str, password: str, role: str, counselor_id: int | None = None,
                actor=None) -> User:
    email, name = normalize_email(email), name.strip()
    if not name:
        raise AccountError("Enter a name.", field="name")
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError("Enter an email address like name@example.org.", field="email")
    counselor_id = _check_role_and_counselor(role, counselor_id, user_id=None)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError("There is already an account with that email address.", field="email")
    check_new_password(password, email=email, name=name)
    user = User(email=email, name=name, password_hash=hash_password(password), role=role,
                counselor_id=counselor_id)
    db.session.add(user)
    db.session.flush()
    audit.record("staff.create", record_type="staff_user", record_id=user.id,
                 detail={"role": role, "email": email}, actor=actor)
    db.session.commit()
    return user


def update_user(user: User, *, name: str, role: str, counselor_id: int | None, active: bool, actor,
                new_password: str | None = None) -> None:
    """An admin's change to a staff account; a new password is for someone who forgot theirs."""
    name = name.strip()
    if not name:
        raise AccountError("Enter a name.", field="name")
    if user.id == actor.id and role != "admin":
        raise AccountError("You can't remove your own admin role. Ask another admin.", field="role")
    if user.id == actor.id and not active:
        raise AccountError("You can't deactivate your own account. Ask another admin.", field="active")
    counselor_id = _check_role_and_counselor(role, counselor_id, user_id=user.id)
    if new_password:
        check_new_password(new_password, email=user.email, name=name, field="new_password")
    changed = sorted(k for k, v in (("name", name), ("role", role), ("counselor_id", counselor_id),
                                    ("active", active)) if getattr(user, k) != v)
    if new_password:
        changed.append("password")
        user.password_hash = hash_password(new_password)
    if not changed:
        return
    user.name, user.role, user.counselor_id, user.active = name, role, counselor_id, active
    if {"role", "active", "password"} & set(changed):
        # Takes effect now, not at their next sign-in; an admin changing their own password keeps this session.
        end_all_sessions(user, keep_token=actor.session_token if actor.id == user.id else None)
    audit.record("staff.update", record_type="staff_user", record_id=user.id, detail={"changed": changed},
                 actor=actor)
    db.session.commit()


def change_password(user: User, *, current: str, new: str) -> None:
    """Other browsers signed in as this user are signed out: a changed password should lock out whoever knew it."""
    if not verify_password(user.password_hash, current):
        raise AccountError("Your current password is not right.", field="current_password")
    check_new_password(new, email=user.email, name=user.name, field="new_password")
    user.password_hash = hash_password(new)
    end_all_sessions(user, keep_token=user.session_token)
    audit.record("auth.password_change", record_type="staff_user", record_id=user.id, actor=user)
    db.session.commit()


def reset_two_factor(user: User, *, actor) -> None:
    """Turn two-step off for `user` (a lost phone). Their sessions end, except the actor's own current one."""
    user.totp_enabled, user.totp_secret, user.totp_last_step = False, None, None
    end_all_sessions(user, keep_token=actor.session_token if actor.id == user.id else None)
    audit.record("auth.two_factor_reset", record_type="staff_user", record_id=user.id, actor=actor)
    db.session.commit()


def reset_own_two_factor(user: User, *, password: str) -> None:
    """Turn one's own two-step off (a new phone); the password is asked again, as for any sensitive change."""
    if not verify_password(user.password_hash, password):
        raise AccountError("Your password is not right.", field="current_password")
    reset_two_factor(user, actor=user)


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


def linkable_counselors(user: User | None = None) -> list[Counselor]:
    """Counselor profiles a counselor account could speak for: those without an account, plus `user`'s own."""
    taken = select(User.counselor_id).where(User.counselor_id.is_not(None))
    if user is not None:
        taken = taken.where(User.id != user.id)
    return list(db.session.scalars(select(Counselor).where(Counselor.id.not_in(taken)).order_by(Counselor.name)))


# --- signing in and out ---------------------------------------------------------------------------------

def authenticate(email: str, password: str, *, now: datetime) -> User | None:
    """The user for these credentials, or None. Takes the same time whether or not the email is known."""
    # Signing in writes (a session or a failed attempt's record, maybe a rehash): hold SQLite's write lock from
    # the first read, or a write committed meanwhile by another request makes this one's fail ("locked").
    begin_write(db.session)
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        # The person trying is not known to be the account holder: no actor, the account is the record.
        # What was typed is kept only when it looks like an email: people type passwords into the wrong box,
        # and this log is append-only.
        tried = normalize_email(email)[:254]
        audit.record("auth.login_failed", record_type="staff_user", record_id=user.id if user else "",
                     detail={"email": tried if _EMAIL.match(tried) else "(not an email address)"})
        db.session.commit()
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # committed with the new session
    return user


def start_session(user: User, *, now: datetime) -> None:
    """A fresh session for this browser: the old cookie's contents are dropped (no session fixation)."""
    session.clear()
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=_hash_token(token), user_id=user.id, created_at=now, last_seen_at=now,
        second_factor_done=not user.totp_enabled,
        ip=request.remote_addr or "", user_agent=(request.user_agent.string or "")[:200],
    )
    db.session.add(row)
    user.last_login_at = now
    audit.record("auth.login", record_type="staff_user", record_id=user.id, actor=user)
    db.session.commit()
    user.session_token = token
    user.staff_session = row
    login_user(user)
    session.permanent = True


def load_session_user(token: str, *, now: datetime) -> User | None:
    """Flask-Login's loader: the user of a live session, ending sessions that are idle or too old."""
    live = select(StaffSession).where(StaffSession.token_hash == _hash_token(token), StaffSession.ended_at.is_(None))
    row = db.session.scalar(live)
    if row is None or not row.user.active:
        return None
    cfg = current_app.config

    def over(row: StaffSession) -> bool:
        return (now - row.last_seen_at > timedelta(minutes=cfg["STAFF_SESSION_IDLE_MINUTES"])
                or now - row.created_at > timedelta(hours=cfg["STAFF_SESSION_MAX_HOURS"]))

    if over(row) or now - row.last_seen_at >= _SEEN_RESOLUTION:
        # A write (now and then): read again under SQLite's write lock, as authenticate() does.
        begin_write(db.session)
        row = db.session.scalar(live)
        if row is None:
            db.session.rollback()
            return None
        if over(row):
            row.ended_at = now
            db.session.commit()
            return None
        if now - row.last_seen_at >= _SEEN_RESOLUTION:
            row.last_seen_at = now
        db.session.commit()
    user = row.user
    user.session_token = token
    user.staff_session = row
    return user


def end_session(user: User, *, now: datetime) -> None:
    token = user.session_token
    if token:
        db.session.execute(update(StaffSession).where(StaffSession.token_hash == _hash_token(token))
                           .values(ended_at=now))
        audit.record("auth.logout", record_type="staff_user", record_id=user.id, actor=user)
        db.session.commit()
    logout_user()
    session.clear()


def end_all_sessions(user: User, *, keep_token: str | None = None) -> None:
    """End every live session of `user` (but the one with `keep_token`); commits with the caller's change."""
    from practice.clock import now  # at call time, so tests can move the clock

    query = update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
    if keep_token:
        query = query.where(StaffSession.token_hash != _hash_token(keep_token))
    db.session.execute(query.values(ended_at=now()))


# --- two-step verification (TOTP) ----------------------------------------------------------------------

def second_factor_step(user: User) -> str | None:
    """The endpoint this signed-in user must visit before anything else, or None."""
    row: StaffSession | None = getattr(user, "staff_session", None)
    if user.totp_enabled and row is not None and not row.second_factor_done:
        return "auth.verify_two_factor"
    if not user.totp_enabled and PracticeSettings.current().require_two_factor:
        return "auth.setup_two_factor"
    return None


def two_factor_required() -> bool:
    return PracticeSettings.current().require_two_factor


def begin_two_factor_setup(user: User) -> str:
    """The secret for the user to scan; it takes effect only when confirmed with a code.

    Kept encrypted on the user's row while pending (never in the cookie, which is signed, not encrypted), and
    reused until confirmed, so two open tabs show the same code. Refused once two-step is on: replacing an
    enrolled secret needs a reset first, or a password alone could swap in an attacker's authenticator.
    """
    if user.totp_enabled:
        raise AccountError("Two-step verification is already on for your account.")
    if not user.totp_secret:
        user.totp_secret, user.totp_last_step = pyotp.random_base32(), None
        db.session.commit()
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    issuer = PracticeSettings.current().practice_name or TOTP_ISSUER_FALLBACK
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def _accept_code(user: User, secret: str, code: str, *, now: datetime) -> bool:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(secret)
    # One step either side for clock drift; a step already used is refused (no replay).
    for drift in (-1, 0, 1):
        at = now + timedelta(seconds=30 * drift)
        step = totp.timecode(at)
        if secrets.compare_digest(totp.at(at), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


def confirm_two_factor_setup(user: User, code: str, *, now: datetime) -> bool:
    if user.totp_enabled or not user.totp_secret or not _accept_code(user, user.totp_secret, code, now=now):
        audit.record("auth.two_factor_setup_failed", record_type="staff_user", record_id=user.id, actor=user)
        db.session.commit()
        return False
    user.totp_enabled = True
    row = getattr(user, "staff_session", None)
    if row is not None:
        row.second_factor_done = True
    end_all_sessions(user, keep_token=user.session_token)  # other browsers signed in with the password alone
    audit.record("auth.two_factor_enabled", record_type="staff_user", record_id=user.id, actor=user)
    db.session.commit()
    return True


def verify_second_factor(user: User, code: str, *, now: datetime) -> bool:
    row = getattr(user, "staff_session", None)
    if (row is None or not user.totp_enabled or not user.totp_secret
            or not _accept_code(user, user.totp_secret, code, now=now)):
        audit.record("auth.two_factor_failed", record_type="staff_user", record_id=user.id, actor=user)
        db.session.commit()
        return False
    row.second_factor_done = True
    audit.record("auth.two_factor_passed", record_type="staff_user", record_id=user.id, actor=user)
    db.session.commit()
    return True


# --- practice settings ---------------------------------------------------------------------------------

def practice_settings() -> PracticeSettings:
    return PracticeSettings.current()


def _late_cancellation(kind: str, fee: str | None, percent: str | None) -> dict[str, object]:
    """The late-cancellation policy as typed: the kind, and the fee (dollars) or percentage it needs. The field
    the kind does not use keeps its saved value."""
    if kind not in LATE_CANCEL_KINDS:
        raise AccountError("Choose what happens when a client cancels late.", field="late_policy")
    if kind == "fee_fixed":
        try:
            cents = parse_amount(fee)
        except AmountInvalid as exc:
            raise AccountError(str(exc), field="late_fee") from None
        if cents <= 0:
            raise AccountError("Enter a fee above $0, or choose no fee.", field="late_fee")
        return {"late_cancel_policy": kind, "late_cancel_fee": cents}
    if kind == "fee_percent":
        text = (percent or "").strip().removesuffix("%").strip()  # "50" or "50%"
        if (kept := whole_number(text, max_digits=3)) is None or not 0 <= kept <= 100:
            raise AccountError("Enter the percentage kept as a whole number from 0 to 100, like 50.",
                               field="late_percent")
        return {"late_cancel_policy": kind, "late_cancel_percent": kept}
    return {"late_cancel_policy": kind}


def update_settings(*, practice_name: str, require_two_factor: bool, actor, npi: str | None = None,
                    tin: str | None = None, address: str | None = None, late_cancel_policy: str | None = None,
                    late_cancel_fee: str | None = None, late_cancel_percent: str | None = None) -> None:
    """Save the practice's settings. `npi`, `tin` and `address` (what a good-faith estimate names) are left as
    they are when None; blank clears them. The late-cancellation policy (`late_cancel_policy`, with the fee in
    dollars or the percentage kept that it needs, as typed) is also left as it is when None."""
    practice_name = practice_name.strip()
    if not practice_name:
        raise AccountError("Enter the practice's name.", field="practice_name")
    wanted: dict[str, object] = {"practice_name": practice_name, "require_two_factor": require_two_factor}
    for name, value, parse in (("npi", npi, provider_ids.parse_npi), ("tin", tin, provider_ids.parse_tin)):
        if value is not None:
            try:
                wanted[name] = parse(value)
            except ValueError as exc:
                raise AccountError(str(exc), field=name) from None
    if address is not None:
        wanted["address"] = "\n".join(line.strip() for line in address.strip().splitlines() if line.strip())
        if len(wanted["address"]) > ADDRESS_MAX:
            raise AccountError(f"Use at most {ADDRESS_MAX} characters for the address.", field="address")
    if late_cancel_policy is not None:
        wanted.update(_late_cancellation(late_cancel_policy, late_cancel_fee, late_cancel_percent))
    settings = PracticeSettings.for_update()
    changed = sorted(k for k, v in wanted.items() if getattr(settings, k) != v)
    if not changed:
        return
    for name in changed:
        setattr(settings, name, wanted[name])
    audit.record("settings.update", record_type="practice_settings", record_id=settings.id,
                 detail={"changed": changed, "require_two_factor": require_two_factor}, actor=actor)
    db.session.commit()
