"""`flask --app app intake route FILE`: the routing engine on an intake JSON, for staff and outside checks."""
from __future__ import annotations

import json
import sys

import click

from practice.core.routing import RoutingInputInvalid, route


@click.group("intake")
def intake_group() -> None:
    """Intake tools."""


@intake_group.command("route")
@click.argument("source", type=click.File("r", encoding="utf-8"))
def route_command(source) -> None:
    """Route an intake JSON (FILE, or - for standard input) and print the decision as JSON.

    Input: {"format": "couple"|"individual", "partners": [{"answers": {...}}, ...]}. Exit status 2 with a message
    on invalid input.
    """
    try:
        payload = json.load(source)
    except json.JSONDecodeError as exc:
        _fail(f"not valid JSON: {exc}")
    except UnicodeDecodeError:
        _fail("not valid UTF-8 text")
    try:
        decision = route(payload)
    except RoutingInputInvalid as exc:
        _fail(f"invalid intake:\n{exc}")
    click.echo(json.dumps(decision, indent=2, ensure_ascii=False))


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)
