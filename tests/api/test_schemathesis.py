"""Schemathesis against /api/v1/openapi.json, in process (WSGI): every phase, stateful included, finds no server
error and no response outside the document (status, content type, body schema, headers).

A counselor licensed in every state, with a free and a paid service and open hours every day, gives slots and
bookings real data: the document's links take a start from the slots to a booking, and the booking's id and
tokens to reading, rescheduling, cancelling and paying it (against the Stripe stand-in) and to its intake.
The examples, coverage and fuzzing phases run on SQLite, the stateful phase on PostgreSQL: about 45 seconds
on two cores, with a fixed seed and clock so that a run can be repeated.
"""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
import schemathesis
from schemathesis.engine import StopReason, events
from schemathesis.engine import from_schema as engine_for

from practice.counselors.vocabulary import US_STATES
from tests.conftest import freeze_clock, stripe_config
from tests.factories import make_counselor
from tests.scheduling.helpers import give_hours

pytestmark = pytest.mark.slow

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance")
MAX_EXAMPLES = 20  # per operation and phase: enough to reach every branch the document describes, in seconds
STATEFUL_SCENARIOS, STATEFUL_STEPS = 100, 16
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)
OPERATIONS = {"listCounselors", "getCounselor", "listSlots", "createBooking", "getBooking", "rescheduleBooking",
              "cancelBooking", "startPayment", "getIntake", "saveIntakeSection", "submitIntake"}


@pytest.fixture
def app_config(app_config, stripe_standin):
    return {**app_config, **stripe_config(stripe_standin)}  # a held booking's payment can start


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    # The same free slots on every run, so a seed gives the same sequences and the same answers.
    return freeze_clock(monkeypatch, NOW)


@pytest.fixture
def seeded(app):
    counselor = make_counselor(slug="ana", name="Ana Alvarez", licenses=tuple(US_STATES),
                               specialties=("trust_issues", "attachment"), timezone="America/New_York")
    give_hours(counselor, {day: [("00:00", "23:59")] for day in range(7)}, horizon_days=60)
    return counselor


def run_config(*, phases: list[str]) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": 15,
        "max-failures": 50,
        "suppress-health-check": ["all"],
        "cache": {"enabled": False},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {**{name: {"enabled": name in phases} for name in ("examples", "coverage", "fuzzing")},
                   "stateful": {"enabled": "stateful" in phases, "max-steps": STATEFUL_STEPS,
                                "generation": {"max-examples": STATEFUL_SCENARIOS}}},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    })


@dataclass
class Run:
    failures: list[str] = field(default_factory=list)
    answered: Counter = field(default_factory=Counter)  # (operationId, status) -> how many times
    finished: events.EngineFinished | None = None


def run(schema) -> Run:
    """Every phase the config enables, with what each check found and every status each operation answered."""
    result = Run()
    for event in engine_for(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, node in event.recorder.cases.items():
                interaction = event.recorder.interactions.get(case_id)
                if interaction is not None and interaction.response is not None:
                    operation_id = node.value.operation.definition.raw.get("operationId")
                    result.answered[operation_id, interaction.response.status_code] += 1
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        result.failures.append(f"{event.recorder.label} [{check.name}] {failure.title}: "
                                               f"{failure.message}\n{check.failure_info.code_sample}")
        elif isinstance(event, events.NonFatalError):
            result.failures.append(f"{event.label}: error {event.value!r}")
        elif isinstance(event, events.FatalError):
            result.failures.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            result.finished = event
            result.failures.extend(f"{f.title}: {f.message}" for f in event.failures)
    return result


@contextmanager
def booking_as_real_people():
    """In the stateful phase, whoever books is a person the practice can see: one who asks for the slots of
    the next two weeks, and books as someone with a real state, a partner for a couples session and none for
    one person, paying themselves with a date of birth. The links give the counselor, service, start and
    zone, so the booking goes through, and its id and tokens lead on to the operations that need them. The
    other phases fuzz these fields freely."""

    @schemathesis.hook.apply_to(operation_id=["listSlots", "createBooking"])
    def before_call(context, case, kwargs):
        if case.operation.path.endswith("/slots"):
            for name in ("from", "to"):  # the next two weeks, where the free slots are
                (case.query or {}).pop(name, None)
            return
        if not isinstance(case.body, dict):
            return
        case.body.update(client={"name": "Robin Client", "email": "robin@example.org", "state": "NY"},
                         insurance="self_pay", date_of_birth="1988-04-23")
        if case.body.get("service") == "couple-trial":
            case.body["partner"] = {"name": "Sam Partner", "email": "sam@example.org"}
        else:
            case.body.pop("partner", None)

    try:
        yield
    finally:
        schemathesis.hooks.unregister(before_call)


def assert_clean(result: Run) -> None:
    assert result.finished is not None and result.finished.stop_reason == StopReason.COMPLETED
    assert not result.failures, "\n\n".join(sorted(set(result.failures)))


# Generated requests, one operation at a time, on SQLite; the stateful phase below runs on PostgreSQL, so each
# engine is fuzzed once without running everything twice.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_examples_coverage_and_fuzzing_find_nothing_outside_the_document(app, seeded):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app,
                                            config=run_config(phases=["examples", "coverage", "fuzzing"]))
    result = run(schema)
    assert_clean(result)
    assert {operation for operation, _status in result.answered} == OPERATIONS
    # The real data is reached, not only refusals.
    assert result.answered["listCounselors", 200] and result.answered["listCounselors", 422]
    assert result.answered["listSlots", 200] and result.answered["getCounselor", 200]


# Sequences that follow the document's links: slots -> a booking -> reading, paying, rescheduling, cancelling
# it and opening its intake, with the tokens each answer gives. On PostgreSQL, the production engine, whose
# booking writes take the calendar's advisory lock (SQLite's take BEGIN IMMEDIATE, run by the phases above).
@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_the_stateful_phase_follows_links_through_a_booking_and_finds_nothing(app, seeded):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=run_config(phases=["stateful"]))
    with booking_as_real_people():
        result = run(schema)
    assert_clean(result)
    reached = {key for key, count in result.answered.items() if count}
    assert {("createBooking", 201), ("getBooking", 200), ("cancelBooking", 200), ("startPayment", 200),
            ("getIntake", 200)} <= reached, "\n".join(map(str, sorted(reached)))
