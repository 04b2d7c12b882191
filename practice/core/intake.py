"""The intake questionnaire: its items, answer validation, scores and flags (clinical/INTAKE.md).

Pure domain logic: no Flask, no database, no clock. Question wording lives only in `intake_items.yaml`, so a
practice can reword it without code changes; what the code relies on (item ids, types, option values, ranges,
required items) is the public contract and is checked against the data file when it is loaded.

Error messages never repeat the submitted value: answers are health information and errors may be logged.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import yaml

FORMATS = ("individual", "couple")
DEFAULT_ITEMS_PATH = Path(__file__).with_name("intake_items.yaml")

ITEM_TYPES = ("choice", "multi_choice", "freq5", "yesno", "number", "scale", "text")
SIGN_ITEMS = ("sign_doubts_honesty", "sign_jealousy_conflict", "sign_avoidance", "sign_disconnection",
              "sign_repeated_breaches")
SUICIDE_RISK_ITEMS = ("suicide_wished_dead", "suicide_better_off", "suicide_thoughts", "suicide_attempt_ever")
IPV_ITEMS = ("safety_afraid", "safety_hurt", "safety_threatened", "safety_forced")
SOURCES = ("infidelity", "deception", "inconsistency", "secrecy", "emotional_neglect", "control",
           "unresolved_conflict", "past_relationships", "family_of_origin", "attachment_fears")
PAST_WOUND_SOURCES = ("past_relationships", "family_of_origin", "attachment_fears")
# How we read the flags table's last row ("one per chosen `sources` value not covered above"): a value is
# covered when an earlier row names it. `control` is covered by coercive_control and the three past-wound
# values by past_wounds; nothing else names a source (ongoing_affair reads affair_status, not sources), so
# infidelity, deception, inconsistency, secrecy, emotional_neglect and unresolved_conflict each raise an
# info flag with the value as its code.
SOURCES_COVERED = frozenset({"control", *PAST_WOUND_SOURCES})
LEAVING = frozenset({"leaning_out", "decided_to_end"})
STAYING = frozenset({"leaning_in", "unsure"})

CSI4_DISTRESS_BELOW = 13.5   # Funk & Rogge 2007
SCREEN_POSITIVE_AT = 3       # PHQ-2 (Kroenke 2003) and GAD-2 (Kroenke 2007)
FREQUENT_AT = 3              # freq5 "often" or more: trust signs and partner monitoring

SEVERITIES = ("urgent", "concern", "info")  # most pressing first

NEEDS_ANSWER = "This question needs an answer."
UNKNOWN_QUESTION = "Unknown question."
NOT_FOR_FORMAT = "Unknown question for this format."

# Ids the code relies on, with their type and value set: a reworded data file must keep these exactly.
_YES_NO_UNSURE = ("yes", "no", "unsure")
_CONTRACT: dict[str, tuple[str, Any]] = {
    "seeking": ("choice", ("couples", "individual", "unsure")),
    "partner_willing": ("choice", _YES_NO_UNSURE),
    "relationship_length_years": ("number", (0, 80)),
    **{sign: ("freq5", (0, 4)) for sign in SIGN_ITEMS},
    "sources": ("multi_choice", SOURCES),
    "commitment": ("choice", ("leaning_in", "unsure", "leaning_out", "decided_to_end")),
    "affair_status": ("choice", ("none", "past_ended", "ongoing", "prefer_not_to_say")),
    "csi4_1": ("scale", (0, 6)),
    **{f"csi4_{n}": ("scale", (0, 5)) for n in (2, 3, 4)},
    **{item: ("scale", (0, 3)) for item in ("phq2_1", "phq2_2", "gad2_1", "gad2_2")},
    **{item: ("yesno", None) for item in (*SUICIDE_RISK_ITEMS, "suicide_now", *IPV_ITEMS)},
    "safety_monitoring": ("freq5", (0, 4)),
    "safety_together_ok": ("choice", _YES_NO_UNSURE),
    "substance_concern": ("yesno", None),
    "in_own_words": ("text", None),
}
_OPTIONAL = {"partner_willing", "relationship_length_years", "in_own_words"}


class IntakeInvalid(ValueError):
    """Answers that cannot be accepted; `errors` maps a field to plain messages for the person answering."""
    summary = "Some answers need attention."

    def __init__(self, errors: Mapping[str, Iterable[str]]):
        self.errors: dict[str, list[str]] = {key: list(messages) for key, messages in errors.items()}
        details = "".join(f"\n  {key}: {' '.join(messages)}" for key, messages in self.errors.items())
        super().__init__(self.summary + details)


class IntakeItemsError(ValueError):
    """The questionnaire data file is malformed or breaks the contract of clinical/INTAKE.md."""


@dataclass(frozen=True)
class Option:
    value: str | int | bool
    label: str


@dataclass(frozen=True)
class ShowIf:
    """Ask the item only when any of the named yes/no items is answered yes."""
    any_true: tuple[str, ...]

    def is_met(self, answers: Mapping[str, Any]) -> bool:
        return any(answers.get(item_id) is True for item_id in self.any_true)


@dataclass(frozen=True)
class Item:
    id: str
    type: str
    text: str
    options: tuple[Option, ...] = ()
    required: bool = False
    formats: tuple[str, ...] = FORMATS
    show_if: ShowIf | None = None
    min: int | float | None = None
    max: int | float | None = None
    max_length: int | None = None
    hint: str | None = None

    @property
    def option_values(self) -> tuple:
        return tuple(option.value for option in self.options)

    def applies_to(self, format: str) -> bool:
        return format in self.formats

    def is_required(self, answers: Mapping[str, Any], format: str) -> bool:
        """Required for this format, given the other answers (a conditional item only once it is shown)."""
        shown = self.show_if is None or self.show_if.is_met(answers)
        return self.required and self.applies_to(format) and shown


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class CrisisResources:
    heading: str
    message: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Questionnaire:
    sections: tuple[Section, ...]
    crisis_resources: CrisisResources | None = None
    version: str = ""
    _by_id: Mapping[str, Item] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {item.id: item for section in self.sections for item in section.items}
        object.__setattr__(self, "_by_id", MappingProxyType(by_id))

    @property
    def items(self) -> Mapping[str, Item]:
        """Every item by id, in data-file order."""
        return self._by_id

    def section(self, section_id: str) -> Section:
        """The section with this id (KeyError if there is none)."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    def for_format(self, format: str) -> Questionnaire:
        """The questionnaire as one person of this format sees it (items of the other format dropped)."""
        sections = tuple(
            Section(s.id, s.title, s.intro, tuple(i for i in s.items if i.applies_to(format)))
            for s in self.sections)
        return Questionnaire(sections, self.crisis_resources, self.version)


# --- loading -------------------------------------------------------------------------------------------------

def load_items(path: str | Path | None = None) -> Questionnaire:
    """The questionnaire from `path` (default: the bundled intake_items.yaml), parsed and checked once."""
    return _load_items(str(Path(path or DEFAULT_ITEMS_PATH).resolve()))


@functools.lru_cache(maxsize=8)
def _load_items(path: str) -> Questionnaire:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    if not isinstance(raw, dict) or not isinstance(raw.get("sections"), list):
        raise IntakeItemsError(f"{path}: expected a mapping with a list of sections")
    scales = raw.get("answer_scales") or {}
    sections = tuple(_parse_section(s, scales) for s in raw["sections"])
    crisis = raw.get("crisis_resources") or {}
    questionnaire = Questionnaire(
        sections=sections,
        crisis_resources=CrisisResources(str(crisis.get("heading", "")), str(crisis.get("message", "")),
                                         tuple(str(line) for line in crisis.get("lines", ()))),
        version=str(raw.get("version", "")),
    )
    _check_contract(questionnaire, path)
    return questionnaire


def _parse_section(raw: dict, scales: dict) -> Section:
    try:
        return Section(id=raw["id"], title=raw["title"], intro=str(raw.get("intro", "")).strip(),
                       items=tuple(_parse_item(item, scales) for item in raw["items"]))
    except (KeyError, TypeError) as exc:
        raise IntakeItemsError(f"section {raw!r:.60}: missing or malformed {exc}") from exc


def _parse_item(raw: dict, scales: dict) -> Item:
    kind = raw["type"]
    if kind not in ITEM_TYPES:
        raise IntakeItemsError(f"item {raw.get('id')}: unknown type {kind!r}")
    # freq5 and yesno share one label set; the other kinds carry their own options.
    options_raw = scales.get(kind) if kind in ("freq5", "yesno") else raw.get("options", ())
    options = tuple(Option(o["value"], str(o["label"])) for o in options_raw or ())
    low, high = raw.get("min"), raw.get("max")
    if kind in ("freq5", "scale") and options:
        low, high = min(o.value for o in options), max(o.value for o in options)
    show_if = raw.get("show_if")
    if show_if is not None and set(show_if) != {"any_true"}:
        raise IntakeItemsError(f"item {raw['id']}: show_if supports only any_true")
    return Item(
        id=raw["id"], type=kind, text=str(raw["text"]).strip(), options=options,
        required=bool(raw.get("required", False)), formats=tuple(raw.get("formats", FORMATS)),
        show_if=ShowIf(tuple(show_if["any_true"])) if show_if else None,
        min=low, max=high, max_length=raw.get("max_length"), hint=raw.get("hint"),
    )


def _check_contract(questionnaire: Questionnaire, path: str) -> None:
    """Refuse a data file whose ids, types, values or rules differ from clinical/INTAKE.md."""
    problems = []
    ids = [item.id for section in questionnaire.sections for item in section.items]
    if len(ids) != len(set(ids)):
        problems.append("item ids repeat")
    if set(ids) != set(_CONTRACT):
        problems.append(f"items differ from the contract: missing {sorted(set(_CONTRACT) - set(ids))}, "
                        f"unknown {sorted(set(ids) - set(_CONTRACT))}")
    for item in questionnaire.items.values():
        if item.id not in _CONTRACT:
            continue
        kind, values = _CONTRACT[item.id]
        if item.type != kind:
            problems.append(f"{item.id}: type must be {kind}")
        elif kind in ("choice", "multi_choice") and item.option_values != values:
            problems.append(f"{item.id}: option values must be {list(values)}")
        elif kind in ("freq5", "scale"):
            if not all(_is_int(v) for v in item.option_values) \
                    or sorted(item.option_values) != list(range(values[0], values[1] + 1)):
                problems.append(f"{item.id}: needs one label for each value {values[0]}..{values[1]}")
        elif kind == "number" and (item.min, item.max) != values:
            problems.append(f"{item.id}: range must be {values[0]}..{values[1]}")
        elif kind == "yesno" and sorted(map(repr, item.option_values)) != ["False", "True"]:  # not 0/1
            problems.append(f"{item.id}: needs yes/no labels (answer_scales.yesno)")
        if item.required != (item.id not in _OPTIONAL):
            problems.append(f"{item.id}: required must be {item.id not in _OPTIONAL}")
    checks = {
        "partner_willing": lambda i: i.formats == ("individual",),
        "suicide_now": lambda i: i.show_if == ShowIf(SUICIDE_RISK_ITEMS),
        "in_own_words": lambda i: i.max_length == 2000,
    }
    for item_id, check in checks.items():
        if item_id in questionnaire.items and not check(questionnaire.items[item_id]):
            problems.append(f"{item_id}: formats, show_if or max_length differ from the contract")
    for item in questionnaire.items.values():
        if item.id not in checks and (item.formats != FORMATS or item.show_if or item.max_length):
            problems.append(f"{item.id}: formats, show_if or max_length differ from the contract")
    if problems:
        raise IntakeItemsError(f"{path}: " + "; ".join(problems))


# --- validation ----------------------------------------------------------------------------------------------

_ABSENT = object()


class _Rejected(Exception):
    """One answer's problem, as the message shown next to the question."""


def _number_text(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # True is an int to Python, not to us


def _clean_value(item: Item, value: Any) -> Any:
    """The value to store, `_ABSENT` for a blank answer; raises _Rejected with a plain message."""
    if value is None:
        return _ABSENT
    if item.type == "choice":
        if isinstance(value, str) and value in item.option_values:
            return value
        raise _Rejected(f"Choose one of: {', '.join(item.option_values)}.")
    if item.type == "multi_choice":
        known = ", ".join(item.option_values)
        if not isinstance(value, (list, tuple)):
            raise _Rejected(f"Give a list chosen from: {known}.")
        if not all(isinstance(v, str) and v in item.option_values for v in value):
            raise _Rejected(f"Choose only from: {known}.")
        if len(set(value)) != len(value):
            raise _Rejected("Choose each answer only once.")
        return [v for v in item.option_values if v in value]  # data-file order, so equal answers store equal
    if item.type in ("freq5", "scale"):
        if _is_int(value) and item.min <= value <= item.max:
            return value
        raise _Rejected(f"Choose a whole number from {item.min} to {item.max}.")
    if item.type == "yesno":
        if isinstance(value, bool):
            return value
        raise _Rejected("Answer true (yes) or false (no).")
    if item.type == "number":
        # Whole or part years (0.5 for six months); never a bool, NaN or infinity.
        if (_is_int(value) or isinstance(value, float)) and math.isfinite(value) and item.min <= value <= item.max:
            return value
        raise _Rejected(f"Enter a number from {_number_text(item.min)} to {_number_text(item.max)}.")
    if item.type == "text":
        if not isinstance(value, str):
            raise _Rejected("Enter text.")
        value = value.strip()
        if not value:
            return _ABSENT
        if item.max_length is not None and len(value) > item.max_length:
            raise _Rejected(f"Keep this to {item.max_length:,} characters or fewer.")
        return value
    raise AssertionError(f"unhandled item type {item.type}")  # the loader admits only ITEM_TYPES


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise IntakeInvalid({"format": [f"Choose one of: {', '.join(FORMATS)}."]})


def _clean(answers: Any, allowed: Iterable[Item], format: str, questionnaire: Questionnaire,
           outside_message: str) -> tuple[dict, dict[str, list[str]]]:
    """Clean each given answer; ids outside `allowed` get `outside_message` (or the format message)."""
    if not isinstance(answers, Mapping):
        raise IntakeInvalid({"answers": ["Answers must be an object of question ids and values."]})
    allowed = {item.id: item for item in allowed}
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for item_id, item in allowed.items():  # data-file order
        if item_id not in answers:
            continue
        if not item.applies_to(format):
            errors[item_id] = [NOT_FOR_FORMAT]
            continue
        try:
            value = _clean_value(item, answers[item_id])
        except _Rejected as rejected:
            errors[item_id] = [str(rejected)]
            continue
        if value is not _ABSENT:
            cleaned[item_id] = value
    for key in answers:
        if key in allowed:
            continue
        known = questionnaire.items.get(key) if isinstance(key, str) else None
        if known is None:
            errors[str(key)] = [UNKNOWN_QUESTION]
        else:
            errors[key] = [NOT_FOR_FORMAT if not known.applies_to(format) else outside_message]
    return cleaned, errors


def validate_answers(answers: Mapping[str, Any], *, format: str,
                     questionnaire: Questionnaire | None = None) -> dict[str, Any]:
    """One person's complete intake, cleaned (data-file order, blanks dropped, text stripped).

    Raises IntakeInvalid with one entry per problem field: unknown ids, wrong types (a bool is never a
    number), values out of range, required items missing. `None` or blank text counts as not answered.
    `partner_willing` belongs to the individual format only. `suicide_now` is required once any suicide
    item is yes, and is kept (and counts) whenever it is given.
    """
    questionnaire = questionnaire or load_items()
    _check_format(format)
    cleaned, errors = _clean(answers, questionnaire.items.values(), format, questionnaire, UNKNOWN_QUESTION)
    for item in questionnaire.items.values():
        if item.id not in cleaned and item.id not in errors and item.is_required(cleaned, format):
            errors[item.id] = [NEEDS_ANSWER]
    if errors:
        raise IntakeInvalid(errors)
    return cleaned


def validate_section(answers: Mapping[str, Any], section_id: str, *, format: str,
                     questionnaire: Questionnaire | None = None, require_complete: bool = False) -> dict[str, Any]:
    """The answers given for one section, cleaned, for saving progress a section at a time.

    Only the items provided are checked, unless `require_complete` (the person pressed "next"): then the
    section's required items must be there too. Ids of other sections are refused. The whole intake is still
    checked by `validate_answers` on submission.
    """
    questionnaire = questionnaire or load_items()
    _check_format(format)
    try:
        section = questionnaire.section(section_id)
    except KeyError:
        raise IntakeInvalid({"section": ["Unknown section."]}) from None
    cleaned, errors = _clean(answers, section.items, format, questionnaire,
                             "This question belongs to another section.")
    if require_complete:
        for item in section.items:
            if item.id not in cleaned and item.id not in errors and item.is_required(cleaned, format):
                errors[item.id] = [NEEDS_ANSWER]
    if errors:
        raise IntakeInvalid(errors)
    return cleaned


# --- scores and flags ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scores:
    csi4: int             # 0-21
    phq2: int             # 0-6
    gad2: int             # 0-6
    trust_sign_load: int  # 0-5: sign_* items at "often" or more

    @property
    def relationship_distress(self) -> bool:
        return self.csi4 < CSI4_DISTRESS_BELOW

    @property
    def depression_screen(self) -> bool:
        return self.phq2 >= SCREEN_POSITIVE_AT

    @property
    def anxiety_screen(self) -> bool:
        return self.gad2 >= SCREEN_POSITIVE_AT


def score(answers: Mapping[str, Any]) -> Scores:
    """Totals of one person's validated answers (see validate_answers; KeyError on incomplete answers)."""
    return Scores(
        csi4=sum(answers[f"csi4_{n}"] for n in range(1, 5)),
        phq2=answers["phq2_1"] + answers["phq2_2"],
        gad2=answers["gad2_1"] + answers["gad2_2"],
        trust_sign_load=sum(1 for sign in SIGN_ITEMS if answers[sign] >= FREQUENT_AT),
    )


@dataclass(frozen=True)
class Flag:
    code: str
    partner: int | None  # index into the routing input's partners; None for couple-level flags
    severity: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "partner": self.partner, "severity": self.severity}


def trust_flag_code(sign_item: str) -> str:
    """`sign_doubts_honesty` -> `trust_doubts_honesty`."""
    return "trust_" + sign_item.removeprefix("sign_")


def partner_flags(answers: Mapping[str, Any], partner: int) -> list[Flag]:
    """The flags one person's validated answers raise (INTAKE.md, flags table), sorted."""
    scores = score(answers)
    sources = set(answers["sources"])
    raised = {
        "suicide_acute": ("urgent", answers.get("suicide_now") is True),
        "suicide_risk": ("urgent", any(answers[i] for i in SUICIDE_RISK_ITEMS)),
        "ipv_risk": ("urgent", any(answers[i] for i in IPV_ITEMS)),
        "coercive_control": ("concern", answers["safety_monitoring"] >= FREQUENT_AT or "control" in sources),
        "unsafe_together": ("concern", answers["safety_together_ok"] == "no"),
        "ongoing_affair": ("concern", answers["affair_status"] == "ongoing"),
        "relationship_distress": ("info", scores.relationship_distress),
        "depression_screen": ("concern", scores.depression_screen),
        "anxiety_screen": ("concern", scores.anxiety_screen),
        "substance_concern": ("concern", answers["substance_concern"]),
        "past_wounds": ("info", bool(sources & set(PAST_WOUND_SOURCES))),
        **{trust_flag_code(s): ("info", answers[s] >= FREQUENT_AT) for s in SIGN_ITEMS},
        **{source: ("info", True) for source in sources - SOURCES_COVERED},
    }
    return sort_flags(Flag(code, partner, severity) for code, (severity, on) in raised.items() if on)


def couple_flags(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[Flag]:
    """Couple-level flags, only meaningful once both intakes are in (partner is None)."""
    commitments = {first["commitment"], second["commitment"]}
    flags = []
    if commitments & LEAVING and commitments & STAYING:
        flags.append(Flag("mixed_agenda", None, "concern"))
    if commitments == {"decided_to_end"}:
        flags.append(Flag("both_leaving", None, "info"))
    return flags


def sort_flags(flags: Iterable[Flag]) -> list[Flag]:
    """Urgent first, then concern, then info; then by partner (couple-level first), then by code."""
    return sorted(flags, key=lambda f: (SEVERITIES.index(f.severity), -1 if f.partner is None else f.partner,
                                        f.code))
