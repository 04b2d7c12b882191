"""Intake items, answer validation and section saving (practice/core/intake.py, clinical/INTAKE.md)."""
from pathlib import Path

import pytest
import yaml

from practice.core.intake import (
    DEFAULT_ITEMS_PATH, IntakeInvalid, IntakeItemsError, load_items, validate_answers, validate_section,
)
from tests.answers import OMIT, valid_answers


def errors_of(answers, format="couple"):
    with pytest.raises(IntakeInvalid) as caught:
        validate_answers(answers, format=format)
    return caught.value.errors


# --- the data file -------------------------------------------------------------------------------------------

INTAKE_IDS = {
    "seeking", "partner_willing", "relationship_length_years", "sign_doubts_honesty", "sign_jealousy_conflict",
    "sign_avoidance", "sign_disconnection", "sign_repeated_breaches", "sources", "commitment", "affair_status",
    "csi4_1", "csi4_2", "csi4_3", "csi4_4", "phq2_1", "phq2_2", "gad2_1", "gad2_2", "suicide_wished_dead",
    "suicide_better_off", "suicide_thoughts", "suicide_attempt_ever", "suicide_now", "safety_afraid",
    "safety_hurt", "safety_threatened", "safety_forced", "safety_monitoring", "safety_together_ok",
    "substance_concern", "in_own_words",
}


def test_data_file_holds_every_intake_item_with_text_and_labels():
    questionnaire = load_items()
    assert set(questionnaire.items) == INTAKE_IDS
    for section in questionnaire.sections:
        assert section.title and section.intro
        for item in section.items:
            assert item.text.strip()
            assert all(option.label.strip() for option in item.options)
    assert [o.value for o in questionnaire.items["csi4_1"].options] == list(range(7))
    assert questionnaire.items["relationship_length_years"].min == 0
    assert questionnaire.items["relationship_length_years"].max == 80
    assert questionnaire.items["in_own_words"].max_length == 2000
    assert questionnaire.items["partner_willing"].formats == ("individual",)


def test_crisis_resources_are_data_with_988_and_911():
    text = " ".join(load_items().crisis_resources.lines)
    assert "988" in text and "911" in text


def test_load_items_is_cached():
    assert load_items() is load_items(DEFAULT_ITEMS_PATH)


def test_couple_format_view_drops_partner_willing():
    assert "partner_willing" not in load_items().for_format("couple").items
    assert "partner_willing" in load_items().for_format("individual").items


def _rewrite(tmp_path, change):
    raw = yaml.safe_load(Path(DEFAULT_ITEMS_PATH).read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "items.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _items(raw):
    return {item["id"]: item for section in raw["sections"] for item in section["items"]}


def test_practice_can_reword_questions_without_code_changes(tmp_path):
    def reword(raw):
        _items(raw)["seeking"]["text"] = "Which help would suit you?"
        _items(raw)["seeking"]["options"][0]["label"] = "Together"
    questionnaire = load_items(_rewrite(tmp_path, reword))
    assert questionnaire.items["seeking"].text == "Which help would suit you?"
    assert validate_answers(valid_answers(), format="couple", questionnaire=questionnaire)["seeking"] == "couples"


@pytest.mark.parametrize("change", [
    lambda raw: _items(raw)["seeking"]["options"].pop(),                     # a contract value removed
    lambda raw: _items(raw)["csi4_1"].update(type="freq5"),                  # type changed
    lambda raw: _items(raw)["phq2_1"].update(required=False),               # required rule changed
    lambda raw: raw["sections"][0]["items"].pop(0),                          # an item missing
    lambda raw: raw["sections"][0]["items"].append({"id": "x", "type": "yesno", "text": "?"}),  # unknown item
    lambda raw: _items(raw)["suicide_now"].pop("show_if"),                   # conditional rule lost
], ids=["option", "type", "required", "missing", "unknown", "show_if"])
def test_data_file_that_breaks_the_contract_is_refused(tmp_path, change):
    with pytest.raises(IntakeItemsError):
        load_items(_rewrite(tmp_path, change))


# --- whole intake --------------------------------------------------------------------------------------------

def test_calm_answers_are_valid_for_both_formats():
    assert validate_answers(valid_answers(), format="couple") == valid_answers()
    assert validate_answers(valid_answers(partner_willing="yes"), format="individual")["partner_willing"] == "yes"


def test_unknown_question_is_rejected():
    assert errors_of(valid_answers(favourite_colour="blue")) == {"favourite_colour": ["Unknown question."]}


def test_answers_must_be_an_object():
    assert "answers" in errors_of(["seeking"])


def test_unknown_format_is_rejected():
    with pytest.raises(IntakeInvalid) as caught:
        validate_answers(valid_answers(), format="family")
    assert "format" in caught.value.errors


@pytest.mark.parametrize("item_id", sorted(INTAKE_IDS - {"partner_willing", "relationship_length_years",
                                                          "in_own_words", "suicide_now"}))
def test_missing_required_item_is_rejected(item_id):
    assert errors_of(valid_answers(**{item_id: OMIT})) == {item_id: ["This question needs an answer."]}


@pytest.mark.parametrize("item_id", ["relationship_length_years", "in_own_words", "suicide_now"])
def test_optional_item_may_be_left_out(item_id):
    assert item_id not in validate_answers(valid_answers(**{item_id: OMIT}), format="couple")


def test_null_counts_as_not_answered():
    assert errors_of(valid_answers(seeking=None)) == {"seeking": ["This question needs an answer."]}
    assert "relationship_length_years" not in validate_answers(valid_answers(relationship_length_years=None),
                                                               format="couple")


def test_every_problem_is_reported_at_once():
    errors = errors_of(valid_answers(seeking="both", csi4_1=9, commitment=OMIT, nonsense=1))
    assert set(errors) == {"seeking", "csi4_1", "commitment", "nonsense"}


def test_error_messages_do_not_repeat_the_answer():
    errors = errors_of(valid_answers(seeking="my secret", in_own_words=12345))
    assert "my secret" not in str(errors) and "12345" not in str(errors)


# choice
def test_choice_accepts_a_listed_value_and_names_the_choices_otherwise():
    assert errors_of(valid_answers(safety_together_ok="maybe")) == {
        "safety_together_ok": ["Choose one of: yes, no, unsure."]}
    assert "commitment" in errors_of(valid_answers(commitment=1))
    assert "affair_status" in errors_of(valid_answers(affair_status=["none"]))


# freq5 and scale
@pytest.mark.parametrize("item_id,low,high", [("sign_avoidance", 0, 4), ("safety_monitoring", 0, 4),
                                              ("csi4_1", 0, 6), ("csi4_2", 0, 5), ("phq2_1", 0, 3),
                                              ("gad2_2", 0, 3)])
def test_scale_accepts_its_whole_range_and_nothing_else(item_id, low, high):
    for value in (low, high):
        assert validate_answers(valid_answers(**{item_id: value}), format="couple")[item_id] == value
    message = [f"Choose a whole number from {low} to {high}."]
    for bad in (low - 1, high + 1, 2.5, 2.0, "2", True, False, [2]):
        assert errors_of(valid_answers(**{item_id: bad})) == {item_id: message}, bad


def test_bool_is_never_a_number():
    assert "csi4_3" in errors_of(valid_answers(csi4_3=True))
    assert "relationship_length_years" in errors_of(valid_answers(relationship_length_years=True))


# yesno
@pytest.mark.parametrize("bad", [1, 0, "yes", "true", [True]])
def test_yesno_takes_only_true_or_false(bad):
    assert errors_of(valid_answers(substance_concern=bad)) == {
        "substance_concern": ["Answer true (yes) or false (no)."]}


# number
@pytest.mark.parametrize("value", [0, 80, 0.5, 12.25])
def test_relationship_length_accepts_whole_or_part_years(value):
    assert validate_answers(valid_answers(relationship_length_years=value),
                            format="couple")["relationship_length_years"] == value


@pytest.mark.parametrize("bad", [-1, 80.5, 81, "5", float("nan"), float("inf"), True])
def test_relationship_length_outside_0_to_80_is_rejected(bad):
    assert errors_of(valid_answers(relationship_length_years=bad)) == {
        "relationship_length_years": ["Enter a number from 0 to 80."]}


# multi_choice
def test_sources_takes_a_list_of_known_unique_values_in_data_file_order():
    cleaned = validate_answers(valid_answers(sources=["secrecy", "infidelity"]), format="couple")
    assert cleaned["sources"] == ["infidelity", "secrecy"]
    assert validate_answers(valid_answers(sources=[]), format="couple")["sources"] == []


@pytest.mark.parametrize("bad,message", [
    (["infidelity", "aliens"], "Choose only from:"),
    (["infidelity", 3], "Choose only from:"),
    (["secrecy", "secrecy"], "Choose each answer only once."),
    ("secrecy", "Give a list chosen from:"),
    ({"secrecy": True}, "Give a list chosen from:"),
])
def test_sources_rejects_unknown_duplicate_or_non_list(bad, message):
    assert errors_of(valid_answers(sources=bad))["sources"][0].startswith(message)


# text
def test_text_is_stripped_and_blank_counts_as_absent():
    assert validate_answers(valid_answers(in_own_words="  hello  "), format="couple")["in_own_words"] == "hello"
    assert "in_own_words" not in validate_answers(valid_answers(in_own_words=" \n "), format="couple")


def test_text_up_to_2000_characters_is_accepted_and_longer_rejected():
    assert len(validate_answers(valid_answers(in_own_words="x" * 2000 + "  "),
                                format="couple")["in_own_words"]) == 2000
    assert errors_of(valid_answers(in_own_words="x" * 2001)) == {
        "in_own_words": ["Keep this to 2,000 characters or fewer."]}
    assert errors_of(valid_answers(in_own_words=42)) == {"in_own_words": ["Enter text."]}


# suicide_now
@pytest.mark.parametrize("item_id", ["suicide_wished_dead", "suicide_better_off", "suicide_thoughts",
                                     "suicide_attempt_ever"])
def test_suicide_now_becomes_required_when_a_suicide_item_is_yes(item_id):
    assert errors_of(valid_answers(**{item_id: True})) == {"suicide_now": ["This question needs an answer."]}
    cleaned = validate_answers(valid_answers(**{item_id: True}, suicide_now=False), format="couple")
    assert cleaned["suicide_now"] is False


def test_suicide_now_given_when_not_asked_is_kept():
    assert validate_answers(valid_answers(suicide_now=True), format="couple")["suicide_now"] is True


def test_suicide_now_wrong_type_is_rejected_not_reported_missing():
    errors = errors_of(valid_answers(suicide_thoughts=True, suicide_now="no"))
    assert errors == {"suicide_now": ["Answer true (yes) or false (no)."]}


# partner_willing
def test_partner_willing_is_only_for_the_individual_format():
    assert errors_of(valid_answers(partner_willing="yes"), format="couple") == {
        "partner_willing": ["Unknown question for this format."]}
    assert "partner_willing" not in validate_answers(valid_answers(), format="individual")
    assert errors_of(valid_answers(partner_willing="perhaps"), format="individual") == {
        "partner_willing": ["Choose one of: yes, no, unsure."]}


# --- one section at a time -----------------------------------------------------------------------------------

def test_section_saves_only_what_was_given():
    assert validate_section({"phq2_1": 2}, "feeling", format="couple") == {"phq2_1": 2}
    assert validate_section({}, "feeling", format="couple") == {}


def test_section_checks_values_like_the_whole_intake():
    with pytest.raises(IntakeInvalid) as caught:
        validate_section({"phq2_1": True, "gad2_1": 7}, "feeling", format="couple")
    assert set(caught.value.errors) == {"phq2_1", "gad2_1"}


def test_section_refuses_other_sections_and_unknown_ids():
    with pytest.raises(IntakeInvalid) as caught:
        validate_section({"seeking": "couples", "zzz": 1}, "feeling", format="couple")
    assert caught.value.errors == {"seeking": ["This question belongs to another section."],
                                   "zzz": ["Unknown question."]}


def test_section_applies_the_format_rule():
    with pytest.raises(IntakeInvalid) as caught:
        validate_section({"partner_willing": "yes"}, "what_brings_you", format="couple")
    assert caught.value.errors == {"partner_willing": ["Unknown question for this format."]}
    assert validate_section({"partner_willing": "yes"}, "what_brings_you", format="individual") == {
        "partner_willing": "yes"}


def test_unknown_section_is_rejected():
    with pytest.raises(IntakeInvalid) as caught:
        validate_section({}, "nope", format="couple")
    assert caught.value.errors == {"section": ["Unknown section."]}


def test_complete_section_requires_its_own_items_including_conditional_ones():
    with pytest.raises(IntakeInvalid) as caught:
        validate_section({"suicide_thoughts": True}, "looking_after_you", format="couple", require_complete=True)
    assert set(caught.value.errors) == {"suicide_wished_dead", "suicide_better_off", "suicide_attempt_ever",
                                        "suicide_now"}
    complete = {"suicide_wished_dead": False, "suicide_better_off": False, "suicide_thoughts": False,
                "suicide_attempt_ever": False}
    assert validate_section(complete, "looking_after_you", format="couple", require_complete=True) == complete
