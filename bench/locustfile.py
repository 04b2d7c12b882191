"""Traffic for bench/load.py: people browsing the directory, looking at times, booking, and answering the
intake, beside a trivial endpoint. Each request is named by its kind; load.py prints a line per kind.

Run by load.py (in .venv-load, which has locust); its settings come from the environment load.py sets:
LOAD_COUNSELORS (c0 .. cN-1, each with an individual trial "trial" bookable all day, every day, from
LOAD_FIRST_DAY, an ISO date).
"""
from __future__ import annotations

import itertools
import os
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.answers import valid_answers  # noqa: E402  (plain data: no app is imported)

COUNSELORS = int(os.environ.get("LOAD_COUNSELORS", "40"))
FIRST_DAY = date.fromisoformat(os.environ.get("LOAD_FIRST_DAY", "2030-01-01"))
SLOTS_PER_DAY = 47  # half-hour starts from 00:00 to 23:00 (hours end at 23:59:59)
_next_booking = itertools.count()  # one process, greenlets: distinct slots for every booking, no lost races
_next_look = itertools.count()


def _slot(n: int) -> tuple[str, datetime]:
    """The n-th booking's counselor and start: spread over counselors first, then half hours, then days."""
    counselor, k = n % COUNSELORS, n // COUNSELORS
    start = datetime.combine(FIRST_DAY + timedelta(days=k // SLOTS_PER_DAY), time(), timezone.utc)
    return f"c{counselor}", start + timedelta(minutes=30 * (k % SLOTS_PER_DAY))


class Visitor(HttpUser):
    wait_time = between(0.05, 0.2)  # a page, a short read, the next page: a busy hour of many people

    @task(3)
    def directory_api(self):
        self.client.get("/api/v1/counselors?format=individual&state=NY", name="directory")

    @task(2)
    def directory_page(self):
        self.client.get("/counselors?state=NY", name="directory")

    @task(4)
    def slots(self):
        counselor = f"c{next(_next_look) % COUNSELORS}"
        day = FIRST_DAY + timedelta(days=20)
        self.client.get(f"/api/v1/counselors/{counselor}/slots?service=trial&from={day}&to={day + timedelta(days=6)}"
                        "&tz=America/New_York", name="slots")

    @task(1)
    def book_and_answer(self):
        n = next(_next_booking)
        counselor, start = _slot(n)
        body = {"counselor": counselor, "service": "trial", "start": start.isoformat(), "timezone": "UTC",
                "client": {"name": f"Load Client {n}", "email": f"load{n}@example.org", "state": "NY"}}
        with self.client.post("/api/v1/bookings", json=body, name="booking", catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            token = response.json()["intake_urls"]["client"].rsplit("/", 1)[1]
        self.client.get(f"/api/v1/intakes/{token}", name="intake")
        with self.client.post(f"/api/v1/intakes/{token}", json={"answers": valid_answers()}, name="intake",
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(2)
    def trivial(self):
        self.client.get("/healthz", name="trivial")
