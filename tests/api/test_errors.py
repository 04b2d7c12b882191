"""Errors on /api/v1 are JSON of the documented shape, whatever raised them: the rate limit (429), a body over
the size limit (413), an unknown path (404) or method (405). Each body is checked against the document's own
schema, so the answer and /api/v1/openapi.json cannot drift apart."""
from __future__ import annotations

import pytest

from tests.api.document import assert_matches, documented
from tests.factories import make_counselor


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "BOOKING_RATE_LIMIT": "2 per minute",
            "MAX_CONTENT_LENGTH": 1024}


def test_the_rate_limit_answers_429_json_with_retry_after(client, app):
    make_counselor(slug="ana")
    for _ in range(2):
        assert client.get("/api/v1/bookings/00000000-0000-0000-0000-000000000000?token=x").status_code == 404
    response = client.get("/api/v1/bookings/00000000-0000-0000-0000-000000000000?token=x")
    assert response.status_code == 429
    assert response.get_json() == {"error": "too_many_requests",
                                   "message": "Too many requests. Wait a moment and try again."}
    assert int(response.headers["Retry-After"]) > 0
    assert_matches(client, response, "/api/v1/bookings/{booking_id}", "get")
    assert "Retry-After" in documented(client, "/api/v1/bookings/{booking_id}", "get", "429")["headers"]


def test_the_intake_api_shares_the_limit_and_its_answer(client, app):
    for _ in range(2):
        client.get("/api/v1/intakes/nope")
    response = client.get("/api/v1/intakes/nope")
    assert response.status_code == 429
    assert_matches(client, response, "/api/v1/intakes/{token}", "get")


def test_a_body_over_the_limit_is_413_json(client, app):
    response = client.post("/api/v1/bookings", json={"client": {"name": "x" * 2000}})
    assert response.status_code == 413
    assert response.get_json() == {"error": "request_entity_too_large"}
    assert_matches(client, response, "/api/v1/bookings", "post")


def test_an_unknown_path_or_method_is_json(client, app):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json() == {"error": "not_found"}
    wrong = client.delete("/api/v1/counselors")
    assert wrong.status_code == 405 and wrong.get_json() == {"error": "method_not_allowed"}
    assert wrong.headers["Allow"] and "GET" in wrong.headers["Allow"]
