"""Staff sign-in, two-step verification, and (admin) staff accounts and practice settings."""
from __future__ import annotations

from urllib.parse import urlsplit

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from practice import clock
from practice.access import public, staff
from practice.auth import service
from practice.auth.forms import (
    CodeForm, ConfirmPasswordForm, LoginForm, PasswordChangeForm, SettingsForm, UserCreateForm, UserEditForm,
)
from practice.auth.models import User
from practice.extensions import db, limiter

bp = Blueprint("auth", __name__)

LOGIN_FAILED = "That email and password don't match an account."
_NEXT_KEY = "auth_next"  # where to go once two-step verification is done


# --- rate limits: every POST counts, per address and per account, so neither many accounts from one address
# nor one account from many addresses gets unlimited guesses.

def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _submitted_email() -> str:
    return "email:" + service.normalize_email(request.form.get("email", ""))[:254]


def _signed_in_user() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "user:" + get_remote_address()


def _rate_limited(account_key):
    def decorate(view):
        view = limiter.limit(_login_rate_limit, methods=["POST"], key_func=account_key)(view)
        return limiter.limit(_login_rate_limit, methods=["POST"], key_func=get_remote_address)(view)
    return decorate


def _local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None: no open redirects (//evil, /\\evil, https://...)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _me() -> User:
    return current_user._get_current_object()


def _status(form) -> int:
    """422 when a submitted form is shown again with errors (as elsewhere in the app), so clients can tell."""
    return 422 if form.errors else 200


def _form_errors(form, exc: service.AccountError, default_field: str) -> None:
    field = getattr(form, exc.field or default_field, None) or getattr(form, default_field)
    field.errors = [*field.errors, str(exc)]


# --- signing in and out ---------------------------------------------------------------------------------------

@bp.route("/staff/login", methods=["GET", "POST"])
@_rate_limited(_submitted_email)
@public
def login():
    next_path = _local_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(url_for(service.second_factor_step(_me()) or "auth.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        now = clock.now()
        user = service.authenticate(form.email.data, form.password.data, now=now)
        if user is not None:
            service.start_session(user, now=now)
            step = service.second_factor_step(user)
            if step:
                session[_NEXT_KEY] = next_path
                return redirect(url_for(step))
            return redirect(next_path or url_for("auth.dashboard"))
        error = LOGIN_FAILED
    return (render_template("auth/login.html", form=form, error=error, next_path=next_path),
            422 if error else _status(form))


@bp.post("/staff/logout")
@staff(during_second_factor=True)
def logout():
    service.end_session(_me(), now=clock.now())
    flash("You're signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/staff/two-step", methods=["GET", "POST"])
@_rate_limited(_signed_in_user)
@staff(during_second_factor=True)
def verify_two_factor():
    user = _me()
    if service.second_factor_step(user) != "auth.verify_two_factor":
        return redirect(url_for("auth.dashboard"))
    form = CodeForm()
    if form.validate_on_submit():
        if service.verify_second_factor(user, form.code.data, now=clock.now()):
            return redirect(session.pop(_NEXT_KEY, None) or url_for("auth.dashboard"))
        form.code.errors = ["That code didn't work. Enter the newest code your app shows; each code works once."]
    return render_template("auth/verify.html", form=form), _status(form)


@bp.route("/staff/two-step/setup", methods=["GET", "POST"])
@_rate_limited(_signed_in_user)
@staff(during_second_factor=True)
def setup_two_factor():
    user = _me()
    if user.totp_enabled:
        return redirect(url_for(service.second_factor_step(user) or "auth.dashboard"))
    secret = service.begin_two_factor_setup(user)
    form = CodeForm()
    if form.validate_on_submit():
        if service.confirm_two_factor_setup(user, form.code.data, now=clock.now()):
            flash("Two-step verification is on. You'll enter a code from your app each time you sign in.", "success")
            return redirect(session.pop(_NEXT_KEY, None) or url_for("auth.dashboard"))
        form.code.errors = ["That code didn't work. Check your phone's clock and enter the newest code."]
    qr = segno.make(service.provisioning_uri(user, secret), error="m").svg_data_uri(scale=5, border=2)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/setup.html", form=form, qr=qr, secret=grouped,
                           required=service.two_factor_required()), _status(form)


# --- every staff member ---------------------------------------------------------------------------------------

@bp.get("/staff")
@staff()
def dashboard():
    return render_template("auth/dashboard.html", user=_me())


@bp.route("/staff/account/password", methods=["GET", "POST"])
@_rate_limited(_signed_in_user)  # the current password is asked: no guessing it here
@staff()
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            service.change_password(_me(), current=form.current_password.data, new=form.new_password.data)
        except service.AccountError as exc:
            _form_errors(form, exc, "new_password")
        else:
            flash("Your password is changed. Other browsers signed in to your account were signed out.", "success")
            return redirect(url_for("auth.dashboard"))
    return (render_template("auth/password.html", form=form, reset_form=ConfirmPasswordForm(prefix="reset"),
                            user=_me(), password_min=current_app.config["PASSWORD_MIN_LENGTH"]),
            _status(form))


@bp.post("/staff/account/two-step/reset")
@_rate_limited(_signed_in_user)  # the current password is asked: no guessing it here
@staff()
def reset_own_two_factor():
    user = _me()
    form = ConfirmPasswordForm(prefix="reset")
    if not form.validate_on_submit() or not user.totp_enabled:
        return redirect(url_for("auth.change_password"))
    try:
        service.reset_own_two_factor(user, password=form.current_password.data)
    except service.AccountError as exc:
        flash(f"{exc} Two-step verification is still on.", "error")
        return redirect(url_for("auth.change_password"))
    flash("Two-step verification is off. Set it up again with your new device.", "success")
    return redirect(url_for("auth.setup_two_factor"))


# --- admin: staff accounts and practice settings ----------------------------------------------------------

@bp.get("/staff/users")
@staff("admin")
def users():
    return render_template("auth/users.html", users=service.list_users(), me=_me())


@bp.route("/staff/users/new", methods=["GET", "POST"])
@staff("admin")
def new_user():
    form = UserCreateForm()
    form.set_counselors(service.linkable_counselors())
    if form.validate_on_submit():
        try:
            user = service.create_user(email=form.email.data, name=form.name.data, password=form.password.data,
                                       role=form.role.data, counselor_id=form.counselor_id.data, actor=_me())
        except service.AccountError as exc:
            db.session.rollback()
            _form_errors(form, exc, "email")
        else:
            flash(f"Account created for {user.name}. Give them the initial password in person or by phone.",
                  "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None), _status(form)


@bp.route("/staff/users/<int:user_id>", methods=["GET", "POST"])
@staff("admin")
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserEditForm(obj=user)
    form.set_counselors(service.linkable_counselors(user))
    if form.validate_on_submit():
        try:
            service.update_user(user, name=form.name.data, role=form.role.data, counselor_id=form.counselor_id.data,
                                active=form.active.data, new_password=form.new_password.data or None,
                                actor=_me())
        except service.AccountError as exc:
            db.session.rollback()
            _form_errors(form, exc, "name")
        else:
            flash(f"Saved {user.name}'s account.", "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user, me=_me()), _status(form)


@bp.post("/staff/users/<int:user_id>/two-step/reset")
@staff("admin")
def reset_user_two_factor(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    service.reset_two_factor(user, actor=_me())
    flash(f"Two-step verification is reset for {user.name}. They'll set it up again at their next sign-in.",
          "success")
    if user.id == current_user.id:
        return redirect(url_for("auth.setup_two_factor"))
    return redirect(url_for("auth.edit_user", user_id=user.id))


@bp.route("/staff/settings", methods=["GET", "POST"])
@staff("admin")
def settings():
    current = service.practice_settings()
    form = SettingsForm.for_settings(current)
    if form.validate_on_submit():
        try:
            service.update_settings(practice_name=form.practice_name.data,
                                    require_two_factor=form.require_two_factor.data, npi=form.npi.data or "",
                                    tin=form.tin.data or "", address=form.address.data or "", actor=_me(),
                                    late_cancel_policy=form.late_policy.data, late_cancel_fee=form.late_fee.data,
                                    late_cancel_percent=form.late_percent.data)
        except service.AccountError as exc:
            db.session.rollback()
            _form_errors(form, exc, "practice_name")
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("auth.settings"))
    return render_template("auth/settings.html", form=form), _status(form)
