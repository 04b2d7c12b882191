"""Which counselors fit a routing decision (INTAKE.md, "Matching hints"), for staff.

Always required: a license in the client's state of residence and the format the track needs. Preferred, one
hint per concern, each met by any of its specialties or modalities:
- ongoing_affair or infidelity -> affair recovery (Gottman-trained, or the infidelity_recovery specialty)
- past_wounds (which covers attachment_fears) -> EFT
- the discernment track -> discernment-counseling trained
- the safety_review track -> partner-violence trained
Counselors are listed by how many hints they meet, then by name; `hints_for` is pure and tested on its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from practice.counselors.models import Counselor, License
from practice.extensions import db

# The format each track's sessions take. A safety review starts with separate individual assessments.
TRACK_FORMAT = {
    "couples": "couple",
    "couples_with_individual": "couple",
    "discernment": "couple",
    "individual": "individual",
    "safety_review": "individual",
}


@dataclass(frozen=True)
class Hint:
    label: str
    specialties: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()

    def met_by(self, counselor: Counselor) -> bool:
        return bool(set(self.specialties) & set(counselor.specialties)
                    or set(self.modalities) & set(counselor.modalities))


AFFAIR_RECOVERY = Hint("affair recovery (Gottman-trained or infidelity recovery)", ("infidelity_recovery",),
                       ("gottman",))
EFT = Hint("Emotionally Focused Therapy for past wounds and attachment fears", (), ("eft",))
DISCERNMENT = Hint("discernment counseling", (), ("discernment",))
PARTNER_VIOLENCE = Hint("partner-violence trained", ("partner_violence",), ())


def hints_for(track: str, flag_codes: Iterable[str]) -> list[Hint]:
    """The preferred training for this track and these flags, most pressing first."""
    codes = set(flag_codes)
    hints = []
    if track == "safety_review":
        hints.append(PARTNER_VIOLENCE)
    if track == "discernment":
        hints.append(DISCERNMENT)
    if codes & {"ongoing_affair", "infidelity"}:
        hints.append(AFFAIR_RECOVERY)
    if codes & {"past_wounds", "attachment_fears"}:
        hints.append(EFT)
    return hints


@dataclass(frozen=True)
class Match:
    counselor: Counselor
    met: tuple[str, ...]
    missing: tuple[str, ...]


def matching_counselors(track: str, flag_codes: Iterable[str], *, state: str | None) -> list[Match]:
    """Active counselors licensed in `state` who see the track's format, best fit first (none without a state:
    a license can't be checked against nothing)."""
    if not state:
        return []
    format = TRACK_FORMAT[track]
    hints = hints_for(track, flag_codes)
    query = (select(Counselor).where(Counselor.active, Counselor.licenses.any(License.state == state))
             .options(selectinload(Counselor.tags), selectinload(Counselor.licenses)))
    found = []
    for counselor in db.session.scalars(query):
        if format not in counselor.formats:
            continue
        met = tuple(h.label for h in hints if h.met_by(counselor))
        missing = tuple(h.label for h in hints if not h.met_by(counselor))
        found.append(Match(counselor, met, missing))
    return sorted(found, key=lambda m: (-len(m.met), m.counselor.name))
