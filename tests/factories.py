"""Test data with sensible defaults: make_counselor(**overrides), make_service(...), make_user(...)."""
from __future__ import annotations

import itertools

from practice.auth.passwords import hash_password
from practice.auth.models import User
from practice.counselors.models import Counselor, CounselorTag, License, Service
from practice.extensions import db

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH: dict[str, str] = {}
_seq = itertools.count(1)


def make_counselor(*, licenses=("NY",), specialties=("trust_issues",), modalities=("eft",), languages=("en",),
                   services=True, **overrides) -> Counselor:
    n = next(_seq)
    fields = dict(slug=f"counselor-{n}", name=f"Counselor {n}", credentials="LMFT", timezone="America/New_York",
                  bio="Helps couples rebuild trust.", accepts_individual=True, accepts_couples=True, active=True)
    fields.update(overrides)
    counselor = Counselor(**fields)
    counselor.licenses = [License(state=s, number=f"{s}-{n:05d}", kind=fields["credentials"]) for s in licenses]
    counselor.tags = (
        [CounselorTag(kind="specialty", code=c) for c in specialties]
        + [CounselorTag(kind="modality", code=c) for c in modalities]
        + [CounselorTag(kind="language", code=c) for c in languages]
    )
    if services:
        counselor.services = [
            Service(slug="individual-trial", name="Individual trial session", format="individual",
                    duration_minutes=30, price=0, currency="USD", is_trial=True, buffer_minutes=10),
            Service(slug="couple-trial", name="Couples trial session", format="couple",
                    duration_minutes=50, price=7500, currency="USD", is_trial=True, buffer_minutes=10),
        ]
    db.session.add(counselor)
    db.session.commit()
    return counselor


def make_user(*, role="admin", email=None, password=PASSWORD, counselor=None, **overrides) -> User:
    n = next(_seq)
    if password not in _PASSWORD_HASH:  # argon2 is slow on purpose; hash each test password once
        _PASSWORD_HASH[password] = hash_password(password)
    user = User(email=email or f"{role}{n}@practice.test", name=f"{role.title()} {n}",
                password_hash=_PASSWORD_HASH[password], role=role,
                counselor_id=counselor.id if counselor is not None else None, **overrides)
    db.session.add(user)
    db.session.commit()
    return user
