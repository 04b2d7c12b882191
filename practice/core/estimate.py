"""The good-faith estimate (45 CFR 149.610) a self-pay client is given before paying: pure, from plain facts to
the estimate's content, a JSON-able dict that is kept as given and shown as a page and as a PDF.

The estimate covers the booked trial session and the course expected to follow it (the counselor's other
sessions of the same kind, each with its usual number of sessions), names the client, the counselor and the
practice with their NPI, TIN and address, and says in plain words what the rule requires a client be told:
it is an estimate and not a contract, other care may be recommended and would be estimated separately, how to
dispute a bill that comes to $400 or more above it, that disputing does not affect care, and to keep a copy.

Nothing here reads a clock or a database: the date of issue is passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

from practice.core.provider_ids import format_tin

CONTENT_VERSION = 1
# The rule's threshold: a bill this far above the estimate may be disputed. It is set in US dollars.
DISPUTE_THRESHOLD_USD = 400
DISPUTE_DAYS = 120
HELP_DESK_PHONE = "1-800-985-3059"
HELP_DESK_WEB = "www.cms.gov/nosurprises"


@dataclass(frozen=True)
class ClientFacts:
    name: str
    date_of_birth: date


@dataclass(frozen=True)
class ServiceFacts:
    """One kind of session: its billing code, its name, how many of it the estimate expects and its price."""
    code: str
    name: str
    price: int  # minor units, per session
    expected_sessions: int = 1


@dataclass(frozen=True)
class CounselorFacts:
    name: str
    credentials: str
    npi: str
    tin: str  # "" when the counselor bills under the practice's


@dataclass(frozen=True)
class PracticeFacts:
    name: str
    npi: str
    tin: str
    address: str


@dataclass(frozen=True)
class EstimateFacts:
    client: ClientFacts
    trial: ServiceFacts  # the session booked (always one)
    course: Sequence[ServiceFacts]  # what usually follows it, if the client goes on
    currency: str
    counselor: CounselorFacts
    practice: PracticeFacts
    session_on: date  # the date of the booked session
    issued_on: date


def amount_text(minor: int, currency: str) -> str:
    """Money as an estimate shows it: always with cents, "$75.00" (other currencies by their code)."""
    whole, cents = divmod(minor, 100)
    figure = f"{whole:,}.{cents:02d}"
    return f"${figure}" if currency.upper() == "USD" else f"{currency.upper()} {figure}"


def build_estimate(facts: EstimateFacts) -> dict:
    """The estimate's content. Raises ValueError for facts no estimate can be made of (a negative price, a
    course of no sessions), which the caller's own rules already exclude."""
    lines = [_line("trial", facts.trial, quantity=1)]
    lines += [_line("course", service, quantity=service.expected_sessions) for service in facts.course]
    total = sum(line["total"] for line in lines)
    counselor, practice = facts.counselor, facts.practice
    return {
        "version": CONTENT_VERSION,
        "issued_on": facts.issued_on.isoformat(),
        "session_on": facts.session_on.isoformat(),
        "client": {"name": facts.client.name, "date_of_birth": facts.client.date_of_birth.isoformat()},
        "counselor": {
            "name": counselor.name, "credentials": counselor.credentials, "npi": counselor.npi,
            # The rule asks for each provider's TIN; a counselor who bills under the practice has the practice's.
            "tin": format_tin(counselor.tin or practice.tin),
        },
        "practice": {"name": practice.name, "npi": practice.npi, "tin": format_tin(practice.tin),
                     "address": practice.address},
        "currency": facts.currency.upper(),
        "lines": lines,
        "trial_total": lines[0]["total"],
        "total": total,
        "disclaimers": disclaimers(),
    }


def _line(section: str, service: ServiceFacts, *, quantity: int) -> dict:
    if service.price < 0:
        raise ValueError(f"{service.name}: a price can't be negative")
    if quantity < 1:
        raise ValueError(f"{service.name}: a course has at least one session")
    return {"section": section, "code": service.code, "description": service.name, "quantity": quantity,
            "unit_charge": service.price, "total": service.price * quantity}


def disclaimers() -> list[dict]:
    """What the rule requires a self-pay client be told, in the practice's own words: (title, text) pairs."""
    return [
        {"title": "This is an estimate",
         "text": "These are the charges we expect today, for the sessions we expect today. It is not a bill and "
                 "not a contract: it doesn't oblige you to book or pay for any of the sessions listed, and your "
                 "actual charges may be different if your care turns out differently."},
        {"title": "Other care may be recommended",
         "text": "As we get to know what you need, your counselor may suggest other sessions or services that "
                 "aren't listed here. Those would be scheduled separately, and we'd give you a new good-faith "
                 "estimate for them before they happen."},
        {"title": "If your bill is higher than this estimate",
         "text": f"If you are billed ${DISPUTE_THRESHOLD_USD} or more above this estimate, you have the right "
                 "to dispute the bill through the federal patient-provider dispute resolution process. Start it "
                 f"within {DISPUTE_DAYS} days of the date on the bill. To learn how, or to begin, call the "
                 f"No Surprises Help Desk at {HELP_DESK_PHONE} or visit {HELP_DESK_WEB}. A small fee applies, "
                 "and you'll be asked for a copy of this estimate and of the bill."},
        {"title": "Disputing never affects your care",
         "text": "Starting a dispute will not change how we treat you or the quality of the care you receive."},
        {"title": "Keep a copy",
         "text": "Please save or print this estimate and keep it. You'll need it if you ever want to dispute "
                 "a bill."},
    ]


# --- reading it back: what the page and the PDF show ------------------------------------------------------

def date_text(iso: str) -> str:
    """"2026-12-07" as "December 7, 2026"."""
    day = date.fromisoformat(iso)
    return f"{day:%B} {day.day}, {day.year}"


def sections(content: dict) -> list[dict]:
    """The lines in the two groups an estimate shows: the booked session, then the course that may follow."""
    trial = [line for line in content["lines"] if line["section"] == "trial"]
    course = [line for line in content["lines"] if line["section"] == "course"]
    groups = [{"title": f"Your trial session on {date_text(content['session_on'])}", "lines": trial,
               "subtotal": sum(line["total"] for line in trial)}]
    if course:
        groups.append({"title": "If you continue: the sessions a usual course includes", "lines": course,
                       "subtotal": sum(line["total"] for line in course)})
    return groups


NOT_ON_FILE = "not on file yet: ask the practice"


def shown(value: str) -> str:
    """An identifier as the estimate shows it: a blank one says so rather than leaving a gap."""
    return value or NOT_ON_FILE
