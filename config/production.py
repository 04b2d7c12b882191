"""What production must not run with. `create_app` refuses to start when PRACTICE_ENV is "production" and any of
these is found, printing one line per problem, so a deployment fails at once and says what to fix rather
than running with a setting that leaks or loses data.

Pure: reads the settings it is given, nothing else, so every rule is tested without an app.
"""
from __future__ import annotations

from typing import Mapping

MIN_SECRET_KEY_LENGTH = 32


def problems(config: Mapping) -> list[str]:
    """One plain sentence per insecure or unworkable setting; empty when production may start."""
    found: list[str] = []
    secret = config.get("SECRET_KEY") or ""
    if not secret:
        found.append("SECRET_KEY is not set: a key generated on one machine signs nothing the next one accepts. "
                     "Set it to a long random value, the same for every process "
                     "(python -c 'import secrets; print(secrets.token_urlsafe(48))').")
    elif len(secret) < MIN_SECRET_KEY_LENGTH:
        found.append(f"SECRET_KEY is {len(secret)} characters long: use at least {MIN_SECRET_KEY_LENGTH} random "
                     "characters.")
    if not config.get("ENCRYPTION_KEYS"):
        found.append("ENCRYPTION_KEYS is not set: intake answers would be encrypted with a key made on this "
                     "machine alone. Set it (python -c 'from cryptography.fernet import Fernet; "
                     "print(Fernet.generate_key().decode())') and keep a copy somewhere safe: without it the "
                     "answers can't be read.")
    database = config.get("DATABASE_URL") or ""
    if database.startswith("sqlite"):
        found.append("DATABASE_URL is a SQLite file: production runs the web server and the worker as several "
                     "processes, which SQLite can't serve safely. Use PostgreSQL.")
    if config.get("DEBUG"):
        found.append("Debug mode is on (FLASK_DEBUG): an error page would show the code and let anyone run "
                     "commands. Turn it off.")
    base_url = config.get("BASE_URL") or ""
    if not base_url.startswith("https://"):
        found.append(f"BASE_URL is {base_url or 'empty'}: emailed links carry secrets and staff sign in through "
                     "it, so it must be the site's https:// address.")
    if config.get("SESSION_COOKIE_SECURE") is False:
        found.append("SESSION_COOKIE_SECURE is off: staff session cookies would also travel over plain HTTP.")
    if not config.get("REDIS_URL"):
        found.append("REDIS_URL is not set: each process would count rate limits on its own and email would be "
                     "sent from web processes. Point it at Redis.")
    if not config.get("RATELIMIT_ENABLED"):
        found.append("RATELIMIT_ENABLED is off: sign-in and booking would take unlimited attempts.")
    if not config.get("SMTP_HOST"):
        found.append("SMTP_HOST is not set: email would be written to files on this machine and reach nobody.")
    if config.get("STRIPE_SECRET_KEY") and not config.get("STRIPE_WEBHOOK_SECRET"):
        found.append("STRIPE_WEBHOOK_SECRET is not set: Stripe's notices could not be verified, so no payment "
                     "would ever confirm a booking.")
    if config.get("STRIPE_API_BASE"):
        found.append(f"STRIPE_API_BASE sends payments to {config['STRIPE_API_BASE']} instead of Stripe: it is for "
                     "tests and demos. Unset it.")
    return found
