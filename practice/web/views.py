"""The front page, the site's icon and the health check."""
from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from sqlalchemy import select, text

from practice.access import public
from practice.counselors.models import Counselor
from practice.extensions import db

bp = Blueprint("web", __name__)


@bp.get("/")
@public
def home():
    featured = db.session.scalars(
        select(Counselor).where(Counselor.active).order_by(Counselor.name).limit(3)
    ).all()
    return render_template("web/home.html", featured=featured)


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers and feed readers ask for /favicon.ico whatever the page links: the same icon, not a 404."""
    return send_from_directory(current_app.static_folder, "img/favicon.svg", mimetype="image/svg+xml",
                               max_age=86400)


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy", and says nothing more
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
