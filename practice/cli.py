"""Command-line entry points: `flask --app app <command>`. Each domain adds its own commands here."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from practice.auth.cli import create_user_command
    from practice.intake.cli import intake_group
    from practice.worker import worker_command

    app.cli.add_command(create_user_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(intake_group)
    from practice.demo import seed_demo_command; app.cli.add_command(seed_demo_command)
    from practice.payments.cli import payments_group; app.cli.add_command(payments_group)  # reconcile
    from practice.calendar.cli import feed_url_command; app.cli.add_command(feed_url_command)  # a counselor's feed
