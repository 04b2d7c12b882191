"""Payments with Stripe: a paid booking's PaymentIntent, the verified webhook that confirms it, refunds by the
practice's cancellation policy or by staff, reconciliation, and the good-faith estimate shown before paying."""
