"""Who makes this request — a browser session, a JWT or an API key — with one answer for every
reader (perimeter, roles, rate limits), and CSRF skipped only for a token that authenticated.

FAB's `sm.current_user` reads `flask_jwt_extended.current_user`, which raises unless the JWT was
verified earlier in the request, and FAB exempts its APIs from CSRF on the mere presence of an
`Authorization` header (FAB-NOTES « Learnt in the second wave »)."""
import logging

from flask import current_app, g, request
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from flask_login import current_user as session_user

log = logging.getLogger(__name__)
_UNSET = object()
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def token_user():
    """The active user the Authorization header authenticates (API key or JWT), else None.

    Checked once per request: an API key is verified against its stored hash (FAB's
    `validate_api_key`, which also makes FAB's own checks see that user)."""
    cached = g.get("_oc_token_user", _UNSET)
    if cached is not _UNSET:
        return cached
    user = None
    if request.headers.get("Authorization"):
        sm = current_app.appbuilder.sm
        key = sm.extract_api_key_from_request() \
            if current_app.config.get("FAB_API_KEY_ENABLED") else None
        if key:
            user = sm.validate_api_key(key)
        else:
            try:
                if verify_jwt_in_request(optional=True):
                    user = get_current_user()
            except Exception:  # noqa: BLE001 — expired, malformed, other key, unknown user: no user
                user = None
    if user is not None and not user.is_active:
        user = None
    g._oc_token_user = user
    return user


def request_user():
    """The user of this request, in FAB's order (API key, session, JWT); None when anonymous."""
    token = token_user()
    if getattr(g, "_api_key_user", False) and token is not None:
        return token
    if session_user.is_authenticated:
        return session_user._get_current_object()
    return token


def install(app):
    """CSRF on every write to the API unless a valid token authenticated it — and the token's
    user is the session's, if a session cookie came along."""

    @app.before_request
    def _csrf_unless_token():
        if request.method in SAFE_METHODS or not request.path.startswith("/api/"):
            return
        if not app.config.get("WTF_CSRF_ENABLED", True):
            return
        token = token_user()
        if not session_user.is_authenticated:
            return  # no cookie to ride on; the endpoint itself asks for a token (401)
        if token is not None and token.id == session_user.id:
            return
        from app.extensions import csrf
        csrf.protect()
