"""Accounts: users of one's perimeter, invitations, password links, employer sign-up, my account."""
from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from app.extensions import db
from app.models import Profil
from app.models.comptes import ROLES
from app.security.perimeter import current_perimetre
from app.views.base import ScopedModelView
from app.views.labels import labels
from app.workflow import RuleViolation
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
                              "desactiver": "write", "delete": "delete"}
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
        form.dispositif_id.choices = _choices(Dispositif)
        form.reseau_id.choices = _choices(Reseau)
        form.organisme_id.choices = _choices(Organisme)
        form.etablissement_id.choices = _choices(Etablissement)
        form.entreprise_id.choices = _choices(Entreprise, "raison_sociale")
        if profil is not None and request.method == "GET":
            form.prenom.data, form.nom.data = profil.user.first_name, profil.user.last_name
            form.email.data, form.role.data = profil.user.email, profil.role
            for col in ("dispositif_id", "reseau_id", "organisme_id", "etablissement_id", "entreprise_id"):
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
            try:
                user = comptes.create_user(current_perimetre(), **data)
                user.profil.telephone, user.profil.organisation = extra["telephone"], extra["organisation"]
                db.session.commit()
            except RuleViolation as exc:
                db.session.rollback()
                field = getattr(form, exc.field or "", None) or getattr(form, f"{exc.field}_id", None)
                if field is not None:
                    field.errors = list(field.errors) + [exc.message]
                else:
                    flash(str(exc), "danger")
            else:
                flash(f"Invitation envoyée à {user.email}.", "success")
                return redirect(self.get_redirect())
        return self.render_template(self.add_template, form=form, title=self.add_title)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        profil = self._scoped_item(pk, "write")
        form = self._form(profil)
        if form.validate_on_submit():
            try:
                comptes.update_user(current_perimetre(), profil, **{
                    k: v for k, v in form.data.items() if k != "csrf_token"})
                db.session.commit()
            except RuleViolation as exc:
                db.session.rollback()
                field = getattr(form, exc.field or "", None) or getattr(form, f"{exc.field}_id", None)
                if field is not None:
                    field.errors = list(field.errors) + [exc.message]
                else:
                    flash(str(exc), "danger")
            else:
                flash("Utilisateur modifié.", "success")
                return redirect(self.get_redirect())
        return self.render_template(self.edit_template, form=form, title=self.edit_title)

    def pre_delete(self, item):
        """Deleting the profile would leave a login with its role and no perimeter."""
        raise RuleViolation("Un compte ne se supprime pas : désactivez-le.", "R-ACC-1")

    @action("reinviter", "Renvoyer l'invitation", "Renvoyer un lien d'invitation ?", "fa-envelope",
            multiple=False)
    def reinviter(self, item):
        comptes.send_invitation(item.user)
        db.session.commit()
        flash(f"Invitation renvoyée à {item.user.email}.", "success")
        return redirect(self.get_redirect())

    @action("desactiver", "Désactiver / réactiver", "Changer l'état du compte ?", "fa-ban",
            multiple=False)
    def desactiver(self, item):
        comptes.toggle_active(current_perimetre(), item)
        db.session.commit()
        flash("Compte " + ("réactivé." if item.user.active else "désactivé."), "success")
        return redirect(self.get_redirect())


class PasswordForm(FlaskForm):
    password = PasswordField("Nouveau mot de passe", validators=[DataRequired()])
    confirm = PasswordField("Confirmation", validators=[
        DataRequired(), EqualTo("password", "Les deux mots de passe ne sont pas identiques.")])


class ForgotForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email("Adresse e-mail invalide.")])


class EmployeurForm(FlaskForm):
    siret = StringField("SIRET de l'établissement", validators=[DataRequired()])
    raison_sociale = StringField("Raison sociale", validators=[DataRequired(), Length(max=200)])
    naf = StringField("Code NAF", validators=[Optional(), Length(max=6)])
    adresse = StringField("Adresse", validators=[Optional(), Length(max=250)])
    code_postal = StringField("Code postal", validators=[Optional(), Length(max=5)])
    ville = StringField("Ville", validators=[Optional(), Length(max=120)])
    prenom = StringField("Prénom du contact", validators=[DataRequired(), Length(max=64)])
    nom = StringField("Nom du contact", validators=[DataRequired(), Length(max=64)])
    email = EmailField("E-mail du contact", validators=[DataRequired(), Email("Adresse e-mail invalide.")])


def _form_error(form, exc):
    field = getattr(form, exc.field or "", None)
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(str(exc), "danger")


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
            try:
                comptes.set_password_with_token(token, purpose, form.password.data)
            except RuleViolation as exc:
                db.session.rollback()
                _form_error(form, exc)
            else:
                flash("Votre mot de passe est enregistré. Vous pouvez vous connecter.", "success")
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
            comptes.request_password_reset(form.email.data)
            db.session.commit()
            flash("Si un compte correspond à cette adresse, un lien de réinitialisation vient d'être "
                  "envoyé.", "info")
            return redirect(self.appbuilder.get_url_for_login)
        return self.render_template(self.template, form=form, title="Mot de passe oublié")

    @expose("/employeur", methods=["GET", "POST"])
    def creer_compte_employeur(self):
        form = EmployeurForm()
        if form.validate_on_submit():
            data = {k: (v or None) for k, v in form.data.items() if k != "csrf_token"}
            try:
                comptes.signup_employer(**data)
                db.session.commit()
            except RuleViolation as exc:
                db.session.rollback()
                _form_error(form, exc)
            else:
                flash("Compte employeur créé : un lien pour choisir votre mot de passe vient de vous "
                      "être envoyé par e-mail.", "success")
                return redirect(self.appbuilder.get_url_for_login)
        return self.render_template(self.template, form=form, title="Créer un compte employeur",
                                    message="Un compte par établissement (SIRET).")


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
        return self.render_template("opencertif/mon_compte.html", user=current_user,
                                    profil=getattr(current_user, "profil", None))

    @expose("/mot-de-passe", methods=["GET", "POST"])
    @has_access
    def mot_de_passe(self):
        form = ChangePasswordForm()
        if form.validate_on_submit():
            if not check_password_hash(current_user.password, form.ancien.data):
                form.ancien.errors = list(form.ancien.errors) + ["Mot de passe actuel incorrect."]
            else:
                try:
                    comptes.validate_password(form.password.data)
                except RuleViolation as exc:
                    _form_error(form, exc)
                else:
                    current_user.password = generate_password_hash(form.password.data)
                    db.session.commit()
                    flash("Mot de passe modifié.", "success")
                    return redirect(url_for("MonCompteView.index"))
        return self.render_template("opencertif/public_form.html", form=form,
                                    title="Changer mon mot de passe")


def register(appbuilder):
    appbuilder.add_view(UtilisateurView, "Utilisateurs", label="Utilisateurs", icon="fa-users",
                        category="Comptes", category_icon="fa-user", category_label="Comptes")
    appbuilder.add_view_no_menu(ComptePublicView)
    appbuilder.add_view_no_menu(MonCompteView)
