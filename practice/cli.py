"""Command-line entry points: `flask --app app <command>`. Each domain adds its own commands here."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from practice.auth.cli import create_user_command
    from practice.calendar.cli import feed_url_command
    from practice.demo import seed_demo_command
    from practice.intake.cli import intake_group
    from practice.payments.cli import payments_group
    from practice.worker import worker_command

    for command in (create_user_command, worker_command, intake_group, seed_demo_command,
                    payments_group,  # reconcile
                    feed_url_command):  # a counselor's feed address
        app.cli.add_command(command)
