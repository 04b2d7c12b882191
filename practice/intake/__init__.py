"""Private intake: each person's questionnaire, routing of the booking, and what staff see of it."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The intake pages (and their staff pages), the intake API, and `flask rotate-keys`."""
    from practice.extensions import csrf
    from practice.intake.api import bp as api_bp
    from practice.intake.keys import rotate_keys_command
    from practice.intake.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # the JSON API acts on the link's token, never on a cookie
    app.cli.add_command(rotate_keys_command)
