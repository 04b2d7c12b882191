"""The app factory: `flask --app app ...` calls create_app()."""
from __future__ import annotations

import gc
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.routing import IntegerConverter

import config
from practice.crypto import keyring, new_key
from practice.database import configure_read_engine, configure_sqlite, dispose_engines, unreachable
from practice.extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
GC_YOUNG_THRESHOLD = 20_000  # allocations between collections of the youngest generation (see create_app)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=(test_config or {}).get("INSTANCE_PATH") or os.environ.get("PRACTICE_INSTANCE_PATH")
        or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    config.load(app, test_config)
    _refuse_insecure_production(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _ensure_local_secrets(app)
    keyring.configure(app.config["ENCRYPTION_KEYS"])

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
        configure_read_engine(app, db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    _configure_login(app)

    from practice import models  # noqa: F401  (every table known to SQLAlchemy and Alembic)
    from practice import reactions  # noqa: F401  (what a booking's events make intake and email do)

    app.url_map.converters["int"] = DatabaseInteger  # before any route is added
    _register_blueprints(app)
    _register_cli(app)
    _register_error_handlers(app)
    _register_template_helpers(app)
    from practice.auth.enforcement import enforce
    from practice.web.security import add_security_headers

    app.before_request(enforce)
    app.after_request(add_security_headers)
    # Everything built so far lives as long as the process: keep it out of the garbage collector's full
    # passes, which otherwise pause requests for tens of milliseconds (measured in bench/slots.py). And collect
    # the young generation every 20,000 allocations rather than 700: a request makes tens of thousands of
    # short-lived objects (ORM states, rows, dicts), which then mostly die before a collection instead of being
    # scanned and promoted; 9% less CPU per booking, measured A/B in one process (bench/README.md). Not in
    # tests, which build an app per test: freezing there would pin earlier tests' garbage for good.
    if not app.testing:
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
    return app


class DatabaseInteger(IntegerConverter):
    """`<int:...>` in a route: only numbers an id column can hold (INTEGER, 32 bits), so an address with a larger
    one is a 404 like any unknown id, not an overflow in the database driver."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _refuse_insecure_production(app: Flask) -> None:
    """In production, stop before anything starts if a setting is insecure: one line on stderr per problem."""
    if app.config["PRACTICE_ENV"] != "production":
        return
    from config.production import problems

    found = problems(app.config)
    if found:
        for problem in found:
            print(f"practice: refusing to start in production: {problem}", file=sys.stderr)
        raise SystemExit(2)


def _ensure_local_secrets(app: Flask) -> None:
    """With no SECRET_KEY or ENCRYPTION_KEYS set, make random ones once and keep them in instance/.

    One machine keeps working across restarts; several machines must be given the same values.
    """
    for name, make in (("SECRET_KEY", lambda: secrets.token_urlsafe(48)), ("ENCRYPTION_KEYS", new_key)):
        if app.config.get(name):
            continue
        path = Path(app.instance_path) / name.lower()
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(make())
            app.logger.warning("%s is not set: generated one in %s", name, path)
        value = path.read_text().strip()
        app.config[name] = [value] if name == "ENCRYPTION_KEYS" else value


def _configure_login(app: Flask) -> None:
    from practice import clock
    from practice.auth import service as auth_service

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = None  # sessions are server-side rows; see auth.service

    @login_manager.user_loader
    def load_user(token: str):
        return auth_service.load_session_user(token, now=clock.now())


def _register_blueprints(app: Flask) -> None:
    from practice.api.views import bp as api_bp
    from practice.audit.views import bp as audit_bp
    from practice.booking.api import bp as booking_api_bp
    from practice.booking.api import register_error_handlers as booking_errors
    from practice.booking.views import bp as booking_bp
    from practice.intake import register as register_intake
    from practice.notify.staff_views import bp as notify_staff_bp
    from practice.payments import register as register_payments
    from practice.calendar import register as register_calendar
    from practice.auth.views import bp as auth_bp
    from practice.counselors.views import bp as counselors_bp
    from practice.scheduling.api import bp as scheduling_api_bp
    from practice.scheduling.views import bp as scheduling_bp
    from practice.web.views import bp as web_bp

    for bp in (web_bp, auth_bp, counselors_bp, scheduling_bp, booking_bp, api_bp, scheduling_api_bp,
               booking_api_bp, notify_staff_bp, audit_bp):
        app.register_blueprint(bp)
    from practice.calendar.subscriptions import register as register_subscriptions
    register_subscriptions(app)  # the counselor's private feed and CalDAV calendar
    booking_errors(app)
    register_intake(app)  # intake pages, their staff pages, the intake API and `flask rotate-keys`
    register_payments(app)  # paying, the Stripe webhook, estimates, refunds
    register_calendar(app)  # each person's invite.ics
    from practice.frontdesk.dashboard import bp as frontdesk_dashboard_bp
    app.register_blueprint(frontdesk_dashboard_bp)  # the practice dashboard and its CSV export
    from practice.frontdesk.clients import bp as frontdesk_clients_bp
    app.register_blueprint(frontdesk_clients_bp)  # finding a client, their page, export and deletion
    from practice.frontdesk.bookings import bp as frontdesk_bookings_bp
    from practice.frontdesk.today import bp as frontdesk_today_bp
    app.register_blueprint(frontdesk_today_bp)  # the practice's day and week
    app.register_blueprint(frontdesk_bookings_bp)  # one booking for staff, and what staff do to it
    csrf.exempt(api_bp)
    csrf.exempt(scheduling_api_bp)
    csrf.exempt(booking_api_bp)  # the JSON API takes no cookies for its writes; tokens travel in the body


def _register_cli(app: Flask) -> None:
    from practice.cli import register

    register(app)


def _route() -> str:
    """The route a request matched, for logs: its pattern (/intake/<token>), never the path, which can hold a
    link's secret (intake and feed tokens are in the path)."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _register_error_handlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError
    from sqlalchemy.exc import DBAPIError
    from werkzeug.exceptions import HTTPException

    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.path.startswith("/stripe/")

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if wants_json():
            return jsonify(error="csrf_failed", message=exc.description), 400
        return render_template("errors/error.html", status=400, title="This form has expired",
                               message="For your security the form timed out. Go back, reload the page and "
                                       "try again."), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        # The exception's own headers (a 405's Allow) go with the answer; its HTML Content-Type does not.
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        if wants_json():
            body = {"error": (exc.name or "error").lower().replace(" ", "_")}
            if status == 429:
                body["message"] = "Too many requests. Wait a moment and try again."
            return jsonify(body), status, headers
        return render_template(f"errors/{status}.html" if status in (403, 404, 429) else "errors/error.html",
                               status=status, title=exc.name, message=exc.description), status, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Logged with its traceback but without request data: forms may carry health information.
        app.logger.exception("unhandled error on %s %s", request.method, _route())
        if wants_json():
            return jsonify(error="internal_error"), 500
        return render_template("errors/500.html", status=500), 500

    @app.errorhandler(DBAPIError)
    def database_unavailable(exc: DBAPIError):
        # The database could not be reached or lost the connection (down, restarting, out of connections): a
        # passing state, so a 503 that says to try again, and one log line rather than a traceback per request.
        # Any other database error is a defect and goes to `unexpected`.
        if not unreachable(exc):
            return unexpected(exc)
        try:
            db.session.rollback()
        except DBAPIError:  # the connection is gone already; the session is discarded at the request's end
            pass
        # SQLAlchemy drops the pooled connections of the pool that failed; those of the app's other pool (the
        # read-only one) are as dead after a restart of the database: drop them too, so that the first request
        # on that pool once the database is back does not fail on one of them as well.
        dispose_engines(app)
        app.logger.error("database unavailable on %s %s (%s)", request.method, _route(),
                         type(exc.orig).__name__)
        message = "We can't reach our records just now. Please try again in a minute."
        if wants_json():
            return jsonify(error="unavailable", message=message), 503, {"Retry-After": "30"}
        return render_template("errors/error.html", status=503, title="Please try again in a minute",
                               message=message), 503, {"Retry-After": "30"}


def _register_template_helpers(app: Flask) -> None:
    from practice.web.filters import register

    register(app)
