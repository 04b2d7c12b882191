"""Load: the production setup on loopback, driven by locust with mixed traffic; prints requests per second and
p95 per kind of request beside a trivial endpoint of the same server.

    make bench-load        (or: .venv/bin/python bench/load.py [--users 16] [--seconds 30])

The production setup is the Procfile's, started by honcho: gunicorn (WEB_CONCURRENCY=2 workers) and
`flask worker`, with PRACTICE_ENV=production (so the production settings check passes, for real), on a fresh
PostgreSQL database, Redis (database LOAD_REDIS_DB, 13, flushed first: rate limits and the mail queue) and an
SMTP sink (aiosmtpd) that the worker delivers every email to. One address sends all the traffic, so the
booking rate limit is raised for the run (BOOKING_RATE_LIMIT); everything else is as deployed.

Traffic (bench/locustfile.py), by weight: directory (API and page) 5, slots 4, booking 1 (each followed by the
client's intake: its questions, then its answers), trivial GET /healthz 2. Bookings take distinct free slots,
so none loses a race. Locust runs in its own environment (.venv-load: the `load` extra), because it pins
libraries differently from the app's.
"""
from __future__ import annotations

import argparse
import csv
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.booking import ADMIN_URL, COUNSELORS, free_port, prepare, request  # noqa: E402

LOAD_REDIS_DB = 13
LOCUST = ROOT / ".venv-load/bin/locust"
KINDS = ("directory", "slots", "booking", "intake", "trivial")


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the web server did not answer on port {port} within {seconds:.0f} s")


def outbox_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT state, count(*) FROM outbox_message GROUP BY state").fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=16, help="concurrent simulated people (default 16)")
    parser.add_argument("--seconds", type=int, default=30, help="length of the run (default 30)")
    args = parser.parse_args()
    if not LOCUST.exists():
        raise SystemExit("locust is not installed: run `make bench-load` (it makes .venv-load)")

    name = f"practice_bench_load_{os.getpid()}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    redis_url = f"redis://127.0.0.1:6379/{LOAD_REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp())
    port, smtp_port = free_port(), free_port()
    env = {**os.environ, "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}", "PRACTICE_ENV": "production",
           "DATABASE_URL": url, "REDIS_URL": redis_url, "BASE_URL": "https://practice.test",
           "SECRET_KEY": secrets.token_urlsafe(48), "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "PRACTICE_INSTANCE_PATH": str(tmp),
           "BOOKING_RATE_LIMIT": "1000000 per minute", "WEB_CONCURRENCY": "2", "WORKER_INTERVAL_SECONDS": "1"}
    for key in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "FLASK_DEBUG"):
        env.pop(key, None)
    processes: list[subprocess.Popen] = []
    try:
        prepare(url, env)
        processes.append(subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}",
             "-c", "aiosmtpd.handlers.Sink"], cwd=ROOT, env=env))
        processes.append(subprocess.Popen(
            [str(ROOT / ".venv/bin/honcho"), "-f", str(ROOT / "Procfile"), "-d", str(ROOT), "start", "-p", str(port),
             "web", "worker"], cwd=ROOT, env=env, stdout=open(tmp / "honcho.log", "w"), stderr=subprocess.STDOUT,
            start_new_session=True))
        wait_for(port)
        first_day = (datetime.now(timezone.utc) + timedelta(days=1)).date()
        stats = tmp / "locust"
        started = time.monotonic()
        subprocess.run(
            [str(LOCUST), "-f", str(ROOT / "bench/locustfile.py"), "--headless", "--only-summary",
             "--users", str(args.users), "--spawn-rate", str(args.users), "--run-time", f"{args.seconds}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(stats), "--loglevel", "WARNING"],
            cwd=ROOT, env={**env, "LOAD_COUNSELORS": str(COUNSELORS), "LOAD_FIRST_DAY": first_day.isoformat()},
            check=False, stdout=subprocess.DEVNULL, stderr=open(tmp / "locust.log", "w"))
        ran = time.monotonic() - started
        if not Path(f"{stats}_stats.csv").exists():
            raise SystemExit("locust wrote no figures; its log:\n" + (tmp / "locust.log").read_text()[-3000:])
        rows = {row["Name"]: row for row in csv.DictReader(open(f"{stats}_stats.csv"))}
        print(f"load: {args.users} people for {args.seconds} s against gunicorn ({env['WEB_CONCURRENCY']} workers) "
              f"and flask worker, PRACTICE_ENV=production, PostgreSQL, Redis")
        print(f"{'kind':<10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'failures':>9}")
        for kind in KINDS:
            row = rows.get(kind)
            if row is None:
                print(f"{kind:<10} (no requests)")
                continue
            print(f"{kind:<10} {float(row['Requests/s']):8.1f} {float(row['50%']):8.0f} {float(row['95%']):8.0f} "
                  f"{int(row['Failure Count']):9d}")
        total = rows.get("Aggregated")
        if total:
            print(f"{'all':<10} {float(total['Requests/s']):8.1f} {float(total['50%']):8.0f} "
                  f"{float(total['95%']):8.0f} {int(total['Failure Count']):9d}")
        failures = tmp / "locust_failures.csv"
        for row in csv.DictReader(open(failures)) if failures.exists() else []:
            print(f"  failure: {row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error'][:300]}")
        # The worker's side: every message the bookings queued reaches the SMTP sink.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = outbox_counts(url)
            if set(counts) <= {"sent"}:
                break
            time.sleep(1)
        counts = outbox_counts(url)
        print(f"email after the run (outbox by state, {time.monotonic() - started - ran:.0f} s later): {counts}")
    finally:
        for process in reversed(processes):
            try:
                os.killpg(process.pid, signal.SIGTERM) if process.args[0].endswith("honcho") else process.terminate()
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
