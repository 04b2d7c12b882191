"""Jinja filters and globals: how money, times and vocabulary read on a page."""
from __future__ import annotations

from flask import Flask

from practice.counselors import vocabulary


def money(minor: int, currency: str = "USD") -> str:
    if minor == 0:
        return "Free"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$"}.get(currency.upper(), currency.upper() + " ")
    whole, cents = divmod(minor, 100)
    return f"{symbol}{whole:,}" if cents == 0 else f"{symbol}{whole:,}.{cents:02d}"


def register(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.globals["vocab"] = vocabulary

    @app.context_processor
    def practice_context():
        from practice.auth.models import PracticeSettings

        return {"practice_name": _practice_name(PracticeSettings)}


def _practice_name(settings_model) -> str:
    from sqlalchemy.exc import SQLAlchemyError

    from practice.auth.models import DEFAULT_PRACTICE_NAME

    from practice.extensions import db

    try:
        row = db.session.get(settings_model, 1)
    except SQLAlchemyError:  # an unmigrated database still renders its error page
        db.session.rollback()
        return DEFAULT_PRACTICE_NAME
    return row.practice_name if row else DEFAULT_PRACTICE_NAME
