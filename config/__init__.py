"""Settings: defaults, then an optional instance file, then environment variables.

Every variable the README lists is read here and nowhere else.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from config import defaults


class ConfigError(ValueError):
    """A setting from the environment could not be understood."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"expected true or false, got {value!r}")


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"expected a whole number, got {value!r}") from None


def _quiet_hours(value: str) -> str:
    from practice.core.reminders import QuietHours  # pure: no app is imported with it

    try:
        return str(QuietHours.parse(value))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _zone(value: str) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(value)
    except (KeyError, ValueError, OSError):
        raise ConfigError(f"expected an IANA time zone such as America/New_York, got {value!r}") from None
    return value


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# Environment variable -> parser. The config key has the same name.
ENVIRONMENT: dict[str, Callable[[str], Any]] = {
    "PRACTICE_ENV": str,
    "PRACTICE_TIMEZONE": _zone,
    "DATABASE_URL": str,
    "SECRET_KEY": str,
    "BASE_URL": str,
    "REDIS_URL": str,
    "SMTP_HOST": str,
    "SMTP_PORT": _int,
    "SMTP_USERNAME": str,
    "SMTP_PASSWORD": str,
    "SMTP_STARTTLS": _bool,
    "MAIL_FROM": str,
    "MAIL_OUTBOX_DIR": str,
    "INVITE_ALARM_MINUTES": _int,
    "STRIPE_SECRET_KEY": str,
    "STRIPE_PUBLISHABLE_KEY": str,
    "STRIPE_WEBHOOK_SECRET": str,
    "STRIPE_API_BASE": str,
    "STRIPE_JS_URL": str,
    "ENCRYPTION_KEYS": _list,
    "ALERT_EMAIL": str,
    "RATELIMIT_ENABLED": _bool,
    "SESSION_COOKIE_SECURE": _bool,
    "UPLOAD_DIR": str,
    "LOGIN_RATE_LIMIT": str,
    "STAFF_SESSION_IDLE_MINUTES": _int,
    "STAFF_SESSION_MAX_HOURS": _int,
    "FEED_REFRESH_MINUTES": _int,
    "FEED_MAX_BYTES": _int,
    "FEED_ALLOWED_NETWORKS": _list,
    "WORKER_INTERVAL_SECONDS": _int,
    "MAIL_DELIVERY": str,
    "MAIL_MAX_ATTEMPTS": _int,
    "BOOKING_HOLD_MINUTES": _int,
    "CANCELLATION_NOTICE_HOURS": _int,
    "BOOKING_RATE_LIMIT": str,
    "EMBED_ALLOWED_ORIGINS": _list,
    "REMINDER_HOURS_BEFORE": _int,
    "QUIET_HOURS": _quiet_hours,
    "RECORD_RETENTION_YEARS": _int,
}


def normalize_database_url(url: str) -> str:
    """Accept the spellings people paste; use psycopg 3, the only PostgreSQL driver installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load(app, test_config: dict[str, Any] | None = None) -> None:
    """Fill app.config in order: defaults, instance/config.py, environment, test overrides."""
    app.config.from_object(defaults)
    app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "practice.sqlite3")
    app.config["UPLOAD_DIR"] = str(Path(app.instance_path) / "uploads")
    app.config["MAIL_OUTBOX_DIR"] = str(Path(app.instance_path) / "outbox")
    app.config.from_pyfile("config.py", silent=True)
    for name, parse in ENVIRONMENT.items():
        raw = os.environ.get(name)
        if raw is None:
            continue
        try:
            app.config[name] = parse(raw)
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    if test_config:
        app.config.update(test_config)
    _derive(app.config)


def _derive(config) -> None:
    """Settings that follow from others: kept here so there is one place for each fact."""
    config["DATABASE_URL"] = normalize_database_url(config["DATABASE_URL"])
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"
    config["BASE_URL"] = config["BASE_URL"].rstrip("/")
    # Checked here too, not only when read from the environment: an instance file or a test may set them.
    try:
        config["PRACTICE_TIMEZONE"] = _zone(config["PRACTICE_TIMEZONE"])
    except ConfigError as exc:
        raise ConfigError(f"PRACTICE_TIMEZONE: {exc}") from None
    try:
        config["QUIET_HOURS"] = _quiet_hours(config["QUIET_HOURS"])
    except ConfigError as exc:
        raise ConfigError(f"QUIET_HOURS: {exc}") from None
    if not isinstance(config["REMINDER_HOURS_BEFORE"], int) or config["REMINDER_HOURS_BEFORE"] < 1:
        raise ConfigError(f"REMINDER_HOURS_BEFORE: expected a whole number of hours, at least 1, "
                          f"got {config['REMINDER_HOURS_BEFORE']!r}")
    if not isinstance(config["RECORD_RETENTION_YEARS"], int) or config["RECORD_RETENTION_YEARS"] < 1:
        raise ConfigError(f"RECORD_RETENTION_YEARS: expected a whole number of years, at least 1, "
                          f"got {config['RECORD_RETENTION_YEARS']!r}")
    if config.get("SESSION_COOKIE_SECURE") is None:  # unset: secure cookies whenever the site is served over https
        config["SESSION_COOKIE_SECURE"] = config["BASE_URL"].startswith("https://")
