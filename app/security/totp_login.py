"""The second factor in FAB's login flow (FAB has none).

After a correct password, a user with TOTP is NOT logged in: the session only carries a signed
state valid TOTP_PENDING_MAX_AGE seconds (user id, next page), and /login/code/ asks for the
6-digit code or a recovery code before `login_user`. A user whose role makes TOTP mandatory and
who has none is logged in but may only enrol (or sign out) until enrolled: see `install`.

The API (README « Double authentification »): API keys bypass the code by design (an
administrator issues them per account and revokes them); /api/v1/security/login refuses a
password-only login for such accounts, with a French message pointing to API keys."""
import logging

from flask import current_app, flash, redirect, request, session, url_for
from flask_appbuilder import expose
from flask_appbuilder.api import safe
from flask_appbuilder.security.api import SecurityApi as FabSecurityApi
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.utils.base import get_safe_redirect
from flask_jwt_extended import decode_token, get_jwt_identity, jwt_required
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.security import totp
from app.security.login import LoginView

log = logging.getLogger(__name__)
PENDING = "oc_2fa_en_attente"
API_REFUS = ("Ce compte est protégé par la double authentification : la connexion par mot de "
             "passe seul est refusée à l'API. Utilisez une clé d'API délivrée par un "
             "administrateur (en-tête Authorization: Bearer oc_…).")
API_INSCRIPTION = ("Votre rôle impose la double authentification : activez-la d'abord sur le "
                   "site (Mon compte › Double authentification), puis utilisez une clé d'API.")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="opencertif-2fa-login")


def pending_user():
    """The user who gave a correct password and still owes the code, else None (no state,
    expired, forged or the account deactivated meanwhile)."""
    raw = session.get(PENDING)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=current_app.config["TOTP_PENDING_MAX_AGE"])
    except BadSignature:  # SignatureExpired included
        session.pop(PENDING, None)
        return None
    user = current_app.appbuilder.sm.get_user_by_id(int(data["u"]))
    if user is None or not user.is_active:
        session.pop(PENDING, None)
        return None
    return user, data.get("n") or current_app.appbuilder.get_url_for_index


class CodeForm(FlaskForm):
    code = StringField("Code à 6 chiffres ou code de secours",
                       validators=[DataRequired("Saisissez le code."), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "autofocus": True,
                                  "inputmode": "text", "spellcheck": "false"})


class TotpAuthDBView(LoginView):
    """The login form (failures-only limit) with the code page between the password and the
    session."""

    def signed_in(self, user, next_url):
        """The password was right: with TOTP, the session waits for the code (signed pending
        state); an account whose role requires TOTP is sent to enrol first."""
        if totp.active(user):
            session[PENDING] = _serializer().dumps({"u": user.id, "n": next_url})
            return redirect(url_for(f"{self.endpoint}.code"))
        session.pop(PENDING, None)
        login_user(user, remember=False)
        if totp.doit_s_inscrire(user):
            return redirect(url_for("DoubleFacteurView.index"))
        return redirect(next_url)

    @expose("/login/code/", methods=["GET", "POST"])
    @no_cache
    def code(self):
        from app.extensions import db
        from app.security.account_limits import TooManyRequests
        from app.security.headers import too_many_requests
        pending = pending_user()
        if pending is None:
            flash("Votre connexion a expiré : saisissez de nouveau votre identifiant et votre "
                  "mot de passe.", "warning")
            return redirect(self.appbuilder.get_url_for_login)
        user, next_url = pending
        form = CodeForm()
        if form.validate_on_submit():
            from flask_limiter.util import get_remote_address
            try:
                totp.compter_essai(user.id, get_remote_address())
                sorte = totp.verifier(user, form.code.data)
            except TooManyRequests as exc:
                db.session.rollback()
                return too_many_requests(exc.retry_after, "Trop d'essais de code")
            except totp.CodeRefuse as exc:
                db.session.rollback()
                log.warning("Code de double authentification refusé pour le compte %s", user.id)
                form.code.errors = list(form.code.errors) + [exc.message]
            else:
                db.session.commit()
                session.pop(PENDING, None)
                login_user(user, remember=False)
                if sorte == "secours":
                    flash(f"Code de secours accepté : il ne servira plus. Il vous en reste "
                          f"{totp.codes_restants(user)}.", "warning")
                return redirect(get_safe_redirect(next_url))
        return self.render_template("opencertif/double_facteur_code.html", form=form,
                                    title="Double authentification", appbuilder=self.appbuilder)


class SecurityApi(FabSecurityApi):
    """FAB's token login, refused to accounts protected (or to be protected) by TOTP: a JWT
    obtained with the password alone would get around the code. The class keeps FAB's name: its
    endpoints (SecurityApi.login) and the OpenAPI stay the same."""

    def login(self):
        response = super().login()
        if response.status_code != 200:
            return response
        user_id = decode_token(response.get_json()["access_token"])["sub"]
        refus = _api_refus(int(user_id))
        return self.response(401, message=refus) if refus else response

    login.__doc__ = FabSecurityApi.login.__doc__
    login = expose("/login", methods=["POST"])(safe(login))

    def refresh(self):
        # A refresh token from before the enrolment must not mint new access tokens either.
        refus = _api_refus(int(get_jwt_identity()))
        if refus:
            return self.response(401, message=refus)
        return super().refresh()

    refresh.__doc__ = FabSecurityApi.refresh.__doc__
    refresh = expose("/refresh", methods=["POST"])(jwt_required(refresh=True)(safe(refresh)))


def _api_refus(user_id: int) -> str | None:
    user = current_app.appbuilder.sm.get_user_by_id(user_id)
    if user is None:
        return None
    if totp.active(user):
        return API_REFUS
    if totp.doit_s_inscrire(user):
        return API_INSCRIPTION
    return None


def install(app):
    """A user whose role makes TOTP mandatory and who has none may only enrol or sign out; and
    the console command that resets a second factor."""
    _install_cli(app)

    @app.before_request
    def _enrolment_first():
        endpoint = request.endpoint or ""
        if endpoint == "static" or endpoint.endswith(".static") \
                or not current_user.is_authenticated:
            return None
        from app.security.request_auth import token_user
        if token_user() is not None:
            return None  # an API key (tokens never reach such an account: see SecurityApi)
        auth_endpoint = app.appbuilder.sm.auth_view.endpoint
        if endpoint.startswith("DoubleFacteurView.") or endpoint in (
                f"{auth_endpoint}.logout", f"{auth_endpoint}.login"):
            return None
        if not totp.concerne(current_user) or not totp.doit_s_inscrire(current_user):
            return None
        if request.path.startswith("/api/") or request.method not in ("GET", "HEAD"):
            from app.errors import error_response
            return error_response(403, "Votre rôle impose la double authentification : "
                                       "activez-la avant toute autre action.")
        flash("Votre rôle impose la double authentification : activez-la pour continuer.",
              "warning")
        return redirect(url_for("DoubleFacteurView.index"))


def _install_cli(app):
    import click

    @app.cli.group("double-facteur")
    def groupe():
        """Double authentification (TOTP)."""

    @groupe.command("reinitialiser")
    @click.argument("identifiant")
    def reinitialiser(identifiant):
        """Réinitialise la double authentification d'un compte (identifiant ou e-mail)."""
        from app.errors import RuleViolation
        from app.extensions import db
        sm = app.appbuilder.sm
        user = sm.find_user(username=identifiant) or sm.find_user(email=identifiant)
        if user is None:
            raise click.ClickException(f"Aucun compte « {identifiant} ».")
        try:
            totp.reinitialiser_console(user)
        except RuleViolation as exc:
            db.session.rollback()
            raise click.ClickException(str(exc))
        db.session.commit()
        click.echo(f"Double authentification de {user.username} réinitialisée ; "
                   "un e-mail l'en informe.")
