"""The web login form (issue 16 item 10): only failures count, per (account, address) and per
account, so a jury room sharing one address is not locked out by its members signing in; a
refused login keeps the username typed. Same storage as Flask-Limiter (Redis when REDIS_URL is
set, so every worker shares the counters)."""
import time

from flask import current_app, flash, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.utils.base import get_safe_redirect
from flask_limiter.util import get_remote_address
from flask_login import login_user
from limits import parse

from app.security.logout import PostLogoutAuthDBView

SCOPE = "connexion-echecs"
INVALID = "Identifiant ou mot de passe incorrect."


def _checks(username: str) -> list:
    """(limit, key) pairs: the account from this address, the account from anywhere."""
    config = current_app.config
    account = (username or "").strip().lower()
    per_account_ip = config.get("LOGIN_FAILURES_PER_ACCOUNT_AND_IP") or config["AUTH_RATE_LIMIT"]
    return [(parse(per_account_ip),
             f"{account}|{get_remote_address() or '-'}"),
            (parse(config.get("LOGIN_FAILURES_PER_ACCOUNT", "30 per hour")), account)]


def _strategy():
    # Its own limiter on the configured storage: Flask-Limiter's is absent when the app started
    # with RATELIMIT_ENABLED off (the tests turn it on later).
    from app.security.account_limits import _limiter
    return _limiter()


def login_wait(username: str) -> int:
    """0 when this account may try again from this address, else the seconds to wait."""
    if not current_app.config.get("RATELIMIT_ENABLED"):
        return 0
    strategy = _strategy()
    for item, key in _checks(username):
        if not strategy.test(item, SCOPE, key):
            reset_time, _ = strategy.get_window_stats(item, SCOPE, key)
            return max(1, int(reset_time - time.time()))
    return 0


def count_failure(username: str) -> None:
    g.oc_login_failed = True  # the per-address limit of the form counts this response (manager.py)
    if current_app.config.get("RATELIMIT_ENABLED"):
        for item, key in _checks(username):
            _strategy().hit(item, SCOPE, key)


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} secondes"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


class LoginView(PostLogoutAuthDBView):
    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            wait = login_wait(form.username.data)
            if wait:
                from app.errors import error_response
                return error_response(429, f"Trop d'échecs de connexion pour ce compte : "
                                           f"réessayez dans {wait_text(wait)}.",
                                      headers={"Retry-After": str(wait)})
            next_url = get_safe_redirect(request.args.get("next", ""))
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if user:
                return self.signed_in(user, next_url)
            count_failure(form.username.data)
            flash(INVALID, "warning")
            form.password.data = ""
        # A refused login shows the form again with the username typed (issue 16 item 1).
        return self.render_template(self.login_template, title=self.title, form=form,
                                    appbuilder=self.appbuilder)

    def signed_in(self, user, next_url):
        """The password was right: open the session (TotpAuthDBView asks for the code first)."""
        login_user(user, remember=False)
        return redirect(next_url)
