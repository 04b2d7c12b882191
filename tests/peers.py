"""Peers the tests start as processes of their own (the Stripe stand-in, Radicale), as the real services are."""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(name: str, argv: list[str], port: int, *, seconds: float = 20):
    """Start `argv`, wait until it listens on 127.0.0.1:port, and stop it after the block. A peer that exits or
    does not listen in time fails the test with what it printed."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    log.seek(0)
                    pytest.fail(f"{name} did not start: {log.read().decode(errors='replace')[-2000:]}",
                                pytrace=False)
                time.sleep(0.1)
        yield
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        log.close()


def stripe_standin_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "practice.payments.standin", "--port", str(port)]
