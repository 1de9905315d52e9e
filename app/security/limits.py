"""« Mot de passe oublié » limited per address and per client IP (issue 14 point 5): a mailbox
cannot be flooded, nor the outbox filled from one machine."""
import time

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse


def forgot_password_wait(email: str) -> int:
    """0 when this request may send a reset link, else the seconds to wait. Counts one hit."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED"):
        return 0
    strategy = current_app.appbuilder.sm.limiter.limiter
    checks = ((parse(config.get("FORGOT_PASSWORD_LIMIT_PER_IP", "10 per hour")),
               get_remote_address() or "-"),
              (parse(config.get("FORGOT_PASSWORD_LIMIT_PER_ADDRESS", "3 per hour")),
               (email or "").strip().lower()))
    for item, key in checks:
        if not strategy.hit(item, "mot-de-passe-oublie", key):
            reset_time, _ = strategy.get_window_stats(item, "mot-de-passe-oublie", key)
            return max(1, int(reset_time - time.time()))
    return 0
