"""A local Stripe for `make run` and the tests: localstripe, with what it lacks that this app uses.

    python -m practice.payments.standin --port 8420

localstripe keeps PaymentIntents, charges, refunds and events in memory and sends signed webhooks, driven by the
official `stripe` library like the real service. This module starts it with four additions, each something the
real Stripe does and localstripe 1.15 does not:
- a PaymentIntent takes a `description`;
- listing PaymentIntents takes `created[gte]` (and gt, lt, lte), as reconciliation asks;
- a refund sends `charge.refunded`;
- Stripe.js confirms a card payment: `stripe.confirmCardPayment(client_secret, {payment_method: {card}})` with the
  stand-in's card element. Its script is served at /js.stripe.com/v3/practice/ (STRIPE_JS_URL); a confirmation
  is checked against the PaymentIntent's client secret, as Stripe does for a publishable key.

Test cards are Stripe's: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0341 is declined when charged. Dev and
demo only: it imports localstripe, which production does not install.
"""
from __future__ import annotations

import argparse
import logging
import socket
from pathlib import Path

from aiohttp import web
from localstripe import resources
from localstripe.errors import UserError
from localstripe.resources import Charge, Event, PaymentIntent, PaymentMethod, Refund
from localstripe.server import app, get_post_data, json_response
from localstripe.webhooks import register_webhook, schedule_webhook

TEST_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0341"

_pi_init = PaymentIntent.__init__


def _payment_intent_init(self, description=None, **data):
    _pi_init(self, **data)
    self.description = description


PaymentIntent.__init__ = _payment_intent_init

_pi_list = PaymentIntent._api_list_all.__func__


def _payment_intent_list(cls, url, created=None, **data):
    listed = _pi_list(cls, url, **data)
    if created:
        if not isinstance(created, dict) or not set(created) <= {"gt", "gte", "lt", "lte"}:
            raise UserError(400, "Bad request")
        bounds = {op: int(value) for op, value in created.items()}
        listed._list = [pi for pi in listed._list
                        if all({"gt": pi.created > v, "gte": pi.created >= v, "lt": pi.created < v,
                                "lte": pi.created <= v}[op] for op, v in bounds.items())]
    return listed


PaymentIntent._api_list_all = classmethod(_payment_intent_list)

_refund_init = Refund.__init__


def _refund_init_and_tell(self, **data):
    _refund_init(self, **data)
    schedule_webhook(Event("charge.refunded", Charge._api_retrieve(self.charge)))


Refund.__init__ = _refund_init_and_tell

_JS = (Path(resources.__file__).with_name("localstripe-v3.js").read_text(encoding="utf-8") + """
// practice: confirmCardPayment with the stand-in's card element, as Stripe.js does with a real one.
(function () {
  const makeStripe = Stripe;
  Stripe = (apiKey) => {
    const stripe = makeStripe(apiKey);
    stripe.confirmCardPayment = async (clientSecret, data) => {
      const card = data && data.payment_method && data.payment_method.card;
      if (!card || !card.value) {
        return {error: {type: 'validation_error', message: 'Your card number is incomplete.'}};
      }
      const pi = clientSecret.match(/^(pi_\\w+)_secret_/)[1];
      const response = await fetch(`${LOCALSTRIPE_BASE_API}/_config/practice/confirm_card_payment/${pi}`, {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({key: apiKey, client_secret: clientSecret, card: card.value.card}),
      });
      const body = await response.json().catch(() => ({}));
      if (response.status !== 200 || body.error) {
        return {error: body.error || {message: 'The payment could not be completed.'}};
      }
      return {paymentIntent: body};
    };
    return stripe;
  };
})();
""")


async def _script(request):
    return web.Response(text=_JS, content_type="application/javascript")


async def _confirm_card_payment(request):
    """Stripe's confirmation of a PaymentIntent with new card details, authorised by its client secret."""
    data = await get_post_data(request, remove_auth=False) or {}
    intent = PaymentIntent._api_retrieve(request.match_info["id"])
    if not str(data.get("key", "")).startswith("pk_") or data.get("client_secret") != intent.client_secret:
        raise UserError(401, "Unauthorized")
    card = data.get("card") or {}
    number = str(card.get("number", "")).replace(" ", "")
    try:
        method = PaymentMethod(type="card", card={"number": number, "exp_month": card.get("exp_month"),
                                                  "exp_year": card.get("exp_year"), "cvc": str(card.get("cvc", ""))})
    except (UserError, AssertionError, TypeError, ValueError, KeyError):
        return json_response({"error": {"type": "card_error", "code": "incorrect_number",
                                        "message": "Your card details are incomplete or incorrect."}}, status=402)
    if intent.latest_charge is not None and intent.latest_charge.status == "failed":
        intent.latest_charge = None  # Stripe lets a declined PaymentIntent be confirmed again with a new card
    intent.payment_method = method.id
    try:
        intent._confirm(on_failure_now=intent._report_failure)
    except UserError as exc:
        return exc.to_response()
    return json_response(intent._export())


async def _preflight(request):
    return web.Response()  # the browser asks first (a JSON POST from another origin); CORS headers are added


app.router.add_get("/js.stripe.com/v3/practice/", _script)
app.router.add_post("/_config/practice/confirm_card_payment/{id}", _confirm_card_payment)
app.router.add_route("OPTIONS", "/_config/practice/confirm_card_payment/{id}", _preflight)


def serve(port: int, host: str = "127.0.0.1", *, webhook: str | None = None, secret: str | None = None) -> None:
    """Serve on host:port until stopped; with `webhook`, send it every event, signed with `secret`."""
    if webhook:
        register_webhook("practice", webhook, secret, None)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    web.run_app(app, sock=sock, print=None, access_log=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook", help="the app's webhook URL, e.g. http://127.0.0.1:5000/stripe/webhook")
    parser.add_argument("--webhook-secret", default="whsec_demo", help="the secret events are signed with")
    args = parser.parse_args()
    serve(args.port, webhook=args.webhook, secret=args.webhook_secret)


if __name__ == "__main__":
    main()
