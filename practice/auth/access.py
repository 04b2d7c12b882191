"""Who may use each route. Every endpoint declares it; anything undeclared is refused (see tests/test_routes.py).

    @bp.get("/counselors")
    @public
    def directory(): ...

    @bp.get("/staff/counselors/<slug>/edit")
    @staff("admin", "counselor")      # ownership is checked in the handler
    def edit_counselor(slug): ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from practice.auth.models import ROLES


@dataclass(frozen=True)
class Access:
    kind: str  # "public" or "staff"
    roles: tuple[str, ...] = ()
    # A signed-in user who still has to finish two-step set-up or verification may reach these.
    during_second_factor: bool = False


PUBLIC = Access("public")


def public(view: Callable) -> Callable:
    """Anyone, signed in or not. Views that take a token check it themselves."""
    view.access = PUBLIC
    return view


def staff(*roles: str, during_second_factor: bool = False) -> Callable[[Callable], Callable]:
    """Signed-in staff with one of `roles` (all staff roles when none are named)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    rule = Access("staff", tuple(roles) or ROLES, during_second_factor)

    def decorate(view: Callable) -> Callable:
        view.access = rule
        return view

    return decorate


def declared_access(app, endpoint: str) -> Access | None:
    """The rule an endpoint declared, or None. Endpoints of extensions (static files) are declared here."""
    if endpoint == "static":
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def enforce():
    """before_request: refuse anything the endpoint's declaration does not allow."""
    if request.endpoint is None:  # 404 and 405 are answered by Flask itself
        return None
    rule = declared_access(current_app, request.endpoint)
    if rule is None:
        current_app.logger.error("endpoint %s declares no access rule; refused", request.endpoint)
        return _refuse(403)
    if rule.kind == "public":
        return None
    if not current_user.is_authenticated:
        if _wants_json():
            return jsonify(error="authentication_required"), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    from practice.auth.service import second_factor_step  # late: service imports models of other domains

    pending = second_factor_step(current_user)
    if pending and not rule.during_second_factor:
        return redirect(url_for(pending))
    if current_user.role not in rule.roles:
        return _refuse(403)
    return None


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _refuse(status: int):
    from flask import abort

    abort(status)
