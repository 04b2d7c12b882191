"""A production setup per test: a database copied from the migrated template, a private Redis and an SMTP
server that can hold a message mid-send (tests/faults/stack.py). Every fault test module is marked `slow`
and `postgres`: they run in `make test` and in CI, never skipped."""
from __future__ import annotations

import shutil

import pytest

from tests.faults.stack import drop_database, make_database, running_stack, temporary_directory


@pytest.fixture
def stack(postgres_template):
    tmp = temporary_directory()
    url = make_database(postgres_template)
    try:
        with running_stack(tmp, url) as built:
            yield built
    finally:
        drop_database(url)
        shutil.rmtree(tmp, ignore_errors=True)
