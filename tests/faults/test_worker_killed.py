"""SIGKILL the worker while it is talking to the mail server, start another: every message arrives.

What the outbox guarantees (practice/notify/delivery.py) is at-least-once, with one known window:
- a message is sent only by the deliverer whose claim moved it to `sending`, with a lease (LEASE, 10 minutes);
  while the lease holds, no other worker sends it, so a killed worker's message is not sent again at once;
- once the lease lapses, the message is due again and sent again, with the same Message-ID and Date;
- so a message the mail server had NOT accepted when the worker died arrives exactly once, and a message the
  server HAD accepted (its 250 never read, or `sent` never recorded) arrives twice, as two copies with the
  same Message-ID, which mail systems and clients recognise as one message. Nothing is lost, and no other
  message is ever duplicated.
This test shows exactly that, for both cases, with a server that holds a message's DATA so that the worker is
killed mid-send. Ten minutes are not waited for: the test moves the lapsed claims' `claimed_until` into the past
(what the passing of the lease does), after checking that a new worker leaves them alone while it holds.
"""
from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.faults.stack import book_in_process, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BOOKINGS = 8


def test_a_killed_worker_loses_no_message_and_repeats_only_the_one_the_server_had_accepted(stack):
    book_in_process(stack, BOOKINGS)
    rows = stack.query("SELECT id, message_id FROM outbox_message ORDER BY id")
    assert len(rows) >= BOOKINGS and {state for (state,) in stack.query("SELECT state FROM outbox_message")} == {
        "pending"}
    message_ids = {message_id for _id, message_id in rows}

    # 1. The mail server holds the 3rd message without answering (it has not accepted it); kill the worker.
    stack.smtp.hold(3, keep=False)
    worker = stack.start("worker")
    wait_until(lambda: stack.smtp.holding, timeout=40, what="the worker sending the 3rd message")
    worker.kill()
    stack.smtp.release()
    [(not_accepted, attempts)] = stack.query(
        "SELECT message_id, attempts FROM outbox_message WHERE state = 'sending' AND claimed_until > now()")
    assert attempts == 1
    assert len(stack.smtp.received) == 2

    # 2. A new worker; the server keeps the 2nd message it sends (as accepted) but never answers; kill it.
    stack.smtp.hold(2, keep=True)
    worker = stack.start("worker")
    wait_until(lambda: stack.smtp.holding, timeout=40, what="the second worker sending its 2nd message")
    worker.kill()
    stack.smtp.release()
    leased = dict(stack.query("SELECT message_id, attempts FROM outbox_message WHERE state = 'sending'"))
    assert set(leased) - {not_accepted} and len(leased) == 2
    [accepted] = set(leased) - {not_accepted}
    assert stack.smtp.received[-1].message["Message-ID"] == accepted

    # 3. A third worker sends everything else, and leaves both leased messages alone while their leases hold.
    stack.smtp.hold(None, keep=False)
    stack.start("worker")
    others = len(rows) - 2
    wait_until(lambda: stack.query("SELECT count(*) FROM outbox_message WHERE state = 'sent'")[0][0] == others,
               timeout=30, what="the other messages sent")
    time.sleep(2)  # two more of its rounds (WORKER_INTERVAL_SECONDS=1)
    assert dict(stack.query("SELECT message_id, attempts FROM outbox_message WHERE state = 'sending'")) == leased

    # 4. The leases lapse (as ten minutes passing would): the worker sends both again, once each.
    stack.query("UPDATE outbox_message SET claimed_until = now() - interval '1 second' WHERE state = 'sending' "
                "RETURNING id")
    wait_until(lambda: stack.query("SELECT count(*) FROM outbox_message WHERE state <> 'sent'")[0][0] == 0,
               timeout=30, what="every message sent")
    time.sleep(2)  # and nothing more is sent in the next rounds

    copies = Counter(received.message["Message-ID"] for received in stack.smtp.received)
    assert set(copies) == message_ids  # every message arrived
    assert {message_id for message_id, count in copies.items() if count > 1} == {accepted}
    assert copies[accepted] == 2 and copies[not_accepted] == 1
    first, second = [r.message for r in stack.smtp.received if r.message["Message-ID"] == accepted]
    assert (first["Date"], first["Subject"], first.get_body(("plain",)).get_content()) == (
        second["Date"], second["Subject"], second.get_body(("plain",)).get_content())  # the same message
    assert dict(stack.query("SELECT message_id, attempts FROM outbox_message WHERE message_id = ANY(%s)",
                            [accepted, not_accepted])) == {accepted: 2, not_accepted: 2}
