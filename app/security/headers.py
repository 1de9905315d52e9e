"""HTTP hardening (issue 14 point 5): security headers on every answer, no caching of what a
signed-in user sees, local-only redirects, French 429 answers with the time to wait."""
import math
import re
import time
from urllib.parse import urlsplit

from flask import current_app, request
from flask_login import current_user

# FAB's own templates (init.html, list, search and edit widgets) carry inline <script> blocks and
# ours a few onsubmit="return confirm(…)" handlers: scripts stay 'self' + 'unsafe-inline' (no
# eval, no other origin) until those templates are overridden. Styles: style="" attributes.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
PERMISSIONS = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
               "microphone=(), payment=(), usb=()")
HSTS = "max-age=31536000; includeSubDomains"


def _authenticated() -> bool:
    return bool(request.headers.get("Authorization")) or bool(
        getattr(current_user, "is_authenticated", False))


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("Permissions-Policy", PERMISSIONS)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if _authenticated() and not (request.endpoint or "").endswith("static"):
        # Dossiers, exports, downloads and API answers must not stay in a shared or back cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


def local_path(target: str | None, default: str) -> str:
    """`target` when it is a path of this site (/…), else `default`: never //host, /\\host,
    https://host or a control character a browser would strip into one of those."""
    if not target or _UNSAFE.search(target) or not target.startswith("/") \
            or target.startswith("//"):
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default


def retry_after_seconds(exc=None) -> int:
    limiter = getattr(current_app.appbuilder.sm, "limiter", None)
    current = getattr(limiter, "current_limit", None) if limiter is not None else None
    if current is not None:
        return max(1, current.reset_at - int(time.time()))
    limit = getattr(getattr(exc, "limit", None), "limit", None)
    return int(limit.get_expiry()) if limit is not None else 60


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconde{'s' if seconds > 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def too_many_requests(seconds: int, what: str = "Trop de requêtes"):
    from app.errors import error_response
    return error_response(429, f"{what} : réessayez dans {wait_text(seconds)}.",
                          headers={"Retry-After": str(seconds)})


def register(app):
    app.after_request(security_headers)

    @app.errorhandler(429)
    def _too_many(exc):
        own = getattr(exc, "response", None)  # a limit's own answer (on_breach)
        if own is not None and (own.mimetype == "application/json"
                                or not request.path.startswith("/api/")):
            if "Retry-After" not in own.headers:
                own.headers["Retry-After"] = str(retry_after_seconds(exc))
            return own
        # Under /api/ always French JSON with the time to wait, whatever answered the limit.
        return too_many_requests(retry_after_seconds(exc))

    # A per-account limit (TooManyRequests) is a refusal of the domain: answered with the others
    # at the seam (app/views/actions.py), 429 with Retry-After.

    trusted = int(app.config.get("TRUSTED_PROXIES") or 0)
    if trusted > 0:
        # Only as many X-Forwarded-* hops as there are proxies of ours: a client cannot choose
        # its own address (login limits are counted per address).
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted,
                                x_port=trusted, x_prefix=trusted)
