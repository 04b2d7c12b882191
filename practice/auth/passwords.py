"""Password hashing (argon2id) and the rules a new password must meet (NIST SP 800-63B style)."""
from __future__ import annotations

import re
import string
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

# One short piece over and over ("aaaaaaaaaaaa", "abcabcabcabc") is as weak as the piece.
_REPEATED = re.compile(r"(.{1,4})\1+", re.DOTALL)

# Verified against when the email is unknown, so both paths take the same time.
_DUMMY_HASH = hasher.hash("not a real password, only here to spend the same time")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, min_length: int, max_length: int, email: str = "", name: str = "") -> list[str]:
    """What is wrong with a new password, in plain words; empty when it is fine.

    Length and guessability only: no composition rules, and nothing is truncated (argon2 takes any length).
    """
    problems = []
    if len(password) < min_length:
        problems.append(f"Use at least {min_length} characters. A few words in a row make a good passphrase.")
    if len(password) > max_length:
        problems.append(f"Use at most {max_length} characters.")
    lowered = password.lower()
    # "Password1234!" is "password" with decorations people add to meet old composition rules.
    core = lowered.strip(string.digits + string.punctuation + string.whitespace)
    if lowered in _common_passwords() or core in _common_passwords():
        problems.append("That password is among the most common ones and easy to guess. Choose another.")
    elif _REPEATED.fullmatch(lowered):
        problems.append("A pattern repeated over and over is easy to guess. Choose another.")
    local_part = email.split("@")[0].lower()
    if (len(local_part) >= 4 and local_part in lowered) or (name and lowered == name.strip().lower()):
        problems.append("Don't use your name or email address in your password.")
    return problems
