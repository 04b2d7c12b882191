"""The production setup runs: the Procfile's release, web and worker under honcho, PRACTICE_ENV=production (so
the settings check passes for real), PostgreSQL, the machine's Redis and an SMTP server. A session booked
through the API is confirmed by one email, which the worker delivered from the RQ queue; then everything stops
cleanly on SIGTERM."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest
import redis

from tests.faults.stack import (BIN, ROOT, HoldingSmtpServer, Stack, booking_body, drop_database, first_start,
                                make_database, seed, temporary_directory, wait_until)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# The machine's Redis, on a database number no other test uses (flushed before and after).
REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture
def production(postgres_template):
    tmp = temporary_directory()
    url = make_database(postgres_template)
    smtp = HoldingSmtpServer()
    queue = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        queue.flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is required on 127.0.0.1:6379 (make peers starts it): {exc}", pytrace=False)
    smtp.start()
    stack = Stack(tmp=tmp, database_url=url, redis_url=REDIS_URL, smtp=smtp,
                  extra_env={"WEB_CONCURRENCY": "2"})  # as the Procfile's default
    try:
        stack.counselors = seed(stack.app_config())
        yield stack
    finally:
        smtp.close()
        queue.flushdb()
        queue.close()
        drop_database(url)
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_procfile_runs_in_production_and_the_worker_delivers_the_confirmation(production):
    stack = production
    release = subprocess.run(["/bin/sh", "-c", "exec " + _procfile_line("release")], cwd=ROOT, env=stack.env,
                             capture_output=True, text=True, timeout=60)
    assert release.returncode == 0, release.stdout + release.stderr

    log = open(stack.tmp / "honcho.log", "wb")
    honcho = subprocess.Popen([str(BIN / "honcho"), "-f", str(ROOT / "Procfile"), "-d", str(ROOT), "start",
                               "-p", str(stack.port), "web", "worker"], cwd=ROOT, env=stack.env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    try:
        wait_until(lambda: _answers(stack, honcho), timeout=40, what="gunicorn under honcho answering")
        print(f"web answering {time.monotonic() - started:.1f} s after honcho started")
        status, booking = stack.request("POST", "/api/v1/bookings",
                                        booking_body(stack.counselors[0], first_start(), 1))
        assert status == 201, booking
        [mail] = stack.smtp.wait_for(1, timeout=20)
        assert mail["To"] == "Client 1 <client1@example.org>"
        wait_until(lambda: stack.query("SELECT 1 FROM outbox_message WHERE state = 'sent'"), timeout=10,
                   what="the message recorded as sent")
        [(message_id, state, attempts)] = stack.query(
            "SELECT message_id, state, attempts FROM outbox_message WHERE to_email = %s", "client1@example.org")
        assert (mail["Message-ID"], state, attempts) == (message_id, "sent", 1)
        # The web process queued an RQ job after its commit, and the worker ran it (its round says so). The
        # job and the worker's sweep both try to claim the message; only the one that claims it sends it, so
        # one copy arrives, and no more in the rounds that follow.
        wait_until(lambda: "run queued jobs: 1" in _read(stack), timeout=10, what="the worker's round report")
        time.sleep(2)  # two more worker rounds (WORKER_INTERVAL_SECONDS=1)
        assert len(stack.smtp.received) == 1
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGTERM)
        try:
            honcho.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            raise
        log.close()
    output = _read(stack)
    # A clean stop: gunicorn's master shut its workers down, the worker finished its round, nothing crashed.
    assert "Shutting down: Master" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    # honcho's own status is the shell's it ran each line in (143: the shell took the SIGTERM too), not the
    # app's, so it is not asserted; what matters is what the processes said and that none is left.
    with pytest.raises(ProcessLookupError):  # nothing of the group is left running
        os.killpg(honcho.pid, 0)


def _procfile_line(kind: str) -> str:
    from tests.faults.stack import procfile

    return procfile()[kind]


def _answers(stack: Stack, honcho: subprocess.Popen) -> bool:
    if honcho.poll() is not None:
        raise AssertionError(f"honcho exited ({honcho.returncode}):\n{_read(stack)[-3000:]}")
    try:
        return stack.request("GET", "/healthz", timeout=2)[0] == 200
    except OSError:
        return False


def _read(stack: Stack) -> str:
    return (stack.tmp / "honcho.log").read_text(errors="replace")
