"""The app's Stripe client, from STRIPE_SECRET_KEY and STRIPE_API_BASE (a local stand-in in tests and demos)."""
from __future__ import annotations

import stripe
from flask import Flask, current_app


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
        found = app.extensions["stripe_client"] = stripe.StripeClient(
            key, base_addresses={"api": base} if base else None, max_network_retries=2)
    return found


def configured(app: Flask | None = None) -> bool:
    return bool((app or current_app).config.get("STRIPE_SECRET_KEY"))
