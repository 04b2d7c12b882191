"""Headers every response carries."""
from flask import Response, current_app, g, request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(extra: dict[str, list[str]] | None = None) -> str:
    """CSP with the sources a page added to its directives (g.csp_sources, e.g. the payment page's Stripe.js)."""
    if not extra:
        return CSP
    directives = [part.strip() for part in CSP.split(";")]
    names = [d.split()[0] for d in directives]
    for name, sources in extra.items():
        if name in names:
            i = names.index(name)
            directives[i] = " ".join([directives[i], *sources])
        else:
            directives.append(" ".join([name, *sources]))
            names.append(name)
    return "; ".join(directives)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(g.get("csp_sources")))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Manage and intake links carry tokens in their path: never leak them to other sites.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.scheme == "https" or current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith("/staff") or request.path.startswith("/api/v1/bookings"):
        headers.setdefault("Cache-Control", "no-store")
    return response
