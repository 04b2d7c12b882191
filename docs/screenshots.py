"""Screenshots of the main pages for the README: `make screenshots` writes them to docs/screenshots/.

The app runs as `make run` runs it, but on a temporary SQLite database and instance folder: migrated, seeded with
the demo practice (`flask --app app seed-demo`), served by `flask run`, with a local Stripe stand-in for the
payment page. Debian's Chromium, driven by Playwright with the browser tests' flags, opens each page as a client
or as the demo front desk would and saves it 1280 pixels wide. Images are cut at MAX_HEIGHT and reduced to 256
colours, so each stays small enough to keep in the repository.

A script, not a test: it asserts nothing beyond finding the headings it waits for, and stops at the first page
that does not appear (the error names it).
"""
from __future__ import annotations

import io
import os
import re
import socket
import subprocess  # nosec B404  # starts the app's own commands, with fixed arguments
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from config import ENVIRONMENT  # noqa: E402
from practice.demo import DEMO_STAFF  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the browser tests' Chromium and flags)

OUT = ROOT / "docs" / "screenshots"
WIDTH, HEIGHT = 1280, 800  # the browser's window
MAX_HEIGHT = 1400  # a longer page is cut here: the top of a page says what it is
ZONE = "America/New_York"  # the visitor's zone (the demo practice's own)
WEBHOOK_SECRET = "whsec_screenshots"  # nosec B105  # the stand-in's, for this run only
FLASK = [sys.executable, "-m", "flask", "--app", "app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # nosec B310  # a loopback http URL
                response.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing answered at {url} after {seconds:.0f} seconds") from None
            time.sleep(0.3)


@contextmanager
def running(argv: list[str], env: dict, log: Path):
    """A process for the length of the block; its output goes to `log` (shown if a page is not found)."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # nosec B603
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def environment(tmp: Path, app_port: int, standin_port: int) -> dict:
    """The caller's environment without any of the app's settings, then this run's: nothing of a real deployment
    (a DATABASE_URL, SMTP, Stripe keys) can leak into the demo."""
    env = {name: value for name, value in os.environ.items() if name not in ENVIRONMENT}
    standin = f"http://127.0.0.1:{standin_port}"
    env.update({
        "PRACTICE_INSTANCE_PATH": str(tmp / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp / 'practice.sqlite3'}",
        "BASE_URL": f"http://127.0.0.1:{app_port}",
        "RATELIMIT_ENABLED": "false",
        "STRIPE_SECRET_KEY": "sk_test_screenshots", "STRIPE_PUBLISHABLE_KEY": "pk_test_screenshots",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": standin,
        "STRIPE_JS_URL": f"{standin}/js.stripe.com/v3/practice/",
    })
    env.pop("FLASK_DEBUG", None)
    return env


def save(page, name: str) -> None:
    """The page from its top, at most MAX_HEIGHT tall, as a 256-colour PNG."""
    page.evaluate("window.scrollTo(0, 0)")
    height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
    png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": WIDTH, "height": height},
                          animations="disabled", caret="hide")
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                                 dither=Image.Dither.NONE)
    path = OUT / f"{name}.png"
    image.save(path, optimize=True)
    print(f"  {path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB")


def heading(page, name) -> None:
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def first_time(page, slug: str, link: re.Pattern) -> None:
    """From the profile through the link to a service's times, then the first open time."""
    page.goto(f"/counselors/{slug}")
    page.get_by_role("link", name=link).click()
    heading(page, re.compile("^Choose a time with"))
    first = page.locator(".slot-list a").first
    if first.count() == 0:  # this week is full: the next open one
        page.get_by_role("link", name="Show that week").click()
    page.locator(".slot-list a").first.click()
    heading(page, "Your details")


def fill_person(page, name: str, email: str, state: str) -> None:
    page.get_by_label("Your name", exact=True).fill(name)
    page.get_by_label("Your email", exact=True).fill(email)
    page.get_by_label("State you live in").select_option(state)
    page.get_by_label("I have read and accept the practice's policies").check()


def client_pages(page) -> None:
    page.goto("/")
    heading(page, re.compile("."))
    save(page, "home")

    page.goto("/counselors")
    heading(page, re.compile("."))
    save(page, "directory")

    page.goto("/counselors/maya-okafor")
    heading(page, re.compile("Maya Okafor"))
    save(page, "profile")
    page.get_by_role("link", name=re.compile(r"^Choose a time for a \d+-minute couples trial$")).click()
    heading(page, re.compile("^Choose a time with"))
    save(page, "times")

    # A couple's paid trial: the details, held, then the card form of the Stripe stand-in.
    first_time(page, "maya-okafor", re.compile(r"^Choose a time for a \d+-minute couples trial$"))
    fill_person(page, "Ana Rivera", "ana.rivera@example.org", "NY")
    page.get_by_label("Your partner's name").fill("Sam Rivera")
    page.get_by_label("Your partner's email").fill("sam.rivera@example.org")
    page.get_by_label("I'll pay for my sessions myself").check()
    page.get_by_label("Your date of birth").fill("1988-04-23")
    save(page, "booking-details")
    page.get_by_role("button", name="Hold this time").click()
    heading(page, "Your time is held")
    page.get_by_role("button", name=re.compile(r"^Pay \$[\d,.]+ now$")).click()
    heading(page, "Pay for your session")
    for placeholder, value in (("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "30"),
                               ("cvc", "123"), ("postal_code", "10001")):  # Stripe's test card
        page.get_by_placeholder(placeholder, exact=True).fill(value)
    page.evaluate("document.activeElement.blur()")
    save(page, "payment")

    # A free individual consultation, then the client's own intake from the booking page.
    first_time(page, "daniel-reyes", re.compile(r"individual"))
    fill_person(page, "Noor Haddad", "noor.haddad@example.org", "IL")
    page.get_by_role("button", name="Book this time").click()
    heading(page, "You're booked")
    page.get_by_role("button", name=re.compile("questionnaire", re.I)).click()
    expect(page).to_have_url(re.compile(r"/intake/"))
    heading(page, re.compile("."))
    save(page, "intake")


def staff_pages(page) -> None:
    desk = next(person for person in DEMO_STAFF if person.role == "frontdesk")
    page.goto("/staff/login")
    page.get_by_label("Email").fill(desk.email)
    page.get_by_label("Password").fill(desk.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/staff/login"))

    page.goto("/staff/intakes")
    heading(page, "Intakes")
    save(page, "staff-intake-queue")
    # The demo couple whose partners want different things: a discernment recommendation with its reasons.
    page.locator("table.queue tbody tr").filter(has_text="Claire Dubois").get_by_role("link").first.click()
    heading(page, re.compile("^Intakes for booking"))
    save(page, "staff-booking-intakes")

    page.goto("/staff/today")
    heading(page, re.compile("."))
    save(page, "staff-today")
    page.locator("a[href*='/staff/bookings/']").filter(has_text=re.compile(".")).first.click()
    expect(page).to_have_url(re.compile(r"/staff/bookings/"))
    save(page, "staff-booking")

    page.goto("/staff/dashboard")
    heading(page, re.compile("."))
    save(page, "staff-dashboard")

    page.goto("/staff/clients?q=Alvarado")
    page.get_by_role("link", name=re.compile("Teresa Alvarado")).first.click()
    expect(page).to_have_url(re.compile(r"/staff/clients/\d+"))
    save(page, "staff-client")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    app_port, standin_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="practice-screenshots-") as name, ExitStack() as stack:
        tmp = Path(name)
        env = environment(tmp, app_port, standin_port)
        stack.enter_context(running(
            [sys.executable, "-m", "practice.payments.standin", "--port", str(standin_port),
             "--webhook", f"http://127.0.0.1:{app_port}/stripe/webhook", "--webhook-secret", WEBHOOK_SECRET],
            env, tmp / "standin.log"))
        wait_for(f"http://127.0.0.1:{standin_port}/js.stripe.com/v3/practice/")
        for command in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run(FLASK + command, cwd=ROOT, env=env, check=True,  # nosec B603
                           stdout=subprocess.DEVNULL)
        stack.enter_context(running(FLASK + ["run", "--host", "127.0.0.1", "--port", str(app_port)],
                                    env, tmp / "app.log"))
        wait_for(f"http://127.0.0.1:{app_port}/healthz")
        print(f"Screenshots of {env['BASE_URL']} (the demo practice):")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for pages in (client_pages, staff_pages):
                    context = browser.new_context(base_url=env["BASE_URL"], timezone_id=ZONE, locale="en-US",
                                                  viewport={"width": WIDTH, "height": HEIGHT},
                                                  device_scale_factor=1)
                    page = context.new_page()
                    page.set_default_timeout(15_000)
                    try:
                        pages(page)
                    except Exception:
                        print(f"stopped at {page.url}; the app's log:", file=sys.stderr)
                        print((tmp / "app.log").read_text(errors="replace")[-4000:], file=sys.stderr)
                        raise
                    finally:
                        context.close()
            finally:
                browser.close()


if __name__ == "__main__":
    main()
