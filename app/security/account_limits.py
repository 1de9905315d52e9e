"""Rate limits per account (not per address): the duplicate search of R-CAN-2, for a browser
session and a token alike. Same storage as Flask-Limiter (RATELIMIT_STORAGE_URI: Redis when
REDIS_URL is set, so every worker shares the counters)."""
import time

from flask import current_app
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.errors import RuleViolation


class TooManyRequests(RuleViolation):
    """Over the account's limit: views answer 429 with Retry-After."""

    def __init__(self, message, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def _limiter():
    ext = current_app.extensions
    if "oc_account_limiter" not in ext:
        uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        ext["oc_account_limiter"] = FixedWindowRateLimiter(storage_from_string(uri))
    return ext["oc_account_limiter"]


def hit(name: str, config_key: str, user_id) -> None:
    """Count one use of `name` by `user_id`; TooManyRequests beyond the configured limits."""
    limits = current_app.config.get(config_key)
    if not (limits and current_app.config.get("RATELIMIT_ENABLED")):
        return
    limiter = _limiter()
    for item in parse_many(limits):
        if not limiter.hit(item, name, str(user_id)):
            reset, _ = limiter.get_window_stats(item, name, str(user_id))
            wait = max(1, int(reset - time.time()))
            raise TooManyRequests(
                f"Trop de recherches en peu de temps : réessayez dans {_duree(wait)}.", wait)


def _duree(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} secondes"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} heures"
