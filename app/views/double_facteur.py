"""« Mon compte › Double authentification » (enrolment, recovery codes, disabling) and the
administrators' screens (mandatory per role, reset of a user's second factor). The rules are in
app/security/totp.py."""
from flask import abort, flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.sqla.models import User
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models.comptes import ROLES, ROLES_DOUBLE_FACTEUR
from app.security import totp
from app.security.perimeter import current_perimetre
from app.views.actions import run_verb, show_violation


class ConfirmationForm(FlaskForm):
    code = StringField("Code à 6 chiffres affiché par l'application",
                       validators=[DataRequired("Saisissez le code."), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class CodeActuelForm(FlaskForm):
    code = StringField("Code actuel (ou un code de secours)",
                       validators=[DataRequired("Saisissez le code."), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code"})


class VideForm(FlaskForm):
    """A button with its CSRF token."""


def _exigences_form(valeurs: dict[str, bool]):
    class ExigencesForm(FlaskForm):
        pass
    for role in ROLES_DOUBLE_FACTEUR:
        setattr(ExigencesForm, f"role_{role}",
                BooleanField(ROLES.label(role), default=valeurs.get(role, False)))
    return ExigencesForm()


class DoubleFacteurView(BaseView):
    """The signed-in user's second factor. Reachable while enrolment is forced (totp_login)."""

    route_base = "/mon-compte/double-authentification"
    default_view = "index"
    class_permission_name = "MonCompte"
    method_permission_name = {"index": "read", "confirmer": "write", "codes": "write",
                              "desactiver": "write"}
    template = "opencertif/double_facteur.html"

    def _page(self, form=None, codes_form=None, desactiver_form=None, codes_secours=None):
        user = current_user._get_current_object()
        if not totp.concerne(user):
            flash("La double authentification est réservée au secrétariat, à l'administrateur "
                  "technique et aux administrateurs réseau.", "info")
            return redirect(url_for("MonCompteView.index"))
        row = totp.etat(user)
        context = {"etat": row, "codes_secours": codes_secours,
                   "obligatoire": totp.obligatoire(totp.role_of(user)),
                   "est_admin": current_perimetre().role == "admin",
                   "title": "Double authentification"}
        if row is None or row.active_le is None:
            secret = run_verb(totp.commencer, user).result
            lien = totp.lien_application(user, secret)
            context.update(secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
                           qr=totp.qr_code_data_uri(lien), form=form or ConfirmationForm())
        else:
            context.update(restants=totp.codes_restants(user),
                           codes_form=codes_form or CodeActuelForm(prefix="codes"),
                           desactiver_form=desactiver_form or CodeActuelForm(prefix="off"))
        return self.render_template(self.template, **context)

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/confirmer", methods=["POST"])
    @has_access
    def confirmer(self):
        form = ConfirmationForm()
        if form.validate_on_submit():
            done = run_verb(totp.confirmer, current_user, form.code.data, quiet=True)
            if done:
                flash("Double authentification activée : le code de votre application vous sera "
                      "demandé à chaque connexion.", "success")
                return self._page(codes_secours=done.result)
            _on_code(form, done.violation)
        return self._page(form=form)

    @expose("/codes-de-secours", methods=["POST"])
    @has_access
    def codes(self):
        form = CodeActuelForm(prefix="codes")
        if form.validate_on_submit():
            done = run_verb(totp.regenerer_codes, current_user, form.code.data, quiet=True)
            if done:
                flash("Nouveaux codes de secours : les anciens ne fonctionnent plus.", "success")
                return self._page(codes_secours=done.result)
            _on_code(form, done.violation)
        return self._page(codes_form=form)

    @expose("/desactiver", methods=["POST"])
    @has_access
    def desactiver(self):
        form = CodeActuelForm(prefix="off")
        if form.validate_on_submit():
            done = run_verb(totp.desactiver, current_user, form.code.data, quiet=True)
            if done:
                flash("Double authentification désactivée.", "success")
                return redirect(url_for("MonCompteView.index"))
            if not isinstance(done.violation, totp.CodeRefuse):  # not the code: the rule
                show_violation(done.violation)
                return redirect(url_for("DoubleFacteurView.index"))
            _on_code(form, done.violation)
        return self._page(desactiver_form=form)


def _on_code(form, violation):
    """A refused code is said next to the code field, whatever the rule names."""
    form.code.errors = list(form.code.errors) + [violation.message]


class DoubleFacteurAdminView(BaseView):
    """Mandatory per role (technical administrator) and reset of a user's second factor
    (technical administrator; secretariat for the accounts of its dispositif below it)."""

    route_base = "/double-authentification"
    default_view = "exigences"
    class_permission_name = "Comptes"
    method_permission_name = {"exigences": "second_facteur", "reinitialiser": "second_facteur"}

    @expose("/exigences", methods=["GET", "POST"])
    @has_access
    def exigences(self):
        actor = current_perimetre()
        if actor.role != "admin":
            abort(403)
        form = _exigences_form(totp.exigences())
        if form.validate_on_submit():
            run_verb(totp.definir_exigences, actor, {role: getattr(form, f"role_{role}").data
                                                     for role in ROLES_DOUBLE_FACTEUR})
            flash("Exigences enregistrées : un compte d'un rôle concerné sans double "
                  "authentification devra l'activer à sa prochaine page.", "success")
            return redirect(url_for("DoubleFacteurAdminView.exigences"))
        return self.render_template("opencertif/double_facteur_exigences.html", form=form,
                                    champs=[getattr(form, f"role_{r}")
                                            for r in ROLES_DOUBLE_FACTEUR],
                                    title="Double authentification : exigences par rôle")

    @expose("/reinitialiser/<int:user_id>", methods=["GET", "POST"])
    @has_access
    def reinitialiser(self, user_id):
        actor = current_perimetre()
        user = db.session.get(User, user_id)
        if user is None:
            abort(404)
        if not totp.peut_reinitialiser(actor, user):
            try:
                totp.reinitialiser(actor, user)  # raises the precise refusal
            except PerimeterViolation:
                abort(404)
            except RuleViolation:
                abort(403)
        form = VideForm()
        if form.validate_on_submit() and run_verb(totp.reinitialiser, actor, user,
                    success=f"Double authentification de {user.first_name} "
                            f"{user.last_name} réinitialisée : un e-mail l'en informe."):
            return redirect(url_for("DoubleFacteurAdminView.reinitialiser", user_id=user_id))
        return self.render_template("opencertif/double_facteur_reinitialiser.html", form=form,
                                    cible=user, etat=totp.etat(user),
                                    journal=totp.journal(user.id),
                                    title="Réinitialiser la double authentification")


def register(appbuilder):
    appbuilder.add_view_no_menu(DoubleFacteurView)
    appbuilder.add_view_no_menu(DoubleFacteurAdminView)
