"""The public directory and profile pages, as a prospective client uses them."""
from __future__ import annotations

import re

import pytest

from practice.counselors.models import Service
from practice.counselors.queries import DirectoryFilters, parse_filters
from practice.extensions import db
from tests.factories import make_counselor


def names_on(page: bytes) -> list[str]:
    return re.findall(r'<h3><a href="/counselors/[^"]+">([^<]+)</a>', page.decode())


@pytest.fixture
def practice(app):
    """Four counselors who differ in one way each, and one who is not listed."""
    return {
        "ana": make_counselor(name="Ana Alvarez", slug="ana", specialties=("infidelity_recovery",),
                              modalities=("gottman",), languages=("en", "es"), licenses=("NY", "NJ"),
                              accepts_couples=True, accepts_individual=False),
        "ben": make_counselor(name="Ben Brooks", slug="ben", specialties=("partner_violence", "trust_issues"),
                              modalities=("dbt",), languages=("en",), licenses=("TX",),
                              accepts_couples=False, accepts_individual=True),
        "cleo": make_counselor(name="Cleo Chen", slug="cleo", specialties=("attachment",),
                               modalities=("eft", "discernment"), languages=("en", "zh"), licenses=("CA", "NY")),
        "dev": make_counselor(name="Dev Desai", slug="dev", specialties=("jealousy_insecurity",),
                              modalities=("cbt",), languages=("en", "hi"), licenses=("CO",)),
        "hidden": make_counselor(name="Hal Hidden", slug="hal", specialties=("infidelity_recovery",),
                                 modalities=("gottman",), languages=("es",), licenses=("NY",), active=False),
    }


def test_directory_lists_active_counselors_by_name(client, practice):
    response = client.get("/counselors")
    assert response.status_code == 200
    assert names_on(response.data) == ["Ana Alvarez", "Ben Brooks", "Cleo Chen", "Dev Desai"]
    assert b"4 counselors" in response.data


def test_inactive_counselor_is_hidden_from_directory(client, practice):
    assert "Hal Hidden" not in names_on(client.get("/counselors?specialty=infidelity_recovery&language=es").data)


@pytest.mark.parametrize("query, expected", [
    ("specialty=partner_violence", ["Ben Brooks"]),
    ("specialty=infidelity_recovery", ["Ana Alvarez"]),
    ("modality=discernment", ["Cleo Chen"]),
    ("modality=eft", ["Cleo Chen"]),
    ("format=individual", ["Ben Brooks", "Cleo Chen", "Dev Desai"]),
    ("format=couple", ["Ana Alvarez", "Cleo Chen", "Dev Desai"]),
    ("state=NY", ["Ana Alvarez", "Cleo Chen"]),
    ("state=ny", ["Ana Alvarez", "Cleo Chen"]),
    ("language=es", ["Ana Alvarez"]),
    ("language=zh", ["Cleo Chen"]),
])
def test_directory_filters_by_one_criterion(client, practice, query, expected):
    assert names_on(client.get(f"/counselors?{query}").data) == expected


def test_directory_combines_filters(client, practice):
    page = client.get("/counselors?state=NY&format=couple&language=zh&specialty=attachment&modality=eft").data
    assert names_on(page) == ["Cleo Chen"]
    assert b"1 counselor" in page
    assert names_on(client.get("/counselors?state=NY&format=individual&language=es").data) == []


def test_empty_form_values_mean_any(client, practice):
    page = client.get("/counselors?specialty=&modality=&format=&state=&language=").data
    assert len(names_on(page)) == 4
    assert b"Clear filters" not in page


def test_filters_are_kept_in_the_form_and_can_be_cleared(client, practice):
    page = client.get("/counselors?state=NY").data.decode()
    assert 'method="get"' in page
    assert '<option value="NY" selected>' in page
    assert '<a href="/counselors">Clear filters</a>' in page
    assert "2 counselors" in page and "<title>Find a counselor (2 counselors)" in page


def test_no_match_shows_a_helpful_empty_state(client, practice):
    page = client.get("/counselors?state=WY").data
    assert names_on(page) == []
    assert b"No counselors match" in page
    assert b"Try removing one filter" in page


def test_unknown_filter_value_is_ignored_with_a_notice(client, practice):
    page = client.get("/counselors?specialty=astrology").data
    assert len(names_on(page)) == 4
    assert b"didn't match anything we offer" in page


def test_filter_labels_are_tied_to_their_selects(client, practice):
    page = client.get("/counselors").data.decode()
    for name in ("specialty", "modality", "format", "state", "language"):
        assert f'<label for="filter-{name}">' in page and f'id="filter-{name}" name="{name}"' in page


def test_parse_filters_reports_unknown_and_repeated_values():
    from werkzeug.datastructures import MultiDict

    filters, errors = parse_filters(MultiDict([("state", "ny"), ("format", "couple"), ("format", "individual"),
                                               ("modality", "reiki")]))
    assert filters == DirectoryFilters(state="NY")
    assert errors["format"] == ["Give one format at a time."]
    assert errors["modality"][0].startswith("Unknown modality 'reiki'. Choose one of: eft, gottman")


# --- profile ------------------------------------------------------------------------------------------------

def test_profile_shows_services_with_prices_and_durations(client, app):
    counselor = make_counselor(name="Ana Alvarez", slug="ana", pronouns="she/her", credentials="LMFT",
                               bio="First paragraph.\n\nSecond paragraph.", languages=("en", "es"),
                               specialties=("infidelity_recovery",), modalities=("gottman",))
    counselor.services.append(Service(slug="couples-session", name="Couples session", format="couple",
                                      duration_minutes=80, price=19050, currency="USD"))
    counselor.services.append(Service(slug="retired", name="Old package", format="couple", duration_minutes=60,
                                      price=5000, active=False))
    db.session.commit()
    page = client.get("/counselors/ana").data.decode()
    assert "<h1" in page and "Ana Alvarez" in page and "she/her" in page and "LMFT" in page
    assert "<p class=\"bio\">First paragraph.</p>" in page and "<p class=\"bio\">Second paragraph.</p>" in page
    assert "Recovery after an affair" in page and "Gottman Method" in page and "Spanish" in page
    assert "New York" in page
    # factory services: a free 30-minute individual trial and a $75 50-minute couple trial
    assert re.search(r"Individual trial session.*?Trial session.*?30 minutes.*?Free", page, re.S)
    assert re.search(r"Couples trial session.*?50 minutes.*?\$75<", page, re.S)
    assert re.search(r"Couples session.*?80 minutes.*?\$190\.50", page, re.S)
    assert "Old package" not in page
    assert '<section id="services"' in page


def test_profile_shows_initials_without_a_photo(client, app):
    make_counselor(name="Ana Maria Alvarez", slug="ana")
    page = client.get("/counselors/ana").data.decode()
    assert re.search(r'class="avatar avatar-initials avatar-large" aria-hidden="true">AMA</span>', page)


def test_profile_of_unknown_counselor_is_404(client, app):
    assert client.get("/counselors/nobody").status_code == 404


def test_profile_of_inactive_counselor_is_404(client, app):
    make_counselor(slug="gone", active=False)
    assert client.get("/counselors/gone").status_code == 404


def test_services_of_a_format_the_counselor_no_longer_offers_are_hidden(client, app):
    make_counselor(slug="solo", accepts_couples=False)
    page = client.get("/counselors/solo").data.decode()
    assert "Individual trial session" in page and "Couples trial session" not in page


def test_home_page_shows_counselor_cards(client, practice):
    page = client.get("/").data.decode()
    assert 'href="/counselors/ana"' in page
