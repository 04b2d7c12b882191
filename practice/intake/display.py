"""How answers read back to people: the option's label, in the data file's wording, section by section.

Used by a person's own review page and by the staff page (for those who may see answers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from practice.core.intake import Item, load_items


@dataclass(frozen=True)
class AnswerRow:
    item_id: str
    question: str
    answer: str | None  # None: not answered


@dataclass(frozen=True)
class AnswerSection:
    id: str
    title: str
    rows: tuple[AnswerRow, ...]


def answer_text(item: Item, value: Any, *, with_values: bool = False) -> str:
    """An answer as the person saw it: the option's label, or the number or text they gave. `with_values` adds
    a scale's number to its label (staff read scores)."""
    labels = {option.value: option.label for option in item.options}
    if item.type == "multi_choice":
        return ", ".join(labels.get(v, str(v)) for v in value) or "None of these"
    if item.type in ("choice", "freq5", "scale", "yesno"):
        label = labels.get(value, str(value))
        return f"{label} ({value})" if with_values and item.type in ("freq5", "scale") else label
    return f"{value:g}" if isinstance(value, float) else str(value)


def answer_sections(answers: Mapping[str, Any], format: str, *,
                    with_values: bool = False) -> tuple[AnswerSection, ...]:
    """Every section of this format with its questions and answers, a follow-up only where it was asked."""
    sections = []
    for section in load_items().for_format(format).sections:
        rows = tuple(AnswerRow(item.id, item.text, answer_text(item, answers[item.id], with_values=with_values)
                               if item.id in answers else None)
                     for item in section.items
                     if item.id in answers or item.show_if is None or item.show_if.is_met(answers))
        sections.append(AnswerSection(section.id, section.title, rows))
    return tuple(sections)
