"""Fixtures: an app on a fresh database of each engine, its client, and a signed-in staff helper.

Each test gets its own database, copied from a migrated template: a file copy on SQLite, CREATE DATABASE ...
TEMPLATE on PostgreSQL. PostgreSQL is required (the machine and CI have it); without it the run fails loudly.
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from flask_migrate import upgrade
from sqlalchemy import event

from practice import create_app
from practice.database import dispose_engines
from practice.payments.stripe_api import close as close_stripe
from practice.extensions import db

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_KEY = Fernet.generate_key().decode()


def _base_config(tmp: Path, url: str) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEYS": [TEST_KEY],
        "INSTANCE_PATH": str(tmp / "instance"),
        "UPLOAD_DIR": str(tmp / "uploads"),
        "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
        "BASE_URL": "http://practice.test",
        "WTF_CSRF_ENABLED": False,  # tests/test_security.py turns it on to prove it works
        "RATELIMIT_ENABLED": False,  # tests/auth/test_login.py turns it on
        "MAIL_DELIVERY": "none",  # no background threads outliving a test; mail tests opt into "inline"
        "SERVER_NAME": None,
    }


def _pg(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _migrate(tmp: Path, url: str) -> None:
    app = create_app(_base_config(tmp, url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sqlite-template")
    path = tmp / "template.sqlite3"
    _migrate(tmp, f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(tmp_path_factory):
    try:
        _pg("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the test suite and is not reachable at {PG_ADMIN_URL}: {exc}. "
                    "Start it (make test does, through .ci/peers) or set TEST_POSTGRES_URL.", pytrace=False)
    name = f"practice_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _pg(f'CREATE DATABASE "{name}"')
    _migrate(tmp_path_factory.mktemp("pg-template"), _pg_url(name))
    yield name
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, migrated database of each engine for every test that asks for one."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"practice_t_{uuid.uuid4().hex[:12]}"
    _pg(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app_config(tmp_path, database_url) -> dict:
    """Override keys here (in a test module's own fixture) before `app` is built."""
    return _base_config(tmp_path, database_url)


def _fresh_g(sender, **_extra):
    """The test holds an app context for the whole test, and requests reuse it; give each request its own `g`
    so nothing (Flask-Login's cached user above all) leaks from one request to the next."""
    from flask import g

    for key in list(g):
        g.pop(key, None)


@pytest.fixture
def app(app_config):
    from flask import request_started

    app = create_app(app_config)
    request_started.connect(_fresh_g, app)
    with app.app_context():
        yield app
        db.session.remove()
    dispose_engines(app)
    close_stripe(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Sign in and out through the real forms, as a person would."""

    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = "correct horse battery staple", *, follow_redirects=False):
        return self._client.post("/staff/login", data={"email": email, "password": password},
                                 follow_redirects=follow_redirects)

    def logout(self):
        return self._client.post("/staff/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def freeze_clock(monkeypatch, at):
    """Make practice.clock.now() return `at`; the test moves time by setting the returned dict's "now"."""
    from practice import clock

    current = {"now": at}
    monkeypatch.setattr(clock, "now", lambda: current["now"])
    return current


@contextmanager
def statements_sent(keep=lambda statement: True):
    """The SQL statements the app's engine sends while the block runs (those `keep` accepts), as the cursor saw
    them. SQLite's BEGIN is one of them; PostgreSQL's is sent by the driver without a cursor."""
    statements: list[str] = []

    def seen(conn, cursor, statement, *_args):
        if keep(statement):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


# --- Stripe: a local stand-in (practice.payments.standin: localstripe), one per test session ---------------

STRIPE_TEST_KEYS = {"STRIPE_SECRET_KEY": "sk_test_practice", "STRIPE_PUBLISHABLE_KEY": "pk_test_practice",
                    "STRIPE_WEBHOOK_SECRET": "whsec_practice_tests"}


@pytest.fixture(scope="session")
def stripe_standin():
    """The stand-in's base URL. It runs as its own process, as the real Stripe is another service."""
    from tests.peers import free_port, running, stripe_standin_argv

    port = free_port()
    with running("the Stripe stand-in", stripe_standin_argv(port), port):
        yield f"http://127.0.0.1:{port}"


def stripe_config(standin: str) -> dict:
    """The settings that point an app at the stand-in."""
    return {**STRIPE_TEST_KEYS, "STRIPE_API_BASE": standin, "STRIPE_JS_URL": f"{standin}/js.stripe.com/v3/practice/"}


def serve(app):
    """Serve `app` on a free loopback port in a thread; returns (base URL, stop)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", server.shutdown


def send_webhooks_to(standin: str, base_url: str, secret: str, *, name: str = "practice-tests") -> None:
    """Have the stand-in sign and send its events to this app's webhook, replacing the last one of this name
    (each app ignores events of payments it does not know)."""
    import urllib.parse
    import urllib.request

    data = urllib.parse.urlencode({"url": f"{base_url}/stripe/webhook", "secret": secret}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{standin}/_config/webhooks/{name}", data=data),
                                timeout=5) as response:
        response.read()
