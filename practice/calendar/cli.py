"""`flask --app app feed-url SLUG [--rotate]`: a counselor's private calendar feed address."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from practice import clock
from practice.calendar.feed import feed_url_for
from practice.counselors import queries


@click.command("feed-url")
@click.argument("slug")
@click.option("--rotate", is_flag=True, help="Make a new address; the old one stops working at once.")
@with_appcontext
def feed_url_command(slug: str, rotate: bool) -> None:
    """Print a counselor's private calendar feed address (making one if they have none)."""
    counselor = queries.counselor_by_slug(slug)
    if counselor is None:
        click.echo(f"No counselor has the slug {slug!r}.", err=True)
        raise click.exceptions.Exit(2)
    click.echo(feed_url_for(counselor, now=clock.now(), rotate=rotate))
