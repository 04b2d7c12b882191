"""The production setup as processes the fault tests can start, kill and start again.

The web and worker processes run the Procfile's own command lines (read from the Procfile, not copied), with
PRACTICE_ENV=production, so the production settings check passes for real. Peers: PostgreSQL (a database
copied from the suite's migrated template, or a private server, see PrivatePostgres), Redis (a private
redis-server, so a test can stop it, and no two tests running side by side share an RQ queue) and an SMTP
server in this process (tests.smtp), which a test can stop, or make hold a message mid-send.
"""
from __future__ import annotations

import asyncio
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from tests.peers import free_port
from tests.smtp import SmtpServer, _Handler

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COUNSELORS = 4
SERVICE = "trial"


def procfile() -> dict[str, str]:
    """The Procfile's process types and their command lines."""
    kinds = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            kinds[name.strip()] = command.strip()
    return kinds


def wait_until(condition, *, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(step)


# --- processes ------------------------------------------------------------------------------------------------

class Process:
    """One Procfile process (`web` or `worker`), run by /bin/sh as the Procfile says, with `exec`, so the pid is
    gunicorn's master or the worker itself. It leads a process group of its own, so its children can be
    stopped with it."""

    def __init__(self, kind: str, env: dict, log_dir: Path):
        self.kind = kind
        self.log_path = log_dir / f"{kind}-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(["/bin/sh", "-c", "exec " + procfile()[kind]], cwd=ROOT, env=env,
                                      stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def children(self) -> list[int]:
        """Direct children (gunicorn's workers), from /proc."""
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in text.split()]

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the whole group: no handler runs, nothing is cleaned up (as a crash or the OOM killer)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM (a clean stop: gunicorn finishes its requests, the worker its round); SIGKILL if it hangs."""
        if self.popen.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        else:  # it had exited already: make sure nothing of its group outlives the test
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()
        return self.popen.returncode


# --- peers ----------------------------------------------------------------------------------------------------

class PrivateRedis:
    """A redis-server of this test's own, keeping nothing on disk, that the test may stop and start again."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            pytest.fail("redis-server is required for the fault tests (make peers installs the machine's Redis)",
                        pytrace=False)
        self.popen = subprocess.Popen([redis_server, "--port", str(self.port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        wait_until(lambda: _ping(client), timeout=10, what="private Redis")
        client.close()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()  # as a crash: nothing is saved (nothing would be: --save "")
            self.popen.wait(timeout=10)


def _ping(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


class PrivatePostgres:
    """A PostgreSQL server of this test's own (initdb into a temporary folder, a free port), so that the test
    can stop it without touching the server every other test uses. PostgreSQL refuses to run as root, so as
    root the folder belongs to, and the server runs as, the `postgres` user (runuser)."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.data = directory / "data"
        self.bin = self._binaries()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/practice"

    @staticmethod
    def _binaries() -> Path:
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists():
                return candidate
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        pytest.fail("PostgreSQL's initdb is required for the fault tests", pytrace=False)

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self.directory.parent.chmod(0o711)  # mkdtemp's folder: `postgres` may pass through, not list it
        # -N: no fsync at initdb; fsync=off below. A stop in this test kills the server, never the machine,
        # so what PostgreSQL wrote is in the OS's cache either way and crash recovery finds it.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "practice")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-w", "-t", "30",
                  "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off "
                        "-c full_page_writes=off -c synchronous_commit=on -c max_connections=50",
                  "start")

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: the server quits at once, without a checkpoint, as after a crash; the next start
        recovers from the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)


class HoldingSmtpServer(SmtpServer):
    """tests.smtp's server, which can also hold one message's DATA without answering, until released: the
    sender is then mid-send. With `keep=True` the held message is kept (as a server that had accepted it, and
    whose 250 the sender never read); with `keep=False` it is dropped (the server had not accepted it)."""

    def __init__(self):
        super().__init__()
        self.hold_at: int | None = None  # hold the DATA of the n-th message to arrive (1-based)
        self.keep_held = False
        self.holding = False
        self.released = False
        self._seen = 0

    def hold(self, nth: int, *, keep: bool) -> None:
        self.hold_at, self.keep_held, self.holding, self.released, self._seen = nth, keep, False, False, 0

    def release(self) -> None:
        self.released = True

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(_HoldingHandler(self), hostname=self.host, port=self.port)
        self._controller.start()


class _HoldingHandler(_Handler):
    async def handle_DATA(self, smtp, session, envelope):
        server = self.server
        server._seen += 1
        if server._seen == server.hold_at:
            if server.keep_held:
                server._store(envelope, session)
            server.holding = True
            while not server.released:
                await asyncio.sleep(0.02)
            return "451 Held by the test" if not server.keep_held else "250 Accepted, too late"
        return await super().handle_DATA(smtp, session, envelope)


# --- the app's data and settings ----------------------------------------------------------------------------

@dataclass
class Stack:
    """Everything one test's production setup needs: settings for the processes, peers, data."""

    tmp: Path
    database_url: str
    redis_url: str
    smtp: SmtpServer
    port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    extra_env: dict = field(default_factory=dict)

    def __post_init__(self):
        from tests.conftest import TEST_KEY

        self.secret_key = secrets.token_urlsafe(48)
        self.encryption_key = TEST_KEY
        (self.tmp / "instance").mkdir(exist_ok=True)

    @property
    def env(self) -> dict:
        from config import ENVIRONMENT

        # None of the app's settings from the environment this test runs in: only the ones set here.
        env = {key: value for key, value in os.environ.items()
               if key not in ENVIRONMENT and not key.startswith(("FLASK_", "PRACTICE_"))}
        env.update({
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "PRACTICE_ENV": "production",
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url, "BASE_URL": "https://practice.test",
            "SECRET_KEY": self.secret_key, "ENCRYPTION_KEYS": self.encryption_key,
            "SMTP_HOST": self.smtp.host, "SMTP_PORT": str(self.smtp.port),
            "PRACTICE_INSTANCE_PATH": str(self.tmp / "instance"), "PORT": str(self.port),
            # One gunicorn worker unless a test asks for more: each costs an app start on a shared machine.
            "WEB_CONCURRENCY": "1", "WORKER_INTERVAL_SECONDS": "1",
            # One address sends every request of the test: the per-address booking limit would stop it.
            "BOOKING_RATE_LIMIT": "100000 per minute", "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def app_config(self) -> dict:
        """Settings for an app in the test process on the same database (to seed it, or to read rows)."""
        return {"DATABASE_URL": self.database_url, "SECRET_KEY": self.secret_key,
                "ENCRYPTION_KEYS": [self.encryption_key], "INSTANCE_PATH": str(self.tmp / "instance"),
                "BASE_URL": "https://practice.test", "MAIL_DELIVERY": "none", "RATELIMIT_ENABLED": False,
                "TESTING": True}

    def start(self, kind: str) -> Process:
        process = Process(kind, self.env, self.tmp)
        self.processes.append(process)
        return process

    def start_web(self) -> Process:
        web = self.start("web")
        self.wait_for_web(web)
        return web

    def wait_for_web(self, web: Process, timeout: float = 40) -> None:
        def up():
            if web.popen.poll() is not None:
                raise AssertionError(f"the web process exited ({web.popen.returncode}):\n{web.output()[-3000:]}")
            try:
                return self.request("GET", "/healthz", timeout=2)[0] == 200
            except OSError:
                return False
        wait_until(up, timeout=timeout, what="the web process answering /healthz")

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def request(self, method: str, path: str, body: dict | None = None, *, timeout: float = 20):
        """(status, parsed JSON or text) of one request to the web process."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = json.dumps(body) if body is not None else None
            conn.request(method, path, body=payload,
                         headers={"Content-Type": "application/json"} if body is not None else {})
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(content)
        except ValueError:
            return response.status, content.decode(errors="replace")

    def query(self, sql: str, *params):
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


def seed(config: dict) -> list[str]:
    """Counselors bookable around the clock (a free 30-minute trial, no notice); returns their slugs."""
    from practice import create_app
    from practice.database import dispose_engines

    app = create_app(config)
    with app.app_context():
        slugs = add_counselors()
    dispose_engines(app)
    return slugs


def add_counselors() -> list[str]:
    """seed(), in the current app context."""
    from practice.counselors.models import Counselor, License, Service
    from practice.extensions import db
    from practice.scheduling.models import SchedulingPolicy, WeeklyHours

    slugs = []
    for i in range(COUNSELORS):
        counselor = Counselor(slug=f"fault-{i}", name=f"Counselor {i}", timezone="UTC", credentials="LMFT")
        counselor.licenses = [License(state="NY", number=f"NY-{i}")]
        counselor.services = [Service(slug=SERVICE, name="Trial", format="individual", duration_minutes=30,
                                      price=0, is_trial=True, buffer_minutes=0)]
        db.session.add(counselor)
        db.session.flush()
        db.session.add_all(WeeklyHours(counselor_id=counselor.id, weekday=day, start_time=dtime(0, 0),
                                       end_time=dtime(23, 59)) for day in range(7))
        db.session.add(SchedulingPolicy(counselor_id=counselor.id, notice_minutes=0, horizon_days=90,
                                        slot_step_minutes=30))
        slugs.append(counselor.slug)
    db.session.commit()
    return slugs


def first_start() -> datetime:
    """A half-hour start well inside the horizon, tomorrow at 00:00 UTC."""
    return datetime.combine(datetime.now(timezone.utc).date() + timedelta(days=2), dtime(0, 0), timezone.utc)


def booking_body(counselor: str, start: datetime, n: int) -> dict:
    return {"counselor": counselor, "service": SERVICE, "start": start.isoformat(), "timezone": "UTC",
            "client": {"name": f"Client {n}", "email": f"client{n}@example.org", "state": "NY"}}


def make_database(template: str) -> str:
    """A fresh database copied from the suite's migrated template on the shared PostgreSQL server."""
    import uuid

    from tests.conftest import _pg, _pg_url

    name = f"practice_fault_{uuid.uuid4().hex[:12]}"
    _pg(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _pg_url(name)


def drop_database(url: str) -> None:
    from tests.conftest import _pg

    _pg(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def temporary_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="practice-faults-"))


@contextmanager
def running_stack(tmp: Path, database_url: str):
    """A Stack on this (migrated, empty) database with a private Redis and a holding SMTP server, seeded with
    counselors; its processes, the SMTP server and Redis stopped after. The database and `tmp` are the caller's."""
    redis = PrivateRedis(tmp)
    smtp = HoldingSmtpServer()
    built = None
    try:
        redis.start()
        smtp.start()
        built = Stack(tmp=tmp, database_url=database_url, redis_url=redis.url, smtp=smtp)
        built.redis = redis
        built.counselors = seed(built.app_config())
        yield built
    finally:
        if built is not None:
            built.stop_all()
        smtp.release()  # a held message must not keep the server's loop from stopping
        smtp.close()
        redis.stop()


def book_in_process(stack: Stack, count: int) -> list[str]:
    """Book `count` sessions through the API of an app in this process (MAIL_DELIVERY=none: their emails wait
    in the outbox for a worker). Returns the bookings' ids."""
    from practice import create_app
    from practice.database import dispose_engines

    app = create_app(stack.app_config())
    client = app.test_client()
    ids = []
    start = first_start()
    for n in range(count):
        response = client.post("/api/v1/bookings", json=booking_body(
            stack.counselors[n % len(stack.counselors)], start + timedelta(minutes=30 * (n // COUNSELORS)), n))
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    dispose_engines(app)
    return ids
