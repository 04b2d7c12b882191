"""Counselors who fit a decision (INTAKE.md, matching hints): license in the client's state, the track's format,
then the hints met."""
from __future__ import annotations

from practice.extensions import db
from practice.intake.matching import AFFAIR_RECOVERY, DISCERNMENT, EFT, PARTNER_VIOLENCE, hints_for, matching_counselors
from tests.factories import make_counselor


def test_hints_follow_the_track_and_flags():
    assert hints_for("couples", []) == []
    assert hints_for("individual", ["ongoing_affair"]) == [AFFAIR_RECOVERY]
    assert hints_for("couples", ["infidelity", "past_wounds"]) == [AFFAIR_RECOVERY, EFT]
    assert hints_for("discernment", ["mixed_agenda"]) == [DISCERNMENT]
    assert hints_for("safety_review", ["ipv_risk", "infidelity"]) == [PARTNER_VIOLENCE, AFFAIR_RECOVERY]


def test_matching_needs_license_and_format_and_ranks_by_hints(app):
    gottman = make_counselor(name="Gia Gottman", licenses=("NY",), specialties=("trust_issues",),
                             modalities=("gottman",))
    eft = make_counselor(name="Eli Eft", licenses=("NY",), modalities=("eft",))
    both = make_counselor(name="Bo Both", licenses=("NY",), specialties=("infidelity_recovery",),
                          modalities=("eft",))
    make_counselor(name="Tex Elsewhere", licenses=("TX",), modalities=("gottman", "eft"))
    solo = make_counselor(name="Solo Individual", licenses=("NY",), modalities=("gottman",))
    solo.accepts_couples = False
    db.session.commit()

    found = matching_counselors("couples_with_individual", ["infidelity", "past_wounds"], state="NY")
    assert [m.counselor.name for m in found] == ["Bo Both", "Eli Eft", "Gia Gottman"]
    assert found[0].met == (AFFAIR_RECOVERY.label, EFT.label) and found[0].missing == ()
    assert found[1].missing == (AFFAIR_RECOVERY.label,)
    individual = matching_counselors("individual", ["ongoing_affair"], state="NY")
    assert individual[0].counselor.name in {"Bo Both", "Gia Gottman", "Solo Individual"}
    assert "Solo Individual" in [m.counselor.name for m in individual]
    assert matching_counselors("couples", [], state=None) == []
    assert [m.counselor.name for m in matching_counselors("couples", [], state="TX")] == ["Tex Elsewhere"]
    assert gottman and eft and both
