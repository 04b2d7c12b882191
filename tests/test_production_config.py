"""Production refuses to start with insecure settings, and says what to fix, one line each."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.production import problems
from practice import create_app

ROOT = Path(__file__).resolve().parent.parent

SAFE = {
    "SECRET_KEY": "k" * 48,
    "ENCRYPTION_KEYS": ["x" * 44],
    "DATABASE_URL": "postgresql+psycopg://practice@db.internal/practice",
    "DEBUG": False,
    "BASE_URL": "https://practice.example",
    "SESSION_COOKIE_SECURE": True,
    "REDIS_URL": "redis://cache.internal:6379/0",
    "RATELIMIT_ENABLED": True,
    "SMTP_HOST": "smtp.example",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "STRIPE_API_BASE": "",
}


def test_safe_settings_have_no_problems():
    assert problems(SAFE) == []


@pytest.mark.parametrize("change, names", [
    ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY is 5 characters long"),
    ({"ENCRYPTION_KEYS": []}, "ENCRYPTION_KEYS is not set"),
    ({"DATABASE_URL": "sqlite:////srv/practice.sqlite3"}, "DATABASE_URL is a SQLite file"),
    ({"DEBUG": True}, "Debug mode is on"),
    ({"BASE_URL": "http://practice.example"}, "BASE_URL is http://practice.example"),
    ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE is off"),
    ({"REDIS_URL": ""}, "REDIS_URL is not set"),
    ({"RATELIMIT_ENABLED": False}, "RATELIMIT_ENABLED is off"),
    ({"SMTP_HOST": ""}, "SMTP_HOST is not set"),
    ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET is not set"),
    ({"STRIPE_API_BASE": "http://127.0.0.1:8420"}, "STRIPE_API_BASE sends payments to http://127.0.0.1:8420"),
])
def test_each_insecure_setting_is_one_problem_that_names_it(change, names):
    found = problems({**SAFE, **change})
    assert len(found) == 1 and found[0].startswith(names), found


def test_no_stripe_at_all_is_allowed_a_practice_may_take_no_payments():
    assert problems({**SAFE, "STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": ""}) == []


def test_the_app_refuses_to_start_in_production_and_prints_each_problem(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        create_app({**SAFE, "PRACTICE_ENV": "production", "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "",
                    "BASE_URL": "http://practice.example"})
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == ["refusing to start in production"] * 2
    assert "SECRET_KEY is not set" in lines[0] and "BASE_URL is http://practice.example" in lines[1]
    assert not (tmp_path / "secret_key").exists()  # nothing generated for a production that did not start


def test_outside_production_the_same_settings_start(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "BASE_URL": "http://127.0.0.1:5000",
                      "DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite3", "RATELIMIT_ENABLED": False})
    assert app.config["PRACTICE_ENV"] == "development"


def test_a_production_command_from_the_environment_exits_2_with_one_line_per_problem(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STRIPE_", "SMTP_", "REDIS_"))}
    env.update(PRACTICE_ENV="production", PRACTICE_INSTANCE_PATH=str(tmp_path), SECRET_KEY="", ENCRYPTION_KEYS="",
               DATABASE_URL=f"sqlite:///{tmp_path}/p.sqlite3", BASE_URL="https://practice.example",
               REDIS_URL="redis://127.0.0.1:6379/0", SMTP_HOST="smtp.example")
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "routes"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    problems_shown = [line for line in done.stderr.splitlines() if line.startswith("practice: refusing")]
    assert len(problems_shown) == 3, done.stderr
    assert "Traceback" not in done.stderr


def test_the_practice_zone_is_read_from_the_environment_and_checked(monkeypatch, tmp_path):
    from config import ConfigError
    from practice import clock
    from tests.conftest import _base_config

    def build():
        return create_app(_base_config(tmp_path, f"sqlite:///{tmp_path}/unused.sqlite3"))

    with build().app_context():
        assert clock.practice_zone().key == "America/New_York"
    monkeypatch.setenv("PRACTICE_TIMEZONE", "America/Denver")
    with build().app_context():
        assert clock.practice_zone().key == "America/Denver"
    for bad in ("Mars/Olympus", "x" * 300):
        monkeypatch.setenv("PRACTICE_TIMEZONE", bad)
        with pytest.raises(ConfigError, match="PRACTICE_TIMEZONE"):
            build()


def test_the_readme_documents_every_setting_read_from_the_environment():
    from config import ENVIRONMENT

    readme = (ROOT / "README.md").read_text()
    missing = [name for name in ENVIRONMENT if f"`{name}`" not in readme]
    assert missing == [], f"README.md's configuration table lacks: {missing}"
