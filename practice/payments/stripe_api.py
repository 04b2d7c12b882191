"""The app's Stripe client, from STRIPE_SECRET_KEY and STRIPE_API_BASE (a local stand-in in tests and demos)."""
from __future__ import annotations

import requests
import stripe
from flask import Flask, current_app

# Connecting, then waiting for an answer: a page that talks to Stripe must not hang for long.
TIMEOUT_SECONDS = (5, 20)


class PaymentsUnavailable(RuntimeError):
    """No STRIPE_SECRET_KEY is set: paid sessions can't be paid online."""


def client(app: Flask | None = None) -> stripe.StripeClient:
    """One client per app (it keeps its HTTP connections); PaymentsUnavailable without a secret key."""
    app = app or current_app._get_current_object()
    found = app.extensions.get("stripe_client")
    if found is None:
        key = app.config.get("STRIPE_SECRET_KEY")
        if not key:
            raise PaymentsUnavailable("STRIPE_SECRET_KEY is not set")
        base = app.config.get("STRIPE_API_BASE") or None
        # One session for every thread of the process (stripe's default keeps one per thread, which a threaded
        # server leaves unclosed as its threads come and go); closed by close().
        session = app.extensions["stripe_session"] = requests.Session()
        http = stripe.RequestsClient(session=session, timeout=TIMEOUT_SECONDS)
        found = app.extensions["stripe_client"] = stripe.StripeClient(
            key, base_addresses={"api": base} if base else None, max_network_retries=2, http_client=http)
    return found


def close(app: Flask) -> None:
    """Close the client's connections (an app that is done with, e.g. at the end of a test)."""
    app.extensions.pop("stripe_client", None)
    # The session itself: stripe's RequestsClient.close() closes only the calling thread's, and under a
    # threaded server the requests were made on other threads.
    session = app.extensions.pop("stripe_session", None)
    if session is not None:
        session.close()


def configured(app: Flask | None = None) -> bool:
    return bool((app or current_app).config.get("STRIPE_SECRET_KEY"))
