"""The good-faith estimate's content (practice.core.estimate) and the identifiers it names
(practice.core.provider_ids): pure, no app."""
from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from practice.core.estimate import (ClientFacts, CounselorFacts, EstimateFacts, PracticeFacts, ServiceFacts,
                                    amount_text, build_estimate, date_text, sections)
from practice.core.provider_ids import format_tin, npi_is_valid, parse_npi, parse_service_code, parse_tin

PRACTICE = PracticeFacts(name="Harbor Trust Counseling", npi="1329475606", tin="842917365",
                         address="418 Linden Avenue, Suite 200\nBrooklyn, NY 11215")
COUNSELOR = CounselorFacts(name="Maya Okafor", credentials="LMFT", npi="1842917365", tin="")


def facts(**overrides) -> EstimateFacts:
    values = dict(
        client=ClientFacts(name="Robin Client", date_of_birth=date(1988, 4, 23)),
        trial=ServiceFacts(code="90847", name="Couples trial session", price=7500),
        course=[ServiceFacts(code="90847", name="Couples session", price=19000, expected_sessions=12)],
        currency="USD", counselor=COUNSELOR, practice=PRACTICE,
        session_on=date(2026, 12, 7), issued_on=date(2026, 12, 1),
    )
    values.update(overrides)
    return EstimateFacts(**values)


def test_the_estimate_lists_the_trial_and_the_expected_course_with_codes_sessions_and_charges():
    content = build_estimate(facts())
    assert content["lines"] == [
        {"section": "trial", "code": "90847", "description": "Couples trial session", "quantity": 1,
         "unit_charge": 7500, "total": 7500},
        {"section": "course", "code": "90847", "description": "Couples session", "quantity": 12,
         "unit_charge": 19000, "total": 228000},
    ]
    assert content["trial_total"] == 7500
    assert content["total"] == 235500
    assert content["currency"] == "USD"


def test_the_estimate_names_the_client_the_providers_and_its_dates():
    content = build_estimate(facts())
    assert content["client"] == {"name": "Robin Client", "date_of_birth": "1988-04-23"}
    assert content["issued_on"] == "2026-12-01" and content["session_on"] == "2026-12-07"
    assert content["practice"] == {"name": "Harbor Trust Counseling", "npi": "1329475606", "tin": "84-2917365",
                                   "address": "418 Linden Avenue, Suite 200\nBrooklyn, NY 11215"}
    # A counselor without a TIN of their own bills under the practice's.
    assert content["counselor"] == {"name": "Maya Okafor", "credentials": "LMFT", "npi": "1842917365",
                                    "tin": "84-2917365"}


def test_a_counselor_with_their_own_tin_is_shown_with_it():
    content = build_estimate(facts(counselor=CounselorFacts("Maya Okafor", "LMFT", "1842917365", "123456789")))
    assert content["counselor"]["tin"] == "12-3456789"
    assert content["practice"]["tin"] == "84-2917365"


def test_the_disclaimers_say_what_the_rule_requires():
    notes = " ".join(f"{n['title']} {n['text']}" for n in build_estimate(facts())["disclaimers"])
    assert "not a contract" in notes
    assert "other sessions or services" in notes and "new good-faith estimate" in notes
    assert "$400 or more above this estimate" in notes and "dispute" in notes
    assert "within 120 days" in notes and "1-800-985-3059" in notes and "www.cms.gov/nosurprises" in notes
    assert "will not change how we treat you" in notes
    assert "keep it" in notes


def test_the_content_is_plain_json():
    content = build_estimate(facts())
    assert json.loads(json.dumps(content)) == content


def test_a_trial_with_no_course_is_estimated_alone():
    content = build_estimate(facts(course=[]))
    assert [line["section"] for line in content["lines"]] == ["trial"]
    assert content["total"] == content["trial_total"] == 7500
    assert [g["title"] for g in sections(content)] == ["Your trial session on December 7, 2026"]


def test_impossible_facts_are_refused():
    with pytest.raises(ValueError):
        build_estimate(facts(trial=ServiceFacts(code="90847", name="Trial", price=-1)))
    with pytest.raises(ValueError):
        build_estimate(facts(course=[ServiceFacts(code="90847", name="Course", price=100, expected_sessions=0)]))


services = st.builds(ServiceFacts, code=st.sampled_from(["90791", "90834", "90847", ""]),
                     name=st.text(min_size=1, max_size=40), price=st.integers(0, 10_000_00),
                     expected_sessions=st.integers(1, 100))


@given(trial=services, course=st.lists(services, max_size=6))
def test_the_total_is_the_sum_of_the_lines_and_each_line_is_its_sessions_times_its_charge(trial, course):
    content = build_estimate(facts(trial=trial, course=course))
    assert content["total"] == sum(line["total"] for line in content["lines"])
    assert all(line["total"] == line["quantity"] * line["unit_charge"] for line in content["lines"])
    assert content["lines"][0]["quantity"] == 1  # the booked trial is one session, whatever its usual course
    assert sum(g["subtotal"] for g in sections(content)) == content["total"]


def test_money_and_dates_read_as_a_person_writes_them():
    assert amount_text(7500, "USD") == "$75.00"
    assert amount_text(228050, "usd") == "$2,280.50"
    assert amount_text(0, "USD") == "$0.00"
    assert amount_text(6000, "CAD") == "CAD 60.00"
    assert date_text("2026-12-07") == "December 7, 2026"


# --- identifiers ----------------------------------------------------------------------------------------

def test_npis_are_checked_with_their_luhn_digit():
    assert npi_is_valid("1234567893")  # the standard's own example
    assert not npi_is_valid("1234567890")
    assert parse_npi(" 1234-567-893 ") == "1234567893"
    assert parse_npi("") == ""
    with pytest.raises(ValueError, match="10 digits"):
        parse_npi("12345")
    with pytest.raises(ValueError, match="last digit"):
        parse_npi("1234567890")


def test_tins_are_nine_digits_shown_as_xx_xxxxxxx():
    assert parse_tin("84-2917365") == "842917365"
    assert parse_tin("") == ""
    assert format_tin("842917365") == "84-2917365"
    with pytest.raises(ValueError, match="9 digits"):
        parse_tin("84-29173")


def test_service_codes_are_five_letters_or_digits():
    assert parse_service_code(" 90834 ") == "90834"
    assert parse_service_code("h0004") == "H0004"
    assert parse_service_code("") == ""
    for wrong in ("9083", "908345", "90-83"):
        with pytest.raises(ValueError, match="5 letters or digits"):
            parse_service_code(wrong)
