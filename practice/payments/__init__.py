"""Payments with Stripe: a paid booking's PaymentIntent, the verified webhook that confirms it, refunds by the
practice's cancellation policy or by staff, reconciliation, and the good-faith estimate shown before paying."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The payment pages, the payment API and Stripe's webhook, staff refunds, the good-faith estimate, and the
    template helpers of each (the payment, the cancellation policy and the estimate on the booking pages)."""
    from practice.extensions import csrf
    from practice.payments.estimate_views import estimate_bp
    from practice.payments.policy import bp as policy_bp
    from practice.payments.staff_views import bp as staff_bp
    from practice.payments.views import api_bp, bp, webhook_bp

    for blueprint in (bp, api_bp, webhook_bp, policy_bp, staff_bp, estimate_bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # the JSON API acts on the link's token, never on a cookie
    csrf.exempt(webhook_bp)  # Stripe signs its requests; it has no session or form token
