"""Signed, expiring, single-use links (invitation, password reset, invited evaluators).

A link carries the purpose and a nonce stored on the target row; using the link rotates the nonce,
so a second use, or any older link, is refused (R-ACC-2).
"""
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.errors import RuleViolation


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"opencertif-{purpose}")


def make_token(purpose: str, row_id: int, nonce: str) -> str:
    return _serializer(purpose).dumps({"id": row_id, "n": nonce})


def read_token(purpose: str, token: str, max_age: int) -> tuple[int, str]:
    """(row id, nonce) of a valid link; RuleViolation in French otherwise."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise RuleViolation("Ce lien a expiré. Demandez un nouveau lien.", "R-ACC-2")
    except BadSignature:
        raise RuleViolation("Ce lien n'est pas valide.", "R-ACC-2")
    return int(data["id"]), str(data["n"])


def new_nonce() -> str:
    return secrets.token_hex(8)
