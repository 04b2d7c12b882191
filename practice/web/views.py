"""The front page and the health check."""
from flask import Blueprint, jsonify, render_template
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


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy", and says nothing more
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
