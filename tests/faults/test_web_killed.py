"""SIGKILL the web process mid-booking: first one gunicorn worker, then the whole web process (master and
workers), during a burst of bookings from many threads, two of them asking for each time.

A booking is one transaction (booking, participant, client, manage token, intake, audit and its confirmation in
the outbox), so a kill leaves each booking whole or absent: every booking answered 201 exists once, with all its
rows; a booking whose answer was lost with the connection may exist too, and then whole; no time is booked
twice; and each booking's confirmation reaches the mail server once, whether its RQ job was queued before the
kill or not (the worker's sweep sends what the queue never got). Then the web process starts again and serves.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from tests.faults.stack import COUNSELORS, booking_body, first_start, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

THREADS = 8
SLOTS = 120  # more than the burst can take before the kills: requests never run out


def test_killing_the_web_process_mid_booking_leaves_every_booking_whole_or_absent(stack):
    stack.extra_env["WEB_CONCURRENCY"] = "2"  # as the Procfile's default: one of them is killed first
    web = stack.start_web()
    stack.start("worker")
    start = first_start()
    # Each time is asked for by two threads (one of them wins, the other gets 409), in the same order.
    slots = [(stack.counselors[k % COUNSELORS], start + timedelta(minutes=30 * (k // COUNSELORS)))
             for k in range(SLOTS)]
    answered: list[tuple[int, int, dict | str]] = []  # (slot, status, body)
    dropped = Counter()  # requests whose connection the kill cut, by kind of error
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        for k in range(n // 2, SLOTS, THREADS // 2):
            if stop.is_set():
                return
            counselor, at = slots[k]
            try:
                status, body = stack.request("POST", "/api/v1/bookings", booking_body(counselor, at, 1000 * n + k),
                                             timeout=20)
            except OSError as exc:  # the process answering it was killed
                with lock:
                    dropped[type(exc).__name__] += 1
                continue
            with lock:
                answered.append((k, status, body))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(answered) >= 16, timeout=60, what="the first bookings answered")
    victim = web.children()[0]
    os.kill(victim, signal.SIGKILL)  # one gunicorn worker: the master starts another
    served = len(answered)
    wait_until(lambda: len(answered) >= served + 16, timeout=60, what="bookings answered after a worker died")
    web.kill()  # the whole web process: master and workers
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(dropped.values()) >= 1, "no request was in flight when the web process was killed"
    statuses = Counter(status for _k, status, _body in answered)
    assert set(statuses) <= {201, 409}, [(s, b) for _k, s, b in answered if s not in (201, 409)]

    # Every 201 exists once, whole; and so does every booking written at all.
    booked = {body["id"]: k for k, status, body in answered if status == 201}
    assert len(booked) == statuses[201]
    rows = stack.query("SELECT id::text, counselor_id, starts_at, ends_at, status FROM booking")
    in_db = {booking_id for booking_id, *_ in rows}
    assert set(booked) <= in_db
    assert {status for *_, status in rows} == {"confirmed"}
    whole = stack.query("""
        SELECT b.id::text, count(DISTINCT p.id), count(DISTINCT c.id), count(DISTINCT t.id), count(DISTINCT i.id),
               count(DISTINCT o.id)
        FROM booking b
        LEFT JOIN booking_participant p ON p.booking_id = b.id
        LEFT JOIN client c ON c.id = p.client_id
        LEFT JOIN manage_token t ON t.participant_id = p.id
        LEFT JOIN intake i ON i.participant_id = p.id AND i.token_hash IS NOT NULL
        LEFT JOIN outbox_message o ON o.dedupe_key = 'confirmed:' || b.id::text || ':' || p.role
        GROUP BY b.id""")
    assert {tuple(counts) for _id, *counts in whole} == {(1, 1, 1, 1, 1)}, whole
    # No time booked twice: one booking per slot, and no two of a counselor's sessions overlap.
    assert len({(counselor, starts) for _id, counselor, starts, _ends, _s in rows}) == len(rows)
    overlapping = stack.query("""
        SELECT count(*) FROM booking a JOIN booking b ON a.counselor_id = b.counselor_id AND a.id < b.id
        AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at""")
    assert overlapping == [(0,)]
    # Each of the two threads asking for a time got 201 or 409, never both 201.
    by_slot = Counter(k for k, status, _body in answered if status == 201)
    assert max(by_slot.values()) == 1

    # The web process starts again and serves; every confirmation reaches the mail server once.
    stack.start_web()
    counselor, at = slots[-1]
    status, body = stack.request("POST", "/api/v1/bookings", booking_body(counselor, at + timedelta(days=1), 9999))
    assert status == 201, body
    expected = {message_id for (message_id,) in stack.query("SELECT message_id FROM outbox_message")}
    assert len(expected) == len(rows) + 1
    wait_until(lambda: len(stack.smtp.received) >= len(expected), timeout=60, what="every confirmation delivered")
    time.sleep(2)  # two more worker rounds: nothing more is sent
    copies = Counter(received.message["Message-ID"] for received in stack.smtp.received)
    assert set(copies) == expected and set(copies.values()) == {1}
    print(f"answered {dict(statuses)}, dropped {dict(dropped)}, in the database {len(rows)} "
          f"({len(in_db - set(booked))} written but not answered)")
