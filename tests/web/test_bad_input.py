"""Odd input answered plainly (a 4xx page), never a 500: found by reading the front desk's new code."""
from __future__ import annotations

import logging

import pytest

from tests.factories import make_counselor


@pytest.fixture
def service(app):
    with app.app_context():
        return make_counselor(name="Robin Vale", slug="robin-vale").services[0].slug


def test_a_time_near_year_one_on_a_public_booking_page_is_not_a_500(client, service):
    for start in ("0001-01-01T00:00+01:00", "9999-12-31T23:59-05:00"):
        response = client.get(f"/book/robin-vale/{service}/{start}")
        assert response.status_code < 500, (start, response.status_code)


def test_an_unexpected_error_logs_the_routes_pattern_never_a_links_secret(app, client, caplog, monkeypatch):
    from practice.intake import service

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "open_intake", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # served as in production: the error page, and the log line
    secret = "S3cretTokenValue_abcdefghijklmnopqrstuv"
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/intake/{secret}")
    assert response.status_code == 500
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/intake/<token>" in logged and secret not in logged


def test_an_id_longer_than_any_database_id_is_a_404(app, client):
    from tests.factories import make_user

    admin = make_user(role="admin")
    assert client.post("/staff/login", data={"email": admin.email,
                                             "password": "correct horse battery staple"}).status_code == 302
    huge = "9" * 30
    for url in (f"/staff/clients/{huge}", f"/staff/clients/{huge}/export", f"/staff/users/{huge}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/staff/clients/{2**31 - 1}", f"/staff/clients/{2**31}"):  # the largest id, unknown; one more
        assert client.get(url).status_code == 404, url
