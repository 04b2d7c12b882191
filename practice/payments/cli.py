"""`flask --app app payments ...`: reconciliation with Stripe."""
from __future__ import annotations

import click
import stripe
from flask.cli import with_appcontext

from practice import clock
from practice.payments.reconcile import reconcile
from practice.payments.stripe_api import PaymentsUnavailable


class StripeUnreachable(click.ClickException):
    """Stripe can't be asked (not configured, or not answering): exit 2, as for bad input."""

    exit_code = 2


@click.group("payments")
def payments_group() -> None:
    """Payments with Stripe."""


def _positive_days(_ctx, _param, value: str) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    if days < 1 or str(value).strip() != str(days):
        raise click.BadParameter(f"give a whole number of days, 1 or more (e.g. --days 7), not {value!r}")
    return days


@payments_group.command("reconcile")
@click.option("--days", default="7", show_default=True, callback=_positive_days,
              help="Compare Stripe's payments created in this many past days with the bookings.")
@click.pass_context
@with_appcontext
def reconcile_command(ctx: click.Context, days: int) -> None:
    """Compare recent Stripe payments with the bookings' payments; print each difference.

    Exit 0 when they agree, 1 when there is a difference, 2 when Stripe can't be asked."""
    try:
        result = reconcile(days=days, now=clock.now())
    except PaymentsUnavailable:
        raise StripeUnreachable("Stripe is not configured: set STRIPE_SECRET_KEY.") from None
    except stripe.StripeError as exc:
        raise StripeUnreachable(f"could not ask Stripe ({type(exc).__name__}: "
                                   f"{exc.user_message or 'no message'}).") from None
    for difference in result.differences:
        click.echo(difference.line())
    period = f"since {result.since:%Y-%m-%d %H:%M} UTC"
    if result.differences:
        kinds = {}
        for difference in result.differences:
            kinds[difference.kind] = kinds.get(difference.kind, 0) + 1
        counted = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        click.echo(f"{len(result.differences)} difference{'s' if len(result.differences) != 1 else ''} ({counted}) "
                   f"{period}: {result.intents} Stripe payments, {result.payments} booking payments compared.")
        ctx.exit(1)
    click.echo(f"No differences {period}: {result.intents} Stripe payments, {result.payments} booking payments "
               "agree.")
