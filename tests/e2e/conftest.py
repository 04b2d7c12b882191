"""Browser tests: the real app served on localhost, driven by Debian's Chromium through Playwright.

One server and one browser for the whole session; each test gets a fresh browser context (cookies, storage).
The server runs on SQLite seeded with the demo practice, as `make run` does.
"""
from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from practice import create_app
from practice.database import dispose_engines
from practice.payments.stripe_api import close as close_stripe
from tests.conftest import STRIPE_TEST_KEYS, _base_config, _pg, _pg_url, send_webhooks_to, stripe_config

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Chromium in this sandbox: no GPU, no sandbox as root, and no background calls to the closed network.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


# The front desk's browser tests run on both engines (issue 14): their modules say
#     pytestmark = pytest.mark.parametrize("live_engine", LIVE_ENGINES, indirect=True, scope="session")
# Every other browser test runs on SQLite, as `make run` serves the app.
LIVE_ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def live_engine(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def live_app(request, tmp_path_factory, live_engine, stripe_standin):
    tmp = tmp_path_factory.mktemp(f"live-{live_engine}")
    database = None
    if live_engine == "sqlite":
        db_path = tmp / "live.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), db_path)
        url = f"sqlite:///{db_path}"
    else:
        database = f"practice_live_{uuid.uuid4().hex[:12]}"
        _pg(f'CREATE DATABASE "{database}" TEMPLATE "{request.getfixturevalue("postgres_template")}"')
        url = _pg_url(database)
    config = _base_config(tmp, url)
    config["TESTING"] = False  # behave as served, with real error pages
    config.update(stripe_config(stripe_standin))  # paid sessions are paid at the local Stripe stand-in
    app = create_app(config)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    yield app
    if database is not None:
        dispose_engines(app)
        _pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def live_server(live_app, stripe_standin):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    live_app.config["BASE_URL"] = base
    send_webhooks_to(stripe_standin, base, STRIPE_TEST_KEYS["STRIPE_WEBHOOK_SECRET"], name="practice-e2e")
    yield base
    server.shutdown()
    dispose_engines(live_app)
    close_stripe(live_app)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required for browser tests and was not found at {CHROMIUM}. "
                    "Install Debian's package: apt-get install chromium (make test does this as root).",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, base_url: str, *, timezone_id: str = "America/Chicago"):
    """A browser context of its own and a page in it: (context, page). Close the context when done."""
    context = browser.new_context(base_url=base_url, timezone_id=timezone_id, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


@pytest.fixture
def page(browser, live_server):
    context, page = open_page(browser, live_server)
    yield page
    context.close()


def watch_problems(page, problems: list[str], *, console: bool = True) -> None:
    """Collect the page's script errors into `problems`, and with `console` the console's errors too (CSP
    refusals among them); the browser's own favicon request is not ours to judge."""
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    if console:
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error"
                and not msg.location.get("url", "").endswith("/favicon.ico") else None)


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the current page, as readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [" ".join(node["target"]) for node in violation["nodes"]][:5]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found
