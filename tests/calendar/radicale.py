"""A real CalDAV server for the tests: Radicale, started once per test session on a free port."""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import uuid

import caldav
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def radicale(tmp_path_factory):
    """Radicale's base URL. No authentication: any username and password are let in as that user."""
    port = free_port()
    storage = tmp_path_factory.mktemp("radicale")
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(storage / "collections"), "--auth-type", "none",
         "--rights-type", "owner_only", "--logging-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                pytest.fail(f"Radicale did not start: {log.read().decode(errors='replace')}", pytrace=False)
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/"
    process.terminate()
    process.wait(timeout=10)
    log.close()


def new_calendar(base_url: str, user: str = "ana") -> str:
    """A fresh, empty calendar collection of `user`; returns its address."""
    with caldav.DAVClient(base_url, username=user, password="any", enable_rfc6764=False) as client:
        calendar = client.principal().make_calendar(name="Sessions", cal_id=uuid.uuid4().hex)
        return str(calendar.url)


def events_in(url: str, user: str = "ana") -> list:
    """The VEVENTs stored in the calendar at `url`, as icalendar components."""
    with caldav.DAVClient(url, username=user, password="any", enable_rfc6764=False) as client:
        return [event.icalendar_component for event in client.calendar(url=url).events()]
