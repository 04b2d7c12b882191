"""The before_request hook that holds every request to its endpoint's declaration in practice.access.

It lives in auth, not beside the declarations, because it needs the signed-in user and their two-step state:
practice.access stays free of domains so that every domain's views can import it.
"""
from __future__ import annotations

from flask import abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from practice.access import declared_access
from practice.auth.service import second_factor_step


def enforce():
    """before_request: refuse anything the endpoint's declaration does not allow."""
    if request.endpoint is None:  # 404 and 405 are answered by Flask itself
        return None
    rule = declared_access(current_app, request.endpoint)
    if rule is None:
        current_app.logger.error("endpoint %s declares no access rule; refused", request.endpoint)
        abort(403)
    if rule.kind == "public":
        return None
    if not current_user.is_authenticated:
        if request.path.startswith("/api/"):
            return jsonify(error="authentication_required"), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    pending = second_factor_step(current_user)
    if pending and not rule.during_second_factor:
        return redirect(url_for(pending))
    if current_user.role not in rule.roles:
        abort(403)
    return None
