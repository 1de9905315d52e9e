"""Accounts: users of one's perimeter, invitations, password links, employer sign-up, my account."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.errors import RuleViolation
from app.formats import FormatError, check_code_postal, check_naf, check_siren, check_siret
from app.models import Profil
from app.models.comptes import ROLES
from app.security import api_keys
from app.security.perimeter import current_perimetre
from app.views.actions import run_verb, show_violation
from app.views.base import ScopedModelView
from app.views.labels import labels
from app.workflow import comptes


class UtilisateurForm(FlaskForm):
    prenom = StringField("Prénom", validators=[DataRequired(), Length(max=64)])
    nom = StringField("Nom", validators=[DataRequired(), Length(max=64)])
    email = EmailField("E-mail", validators=[DataRequired(), Email("Adresse e-mail invalide.")])
    role = SelectField("Rôle", validators=[DataRequired()])
    dispositif_id = SelectField("Dispositif", coerce=lambda v: int(v) if v else None, validate_choice=False)
    reseau_id = SelectField("Réseau", coerce=lambda v: int(v) if v else None, validate_choice=False)
    organisme_id = SelectField("Organisme", coerce=lambda v: int(v) if v else None, validate_choice=False)
    etablissement_id = SelectField("Établissement", coerce=lambda v: int(v) if v else None, validate_choice=False)
    entreprise_id = SelectField("Entreprise", coerce=lambda v: int(v) if v else None, validate_choice=False)
    telephone = StringField("Téléphone", validators=[Optional(), Length(max=30)])
    organisation = StringField("Organisation (employeur d'un évaluateur, syndicat d'un juré)",
                               validators=[Optional(), Length(max=200)])


def _choices(model, label_attr="nom"):
    """The perimeters the actor may give (write scope): employers readable by a training body,
    for instance, are not offered to it."""
    from app.security.perimeter import scoped_query
    rows = scoped_query(model, mode="write").order_by(getattr(model, label_attr)).limit(500).all()
    return [("", "—")] + [(str(r.id), str(r)) for r in rows]


class UtilisateurView(ScopedModelView):
    """Users of the perimeter; creation sends an invitation, never a password (R-ACC-1/2)."""

    datamodel = SQLAInterface(Profil)
    class_permission_name = "Comptes"
    # "delete" is a verb no role holds: an account is deactivated, never deleted (see pre_delete).
    method_permission_name = {**ScopedModelView.method_permission_name, "reinviter": "write",
                              "desactiver": "write", "delete": "delete", "cles": "api_keys",
                              "cles_api": "api_keys", "revoquer_cle": "api_keys",
                              "double_facteur": "second_facteur"}
    list_title = "Utilisateurs"
    show_title = "Utilisateur"
    add_title = "Inviter un utilisateur"
    edit_title = "Modifier l'utilisateur"
    list_columns = ["user.last_name", "user.first_name", "user.email", "role_label", "perimetre_label",
                    "user.active"]
    show_columns = ["user.last_name", "user.first_name", "user.email", "role_label", "perimetre_label",
                    "telephone", "organisation", "user.active", "invitation_envoyee_le", "user.last_login"]
    search_columns = ["role", "telephone"]
    label_columns = labels(*set(list_columns + show_columns))
    formatters_columns = {"user.active": lambda v: "Oui" if v else "Non"}
    base_order = ("id", "desc")
    export_name = "utilisateurs"
    add_template = edit_template = "opencertif/utilisateur_form.html"

    def _form(self, profil=None):
        form = UtilisateurForm(obj=None)
        p = current_perimetre()
        form.role.choices = [(c, ROLES.label(c)) for c in comptes.assignable_roles(p)]
        from app.models import Dispositif, Entreprise, Etablissement, Organisme, Reseau
        for col, model, attr in (("dispositif_id", Dispositif, "nom"), ("reseau_id", Reseau, "nom"),
                                 ("organisme_id", Organisme, "nom"),
                                 ("etablissement_id", Etablissement, "nom"),
                                 ("entreprise_id", Entreprise, "raison_sociale")):
            choices = _choices(model, attr)
            if len(choices) == 1:  # nothing the inviter may give: no empty select to puzzle over
                del form[col]
                continue
            getattr(form, col).choices = choices
            if len(choices) == 2 and profil is None and request.method == "GET":
                getattr(form, col).data = int(choices[1][0])  # the only one: preselected
        if profil is not None and request.method == "GET":
            form.prenom.data, form.nom.data = profil.user.first_name, profil.user.last_name
            form.email.data, form.role.data = profil.user.email, profil.role
            for col in ("dispositif_id", "reseau_id", "organisme_id", "etablissement_id", "entreprise_id"):
                if col in form:
                    getattr(form, col).data = getattr(profil, col)
            form.telephone.data, form.organisation.data = profil.telephone, profil.organisation
        return form

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        form = self._form()
        if form.validate_on_submit():
            data = {k: v for k, v in form.data.items() if k != "csrf_token"}
            extra = {"telephone": data.pop("telephone"), "organisation": data.pop("organisation")}

            def create():
                user = comptes.create_user(current_perimetre(), **data)
                user.profil.telephone = extra["telephone"]
                user.profil.organisation = extra["organisation"]
                return user
            if run_verb(create, form=form,
                        success=lambda user: f"Invitation envoyée à {user.email}."):
                return redirect(self._back_or_list())
        return self.render_template(self.add_template, form=form, title=self.add_title)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        profil = self._scoped_item(pk, "write")
        form = self._form(profil)
        if form.validate_on_submit():
            if run_verb(comptes.update_user, current_perimetre(), profil, **{
                    k: v for k, v in form.data.items() if k != "csrf_token"}, form=form,
                    success="Utilisateur modifié."):
                return redirect(self.get_redirect())
        return self.render_template(self.edit_template, form=form, title=self.edit_title)

    def pre_delete(self, item):
        """Deleting the profile would leave a login with its role and no perimeter."""
        raise RuleViolation("Un compte ne se supprime pas : désactivez-le.", "R-ACC-1")

    @action("reinviter", "Renvoyer l'invitation", "Renvoyer un lien d'invitation ?", "fa-envelope",
            multiple=False)
    def reinviter(self, item):
        run_verb(comptes.send_invitation, item.user,
                 success=f"Invitation renvoyée à {item.user.email}.")
        return redirect(self.get_redirect())

    @action("desactiver", "Désactiver / réactiver", "Changer l'état du compte ?", "fa-ban",
            multiple=False)
    def desactiver(self, item):
        run_verb(comptes.toggle_active, current_perimetre(), item,
                 success=lambda _: "Compte " + ("réactivé." if item.user.active else "désactivé."))
        return redirect(self.get_redirect())


    @action("double_facteur", "Double authentification", "", "fa-mobile", multiple=False)
    def double_facteur(self, item):
        """Reset of the second factor (app/views/double_facteur.py checks who may)."""
        return redirect(url_for("DoubleFacteurAdminView.reinitialiser", user_id=item.user_id))

    @action("cles_api", "Clés d'API", "", "fa-key", multiple=False)
    def cles_api(self, item):
        return redirect(url_for("UtilisateurView.cles", pk=item.id))

    @expose("/cles/<int:pk>", methods=["GET", "POST"])
    @has_access
    def cles(self, pk):
        """Issue (shown once) and list the API keys of an account (issue 14)."""
        profil = self._scoped_item(pk)
        form, new_key = CleApiForm(), None
        if form.validate_on_submit():
            new_key = run_verb(api_keys.issue, current_perimetre(), profil, form.nom.data,
                               form.jours.data, form=form).result
        return self.render_template("opencertif/cles_api.html", form=form, profil=profil,
                                    cles=api_keys.keys_of(profil), nouvelle_cle=new_key,
                                    title=f"Clés d'API de {profil}")

    @expose("/cles/<int:pk>/revoquer/<uuid>", methods=["POST"])
    @has_access
    def revoquer_cle(self, pk, uuid):
        profil = self._scoped_item(pk)
        run_verb(api_keys.revoke, current_perimetre(), profil, uuid,
                 success="Clé révoquée : elle ne donne plus accès à rien.")
        return redirect(url_for("UtilisateurView.cles", pk=pk))


class CleApiForm(FlaskForm):
    nom = StringField("Nom de la clé", validators=[DataRequired(), Length(max=200)])
    jours = IntegerField("Validité en jours (vide : sans limite)",
                         validators=[Optional(), NumberRange(1, 3650)])


class PasswordForm(FlaskForm):
    password = PasswordField("Nouveau mot de passe", validators=[DataRequired()])
    confirm = PasswordField("Confirmation", validators=[
        DataRequired(), EqualTo("password", "Les deux mots de passe ne sont pas identiques.")])


class ForgotForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email("Adresse e-mail invalide.")])


def _format(check):
    """The format rule of app/formats.py on its field when the form is validated: every wrong
    field is said at once (the domain checks them again, one at a time, on save)."""
    def validate(form, field):
        try:
            check(field.data)
        except FormatError as exc:
            raise ValidationError(str(exc)) from exc
    return validate


class EmployeurForm(FlaskForm):
    siret = StringField("SIRET de l'établissement", validators=[DataRequired(), _format(check_siret)])
    raison_sociale = StringField("Raison sociale", validators=[DataRequired(), Length(max=200)])
    naf = StringField("Code NAF", validators=[Optional(), _format(check_naf)])
    adresse = StringField("Adresse", validators=[Optional(), Length(max=250)])
    code_postal = StringField("Code postal", validators=[Optional(), _format(check_code_postal)])
    ville = StringField("Ville", validators=[Optional(), Length(max=120)])
    prenom = StringField("Prénom du contact", validators=[DataRequired(), Length(max=64)])
    nom = StringField("Nom du contact", validators=[DataRequired(), Length(max=64)])
    email = EmailField("E-mail du contact", validators=[DataRequired(), Email("Adresse e-mail invalide.")])


class ComptePublicView(BaseView):
    """Pages reached without an account: invitation and reset links, employer sign-up."""

    route_base = "/compte"
    default_view = "mot_de_passe_oublie"
    template = "opencertif/public_form.html"

    @expose("/mot-de-passe/<token>", methods=["GET", "POST"])
    def definir_mot_de_passe(self, token):
        purpose = "reset" if request.args.get("reset") else "invitation"
        try:
            user = comptes.user_for_token(token, purpose)
        except RuleViolation as exc:
            return self.render_template(self.template, title="Lien invalide", message=str(exc)), 400
        form = PasswordForm()
        if form.validate_on_submit():
            if run_verb(comptes.set_password_with_token, token, purpose, form.password.data,
                        form=form, success="Votre mot de passe est enregistré. Vous pouvez vous "
                                           "connecter."):
                return redirect(self.appbuilder.get_url_for_login)
        return self.render_template(self.template, form=form, title="Choisir votre mot de passe",
                                    message=f"Compte : {user.email}")

    @expose("/mot-de-passe-oublie", methods=["GET", "POST"])
    def mot_de_passe_oublie(self):
        form = ForgotForm()
        if form.validate_on_submit():
            from app.security.headers import too_many_requests
            from app.security.limits import forgot_password_wait
            if wait := forgot_password_wait(form.email.data):
                return too_many_requests(wait, "Trop de demandes de réinitialisation")
            run_verb(comptes.request_password_reset, form.email.data)
            flash("Si un compte correspond à cette adresse, un lien de réinitialisation vient d'être "
                  "envoyé.", "info")
            return redirect(self.appbuilder.get_url_for_login)
        return self.render_template(self.template, form=form, title="Mot de passe oublié")

    @expose("/employeur", methods=["GET", "POST"])
    def creer_compte_employeur(self):
        form = EmployeurForm()
        if form.validate_on_submit():
            data = {k: (v or None) for k, v in form.data.items() if k != "csrf_token"}
            if run_verb(comptes.signup_employer, **data, form=form,
                        success="Demande enregistrée : confirmez votre adresse avec le lien "
                                "envoyé par e-mail. Le compte sera ouvert après approbation par "
                                "le secrétariat du certificateur."):
                return redirect(self.appbuilder.get_url_for_login)
        return self.render_template(self.template, form=form, title="Demander un compte employeur",
                                    message="Un compte par établissement (SIRET), ouvert après "
                                            "confirmation de votre adresse e-mail et approbation "
                                            "par le secrétariat du certificateur.")

    @expose("/inscription/<token>", methods=["GET", "POST"])
    def confirmer_inscription(self, token):
        """The sign-up e-mail's link: confirms the address and sets the password (issue 14)."""
        try:
            from app.security import tokens
            tokens.read_token("inscription", token, current_app.config["INVITATION_MAX_AGE"])
        except RuleViolation as exc:
            return self.render_template(self.template, title="Lien invalide", message=str(exc)), 400
        form = PasswordForm()
        if form.validate_on_submit():
            done = run_verb(comptes.confirm_signup, token, form.password.data, quiet=True)
            if not done and done.violation.field == "password":
                show_violation(done.violation, form)
            elif not done:  # the link itself went bad meanwhile
                return self.render_template(self.template, title="Lien invalide",
                                            message=str(done.violation)), 400
            else:
                return self.render_template(
                    self.template, title="Adresse e-mail confirmée",
                    message="Merci. Votre demande est transmise au secrétariat du certificateur : "
                            "vous recevrez un e-mail dès que votre compte sera ouvert.")
        return self.render_template(self.template, form=form, title="Confirmer votre demande",
                                    message="Choisissez le mot de passe de votre futur compte.")


class ChangePasswordForm(PasswordForm):
    ancien = PasswordField("Mot de passe actuel", validators=[DataRequired()])


class MonCompteView(BaseView):
    """The signed-in user's own page: profile and password change (asks the current one)."""

    route_base = "/mon-compte"
    default_view = "index"
    class_permission_name = "MonCompte"
    method_permission_name = {"index": "read", "mot_de_passe": "write"}

    @expose("/")
    @has_access
    def index(self):
        from app.security import totp
        return self.render_template("opencertif/mon_compte.html", user=current_user,
                                    profil=getattr(current_user, "profil", None),
                                    double_facteur_possible=totp.concerne(current_user))

    @expose("/mot-de-passe", methods=["GET", "POST"])
    @has_access
    def mot_de_passe(self):
        form = ChangePasswordForm()
        if form.validate_on_submit():
            if not check_password_hash(current_user.password, form.ancien.data):
                form.ancien.errors = list(form.ancien.errors) + ["Mot de passe actuel incorrect."]
            else:
                def change():
                    comptes.validate_password(form.password.data)
                    current_user.password = generate_password_hash(form.password.data)
                if run_verb(change, form=form, success="Mot de passe modifié."):
                    return redirect(url_for("MonCompteView.index"))
        return self.render_template("opencertif/public_form.html", form=form,
                                    title="Changer mon mot de passe")


class DecisionInscriptionForm(FlaskForm):
    motif = StringField("Motif du refus", validators=[Optional(), Length(max=500)])


class InscriptionEmployeurView(BaseView):
    """Employer sign-ups waiting for approval (issue 14): the secretariat sees every request, an
    approved employer account those of its own SIRET; the SIRET and SIREN keys are checked."""

    route_base = "/inscriptions-employeur"
    default_view = "liste"
    class_permission_name = "InscriptionsEmployeur"
    method_permission_name = {"liste": "read", "decider": "write"}

    @expose("/")
    @has_access
    def liste(self):
        rows = []
        for profil in comptes.pending_signups(current_perimetre()).limit(200):
            siret = profil.entreprise.siret if profil.entreprise else ""
            rows.append((profil, siret, siret[:9], _key_ok(check_siret, siret),
                         _key_ok(check_siren, siret[:9])))
        return self.render_template("opencertif/inscriptions_employeur.html", rows=rows,
                                    form=DecisionInscriptionForm(),
                                    title="Demandes de compte employeur")

    @expose("/decider/<int:pk>/<string:choix>", methods=["POST"])
    @has_access
    def decider(self, pk, choix):
        if choix not in ("approuver", "refuser"):
            abort(404)
        form = DecisionInscriptionForm()
        run_verb(comptes.decide_signup, current_perimetre(), pk, choix == "approuver",
                 form.motif.data,
                 success="Demande approuvée : le compte est ouvert." if choix == "approuver"
                 else "Demande refusée : le demandeur est prévenu par e-mail.")
        return redirect(url_for("InscriptionEmployeurView.liste"))


def _key_ok(check, value) -> bool:
    try:
        check(value)
    except FormatError:
        return False
    return True


def register(appbuilder):
    appbuilder.add_view(UtilisateurView, "Utilisateurs", label="Utilisateurs", icon="fa-users",
                        category="Comptes", category_icon="fa-user", category_label="Comptes")
    appbuilder.add_view(InscriptionEmployeurView, "Demandes de compte employeur",
                        label="Demandes de compte employeur", icon="fa-user-plus",
                        category="Comptes")
    appbuilder.add_view_no_menu(ComptePublicView)
    appbuilder.add_view_no_menu(MonCompteView)
