"""Encryption keys from configuration: adding a newer key keeps old data readable; `flask rotate-keys`
re-encrypts everything with the newest."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from practice.crypto import keyring, new_key
from practice.extensions import db
from practice.intake.models import Intake
from tests.conftest import TEST_KEY
from tests.intake.helpers import book, valid_answers


@pytest.fixture
def restore_keys():
    yield
    keyring.configure([TEST_KEY])


def raw_answers() -> bytes:
    return bytes(db.session.execute(text("SELECT answers FROM intake WHERE submitted_at IS NOT NULL")).scalar())


def test_rotation_keeps_data_readable_and_rotate_keys_moves_it_to_the_new_key(client, counselor, smtp_server, app,
                                                                              runner, restore_keys):
    booked = book(client, smtp_server)
    answers = valid_answers(in_own_words="old key")
    client.post(f"/api/v1/intakes/{booked.intake['client']}", json={"answers": answers})
    Fernet(TEST_KEY).decrypt(raw_answers())  # written with the only key

    newer = new_key()
    app.config["ENCRYPTION_KEYS"] = [newer, TEST_KEY]
    keyring.configure(app.config["ENCRYPTION_KEYS"])
    db.session.expire_all()
    assert db.session.scalars(db.select(Intake).where(Intake.submitted_at.is_not(None))).one().answers == answers

    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "intake.answers: 2 re-encrypted" in result.output  # both intakes (one still an empty draft)
    assert "routing_decision.flags: 1 re-encrypted" in result.output
    assert "old key" not in result.output
    Fernet(newer).decrypt(raw_answers())
    with pytest.raises(InvalidToken):
        Fernet(TEST_KEY).decrypt(raw_answers())

    keyring.configure([newer])  # the old key can go
    db.session.expire_all()
    assert db.session.scalars(db.select(Intake).where(Intake.submitted_at.is_not(None))).one().answers == answers
