"""The routing engine: from each person's intake answers to a recommended track, with flags and reasons.

Implements the routing table of clinical/INTAKE.md and the JSON shapes of DESIGN.md ("Routing engine input").
Rules are tried in order R0, R1, R1b, R2, R3, R3b, R4, R5, R6 and the first that matches wins. Every rule
except R4 asks "does any partner ...", so trying them over all partners at once gives the couple the most
restrictive route either partner triggers. The engine recommends; staff decide.

Reasons name the rule and the evidence (flag codes, item ids, totals) and never quote free text. Partners are
numbered from 1 in reasons ("partner 1" is `partners[0]`); flags carry the 0-based index.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from practice.core.intake import (
    FORMATS, FREQUENT_AT, IPV_ITEMS, PAST_WOUND_SOURCES, SUICIDE_RISK_ITEMS, Flag, IntakeInvalid,
    Questionnaire, Scores, couple_flags, partner_flags, score, sort_flags, validate_answers,
)

TRACKS = ("couples", "couples_with_individual", "discernment", "individual", "safety_review")

PARTIAL_REASON = ("Only one partner's intake has arrived; routed on what has arrived and will be routed again "
                  "when the other arrives.")


class RoutingInputInvalid(IntakeInvalid):
    """The routing input is malformed; `errors` keys look like `format` or `partners[0].answers.csi4_1`."""
    summary = "The routing input is invalid."


def restrictiveness(track: str, urgent: bool, blocks_self_booking: bool = False) -> int:
    """How restrictive a route is, 0 (couples) to 6; adding a risk answer never lowers it.

    safety_review that blocks self-booking (6) > urgent safety_review (5) > safety_review (4) > individual (3)
    > discernment (2) > couples_with_individual (1) > couples (0). Individual ranks above discernment because
    it rules joint sessions out, while discernment is still a joint (if narrower) format; couples with
    individual support ranks above plain couples because it adds a condition.
    """
    if track == "safety_review":
        return 6 if blocks_self_booking else 5 if urgent else 4
    return {"individual": 3, "discernment": 2, "couples_with_individual": 1, "couples": 0}[track]


@dataclass(frozen=True)
class RoutingDecision:
    """A recommended route with its evidence; `to_json()` gives DESIGN.md's output shape."""
    track: str
    urgent: bool
    rule: str                       # the rule that decided the track, e.g. "R1b"
    flags: tuple[Flag, ...]
    reasons: tuple[str, ...]
    scores: tuple[Scores, ...]      # one per partner, in input order
    partial: bool                   # a couple with only one intake in
    blocks_self_booking: bool       # suicide_acute: staff must act before anyone books

    @property
    def restrictiveness(self) -> int:
        return restrictiveness(self.track, self.urgent, self.blocks_self_booking)

    def to_json(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "urgent": self.urgent,
            "flags": [flag.to_json() for flag in self.flags],
            "reasons": list(self.reasons),
            "scores": {name: [getattr(s, name) for s in self.scores]
                       for name in ("csi4", "phq2", "gad2", "trust_sign_load")},
            "partial": self.partial,
            "blocks_self_booking": self.blocks_self_booking,
            "rule": self.rule,
        }


# --- input ---------------------------------------------------------------------------------------------------

def route(payload: Any) -> dict[str, Any]:
    """Route DESIGN.md's input `{"format", "partners": [{"answers": {...}}, ...]}` to its output JSON.

    Raises RoutingInputInvalid (field-level errors) for a malformed envelope or invalid answers; never raises
    on valid input. Unknown keys in the envelope are ignored; unknown answer ids are not.
    """
    if not isinstance(payload, Mapping):
        raise RoutingInputInvalid({"input": ["Give a JSON object with format and partners."]})
    errors: dict[str, list[str]] = {}
    format = payload.get("format")
    if format not in FORMATS:
        errors["format"] = ["Choose one of: couple, individual."]
    partners = payload.get("partners")
    if not isinstance(partners, list):
        errors["partners"] = ["Give a list of partners, each with its answers."]
    else:
        for index, entry in enumerate(partners):
            if not isinstance(entry, Mapping):
                errors[f"partners[{index}]"] = ["Each partner must be an object with answers."]
            elif not isinstance(entry.get("answers"), Mapping):
                errors[f"partners[{index}].answers"] = ["Answers must be an object of question ids and values."]
    if errors:
        raise RoutingInputInvalid(errors)
    return decide(format, [entry["answers"] for entry in partners]).to_json()


def decide(format: str, partners_answers: Sequence[Mapping[str, Any]], *,
           questionnaire: Questionnaire | None = None) -> RoutingDecision:
    """Validate each partner's answers and route them (RoutingInputInvalid on invalid input)."""
    if format not in FORMATS:
        raise RoutingInputInvalid({"format": ["Choose one of: couple, individual."]})
    if not isinstance(partners_answers, (list, tuple)):
        raise RoutingInputInvalid({"partners": ["Give a list of partners, each with its answers."]})
    if format == "individual" and len(partners_answers) != 1:
        raise RoutingInputInvalid({"partners": ["The individual format takes exactly one person's answers."]})
    if format == "couple" and not 1 <= len(partners_answers) <= 2:
        raise RoutingInputInvalid({"partners": ["A couple takes one or two partners' answers."]})
    errors: dict[str, list[str]] = {}
    cleaned = []
    for index, answers in enumerate(partners_answers):
        prefix = f"partners[{index}].answers"
        if not isinstance(answers, Mapping):
            errors[prefix] = ["Answers must be an object of question ids and values."]
            continue
        try:
            cleaned.append(validate_answers(answers, format=format, questionnaire=questionnaire))
        except IntakeInvalid as invalid:
            errors.update({f"{prefix}.{key}": messages for key, messages in invalid.errors.items()})
    if errors:
        raise RoutingInputInvalid(errors)
    return _decide(format, cleaned)


# --- the rules -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Partner:
    index: int
    answers: Mapping[str, Any]
    scores: Scores
    codes: frozenset[str]


@dataclass(frozen=True)
class _Case:
    format: str
    partners: tuple[_Partner, ...]
    couple_codes: frozenset[str]

    def who(self, partner: _Partner) -> str:
        return "the client" if self.format == "individual" else f"partner {partner.index + 1}"

    def each(self, describe: Callable[[_Partner], str | None]) -> str | None:
        """The partners' evidence joined into one clause, or None when no partner has any."""
        clauses = [f"{self.who(p)} {text}" for p in self.partners if (text := describe(p))]
        return "; ".join(clauses) if clauses else None


@dataclass(frozen=True)
class _Match:
    rule: str
    track: str
    urgent: bool
    evidence: str
    consequence: str


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _r0(case: _Case) -> _Match | None:
    def describe(p: _Partner) -> str | None:
        said = []
        if "suicide_acute" in p.codes:
            said.append("reported thoughts of killing themselves right now (suicide_acute)")
        if "suicide_risk" in p.codes:
            items = ", ".join(i for i in SUICIDE_RISK_ITEMS if p.answers[i])
            said.append(f"answered yes to suicide screening questions (suicide_risk: {items})")
        return _and(said) if said else None
    evidence = case.each(describe)
    if evidence is None:
        return None
    acute = any("suicide_acute" in p.codes for p in case.partners)
    return _Match("R0", "safety_review", True, evidence,
                  "the intake goes to the top of the front-desk queue for a safety review"
                  + (", and self-booking is blocked until staff act" if acute else ""))


def _r1(case: _Case) -> _Match | None:
    def describe(p: _Partner) -> str | None:
        if "ipv_risk" not in p.codes:
            return None
        said = ["being afraid of their partner"] if p.answers["safety_afraid"] else []
        past_year = [what for item, what in (("safety_hurt", "physically hurt"), ("safety_threatened", "threatened"),
                                             ("safety_forced", "forced or pressured into sexual activity"))
                     if p.answers[item]]
        if past_year:
            said.append(f"being {_and(past_year)} by their partner in the past 12 months")
        items = ", ".join(i for i in IPV_ITEMS if p.answers[i])
        return f"reported {_and(said)} (ipv_risk: {items})"
    evidence = case.each(describe)
    if evidence is None:
        return None
    consequence = ("joint sessions are paused until each partner has a separate safety assessment"
                   if case.format == "couple" else
                   "staff review their safety with them before any session, and no joint sessions are offered")
    return _Match("R1", "safety_review", True, evidence, consequence)


def _r1b(case: _Case) -> _Match | None:
    def describe(p: _Partner) -> str | None:
        said = []
        if "coercive_control" in p.codes:
            if p.answers["safety_monitoring"] >= FREQUENT_AT:
                said.append("reported their partner often monitors or controls them "
                            f"(coercive_control: safety_monitoring {p.answers['safety_monitoring']})")
            if "control" in p.answers["sources"]:
                said.append("named control as a source of the mistrust (coercive_control: sources has control)")
        if "unsafe_together" in p.codes:
            said.append("would not feel safe speaking openly with their partner in the room (unsafe_together)")
        return _and(said) if said else None
    evidence = case.each(describe)
    if evidence is None:
        return None
    consequence = ("staff review safety before any joint session is booked" if case.format == "couple"
                   else "staff review their safety with them before sessions begin")
    return _Match("R1b", "safety_review", False, evidence, consequence)


def _r2(case: _Case) -> _Match | None:
    evidence = case.each(lambda p: "reported an ongoing affair (ongoing_affair)"
                         if "ongoing_affair" in p.codes else None)
    if evidence is None:
        return None
    consequence = ("individual sessions come first, starting with the partner involved in the affair"
                   if case.format == "couple" else "individual sessions come first")
    return _Match("R2", "individual", False, evidence, consequence)


_COMMITMENT_EVIDENCE = {
    "leaning_in": "wants to work on the relationship",
    "unsure": "is unsure about the relationship",
    "leaning_out": "is thinking of ending the relationship",
    "decided_to_end": "has decided to end the relationship",
}


def _r3(case: _Case) -> _Match | None:
    if "mixed_agenda" not in case.couple_codes:
        return None
    said = [f"{case.who(p)} {_COMMITMENT_EVIDENCE[p.answers['commitment']]} (commitment: {p.answers['commitment']})"
            for p in case.partners]
    return _Match("R3", "discernment", False, f"{' while '.join(said)}, a mixed agenda (mixed_agenda)",
                  "discernment counseling comes first, to help the couple decide on a direction together")


def _r3b(case: _Case) -> _Match | None:
    if "both_leaving" not in case.couple_codes:
        return None
    return _Match("R3b", "individual", False, "both partners have decided to end the relationship (both_leaving)",
                  "individual sessions are recommended rather than couples therapy")


def _r4(case: _Case) -> _Match | None:
    if case.format != "individual":
        return None
    seeking = case.partners[0].answers["seeking"]
    willing = case.partners[0].answers.get("partner_willing")
    if seeking == "couples" and willing == "yes":
        return _Match("R4", "couples", False, "the client is looking for couples sessions and expects their "
                      "partner to join (seeking: couples, partner_willing: yes)", "couples sessions are recommended")
    if seeking == "couples":
        evidence = ("the client is looking for couples sessions but has not said their partner would join "
                    f"(seeking: couples, partner_willing: {willing or 'not answered'})")
    else:
        evidence = f"the client is not looking for couples sessions (seeking: {seeking})"
    return _Match("R4", "individual", False, evidence, "individual sessions are recommended")


def _r5(case: _Case) -> _Match | None:
    if case.format != "couple":
        return None

    def describe(p: _Partner) -> str | None:
        said = []
        if "depression_screen" in p.codes:
            said.append(f"screened positive for depression (depression_screen, PHQ-2 {p.scores.phq2})")
        if "anxiety_screen" in p.codes:
            said.append(f"screened positive for anxiety (anxiety_screen, GAD-2 {p.scores.gad2})")
        if "substance_concern" in p.codes:
            said.append("reported alcohol or drug use causing problems (substance_concern)")
        # Read as one partner having both: past wounds named by someone who also shows >= 3 frequent signs.
        if "past_wounds" in p.codes and p.scores.trust_sign_load >= FREQUENT_AT:
            wounds = ", ".join(s for s in PAST_WOUND_SOURCES if s in p.answers["sources"])
            said.append(f"named past wounds as a source of the mistrust (past_wounds: {wounds}) with a "
                        f"trust-sign load of {p.scores.trust_sign_load}")
        return _and(said) if said else None
    evidence = case.each(describe)
    if evidence is None:
        return None
    return _Match("R5", "couples_with_individual", False, evidence,
                  "couples therapy is recommended with individual support alongside")


def _r6(case: _Case) -> _Match | None:
    if case.format != "couple":
        return None
    return _Match("R6", "couples", False, "none of R0 to R5 applies to the answers", "couples therapy is recommended")


_RULES = (_r0, _r1, _r1b, _r2, _r3, _r3b, _r4, _r5, _r6)
_FALLBACKS = {"R4", "R6"}  # always match for their format, so "also applies" would say nothing


def _decide(format: str, answers: Sequence[Mapping[str, Any]]) -> RoutingDecision:
    """Route validated answers: every rule is tried, the first match wins, later matches are noted."""
    flags = [flag for index, a in enumerate(answers) for flag in partner_flags(a, index)]
    partners = tuple(_Partner(index, a, score(a), frozenset(f.code for f in flags if f.partner == index))
                     for index, a in enumerate(answers))
    if format == "couple" and len(answers) == 2:
        flags += couple_flags(answers[0], answers[1])
    case = _Case(format, partners, frozenset(f.code for f in flags if f.partner is None))

    matches = [m for rule in _RULES if (m := rule(case)) is not None]
    winner = matches[0]  # R4 or R6 always matches, so there is one
    reasons = [f"{winner.rule}: {winner.evidence}, so {winner.consequence}."]
    reasons += [f"Also {m.rule}, outranked by {winner.rule}: {m.evidence}; on its own this would route to {m.track}."
                for m in matches[1:] if m.rule not in _FALLBACKS]
    partial = format == "couple" and len(answers) == 1
    if partial:
        reasons.append(PARTIAL_REASON)
    return RoutingDecision(
        track=winner.track, urgent=winner.urgent, rule=winner.rule, flags=tuple(sort_flags(flags)),
        reasons=tuple(reasons), scores=tuple(p.scores for p in partners), partial=partial,
        blocks_self_booking=any("suicide_acute" in p.codes for p in partners),
    )
