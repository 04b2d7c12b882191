"""Intake answers for tests: one calm, valid set to start from, overridden item by item."""

OMIT = object()  # valid_answers(x=OMIT) leaves item x out


def valid_answers(**overrides):
    """A calm, complete, low-risk answer set: routes to couples for a couple, individual for one person."""
    answers = {
        "seeking": "couples", "commitment": "leaning_in", "relationship_length_years": 6,
        "sign_doubts_honesty": 1, "sign_jealousy_conflict": 1, "sign_avoidance": 2, "sign_disconnection": 1,
        "sign_repeated_breaches": 0, "sources": ["unresolved_conflict"], "affair_status": "none",
        "csi4_1": 4, "csi4_2": 4, "csi4_3": 3, "csi4_4": 4,
        "phq2_1": 0, "phq2_2": 1, "gad2_1": 1, "gad2_2": 0, "substance_concern": False,
        "suicide_wished_dead": False, "suicide_better_off": False, "suicide_thoughts": False,
        "suicide_attempt_ever": False,
        "safety_afraid": False, "safety_hurt": False, "safety_threatened": False, "safety_forced": False,
        "safety_monitoring": 0, "safety_together_ok": "yes",
    }
    answers.update(overrides)
    return {key: value for key, value in answers.items() if value is not OMIT}
