"""Erasing a person from the intake tables (practice.frontdesk.erasure).

- Their intakes are deleted: answers, progress, links.
- Self-booking blocks on their address are deleted (the address is the block's key).
- A routing decision is the booking's, made from everyone's answers. When no submitted intake of anyone else
  is left on the booking (an individual booking, or both partners erased, or a partner who never answered), the
  decision goes too. Otherwise it stays for the partner, without this person: their flags are removed, and the
  couple-level ones (mixed_agenda, both_leaving), which come from both people's answers; their scores become
  null; a reason stays only if every partner it names is one who remains. A line says that the rest was removed,
  and a written override reason is replaced by a sentence saying the same (staff may have written about the
  person in it). The track, urgency, rule and who decided stay: they are what the practice decided for the
  booking, and they name no one.
Runs in the caller's transaction; the caller commits.
"""
from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import delete, func, select

from practice.booking.models import Participant
from practice.extensions import db
from practice.intake.models import Intake, RoutingDecision, SelfBookingBlock
from practice.intake.service import ROLE_INDEX

ERASED_REASON = ("A person's intake on this booking was deleted under the retention rule; the flags, scores and "
                 "reasons that came from it were removed.")
ERASED_OVERRIDE_REASON = "The written reason was removed when a person's record on this booking was deleted."
_PARTNER_NUMBER = re.compile(r"\bpartner ([12])\b")


def erase_intakes(participant_ids: Iterable[int], emails: Iterable[str]) -> dict[str, int]:
    """Delete the intakes of these places on bookings and the blocks on these addresses, and take the person
    out of the bookings' routing decisions. Returns what was changed, as counts."""
    ids = sorted(set(participant_ids))
    addresses = sorted({e.strip().lower() for e in emails if e and e.strip()})
    counts = {"intakes": 0, "self_booking_blocks": 0, "routing_decisions_deleted": 0,
              "routing_decisions_trimmed": 0}
    if addresses:
        counts["self_booking_blocks"] = db.session.execute(
            delete(SelfBookingBlock).where(func.lower(SelfBookingBlock.email).in_(addresses))
            .execution_options(synchronize_session=False)).rowcount
    if not ids:
        return counts
    places = db.session.execute(
        select(Participant.booking_id, Participant.role).where(Participant.id.in_(ids))).all()
    counts["intakes"] = db.session.execute(delete(Intake).where(Intake.participant_id.in_(ids))
                                           .execution_options(synchronize_session=False)).rowcount
    erased: dict = {}
    for booking_id, role in places:
        erased.setdefault(booking_id, set()).add(ROLE_INDEX[role])
    for booking_id, indexes in erased.items():
        decision = db.session.scalar(select(RoutingDecision).where(RoutingDecision.booking_id == booking_id))
        if decision is None:
            continue
        others_answered = db.session.scalar(
            select(func.count(Intake.id)).join(Participant, Participant.id == Intake.participant_id)
            .where(Participant.booking_id == booking_id, Intake.submitted_at.is_not(None)))
        if not others_answered:
            db.session.delete(decision)
            counts["routing_decisions_deleted"] += 1
        else:
            _without(decision, indexes)
            counts["routing_decisions_trimmed"] += 1
    db.session.flush()
    return counts


def _without(decision: RoutingDecision, indexes: set[int]) -> None:
    """The decision with nothing left that came from the people at these places (0: booker, 1: partner)."""
    remaining = {index + 1 for index in range(2)} - {index + 1 for index in indexes}

    def keeps(reason: str) -> bool:
        named = {int(number) for number in _PARTNER_NUMBER.findall(reason)}
        return bool(named) and named <= remaining

    decision.flags = [flag for flag in decision.flags or []
                      if flag.get("partner") is not None and flag["partner"] not in indexes]
    decision.scores = {name: [None if place in indexes else value for place, value in enumerate(values)]
                       for name, values in (decision.scores or {}).items()}
    decision.reasons = [reason for reason in decision.reasons or [] if keeps(reason)] + [ERASED_REASON]
    if decision.override_reason:
        decision.override_reason = ERASED_OVERRIDE_REASON
