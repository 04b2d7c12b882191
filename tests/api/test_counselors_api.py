"""GET /api/v1/counselors and /api/v1/counselors/{slug}: the shapes outside clients rely on (DESIGN.md)."""
from __future__ import annotations

import pytest

from practice.counselors.models import Service
from practice.extensions import db
from tests.conftest import statements_sent
from tests.factories import make_counselor

COUNSELOR_KEYS = {"slug", "name", "pronouns", "credentials", "headline", "bio", "timezone", "photo_url", "licenses",
                  "specialties", "modalities", "languages", "formats", "services", "profile_url"}
SERVICE_KEYS = {"slug", "name", "format", "duration_minutes", "price", "currency", "is_trial"}


@pytest.fixture
def practice(app):
    return [
        make_counselor(name="Ana Alvarez", slug="ana", specialties=("infidelity_recovery", "trust_issues"),
                       modalities=("gottman",), languages=("en", "es"), licenses=("NY", "NJ"),
                       accepts_individual=False, pronouns="she/her", timezone="America/New_York"),
        make_counselor(name="Ben Brooks", slug="ben", specialties=("partner_violence",), modalities=("dbt",),
                       languages=("en",), licenses=("TX",), accepts_couples=False, timezone="America/Chicago"),
        make_counselor(name="Cleo Chen", slug="cleo", specialties=("attachment",), modalities=("discernment", "eft"),
                       languages=("zh", "en"), licenses=("CA",), timezone="America/Los_Angeles"),
        make_counselor(name="Hal Hidden", slug="hal", specialties=("partner_violence",), active=False),
    ]


def slugs(response) -> list[str]:
    return [c["slug"] for c in response.get_json()["counselors"]]


def test_list_returns_active_counselors_in_an_object(client, practice):
    response = client.get("/api/v1/counselors")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"counselors"}
    assert slugs(response) == ["ana", "ben", "cleo"]
    for counselor in body["counselors"]:
        assert set(counselor) == COUNSELOR_KEYS


def test_counselor_object_matches_the_contract(client, practice):
    ana = client.get("/api/v1/counselors/ana").get_json()
    assert ana == {
        "slug": "ana", "name": "Ana Alvarez", "pronouns": "she/her", "credentials": "LMFT", "headline": "",
        "bio": "Helps couples rebuild trust.", "timezone": "America/New_York", "photo_url": None,
        "licenses": [{"state": "NJ", "number": ana["licenses"][0]["number"]},
                     {"state": "NY", "number": ana["licenses"][1]["number"]}],
        "specialties": ["trust_issues", "infidelity_recovery"], "modalities": ["gottman"], "languages": ["en", "es"],
        "formats": ["couple"],
        # the individual trial is left out: Ana sees couples only
        "services": [{"slug": "couple-trial", "name": "Couples trial session", "format": "couple",
                      "duration_minutes": 50, "price": 7500, "currency": "USD", "is_trial": True}],
        "profile_url": "http://practice.test/counselors/ana",
    }


def test_services_list_only_active_ones_with_prices_in_minor_units(client, practice):
    cleo = practice[2]
    cleo.services.append(Service(slug="retired", name="Retired", format="couple", duration_minutes=60, price=100,
                                 active=False))
    cleo.services.append(Service(slug="couples-session", name="Couples session", format="couple",
                                 duration_minutes=80, price=19050, currency="USD"))
    db.session.commit()
    services = client.get("/api/v1/counselors/cleo").get_json()["services"]
    assert [s["slug"] for s in services] == ["couple-trial", "individual-trial", "couples-session"]
    assert all(set(s) == SERVICE_KEYS for s in services)
    assert [s["price"] for s in services] == [7500, 0, 19050]
    assert [s["is_trial"] for s in services] == [True, True, False]


def test_photo_url_is_absolute_from_base_url(client, app):
    counselor = make_counselor(slug="pic")
    counselor.photo = "0123456789abcdef0123456789abcdef.jpg"
    db.session.commit()
    body = client.get("/api/v1/counselors/pic", headers={"Host": "evil.example"}).get_json()
    assert body["photo_url"] == "http://practice.test/photos/0123456789abcdef0123456789abcdef.jpg"
    assert body["profile_url"] == "http://practice.test/counselors/pic"


@pytest.mark.parametrize("query, expected", [
    ("specialty=partner_violence", ["ben"]),
    ("modality=discernment", ["cleo"]),
    ("state=CA", ["cleo"]),
    ("state=ny", ["ana"]),
    ("language=es", ["ana"]),
    ("format=couple", ["ana", "cleo"]),
    ("format=individual", ["ben", "cleo"]),
    ("language=en&format=couple&state=NJ&specialty=trust_issues&modality=gottman", ["ana"]),
    ("specialty=blended_families", []),
])
def test_list_filters(client, practice, query, expected):
    response = client.get(f"/api/v1/counselors?{query}")
    assert response.status_code == 200
    assert slugs(response) == expected


def test_unknown_filter_value_is_422_with_field_errors(client, practice):
    response = client.get("/api/v1/counselors?specialty=x&state=ZZ&language=es")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(response.get_json()) == {"errors"}
    assert set(errors) == {"specialty", "state"}
    assert errors["specialty"] == ["Unknown specialty 'x'. Choose one of: trust_issues, infidelity_recovery, "
                                   "jealousy_insecurity, communication, attachment, emotional_distance, "
                                   "separation_decisions, partner_violence, anxiety_depression, blended_families."]
    assert errors["state"][0].startswith("Unknown state 'ZZ'. Choose one of: AL, AK")


def test_repeated_filter_is_422(client, practice):
    response = client.get("/api/v1/counselors?format=couple&format=individual")
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"format": ["Give one format at a time."]}}


def test_empty_filter_values_are_422_with_field_errors(client, practice):
    # The document's enums have no empty value; the web directory's form sends them, the API refuses them.
    response = client.get("/api/v1/counselors?state=&specialty=&language=es")
    assert response.status_code == 422
    assert response.get_json() == {"errors": {
        "specialty": ["Give a specialty, or leave the parameter out to list counselors of any specialty."],
        "state": ["Give a state, or leave the parameter out to list counselors of any state."]}}
    assert client.get("/api/v1/counselors?format=%20").status_code == 422
    assert client.get("/api/v1/counselors?format=couple&format=").status_code == 422


@pytest.mark.parametrize("query", ["specialty=Trust_Issues", "specialty=%20trust_issues", "format=COUPLE"])
def test_the_api_takes_codes_exactly_as_documented(client, practice, query):
    response = client.get(f"/api/v1/counselors?{query}")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [query.split("=")[0]]


def test_the_web_directory_still_forgives_spacing_and_case(client, practice):
    page = client.get("/counselors?specialty=%20Trust_Issues%20&format=COUPLE").data.decode()
    assert "Ana Alvarez" in page and "Ben Brooks" not in page


def test_unknown_counselor_is_404_json(client, practice):
    response = client.get("/api/v1/counselors/nobody")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found"}


def test_inactive_counselor_is_404_and_not_listed(client, practice):
    assert client.get("/api/v1/counselors/hal").get_json() == {"error": "not_found"}
    assert "hal" not in slugs(client.get("/api/v1/counselors?specialty=partner_violence"))


def counting_queries():
    # SELECTs only, not BEGIN and friends: those depend on timing
    return statements_sent(keep=lambda statement: statement.lstrip().upper().startswith("SELECT"))


@pytest.mark.parametrize("path", ["/api/v1/counselors", "/counselors"])
def test_directory_issues_the_same_number_of_queries_for_3_or_30_counselors(client, app, path):
    for n in range(3):
        make_counselor(licenses=("NY", "CA"), specialties=("trust_issues", "attachment"))
    client.get(path)  # warm up: anything loaded once per process is not what is measured
    db.session.rollback()
    with counting_queries() as few:
        assert client.get(path).status_code == 200
    for n in range(27):
        make_counselor(licenses=("NY", "CA"), specialties=("trust_issues", "attachment"))
    db.session.rollback()
    with counting_queries() as many:
        response = client.get(path)
    assert response.status_code == 200
    if path.startswith("/api"):
        assert len(slugs(response)) == 30
    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 6
