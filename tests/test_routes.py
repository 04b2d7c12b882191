"""Every route declares who may use it, so a new route can never be public by accident."""
import pytest

from practice import create_app
from practice.access import PUBLIC, declared_access
from tests.conftest import _base_config

# Routes that are meant to be public. Adding one here is a decision, reviewed like any other.
PUBLIC_PREFIXES = ("/", "/healthz", "/favicon.ico", "/counselors", "/photos/", "/static/", "/api/v1/", "/staff/login",
                   "/book", "/bookings/", "/embed", "/embed.js", "/policies", "/intake",
                   "/stripe/webhook",  # Stripe signs each request (DESIGN.md)
                   "/calendar/")  # a counselor's private feed: the secret token in the address is the access


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("routes")
    return create_app(_base_config(tmp, f"sqlite:///{tmp}/unused.sqlite3"))


def test_every_endpoint_declares_access(bare_app):
    undeclared = [rule.rule for rule in bare_app.url_map.iter_rules()
                  if declared_access(bare_app, rule.endpoint) is None]
    assert undeclared == []


def test_public_endpoints_are_the_expected_ones(bare_app):
    unexpected = [rule.rule for rule in bare_app.url_map.iter_rules()
                  if declared_access(bare_app, rule.endpoint) == PUBLIC
                  and not (rule.rule == "/" or rule.rule.startswith(PUBLIC_PREFIXES[1:]))]
    assert unexpected == []


def test_staff_pages_are_staff_only(bare_app):
    for rule in bare_app.url_map.iter_rules():
        if rule.rule.startswith("/staff") and rule.endpoint != "auth.login":
            assert declared_access(bare_app, rule.endpoint).kind == "staff", rule.rule


def test_undeclared_route_is_refused(tmp_path):
    app = create_app(_base_config(tmp_path, f"sqlite:///{tmp_path}/x.sqlite3"))

    @app.get("/forgot-to-declare")
    def forgot():
        return "secret"

    response = app.test_client().get("/forgot-to-declare")
    assert response.status_code == 403
    assert b"secret" not in response.data
