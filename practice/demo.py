"""`flask --app app seed-demo`: a small, realistic demo practice to click through.

Idempotent: counselors are matched by slug, their services by slug and licenses by state, staff by email; a
second run finds everything as the first left it and writes nothing. Edits made to demo records are set back to
the seed's values. All writes go through the domain services, so rules and the audit log apply as in the app.

The data is the DEMO_COUNSELORS table below; each part of the practice has its own seed_* function, so later
parts (weekly hours, bookings) add a field to DemoCounselor and a function here.
"""
from __future__ import annotations

import logging
import time as pytime
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from practice import clock
from practice.auth import service as auth_service
from practice.auth.models import User
from practice.counselors import queries
from practice.counselors import service as counselor_service
from practice.counselors.models import Counselor
from practice.extensions import db
from practice.scheduling.service import ScheduleInvalid

log = logging.getLogger(__name__)

# Who the audit log names for the seed's writes.
SEED_ACTOR = SimpleNamespace(id=None, email="flask seed-demo", role="command line")


@dataclass(frozen=True)
class DemoService:
    slug: str
    name: str
    format: str  # individual | couple
    minutes: int
    price: int  # minor units (cents)
    trial: bool = False
    buffer: int = 10
    description: str = ""
    code: str = ""  # billing code (CPT) on good-faith estimates
    expected_sessions: int = 1  # in a usual course


@dataclass(frozen=True)
class DemoCounselor:
    slug: str
    name: str
    pronouns: str
    credentials: str
    timezone: str
    licenses: dict[str, str]  # state -> license number
    formats: tuple[str, ...]
    specialties: tuple[str, ...]
    modalities: tuple[str, ...]
    languages: tuple[str, ...]
    headline: str
    bio: str
    services: tuple[DemoService, ...] = field(default=())
    npi: str = ""


# Who the practice is on a good-faith estimate (made-up, well-formed numbers).
PRACTICE_DETAILS = {"npi": "1329475606", "tin": "84-2917365",
                    "address": "418 Linden Avenue, Suite 200\nBrooklyn, NY 11215"}


# Trials: some free, some paid, individual and couple. Every counselor also has one regular session. Codes (for
# good-faith estimates): a first assessment is 90791, an individual session of about 50 minutes 90834, a session
# with a couple 90847; a usual course is a dozen sessions (discernment counseling: at most five).
def _free_individual_consult(minutes: int = 20) -> DemoService:
    return DemoService("individual-consult", "Free individual consultation", "individual", minutes, 0, trial=True,
                       code="90791",
                       description="A short first conversation to talk about what brings you here and whether "
                                   "we're a good fit.")


DEMO_COUNSELORS: tuple[DemoCounselor, ...] = (
    DemoCounselor(
        slug="maya-okafor", name="Maya Okafor", pronouns="she/her", credentials="LMFT",
        timezone="America/New_York", licenses={"NY": "LMFT-058213", "NJ": "37FC00412300"},
        formats=("individual", "couple"),
        specialties=("infidelity_recovery", "trust_issues", "communication"),
        modalities=("eft", "gottman"), languages=("en",),
        headline="Helping couples find their footing again after an affair or a long stretch of secrecy.",
        bio="Finding out about an affair can make the ground feel like it has disappeared. Many couples come to me "
            "wanting to know, first of all, whether what they had can be repaired. We start there, slowly, making "
            "room for the partner who was hurt to be heard and for the partner who broke the agreement to take "
            "real responsibility.\n\n"
            "My work draws on Emotionally Focused Therapy, which looks at the need for closeness underneath the "
            "fights, and on the Gottman Method's practical tools for talking and repairing. Trust comes back "
            "through small promises kept over time, and I help you notice them.",
        npi="1842917365",
        services=(
            _free_individual_consult(),
            DemoService("couple-trial", "Couples trial session", "couple", 50, 6000, trial=True, code="90847",
                        description="A first session together: what happened, what each of you hopes for, and "
                                    "how we would work."),
            DemoService("couples-session", "Couples session", "couple", 80, 19000, code="90847", expected_sessions=12),
        ),
    ),
    DemoCounselor(
        slug="daniel-reyes", name="Daniel Reyes", pronouns="he/him", credentials="LCSW",
        timezone="America/Chicago", licenses={"IL": "149.021877", "TX": "LCSW-66120"},
        formats=("individual",),
        specialties=("jealousy_insecurity", "anxiety_depression", "attachment"),
        modalities=("cbt", "ifs"), languages=("en", "es"),
        headline="Individual work for jealousy and worry that keeps pulling you into checking and doubting.",
        bio="Jealousy is often a signal that part of you is afraid of being left. When that fear runs the show, it "
            "can lead to checking a partner's phone, asking the same questions again and again, and arguments "
            "that leave everyone worn out.\n\n"
            "I see people one to one, in English or Spanish. Together we look at the thoughts that feed the "
            "suspicion, practice calmer ways to respond when it flares, and get curious about where it first "
            "learned to protect you. Many clients start with me and later bring what they've learned into "
            "couples work.",
        npi="1620384754",
        services=(
            _free_individual_consult(),
            DemoService("individual-session", "Individual session", "individual", 50, 13000, code="90834",
                        expected_sessions=12),
        ),
    ),
    DemoCounselor(
        slug="hana-seo", name="Hana Seo", pronouns="she/her", credentials="PsyD",
        timezone="America/Los_Angeles", licenses={"CA": "PSY 31842", "WA": "PY.61058844"},
        formats=("individual", "couple"),
        specialties=("attachment", "trust_issues", "emotional_distance"),
        modalities=("eft", "psychodynamic"), languages=("en", "ko"),
        headline="For partners who feel far apart, and for hurts from long ago that show up today.",
        bio="Sometimes trust feels shaky even though nothing dramatic has happened. Old wounds from earlier "
            "relationships or from growing up can color how we read a partner's silence or a late reply. I help "
            "people understand those patterns with compassion rather than blame.\n\n"
            "I work with individuals and with couples, in English and Korean. With couples I use Emotionally "
            "Focused Therapy to slow down the cycle of pursuing and withdrawing, so each partner can say what "
            "they actually need.",
        npi="1459203810",
        services=(
            DemoService("individual-trial", "Individual trial session", "individual", 30, 0, trial=True, code="90791"),
            DemoService("couple-trial", "Couples trial session", "couple", 50, 7500, trial=True, code="90847"),
            DemoService("couples-extended", "Extended couples session", "couple", 80, 24000, buffer=15, code="90847",
                        expected_sessions=12),
        ),
    ),
    DemoCounselor(
        slug="priya-raman", name="Priya Raman", pronouns="she/her", credentials="LPC",
        timezone="America/Denver", licenses={"CO": "LPC.0019337"},
        formats=("couple",),
        specialties=("separation_decisions", "infidelity_recovery", "trust_issues"),
        modalities=("discernment", "gottman"), languages=("en", "hi"),
        headline="Discernment counseling for couples when one of you is leaning out and the other wants to try.",
        bio="Often one partner arrives hoping to rebuild while the other is unsure they want to stay at all. "
            "Ordinary couples therapy can stall in that spot. Discernment counseling is a short, focused process "
            "for exactly this: it helps you both see the relationship clearly and decide on a direction, without "
            "pressure to choose one answer.\n\n"
            "When a couple decides to commit to the work, we move into Gottman-informed couples therapy to "
            "rebuild friendship and learn to repair after conflict. Recognizing that a relationship has run its "
            "course can be an honest outcome too, and I support both paths with care.",
        npi="1938475625",
        services=(
            DemoService("couple-trial", "Couples trial session", "couple", 50, 6000, trial=True, code="90847"),
            DemoService("discernment-session", "Discernment session", "couple", 90, 22500, buffer=15,
                        code="90847", expected_sessions=5,
                        description="One of up to five sessions, partly together and partly with each of you "
                                    "on your own."),
        ),
    ),
    DemoCounselor(
        slug="marcus-bell", name="Marcus Bell", pronouns="he/him", credentials="LMHC",
        timezone="America/New_York", licenses={"FL": "MH17204", "NY": "LMHC-009876"},
        formats=("individual", "couple"),
        specialties=("partner_violence", "trust_issues", "communication"),
        modalities=("dbt", "cbt", "solution_focused"), languages=("en",),
        headline="Safety-centered care for anyone unsure whether their relationship is healthy.",
        bio="Control can be quiet: a partner who monitors your messages, cuts you off from friends, or makes you "
            "afraid to disagree. If any of that sounds familiar, you deserve a place to think it through without "
            "being judged or rushed. I'm trained in working with partner violence, and your safety comes first in "
            "everything we do.\n\n"
            "I mostly see people individually. I meet with couples only after speaking with each partner on their "
            "own, because couples work is not safe for everyone. Alongside that, I teach concrete skills for "
            "handling strong emotions and setting boundaries that protect you.",
        npi="1765309285",
        services=(
            _free_individual_consult(),
            DemoService("couple-trial", "Couples trial session", "couple", 50, 6500, trial=True, code="90847",
                        description="Offered after a private conversation with each partner."),
            DemoService("individual-session", "Individual session", "individual", 50, 14000, code="90834",
                        expected_sessions=12),
        ),
    ),
    DemoCounselor(
        slug="lucia-fernandez", name="Lucía Fernández", pronouns="she/her", credentials="LMFT",
        timezone="America/Los_Angeles", licenses={"CA": "LMFT 118204"},
        formats=("individual", "couple"),
        specialties=("blended_families", "communication", "trust_issues"),
        modalities=("gottman", "solution_focused"), languages=("en", "es"),
        headline="Steadier communication for couples and blended families, in English or Spanish.",
        bio="Trust wears down not only through big betrayals but through promises that slip, conversations that "
            "get avoided, and feeling unheard for a long time. In blended families there are even more loyalties "
            "to balance.\n\n"
            "I help couples set clear, realistic expectations, agree on boundaries that feel fair, and practice "
            "listening without getting defensive. Sessions are practical and warm, with small steps to try "
            "between meetings.",
        npi="1582046375",
        services=(
            DemoService("couple-trial", "Couples trial session", "couple", 30, 0, trial=True, code="90847",
                        description="A free half hour together to meet and talk about what you'd like to change."),
            DemoService("individual-trial", "Individual trial session", "individual", 45, 4000, trial=True,
                        code="90791"),
            DemoService("couples-session", "Couples session", "couple", 60, 17500, code="90847", expected_sessions=12),
        ),
    ),
    DemoCounselor(
        slug="wei-zhang", name="Wei Zhang", pronouns="they/them", credentials="LCSW",
        timezone="America/Chicago", licenses={"IL": "149.030415", "TX": "LCSW-71845"},
        formats=("individual", "couple"),
        specialties=("jealousy_insecurity", "attachment", "emotional_distance"),
        modalities=("ifs", "eft"), languages=("en", "zh"),
        headline="Gentle, curious work with the parts of us that expect to be let down.",
        bio="If you find yourself bracing for betrayal even when things are going well, you are not broken. Some "
            "part of you learned that it needed to stay on guard. In our work we get to know that part, thank it "
            "for trying to protect you, and help it relax enough for closeness to feel possible.\n\n"
            "I see individuals and couples, in English or Mandarin, and I welcome partners of every gender and "
            "orientation. Couples often find that understanding each other's guarded parts takes a lot of heat "
            "out of their arguments.",
        npi="1203948579",
        services=(
            DemoService("individual-trial", "Individual trial session", "individual", 45, 4500, trial=True,
                        code="90791"),
            DemoService("couple-trial", "Couples trial session", "couple", 50, 6000, trial=True, code="90847"),
            DemoService("individual-session", "Individual session", "individual", 50, 15000, code="90834",
                        expected_sessions=12),
        ),
    ),
)


@dataclass(frozen=True)
class DemoStaff:
    email: str
    name: str
    role: str
    password: str
    counselor_slug: str | None = None


# Published demo passwords: fine for a demo, which is why the command says so when it prints them.
DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("admin@demo.practice", "Avery Lindqvist", "admin", "quiet-harbor-lantern-41"),
    DemoStaff("frontdesk@demo.practice", "Jordan Pike", "frontdesk", "maple-window-sunrise-27"),
    DemoStaff("maya.okafor@demo.practice", "Maya Okafor", "counselor", "river-stone-compass-58",
              counselor_slug="maya-okafor"),
)


# --- seeding, one part at a time --------------------------------------------------------------------------

def seed_counselors() -> list[Counselor]:
    return [_seed_counselor(demo) for demo in DEMO_COUNSELORS]


def _seed_counselor(demo: DemoCounselor) -> Counselor:
    profile = counselor_service.ProfileInput(
        name=demo.name, pronouns=demo.pronouns, credentials=demo.credentials, headline=demo.headline,
        bio=demo.bio, timezone=demo.timezone, formats=demo.formats, specialties=demo.specialties,
        modalities=demo.modalities, languages=demo.languages, active=True, npi=demo.npi,
    )
    counselor = queries.counselor_by_slug(demo.slug)
    if counselor is None:
        counselor = counselor_service.create_counselor(profile, actor=SEED_ACTOR, slug=demo.slug)
    else:
        counselor_service.update_profile(counselor, profile, actor=SEED_ACTOR)
    for state, number in demo.licenses.items():
        counselor_service.put_license(counselor, state=state, number=number, kind=demo.credentials,
                                      actor=SEED_ACTOR)
    for item in demo.services:
        _seed_service(counselor, item)
    return counselor


def _seed_service(counselor: Counselor, item: DemoService) -> None:
    data = counselor_service.ServiceInput(
        slug=item.slug, name=item.name, format=item.format, duration_minutes=item.minutes, price=item.price,
        currency="USD", is_trial=item.trial, buffer_minutes=item.buffer, active=True, description=item.description,
        service_code=item.code, expected_sessions=item.expected_sessions,
    )
    existing = queries.service_of(counselor, item.slug)
    if existing is None:
        counselor_service.create_service(counselor, data, actor=SEED_ACTOR)
    else:
        counselor_service.update_service(existing, data, actor=SEED_ACTOR)


def seed_staff() -> list[DemoStaff]:
    """Create the demo accounts that don't exist yet; existing ones (and their passwords) are left alone."""
    for person in DEMO_STAFF:
        if db.session.scalar(select(User.id).where(User.email == person.email)) is not None:
            continue
        counselor_id = None
        if person.counselor_slug:
            counselor_id = queries.counselor_by_slug(person.counselor_slug).id
        auth_service.create_user(email=person.email, name=person.name, password=person.password,
                                 role=person.role, counselor_id=counselor_id, actor=SEED_ACTOR)
        db.session.commit()
    return list(DEMO_STAFF)


# Weekly hours in each counselor's own zone, varied so the demo shows real differences between counselors.
DEMO_HOURS: dict[str, dict[int, list[tuple[str, str]]]] = {
    "maya-okafor": {0: [("09:00", "12:00"), ("13:00", "17:00")], 2: [("09:00", "12:00"), ("13:00", "17:00")],
                    3: [("12:00", "19:00")], 5: [("10:00", "13:00")]},
    "daniel-reyes": {0: [("08:00", "12:00")], 1: [("08:00", "12:00"), ("13:00", "16:00")],
                     3: [("08:00", "12:00"), ("13:00", "16:00")], 4: [("08:00", "12:00")]},
    "hana-seo": {1: [("10:00", "18:00")], 2: [("10:00", "18:00")], 4: [("09:00", "14:00")]},
}
DEFAULT_DEMO_HOURS = {0: [("09:00", "12:00"), ("13:00", "17:00")], 1: [("09:00", "12:00"), ("13:00", "17:00")],
                      3: [("13:00", "19:00")], 4: [("09:00", "13:00")]}
DEMO_TIME_OFF_NOTE = "Conference (demo)"


def seed_availability(now: datetime) -> None:
    """Hours, booking rules, a stretch of time off and a few existing bookings for each demo counselor."""
    from practice.scheduling import editing

    for index, demo in enumerate(DEMO_COUNSELORS):
        counselor = queries.counselor_by_slug(demo.slug)
        hours = DEMO_HOURS.get(demo.slug, DEFAULT_DEMO_HOURS)
        editing.set_weekly_hours(counselor, {d: [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in r]
                                             for d, r in hours.items()}, actor=SEED_ACTOR)
        editing.update_policy(counselor, notice_minutes=12 * 60, horizon_days=60, slot_step_minutes=30,
                              max_sessions_per_day=6, actor=SEED_ACTOR)
        if not any(t.note == DEMO_TIME_OFF_NOTE for t in editing.upcoming_time_off(counselor, now=now)):
            local_today = editing.local_today(counselor, now)
            first = local_today + timedelta(days=10 + 3 * index)
            editing.add_time_off(counselor, datetime.combine(first, time(0)),
                                 datetime.combine(first + timedelta(days=1), time(23, 59)),
                                 DEMO_TIME_OFF_NOTE, actor=SEED_ACTOR, now=now)
        _seed_bookings(counselor, now=now, how_many=2 + index % 3)


def _seed_bookings(counselor: Counselor, *, now: datetime, how_many: int) -> None:
    """A few confirmed sessions in the coming days, taken from the counselor's real free slots.

    Demo data, written directly: going through booking.service would email the made-up clients.
    """
    from practice.booking.models import Booking, BookingStatus, Client, Participant
    from practice.scheduling.service import slots_for

    existing = db.session.scalar(select(db.func.count()).select_from(Booking).where(
        Booking.counselor_id == counselor.id, Booking.starts_at > now))
    if existing:
        return
    trial = next((s for s in counselor.active_services if s.is_trial), None)
    if trial is None:
        return
    today = now.date()
    free = slots_for(counselor.slug, trial.slug, start_day=today, end_day=today + timedelta(days=20),
                     zone=counselor.timezone, now=now).slots
    for n, slot in enumerate(free[::7][:how_many]):
        booking = Booking(counselor_id=counselor.id, service_id=trial.id, starts_at=slot.start, ends_at=slot.end,
                          blocked_until=slot.end + timedelta(minutes=trial.buffer_minutes),
                          status=BookingStatus.confirmed, confirmed_at=now, policies_accepted_at=now,
                          client_timezone=counselor.timezone, created_at=now, updated_at=now)
        booking.participants.append(Participant(role="client", client=Client(
            name=f"Demo Client {counselor.id}-{n + 1}", email=f"demo.client.{counselor.id}.{n + 1}@example.org",
            state=counselor.license_states[0] if counselor.license_states else None)))
        db.session.add(booking)
    db.session.commit()


def seed_practice() -> None:
    """The practice's NPI, TIN and address, which good-faith estimates name (its name is left as it is)."""
    current = auth_service.practice_settings()
    auth_service.update_settings(practice_name=current.practice_name, require_two_factor=current.require_two_factor,
                                 actor=SEED_ACTOR, **PRACTICE_DETAILS)


def seed_demo(now: datetime | None = None) -> DemoDay:
    now = now or clock.now()
    seed_practice()
    seed_counselors()
    seed_staff()
    seed_availability(now)
    return seed_demo_day(now)


# --- the demo day: what front desk finds when they open the console -------------------------------------

# A calm, complete answer set with the questionnaire's real item ids; each demo person changes a few items.
CALM_ANSWERS: dict = {
    "seeking": "couples", "commitment": "leaning_in", "relationship_length_years": 7,
    "sign_doubts_honesty": 1, "sign_jealousy_conflict": 1, "sign_avoidance": 2, "sign_disconnection": 2,
    "sign_repeated_breaches": 0, "sources": ["unresolved_conflict"], "affair_status": "none",
    "csi4_1": 4, "csi4_2": 4, "csi4_3": 3, "csi4_4": 3,
    "phq2_1": 1, "phq2_2": 0, "gad2_1": 1, "gad2_2": 1, "substance_concern": False,
    "suicide_wished_dead": False, "suicide_better_off": False, "suicide_thoughts": False,
    "suicide_attempt_ever": False,
    "safety_afraid": False, "safety_hurt": False, "safety_threatened": False, "safety_forced": False,
    "safety_monitoring": 0, "safety_together_ok": "yes",
}


@dataclass(frozen=True)
class DemoPerson:
    name: str
    email: str  # with the day and time, what finds this session again on the next run
    answers: dict | None = None  # changes to CALM_ANSWERS; None: this person has not sent an intake yet


@dataclass(frozen=True)
class DemoSession:
    counselor: str
    service: str
    day: int  # days from today in the practice's zone (negative: already past)
    at: str  # local start in the counselor's zone
    client: DemoPerson
    partner: DemoPerson | None = None
    booked_days_ago: int = 3  # when it was booked, so the dashboard has weeks to show
    what: str = ""  # what it shows, for the printout (which front desk reads before the demo)


# Free sessions, so the day is the same with or without a payment service. Together they make a queue with one
# urgent case (partner violence), a plain couple, a couple with one partner in, a mixed-agenda couple
# (discernment) and an individual; sessions today for several counselors; and past sessions to close.
DEMO_DAY: tuple[DemoSession, ...] = (
    DemoSession("marcus-bell", "individual-consult", 0, "11:00", DemoPerson(
        "Dana Whitfield", "dana.whitfield@example.org", {
            "seeking": "individual", "commitment": "unsure", "safety_afraid": True, "safety_threatened": True,
            "safety_monitoring": 3, "safety_together_ok": "no", "sources": ["control", "secrecy"],
            "csi4_1": 1, "csi4_2": 1, "csi4_3": 1, "csi4_4": 1, "phq2_1": 2, "phq2_2": 2,
            "in_own_words": "He reads my messages and I am scared of what he does when I go out."}),
        booked_days_ago=1, what="urgent: partner violence"),
    DemoSession("lucia-fernandez", "couple-trial", 0, "13:00", DemoPerson(
        "Teresa Alvarado", "teresa.alvarado@example.org",
        {"in_own_words": "We argue about the kids and then stop talking for days."}),
        DemoPerson("Miguel Alvarado", "miguel.alvarado@example.org", {"sign_avoidance": 3}),
        what="couples, both intakes in"),
    DemoSession("daniel-reyes", "individual-consult", 0, "09:00", DemoPerson(
        "Jonah Price", "jonah.price@example.org", {
            "seeking": "individual", "partner_willing": "unsure", "sign_jealousy_conflict": 3,
            "sign_doubts_honesty": 3, "sources": ["past_relationships", "attachment_fears"], "gad2_1": 2,
            "gad2_2": 2, "in_own_words": "I keep checking my girlfriend's phone and I hate that I do it."}),
        booked_days_ago=4, what="individual"),
    DemoSession("maya-okafor", "individual-consult", 0, "15:30", DemoPerson(
        "Leah Brandt", "leah.brandt@example.org"), booked_days_ago=2, what="intake not started"),
    DemoSession("lucia-fernandez", "couple-trial", 1, "10:00", DemoPerson(
        "Priyanka Shah", "priyanka.shah@example.org",
        {"sources": ["infidelity", "deception"], "affair_status": "past_ended", "sign_doubts_honesty": 3,
         "in_own_words": "My husband had an affair last year. He ended it but I can't stop doubting him."}),
        DemoPerson("Arjun Shah", "arjun.shah@example.org"), booked_days_ago=2,
        what="partial: one partner's intake in"),
    DemoSession("lucia-fernandez", "couple-trial", 3, "11:00", DemoPerson(
        "Claire Dubois", "claire.dubois@example.org",
        {"commitment": "leaning_in", "in_own_words": "I want us to try. I don't think he does."}),
        DemoPerson("Olivier Dubois", "olivier.dubois@example.org",
                   {"commitment": "leaning_out", "csi4_1": 2, "csi4_2": 2, "csi4_3": 2, "csi4_4": 2}),
        booked_days_ago=5, what="mixed agenda: discernment"),
    DemoSession("hana-seo", "individual-trial", 2, "12:00", DemoPerson(
        "Min-jun Park", "minjun.park@example.org"), booked_days_ago=1, what="intake not started"),
    DemoSession("daniel-reyes", "individual-consult", -1, "10:00", DemoPerson(
        "Rosa Delgado", "rosa.delgado@example.org"), booked_days_ago=12, what="past: to mark attended"),
    DemoSession("hana-seo", "individual-trial", -1, "14:00", DemoPerson(
        "Ethan Cole", "ethan.cole@example.org"), booked_days_ago=16, what="past: to mark missed"),
    DemoSession("marcus-bell", "individual-consult", -2, "10:00", DemoPerson(
        "Nora Quinn", "nora.quinn@example.org"), booked_days_ago=20, what="past: to mark attended or missed"),
)

# Paid sessions: made only when a local Stripe stand-in is configured (STRIPE_API_BASE and test keys), where the
# seed pays them with Stripe's test card, so that a refund of them really goes through.
DEMO_PAID: tuple[DemoSession, ...] = (
    DemoSession("maya-okafor", "couple-trial", 0, "16:30", DemoPerson("Grace Hollis", "grace.hollis@example.org"),
                DemoPerson("Ben Hollis", "ben.hollis@example.org"), booked_days_ago=0, what="paid: refundable"),
    DemoSession("wei-zhang", "individual-trial", 2, "14:00", DemoPerson("Lena Wu", "lena.wu@example.org"),
                booked_days_ago=0, what="paid: refundable"),
)
DEMO_TEST_CARD = "4242424242424242"


@dataclass
class DemoDay:
    sessions: list = field(default_factory=list)  # (DemoSession, booking id) for every demo session there is
    paid: bool = False  # whether paid sessions could be made (a Stripe stand-in is configured)


def seed_demo_day(now: datetime) -> DemoDay:
    """The demo day's sessions and intakes around `now`; a session already there (same person, same day) is
    left as it is, so a second run adds nothing. Intakes go through intake.service (encrypted, routed by the
    real engine, audited) and payments through payments.service and the stand-in."""
    day = DemoDay(paid=_standin_configured())
    today = now.astimezone(clock.practice_zone()).date()
    for item in DEMO_DAY + (DEMO_PAID if day.paid else ()):
        booking_id = _existing_demo_session(item, today) or book_demo_session(item, today, now=now)
        if booking_id is not None:
            day.sessions.append((item, booking_id))
    return day


def _local_start(item: DemoSession, today) -> datetime:
    zone = ZoneInfo(queries.counselor_by_slug(item.counselor).timezone)
    return datetime.combine(today + timedelta(days=item.day), time.fromisoformat(item.at), zone)


def _existing_demo_session(item: DemoSession, today):
    """The booking made for this item on its day, if one is there (and, for a paid one, still known to Stripe)."""
    from practice.booking.models import Booking, Client, Participant

    start = _local_start(item, today)
    day_start = start.replace(hour=0, minute=0)
    found = db.session.scalars(
        select(Booking.id).join(Participant, Participant.booking_id == Booking.id)
        .join(Client, Client.id == Participant.client_id)
        .where(Client.email == item.client.email, Participant.role == "client",
               Booking.starts_at >= day_start.astimezone(timezone.utc),
               Booking.starts_at < (day_start + timedelta(days=1)).astimezone(timezone.utc))).all()
    if item not in DEMO_PAID:
        return found[0] if found else None
    return next((booking_id for booking_id in found if _paid_at_stripe(booking_id)), None)


def book_demo_session(item: DemoSession, today, *, now: datetime):
    """Book the item at its time (or the next free hour that day) through the calendar guard, send its intakes,
    and for a paid one pay it at the stand-in; the booking's id. None when the counselor has no free hour left
    that day. (The browser tests make their own cases with it too.)"""
    from practice.booking.errors import SlotUnavailable
    from practice.booking.guard import calendar_write, claim, lock_calendar
    from practice.booking.models import Booking, BookingStatus, Client, Participant
    from practice.intake import service as intake_service

    counselor = queries.counselor_by_slug(item.counselor)
    service = queries.service_of(counselor, item.service)
    paid = service.price > 0
    booked_at = now - timedelta(days=item.booked_days_ago)
    hold = timedelta(minutes=current_app.config["BOOKING_HOLD_MINUTES"])
    people = [("client", item.client)] + ([("partner", item.partner)] if item.partner else [])

    def work(start: datetime):
        lock_calendar(counselor.id)
        end = start + timedelta(minutes=service.duration_minutes)
        blocked_until = end + timedelta(minutes=service.buffer_minutes)
        claim(counselor.id, start, blocked_until, now=now)
        booking = Booking(
            counselor_id=counselor.id, service_id=service.id, starts_at=start, ends_at=end,
            blocked_until=blocked_until, client_timezone=counselor.timezone,
            status=BookingStatus.held if paid else BookingStatus.confirmed,
            hold_expires_at=now + hold if paid else None, confirmed_at=None if paid else booked_at,
            policies_accepted_at=booked_at, ics_sequence=0, reschedule_count=0, created_at=booked_at,
            updated_at=booked_at, uses_insurance=False if paid else None)
        state = counselor.license_states[0] if counselor.license_states else None
        for role, person in people:
            booking.participants.append(Participant(role=role, client=Client(
                name=person.name, email=person.email, state=state, created_at=booked_at)))
        db.session.add(booking)
        db.session.flush()
        tokens = intake_service.issue_intakes(booking, now=now, new_booking=True)
        return booking.id, tokens

    first = _local_start(item, today).astimezone(timezone.utc)
    for shift in range(6):  # the next hours of that day, when someone booked the time meanwhile
        try:
            booking_id, tokens = calendar_write(lambda: work(first + timedelta(hours=shift)))
            break
        except SlotUnavailable:
            continue
    else:
        return None
    for role, person in people:
        if person.answers is not None:
            intake_service.submit(tokens[role], {**CALM_ANSWERS, **person.answers}, now=now)
    if paid:
        _pay_at_standin(booking_id, now=now)
    return booking_id


def _standin_configured() -> bool:
    """A local Stripe stand-in with test keys, answering: the only Stripe the seed pays at (never a real account,
    which has no stand-in's Stripe.js to answer)."""
    import urllib.error
    import urllib.request

    config = current_app.config
    if not (config.get("STRIPE_API_BASE") and str(config.get("STRIPE_SECRET_KEY") or "").startswith("sk_test")
            and str(config.get("STRIPE_PUBLISHABLE_KEY") or "").startswith("pk_test")):
        return False
    for attempt in range(10):  # a stand-in started just before the seed may take a moment to listen
        try:
            # The stand-in's own address (STRIPE_API_BASE, with test keys only: checked above).
            with urllib.request.urlopen(f"{config['STRIPE_API_BASE'].rstrip('/')}/js.stripe.com/v3/practice/",  # nosec B310
                                        timeout=5) as response:
                return response.status == 200
        except urllib.error.HTTPError:
            break  # something answered, and it is not the stand-in
        except (urllib.error.URLError, OSError):
            pytime.sleep(0.5)
    log.warning("no Stripe stand-in answered at %s: the demo has no paid sessions", config["STRIPE_API_BASE"])
    return False


def _paid_at_stripe(booking_id) -> bool:
    """The booking's payment succeeded and Stripe still has it (a stand-in forgets everything when it stops)."""
    import stripe

    from practice.payments.models import Payment, PaymentStatus
    from practice.payments.stripe_api import client

    payment = Payment.of_booking(booking_id)
    if payment is None or payment.status == PaymentStatus.awaiting or not payment.stripe_payment_intent_id:
        return False
    try:
        client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    except stripe.InvalidRequestError:
        return False
    return True


def _pay_at_standin(booking_id, *, now: datetime) -> None:
    """Pay as a client would (the stand-in's Stripe.js confirmation with the test card), then apply the
    stand-in's own payment_intent.succeeded event as the webhook would: the same event later delivered to the
    webhook is a duplicate and changes nothing."""
    import json
    import urllib.request

    from practice.payments import service as payments_service
    from practice.payments.stripe_api import client

    payment = payments_service.start_payment(booking_id, now=now)
    config = current_app.config
    intent_id = payment.stripe_payment_intent_id
    body = json.dumps({"key": config["STRIPE_PUBLISHABLE_KEY"], "client_secret": payment.client_secret,
                       "card": {"number": DEMO_TEST_CARD, "exp_month": "12", "exp_year": str(now.year + 3),
                                "cvc": "123"}}).encode()
    request = urllib.request.Request(
        f"{config['STRIPE_API_BASE'].rstrip('/')}/_config/practice/confirm_card_payment/{intent_id}", data=body,
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310  # the stand-in, as above
        response.read()
    event = next(e for e in client().v1.events.list(params={"type": "payment_intent.succeeded", "limit": 100})
                 .auto_paging_iter() if e.data.object.id == intent_id)
    payments_service.apply_event(event, now=now)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Fill the database with a demo practice (safe to run again)."""
    try:
        day = seed_demo()
    except (counselor_service.CounselorInvalid, auth_service.AccountError, ScheduleInvalid) as exc:
        db.session.rollback()
        raise click.ClickException(f"the demo data was refused: {exc}") from None
    count = db.session.scalar(select(db.func.count()).select_from(Counselor).where(Counselor.active))
    base_url = current_app.config["BASE_URL"]
    click.echo(f"Demo practice ready: {count} counselors listed at {base_url}/counselors, with hours, time off "
               "and a few booked sessions")
    click.echo(f"Sign in at {base_url}/staff/login with one of these demo accounts:")
    width = max(len(p.email) for p in DEMO_STAFF)
    for person in DEMO_STAFF:
        click.echo(f"  {person.role:<10} {person.email:<{width}}  password: {person.password}")
    click.echo("These passwords are published with the code: use them for demos only, never for real data.")
    click.echo(f"The demo day: {len(day.sessions)} sessions from two days ago to later this week, with intakes in "
               f"the queue at {base_url}/staff/intakes (one urgent).")
    _echo_demo_day(day)
    if not day.paid:
        click.echo("No paid sessions were made: the seed pays them only at a local Stripe stand-in (STRIPE_API_BASE "
                   "with test keys), so that their refunds work.")


def _echo_demo_day(day: DemoDay) -> None:
    """One line per demo session, in the practice's zone, soonest first: where to look during a demo."""
    from practice.booking.models import Booking

    zone = clock.practice_zone()
    bookings = {b.id: b for b in db.session.scalars(select(Booking).where(
        Booking.id.in_([booking_id for _, booking_id in day.sessions])))}
    lines = []
    for item, booking_id in day.sessions:
        booking = bookings[booking_id]
        local = booking.starts_at.astimezone(zone)
        people = " & ".join(p.client.name for p in booking.participants)
        lines.append((booking.starts_at, f"  {local:%a %b} {local.day} {local:%H:%M %Z}  {booking.counselor.name}: "
                                         f"{people} ({item.what})"))
    for _, line in sorted(lines):
        click.echo(line)
