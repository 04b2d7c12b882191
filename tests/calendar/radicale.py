"""A real CalDAV server for the tests: Radicale, started once per test session on a free port."""
from __future__ import annotations

import sys
import uuid

import caldav
import pytest

from tests.peers import free_port, running  # noqa: F401  (free_port: for tests of a server that is down)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory):
    """Radicale's base URL. No authentication: any username and password are let in as that user."""
    port = free_port()
    storage = tmp_path_factory.mktemp("radicale")
    argv = [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
            "--storage-filesystem-folder", str(storage / "collections"), "--auth-type", "none",
            "--rights-type", "owner_only", "--logging-level", "warning"]
    with running("Radicale", argv, port):
        yield f"http://127.0.0.1:{port}/"


def new_calendar(base_url: str, user: str = "ana") -> str:
    """A fresh, empty calendar collection of `user`; returns its address."""
    with caldav.DAVClient(base_url, username=user, password="any", enable_rfc6764=False) as client:
        calendar = client.principal().make_calendar(name="Sessions", cal_id=uuid.uuid4().hex)
        return str(calendar.url)


def events_in(url: str, user: str = "ana") -> list:
    """The VEVENTs stored in the calendar at `url`, as icalendar components."""
    with caldav.DAVClient(url, username=user, password="any", enable_rfc6764=False) as client:
        return [event.icalendar_component for event in client.calendar(url=url).events()]
