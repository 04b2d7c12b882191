"""Headers, error pages, health, and configuration that every response and deployment relies on."""
import pytest

from config import normalize_database_url


def test_every_response_carries_security_headers(client):
    for path in ("/", "/healthz", "/no-such-page"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"


def test_strict_transport_security_over_https_only(client, app):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers  # plain HTTP, as in development
    over_https = client.get("/healthz", base_url="https://practice.test")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"We couldn" in response.data and b"Traceback" not in response.data


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found"}


def test_unexpected_error_is_a_friendly_500_without_details(app):
    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    boom.access = __import__("practice.access", fromlist=["PUBLIC"]).PUBLIC
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    assert b"secret detail" not in response.data


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("given, expected", [
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_database_url_spellings(given, expected):
    assert normalize_database_url(given) == expected


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    from practice import create_app

    monkeypatch.setenv("BASE_URL", "https://care.example.org/")
    monkeypatch.setenv("RATELIMIT_ENABLED", "false")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["BASE_URL"] == "https://care.example.org"
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert (tmp_path / "secret_key").exists()  # generated once, kept for restarts


def test_bad_environment_value_is_a_clear_error(monkeypatch, tmp_path):
    from config import ConfigError
    from practice import create_app

    monkeypatch.setenv("RATELIMIT_ENABLED", "maybe")
    with pytest.raises(ConfigError, match="RATELIMIT_ENABLED: expected true or false"):
        create_app({"INSTANCE_PATH": str(tmp_path)})
