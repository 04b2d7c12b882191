"""A production setup per test: a database copied from the migrated template, a private Redis and an SMTP
server that can hold a message mid-send (tests/faults/stack.py). Every fault test module is marked `slow`
and `postgres`: they run in `make test` and in CI, never skipped."""
from __future__ import annotations

import shutil

import pytest

from tests.faults.stack import HoldingSmtpServer, PrivateRedis, Stack, drop_database, make_database, seed
from tests.faults.stack import temporary_directory


@pytest.fixture
def stack(postgres_template):
    tmp = temporary_directory()
    url = make_database(postgres_template)
    redis = PrivateRedis(tmp)
    smtp = HoldingSmtpServer()
    built = None
    try:
        redis.start()
        smtp.start()
        built = Stack(tmp=tmp, database_url=url, redis_url=redis.url, smtp=smtp)
        built.redis = redis
        built.counselors = seed(built.app_config())
        yield built
    finally:
        if built is not None:
            built.stop_all()
        smtp.release()  # a held message must not keep the server's loop from stopping
        smtp.close()
        redis.stop()
        drop_database(url)
        shutil.rmtree(tmp, ignore_errors=True)
