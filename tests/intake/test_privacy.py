"""Privacy: a marker written in `in_own_words` is never in the database file, the logs or any email; partner B's
pages, API responses and emails are byte-identical whether or not partner A disclosed violence."""
from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy import select, text

from practice.extensions import db
from practice.intake.models import RoutingDecision
from practice.notify.models import OutboxMessage
from practice.notify.outbox import rendered
from tests.factories import make_user
from tests.intake.conftest import counselor_with_hours
from tests.intake.helpers import answer_in_pages, book, html_of, text_of, valid_answers

MARKER = "quokka-ember-5531"


def database_contents(app) -> list[bytes]:
    """Everything the database holds, as bytes: the SQLite files, or every row of every PostgreSQL table as text."""
    db.session.commit()
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        path = Path(db.engine.url.database)
        return [p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    rows = []
    for table in db.metadata.sorted_tables:
        rows += [row[0].encode() for row in db.session.execute(text(f'SELECT t::text FROM "{table.name}" t'))]
    return rows


def test_marker_never_reaches_database_logs_or_mail(client, counselor, smtp_server, app, caplog, sign_in):
    caplog.set_level(logging.DEBUG)
    booked = book(client, smtp_server)
    # A answers in the pages (drafts saved section by section, one rejected attempt), B over the API.
    too_long = client.post(f"/intake/{booked.intake['client']}", data={
        "section": "in_own_words", "action": "next", "in_own_words": MARKER * 200})
    assert too_long.status_code == 422 and MARKER in too_long.get_data(as_text=True)  # shown back to them only
    answer_in_pages(client, booked.intake["client"], valid_answers(in_own_words=f"A says {MARKER}"))
    bad = client.post(f"/api/v1/intakes/{booked.intake['partner']}",
                      json={"answers": valid_answers(in_own_words=MARKER, csi4_1=MARKER)})
    assert bad.status_code == 422 and MARKER not in bad.get_data(as_text=True)  # errors never echo a value
    client.post(f"/api/v1/intakes/{booked.intake['partner']}",
                json={"answers": valid_answers(in_own_words=f"B says {MARKER}", suicide_thoughts=True,
                                               suicide_now=True)})
    # Staff read it (the counselor sees the marker in the page; nothing of it may be logged).
    sign_in(make_user(role="counselor", counselor=counselor))
    assert MARKER in client.get(f"/staff/intakes/{booked.id}").get_data(as_text=True)

    needles = (MARKER.encode(), MARKER.encode().hex().encode(), MARKER.encode("utf-16-le"))
    for blob in database_contents(app):
        assert not any(needle in blob for needle in needles)
    assert MARKER not in caplog.text
    assert all(MARKER not in (r.getMessage() + str(r.args)) for r in caplog.records)
    assert len(smtp_server.received) >= 3  # two confirmations and the alert
    for received in smtp_server.received:
        assert MARKER.encode() not in received.raw
    for message in db.session.scalars(select(OutboxMessage)):
        content = rendered(message)
        assert MARKER not in content.text + content.html + content.subject


# --- partner B sees the same whatever A answered --------------------------------------------------------

A_DISCLOSES = valid_answers(safety_afraid=True, safety_hurt=True, safety_threatened=True, safety_monitoring=4,
                            safety_together_ok="no", sources=["control", "deception"],
                            in_own_words="They hurt me when I say no.")
A_CALM = valid_answers()
B_ANSWERS = valid_answers(seeking="individual", in_own_words="I want us to talk more.")


def _normalize(data: bytes, secrets: dict[str, str]) -> bytes:
    body = data.decode("utf-8")
    for secret, name in secrets.items():
        body = body.replace(secret, name)
    body = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="CSRF"', body)
    return body.encode("utf-8")


def _partner_b_sees(app, smtp_server, slug: str, a_answers: dict) -> list[bytes]:
    """Book a couple with counselor `slug`, let A answer, then record everything B gets."""
    setup = app.test_client()
    booked = book(setup, smtp_server, counselor=slug)
    assert setup.post(f"/api/v1/intakes/{booked.intake['client']}",
                      json={"answers": a_answers}).status_code == 201
    token = booked.intake["partner"]
    secrets = {token: "INTAKE-TOKEN", booked.manage["partner"]: "MANAGE-TOKEN", booked.id: "BOOKING-ID",
               booked.id[:8].upper(): "BOOKING-REF", slug: "SLUG"}

    b = app.test_client()
    seen = []

    def keep(response):
        seen.append(f"{response.status_code} {response.headers.get('Location', '')} "
                    f"{response.headers.get('Content-Type')}".encode() + b"\n" + response.get_data())
        return response

    keep(b.get(f"/api/v1/intakes/{token}"))
    keep(b.get(f"/intake/{token}"))
    keep(b.get(f"/intake/{token}?step=review"))
    keep(b.post(f"/intake/from-booking/{booked.id}", data={"token": booked.manage["partner"]}))
    fresh = seen[-1].split(b"/intake/")[1].split(b" ")[0].decode()
    secrets[fresh] = "FRESH-TOKEN"
    keep(b.get(f"/bookings/{booked.id}?token={booked.manage['partner']}"))
    for response in answer_in_pages(b, fresh, B_ANSWERS):
        keep(response)
    keep(b.get(f"/intake/{fresh}"))
    keep(b.get(f"/api/v1/intakes/{fresh}"))
    keep(b.post(f"/api/v1/intakes/{fresh}", json={"answers": B_ANSWERS}))
    for message in smtp_server.messages:
        if "sam@example.org" in str(message["To"]) and f"/bookings/{booked.id}?" in text_of(message):
            seen.append(f"{message['Subject']}\n{text_of(message)}\n{html_of(message)}".encode())
    return [_normalize(item, secrets) for item in seen]


def test_partner_b_sees_exactly_the_same_whether_or_not_a_disclosed_violence(app, smtp_server):
    counselor_with_hours("first-counselor", name="Ana Example")
    counselor_with_hours("other-counselor", name="Ana Example")
    disclosed = _partner_b_sees(app, smtp_server, "first-counselor", A_DISCLOSES)
    calm = _partner_b_sees(app, smtp_server, "other-counselor", A_CALM)

    tracks = {d.track for d in db.session.scalars(select(RoutingDecision))}
    assert tracks == {"safety_review", "couples"}  # A's answers did change the couple's route
    assert len(disclosed) == len(calm) > 20
    for mine, theirs in zip(disclosed, calm):
        assert mine == theirs
    everything = b"".join(disclosed)
    assert b"hurt me" not in everything and b"safety_review" not in everything
    assert b"Your answers are with us" in everything and b"Something you might consider" in everything
