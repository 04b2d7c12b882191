"""The tasks that run after a commit (practice.jobs names them by their path here), as RQ jobs, threads or
inline calls: each takes a row's id only, so nothing a message says, nor an address, goes to Redis.

Inside `flask worker` (or a thread or request of the app) they run in its app; under a plain `rq worker --url
$REDIS_URL practice` they build the app once for the process.
"""
from __future__ import annotations

from flask import Flask, has_app_context

from practice import clock


def deliver_message(message_id: int) -> bool:
    """Deliver one outbox message (a no-op when someone already did)."""
    from practice.notify.delivery import deliver_message as deliver

    return _in_app(deliver, message_id)


def send_requested_links(request_id: int) -> bool:
    """Send the links one "resend my link" request asked for (a no-op when someone already did)."""
    from practice.booking.links import process_link_request

    return _in_app(process_link_request, request_id)


def send_refund(refund_id: int) -> bool:
    """Ask Stripe for one saved refund (a no-op when someone already did, or it is not due)."""
    from practice.payments.refunds import send_refund as send

    return _in_app(send, refund_id)


def _in_app(handle, row_id: int):
    if has_app_context():
        return handle(row_id, now=clock.now())
    with _standalone_app().app_context():  # a plain `rq worker`
        return handle(row_id, now=clock.now())


_app: Flask | None = None


def _standalone_app() -> Flask:
    global _app
    if _app is None:
        from practice import create_app

        _app = create_app()
    return _app
