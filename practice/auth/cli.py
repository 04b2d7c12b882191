"""`flask --app app create-user`: the first admin, or any staff account, from the shell."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from practice.access import ROLES
from practice.auth import service
from practice.counselors.models import Counselor
from practice.extensions import db


@click.command("create-user")
@click.option("--email", prompt=True, help="Sign-in email address.")
@click.option("--name", prompt=True, help="Full name.")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--counselor", "counselor_slug", default=None, help="Profile slug, for a counselor account.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given (keeps it out of shell history).")
@with_appcontext
def create_user_command(email: str, name: str, role: str, counselor_slug: str | None, password: str) -> None:
    """Create a staff account (by default an admin)."""
    counselor_id = None
    if counselor_slug:
        counselor_id = db.session.scalar(select(Counselor.id).where(Counselor.slug == counselor_slug))
        if counselor_id is None:
            click.echo(f"Error: no counselor with slug {counselor_slug!r}.", err=True)
            sys.exit(2)
    try:
        user = service.create_user(email=email, name=name, password=password, role=role, counselor_id=counselor_id)
    except service.AccountError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"Created {user.role_label.lower()} account {user.email}.")
