"""Who may use each route. Every endpoint declares it; anything undeclared is refused (see tests/test_routes.py).

    @bp.get("/counselors")
    @public
    def directory(): ...

    @bp.get("/staff/counselors/<slug>/edit")
    @staff("admin", "counselor")      # ownership is checked in the handler
    def edit_counselor(slug): ...

Every domain's views import this, so it imports no domain: the staff roles are defined here and practice.auth
uses them, never the other way round. The before_request hook that applies the declarations to the signed-in
user is practice.auth.enforcement.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

ROLES = ("admin", "frontdesk", "counselor")


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
