"""The booking endpoints are rate-limited per address (BOOKING_RATE_LIMIT), with a JSON 429 on the API."""
import pytest

from tests.factories import make_counselor


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "BOOKING_RATE_LIMIT": "3 per minute"}


def test_fourth_booking_attempt_in_a_minute_is_429(client, app):
    make_counselor(slug="ana")
    body = {"counselor": "ana", "service": "individual-trial", "start": "bad", "timezone": "UTC", "client": {}}
    statuses = [client.post("/api/v1/bookings", json=body).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"
    # Another address is not affected.
    other = client.post("/api/v1/bookings", json=body, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 422
