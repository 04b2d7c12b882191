"""The routing engine (practice/core/routing.py) against the routing table of clinical/INTAKE.md."""
import copy
import json

import pytest
from hypothesis import given, settings, strategies as st

from practice.core.intake import IPV_ITEMS, SUICIDE_RISK_ITEMS, IntakeInvalid, load_items
from practice.core.routing import (
    PARTIAL_REASON, TRACKS, RoutingDecision, RoutingInputInvalid, decide, restrictiveness, route,
)
from tests.answers import OMIT, valid_answers


def couple(*partners):
    return route({"format": "couple", "partners": [{"answers": answers} for answers in partners]})


def individual(answers):
    return route({"format": "individual", "partners": [{"answers": answers}]})


def codes(decision, partner=...):
    return {f["code"] for f in decision["flags"] if partner is ... or f["partner"] == partner}


CALM = valid_answers()


# --- the calm baseline ---------------------------------------------------------------------------------------

def test_calm_couple_routes_to_couples_by_r6():
    decision = couple(CALM, CALM)
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("couples", False, "R6")
    assert decision["reasons"] == ["R6: none of R0 to R5 applies to the answers, so couples therapy is recommended."]
    assert decision["flags"] == [{"code": "unresolved_conflict", "partner": 0, "severity": "info"},
                                 {"code": "unresolved_conflict", "partner": 1, "severity": "info"}]


def test_calm_individual_routes_to_individual_by_r4():
    decision = individual(CALM)
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("individual", False, "R4")


# --- R0 ------------------------------------------------------------------------------------------------------

def test_r0_suicide_acute_is_urgent_safety_review_that_blocks_self_booking():
    decision = couple(CALM, valid_answers(suicide_thoughts=True, suicide_now=True))
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("safety_review", True, "R0")
    assert decision["blocks_self_booking"] is True
    assert {"suicide_acute", "suicide_risk"} <= codes(decision, 1)
    assert decision["reasons"][0].startswith("R0: partner 2 reported thoughts of killing themselves right now "
                                             "(suicide_acute)")
    assert "self-booking is blocked" in decision["reasons"][0]


@pytest.mark.parametrize("item_id", SUICIDE_RISK_ITEMS)
def test_r0_each_suicide_risk_item_is_urgent_safety_review(item_id):
    decision = couple(valid_answers(**{item_id: True}, suicide_now=False), CALM)
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("safety_review", True, "R0")
    assert decision["blocks_self_booking"] is False
    assert codes(decision, 0) >= {"suicide_risk"} and "suicide_acute" not in codes(decision)
    assert item_id in decision["reasons"][0]


def test_r0_suicide_now_counts_even_when_not_asked():
    decision = individual(valid_answers(suicide_now=True))
    assert (decision["rule"], decision["blocks_self_booking"]) == ("R0", True)
    assert "suicide_acute" in codes(decision) and "suicide_risk" not in codes(decision)


def test_r0_applies_to_the_individual_format():
    decision = individual(valid_answers(suicide_attempt_ever=True, suicide_now=False, partner_willing="yes"))
    assert (decision["track"], decision["urgent"]) == ("safety_review", True)


# --- R1, R1b -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("item_id", IPV_ITEMS)
@pytest.mark.parametrize("position", [0, 1])
def test_r1_each_partner_violence_item_pauses_joint_sessions(item_id, position):
    partners = [CALM, CALM]
    partners[position] = valid_answers(**{item_id: True})
    decision = couple(*partners)
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("safety_review", True, "R1")
    assert decision["blocks_self_booking"] is False
    assert {"code": "ipv_risk", "partner": position, "severity": "urgent"} in decision["flags"]
    assert decision["reasons"][0].startswith(f"R1: partner {position + 1} reported being ")
    assert decision["reasons"][0].endswith(
        "so joint sessions are paused until each partner has a separate safety assessment.")


def test_r1_reason_names_rule_and_evidence():
    decision = couple(valid_answers(safety_afraid=True), CALM)
    assert decision["reasons"] == [
        "R1: partner 1 reported being afraid of their partner (ipv_risk: safety_afraid), so joint sessions are "
        "paused until each partner has a separate safety assessment."]


@pytest.mark.parametrize("overrides,flag", [
    ({"safety_monitoring": 3}, "coercive_control"),
    ({"safety_monitoring": 4}, "coercive_control"),
    ({"sources": ["control"]}, "coercive_control"),
    ({"safety_together_ok": "no"}, "unsafe_together"),
], ids=["monitoring-3", "monitoring-4", "sources-control", "not-safe-together"])
def test_r1b_control_or_unsafe_together_is_non_urgent_safety_review(overrides, flag):
    decision = couple(CALM, valid_answers(**overrides))
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("safety_review", False, "R1b")
    assert {"code": flag, "partner": 1, "severity": "concern"} in decision["flags"]
    assert decision["reasons"][0].startswith("R1b: partner 2 ") and flag in decision["reasons"][0]


@pytest.mark.parametrize("overrides", [{"safety_monitoring": 2}, {"safety_together_ok": "unsure"}])
def test_r1b_does_not_fire_below_its_thresholds(overrides):
    assert couple(CALM, valid_answers(**overrides))["rule"] == "R6"


# --- R2 ------------------------------------------------------------------------------------------------------

def test_r2_ongoing_affair_routes_to_individual():
    decision = couple(valid_answers(affair_status="ongoing"), CALM)
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("individual", False, "R2")
    assert {"code": "ongoing_affair", "partner": 0, "severity": "concern"} in decision["flags"]


@pytest.mark.parametrize("status", ["none", "past_ended", "prefer_not_to_say"])
def test_r2_needs_an_ongoing_affair(status):
    decision = couple(valid_answers(affair_status=status), CALM)
    assert decision["rule"] == "R6" and "ongoing_affair" not in codes(decision)


# --- R3, R3b -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("leaving", ["leaning_out", "decided_to_end"])
@pytest.mark.parametrize("staying", ["leaning_in", "unsure"])
@pytest.mark.parametrize("leaver_first", [True, False])
def test_r3_mixed_agenda_routes_to_discernment_in_either_order(leaving, staying, leaver_first):
    pair = [valid_answers(commitment=leaving), valid_answers(commitment=staying)]
    decision = couple(*(pair if leaver_first else pair[::-1]))
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("discernment", False, "R3")
    assert {"code": "mixed_agenda", "partner": None, "severity": "concern"} in decision["flags"]


def test_r3b_both_decided_to_end_routes_to_individual():
    decision = couple(valid_answers(commitment="decided_to_end"), valid_answers(commitment="decided_to_end"))
    assert (decision["track"], decision["rule"]) == ("individual", "R3b")
    assert {"code": "both_leaving", "partner": None, "severity": "info"} in decision["flags"]
    assert "mixed_agenda" not in codes(decision)


@pytest.mark.parametrize("first,second", [("leaning_out", "decided_to_end"), ("leaning_out", "leaning_out"),
                                          ("unsure", "leaning_in")])
def test_commitments_on_the_same_side_raise_no_couple_flag(first, second):
    decision = couple(valid_answers(commitment=first), valid_answers(commitment=second))
    assert decision["rule"] == "R6" and not codes(decision) & {"mixed_agenda", "both_leaving"}


# --- R4 ------------------------------------------------------------------------------------------------------

def test_r4_seeking_couples_with_a_willing_partner_routes_to_couples():
    decision = individual(valid_answers(seeking="couples", partner_willing="yes"))
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("couples", False, "R4")


@pytest.mark.parametrize("seeking,willing", [("couples", "no"), ("couples", "unsure"), ("couples", OMIT),
                                             ("individual", "yes"), ("unsure", "yes"), ("individual", OMIT)])
def test_r4_otherwise_routes_to_individual(seeking, willing):
    decision = individual(valid_answers(seeking=seeking, partner_willing=willing))
    assert (decision["track"], decision["rule"]) == ("individual", "R4")


def test_r4_individual_format_ignores_couple_only_rules():
    decision = individual(valid_answers(phq2_1=3, partner_willing="yes", commitment="decided_to_end"))
    assert decision["rule"] == "R4" and decision["track"] == "couples"


# --- R5, R6 --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,flag", [
    ({"phq2_1": 2, "phq2_2": 1}, "depression_screen"),
    ({"gad2_1": 0, "gad2_2": 3}, "anxiety_screen"),
    ({"substance_concern": True}, "substance_concern"),
], ids=["depression", "anxiety", "substance"])
def test_r5_screens_add_individual_support(overrides, flag):
    decision = couple(CALM, valid_answers(**overrides))
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("couples_with_individual", False, "R5")
    assert {"code": flag, "partner": 1, "severity": "concern"} in decision["flags"]


@pytest.mark.parametrize("overrides", [{"phq2_1": 1, "phq2_2": 1}, {"gad2_1": 2, "gad2_2": 0}])
def test_r5_screens_below_three_do_not_fire(overrides):
    assert couple(CALM, valid_answers(**overrides))["rule"] == "R6"


def _wounded(load, wound="attachment_fears"):
    signs = ["sign_doubts_honesty", "sign_jealousy_conflict", "sign_avoidance", "sign_disconnection",
             "sign_repeated_breaches"]
    return valid_answers(sources=[wound] if wound else [], **{s: (3 if i < load else 1) for i, s in enumerate(signs)})


@pytest.mark.parametrize("wound", ["past_relationships", "family_of_origin", "attachment_fears"])
def test_r5_past_wounds_with_trust_sign_load_three(wound):
    decision = couple(_wounded(3, wound), CALM)
    assert decision["rule"] == "R5"
    assert decision["scores"]["trust_sign_load"] == [3, 0]
    assert "past_wounds" in decision["reasons"][0] and "trust-sign load of 3" in decision["reasons"][0]


def test_r5_past_wounds_with_trust_sign_load_two_is_not_enough():
    decision = couple(_wounded(2), CALM)
    assert decision["rule"] == "R6" and "past_wounds" in codes(decision, 0)


def test_r5_past_wounds_and_load_must_belong_to_the_same_partner():
    assert couple(_wounded(0), _wounded(5, wound=None))["rule"] == "R6"


# --- precedence ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("first,second,expected", [
    ({"safety_hurt": True}, {"affair_status": "ongoing"}, ("safety_review", True, "R1")),
    ({"safety_hurt": True, "affair_status": "ongoing"}, {}, ("safety_review", True, "R1")),
    ({"commitment": "leaning_out"}, {"phq2_1": 3, "phq2_2": 3}, ("discernment", False, "R3")),
    ({"suicide_wished_dead": True, "suicide_now": False}, {"safety_afraid": True}, ("safety_review", True, "R0")),
    ({"safety_monitoring": 4}, {"affair_status": "ongoing"}, ("safety_review", False, "R1b")),
    ({"affair_status": "ongoing", "commitment": "leaning_out"}, {}, ("individual", False, "R2")),
    ({"commitment": "decided_to_end", "substance_concern": True}, {"commitment": "decided_to_end"},
     ("individual", False, "R3b")),
], ids=["ipv-over-affair", "ipv-over-own-affair", "mixed-over-depression", "suicide-over-ipv",
        "control-over-affair", "affair-over-mixed", "both-leaving-over-substance"])
def test_first_matching_rule_wins_over_all_partners(first, second, expected):
    decision = couple(valid_answers(**first), valid_answers(**second))
    assert (decision["track"], decision["urgent"], decision["rule"]) == expected


def test_outranked_rules_are_still_given_as_reasons():
    decision = couple(valid_answers(suicide_wished_dead=True, suicide_now=False), valid_answers(safety_afraid=True))
    assert decision["reasons"][0].startswith("R0: partner 1 answered yes to suicide screening questions "
                                             "(suicide_risk: suicide_wished_dead)")
    assert decision["reasons"][1].startswith("Also R1, outranked by R0: partner 2 reported being afraid")


def test_individual_format_with_violence_goes_to_safety_review_not_couples():
    decision = individual(valid_answers(safety_threatened=True, partner_willing="yes"))
    assert (decision["track"], decision["urgent"], decision["rule"]) == ("safety_review", True, "R1")


# --- partial couples -----------------------------------------------------------------------------------------

def test_one_intake_of_a_couple_is_routed_and_marked_partial():
    decision = couple(valid_answers(commitment="decided_to_end", phq2_1=3))
    assert decision["partial"] is True
    assert (decision["track"], decision["rule"]) == ("couples_with_individual", "R5")
    assert decision["reasons"][-1] == PARTIAL_REASON
    assert not codes(decision) & {"mixed_agenda", "both_leaving"}
    assert all(len(values) == 1 for values in decision["scores"].values())


def test_complete_couple_and_individual_are_not_partial():
    assert couple(CALM, CALM)["partial"] is False
    assert individual(CALM)["partial"] is False
    assert PARTIAL_REASON not in couple(CALM, CALM)["reasons"]


# --- scores and flags ----------------------------------------------------------------------------------------

def test_scores_are_exact_per_partner():
    a = valid_answers(csi4_1=6, csi4_2=5, csi4_3=5, csi4_4=5, phq2_1=3, phq2_2=3, gad2_1=2, gad2_2=1,
                      sign_doubts_honesty=4, sign_jealousy_conflict=3, sign_avoidance=2)
    b = valid_answers(csi4_1=0, csi4_2=0, csi4_3=0, csi4_4=0, phq2_1=0, phq2_2=0, gad2_1=3, gad2_2=3)
    assert couple(a, b)["scores"] == {"csi4": [21, 0], "phq2": [6, 0], "gad2": [3, 6], "trust_sign_load": [2, 0]}


@pytest.mark.parametrize("total,distressed", [(13, True), (14, False)])
def test_relationship_distress_below_13_5(total, distressed):
    answers = valid_answers(csi4_1=total - 12, csi4_2=4, csi4_3=4, csi4_4=4)
    assert ("relationship_distress" in codes(couple(answers, CALM), 0)) is distressed


def test_flags_are_exact_for_a_crafted_answer_set():
    answers = valid_answers(
        suicide_better_off=True, suicide_now=False, safety_forced=True, safety_monitoring=1,
        safety_together_ok="unsure", affair_status="ongoing", csi4_1=2, csi4_2=2, csi4_3=2, csi4_4=2,
        phq2_1=1, phq2_2=1, gad2_1=2, gad2_2=2, substance_concern=True,
        sign_doubts_honesty=4, sign_jealousy_conflict=0, sign_avoidance=3, sign_disconnection=2,
        sign_repeated_breaches=3,
        sources=["infidelity", "deception", "inconsistency", "secrecy", "emotional_neglect", "control",
                 "unresolved_conflict", "past_relationships", "family_of_origin", "attachment_fears"],
    )
    decision = couple(answers, valid_answers(commitment="leaning_out"))
    expected = [
        ("ipv_risk", 0, "urgent"), ("suicide_risk", 0, "urgent"),
        ("mixed_agenda", None, "concern"),
        ("anxiety_screen", 0, "concern"), ("coercive_control", 0, "concern"), ("ongoing_affair", 0, "concern"),
        ("substance_concern", 0, "concern"),
        ("deception", 0, "info"), ("emotional_neglect", 0, "info"), ("inconsistency", 0, "info"),
        ("infidelity", 0, "info"), ("past_wounds", 0, "info"), ("relationship_distress", 0, "info"),
        ("secrecy", 0, "info"), ("trust_avoidance", 0, "info"), ("trust_doubts_honesty", 0, "info"),
        ("trust_repeated_breaches", 0, "info"), ("unresolved_conflict", 0, "info"),
        ("unresolved_conflict", 1, "info"),
    ]
    assert [(f["code"], f["partner"], f["severity"]) for f in decision["flags"]] == expected


@pytest.mark.parametrize("sign", ["doubts_honesty", "jealousy_conflict", "avoidance", "disconnection",
                                  "repeated_breaches"])
def test_each_trust_sign_at_often_raises_its_own_flag(sign):
    assert codes(couple(valid_answers(**{f"sign_{sign}": 3}), CALM), 0) >= {f"trust_{sign}"}
    assert f"trust_{sign}" not in codes(couple(valid_answers(**{f"sign_{sign}": 2}), CALM))


def test_covered_sources_raise_no_flag_of_their_own():
    decision = couple(valid_answers(sources=["control", "past_relationships", "family_of_origin",
                                             "attachment_fears"]), CALM)
    assert codes(decision, 0) == {"coercive_control", "past_wounds"}


# --- output shape and input errors ---------------------------------------------------------------------------

def test_output_has_the_design_shape_and_is_json():
    decision = couple(valid_answers(safety_afraid=True), CALM)
    assert set(decision) >= {"track", "urgent", "flags", "reasons", "scores", "partial", "blocks_self_booking"}
    assert decision["track"] in TRACKS and isinstance(decision["urgent"], bool)
    assert all(set(f) == {"code", "partner", "severity"} for f in decision["flags"])
    assert all(isinstance(reason, str) and reason for reason in decision["reasons"])
    assert set(decision["scores"]) == {"csi4", "phq2", "gad2", "trust_sign_load"}
    assert json.loads(json.dumps(decision)) == decision


def test_free_text_never_appears_in_the_output():
    secret = "He reads my diary every night zq9"
    decision = couple(valid_answers(in_own_words=secret, safety_afraid=True), valid_answers(in_own_words=secret))
    assert "zq9" not in json.dumps(decision) and "diary" not in json.dumps(decision)


def test_decide_gives_a_typed_decision_matching_route():
    decision = decide("couple", [CALM, valid_answers(affair_status="ongoing")])
    assert isinstance(decision, RoutingDecision) and decision.track == "individual"
    assert decision.to_json() == couple(CALM, valid_answers(affair_status="ongoing"))


@pytest.mark.parametrize("payload,key", [
    ([], "input"),
    ({"partners": [{"answers": CALM}]}, "format"),
    ({"format": "throuple", "partners": [{"answers": CALM}]}, "format"),
    ({"format": "couple"}, "partners"),
    ({"format": "couple", "partners": {"answers": CALM}}, "partners"),
    ({"format": "individual", "partners": []}, "partners"),
    ({"format": "individual", "partners": [{"answers": CALM}, {"answers": CALM}]}, "partners"),
    ({"format": "couple", "partners": []}, "partners"),
    ({"format": "couple", "partners": [{"answers": CALM}] * 3}, "partners"),
    ({"format": "couple", "partners": ["x"]}, "partners[0]"),
    ({"format": "couple", "partners": [{"answers": CALM}, {"answers": []}]}, "partners[1].answers"),
    ({"format": "couple", "partners": [{"answers": CALM}, {}]}, "partners[1].answers"),
])
def test_malformed_envelope_is_rejected_with_a_field_error(payload, key):
    with pytest.raises(RoutingInputInvalid) as caught:
        route(payload)
    assert key in caught.value.errors
    assert isinstance(caught.value, IntakeInvalid) and key in str(caught.value)


def test_invalid_answers_are_reported_per_partner():
    with pytest.raises(RoutingInputInvalid) as caught:
        couple(CALM, valid_answers(csi4_1=True, seeking=OMIT, partner_willing="yes"))
    assert caught.value.errors == {
        "partners[1].answers.csi4_1": ["Choose a whole number from 0 to 6."],
        "partners[1].answers.seeking": ["This question needs an answer."],
        "partners[1].answers.partner_willing": ["Unknown question for this format."],
    }


# --- properties ----------------------------------------------------------------------------------------------

def test_restrictiveness_orders_every_route():
    order = [("couples", False, False), ("couples_with_individual", False, False), ("discernment", False, False),
             ("individual", False, False), ("safety_review", False, False), ("safety_review", True, False),
             ("safety_review", True, True)]
    assert [restrictiveness(*route_) for route_ in order] == list(range(7))


# Calm values per risk group: in a calm group nothing fires, so with calm groups the lower rules (R1b to R6)
# get exercised too; otherwise four fair yes/no suicide items would send almost every example to R0.
_CALM_VALUES = {
    "suicide": {item_id: st.just(False) for item_id in (*SUICIDE_RISK_ITEMS, "suicide_now")},
    "ipv": {item_id: st.just(False) for item_id in IPV_ITEMS},
    "control": {"safety_monitoring": st.integers(0, 2), "safety_together_ok": st.sampled_from(["yes", "unsure"])},
    "affair": {"affair_status": st.sampled_from(["none", "past_ended", "prefer_not_to_say"])},
}


def _value(item, calm_groups):
    for group in calm_groups:
        if item.id in _CALM_VALUES[group]:
            return _CALM_VALUES[group][item.id]
    if item.type == "choice":
        return st.sampled_from(item.option_values)
    if item.type == "multi_choice":
        values = [v for v in item.option_values if not ("control" in calm_groups and v == "control")]
        return st.lists(st.sampled_from(values), unique=True)
    if item.type in ("freq5", "scale"):
        return st.integers(item.min, item.max)
    if item.type == "yesno":
        return st.booleans()
    if item.type == "number":
        return st.one_of(st.integers(item.min, item.max), st.floats(item.min, item.max, allow_nan=False))
    return st.text(max_size=300)


@st.composite
def answer_sets(draw, format, calm=None):
    """Valid answers for one person, built from the data file (optional items sometimes left out).

    calm=True keeps every risk group calm; otherwise each group is calm or not at random.
    """
    calm_groups = [g for g in _CALM_VALUES if calm or (calm is None and draw(st.booleans()))]
    answers = {}
    conditional = []
    for item in load_items().items.values():
        if not item.applies_to(format):
            continue
        if item.show_if:
            conditional.append(item)
        elif item.required or draw(st.booleans()):
            answers[item.id] = draw(_value(item, calm_groups))
    for item in conditional:  # asked once shown; may be given anyway
        if item.show_if.is_met(answers) or draw(st.booleans()):
            answers[item.id] = draw(_value(item, calm_groups))
    return answers


@st.composite
def payloads(draw):
    format = draw(st.sampled_from(["couple", "individual"]))
    count = draw(st.integers(1, 2)) if format == "couple" else 1
    calm = draw(st.sampled_from([True, None]))  # None: each partner draws its calm risk groups
    return {"format": format, "partners": [{"answers": draw(answer_sets(format, calm))} for _ in range(count)]}


RISKS = (*SUICIDE_RISK_ITEMS, "suicide_now", *IPV_ITEMS, "safety_monitoring", "safety_together_ok", "affair_status")


def with_risk(answers, risk, bump):
    """`answers` with one more risk answer, still valid."""
    answers = dict(answers)
    if risk == "safety_monitoring":
        answers[risk] = min(4, answers[risk] + bump)
    elif risk == "safety_together_ok":
        answers[risk] = "no"
    elif risk == "affair_status":
        answers[risk] = "ongoing"
    else:
        answers[risk] = True
        answers.setdefault("suicide_now", False)  # now asked, so it needs an answer
    return answers


def rank(decision):
    return restrictiveness(decision["track"], decision["urgent"], decision["blocks_self_booking"])


@settings(max_examples=300, deadline=None, database=None)
@given(payloads())
def test_engine_never_raises_on_valid_input_and_is_deterministic(payload):
    before = copy.deepcopy(payload)
    decision = route(payload)
    assert payload == before  # input not mutated
    assert decision == route(copy.deepcopy(payload))
    assert decision["track"] in TRACKS and decision["reasons"]
    assert decision["reasons"][0].startswith(f"{decision['rule']}: ")
    assert decision["partial"] == (payload["format"] == "couple" and len(payload["partners"]) == 1)
    assert all(len(v) == len(payload["partners"]) for v in decision["scores"].values())
    severities = ["urgent", "concern", "info"]
    keys = [(severities.index(f["severity"]), -1 if f["partner"] is None else f["partner"], f["code"])
            for f in decision["flags"]]
    assert keys == sorted(keys)
    assert decision["urgent"] == any(f["severity"] == "urgent" for f in decision["flags"])
    json.dumps(decision)


@settings(max_examples=300, deadline=None, database=None)
@given(payloads(), st.sampled_from(RISKS), st.integers(1, 4), st.integers(0, 1))
def test_adding_a_risk_answer_never_makes_the_route_less_restrictive(payload, risk, bump, who):
    who = min(who, len(payload["partners"]) - 1)
    riskier = copy.deepcopy(payload)
    riskier["partners"][who]["answers"] = with_risk(payload["partners"][who]["answers"], risk, bump)
    assert rank(route(riskier)) >= rank(route(payload))


@settings(max_examples=200, deadline=None, database=None)
@given(answer_sets("couple"), answer_sets("couple"))
def test_couple_route_is_at_least_as_restrictive_as_either_partner_alone(first, second):
    together = couple(first, second)
    assert rank(together) >= max(rank(couple(first)), rank(couple(second)))


@settings(max_examples=200, deadline=None, database=None)
@given(answer_sets("couple"), answer_sets("couple"))
def test_partner_order_does_not_change_the_route(first, second):
    one, other = couple(first, second), couple(second, first)
    assert (one["track"], one["urgent"], one["rule"]) == (other["track"], other["urgent"], other["rule"])
