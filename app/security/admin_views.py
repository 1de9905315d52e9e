"""FAB's own security screens, for the technical administrator only (issue 16 item 4).

Accounts come by invitation (app/views/comptes.UtilisateurView, R-ACC-1/2) and roles are code
(app/security/roles.py): here the users are listed and shown, never added, edited or given a
password by someone else; roles are shown by name and purpose, not as permission regexes. FAB's
groups, permission tables and its user statistics chart (which loads Google Charts from the
Internet) are not registered at all (OpenCertifSecurityManager)."""
from flask import abort
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.views import ResetPasswordView, RoleModelView, UserDBModelView
from flask_appbuilder.widgets import ListWidget, ShowWidget
from markupsafe import Markup, escape

from app.formats import format_datetime_fr
from app.models.comptes import ROLES

# What each role is for, as a secretary would say it (role rows are named by ROLES' labels).
PURPOSES = {
    "Admin": "Administrateur technique : tous les droits sur toute la plateforme, écrans de sécurité compris.",
    ROLES.label("secretariat"): "Gère un dispositif : habilitations, candidatures, jurys, documents émis, statistiques.",
    ROLES.label("admin_reseau"): "Gère les organismes, établissements et comptes de son réseau ; demande les habilitations.",
    ROLES.label("superviseur_reseau"): "Consulte les structures, comptes et habilitations de son réseau.",
    ROLES.label("admin_organisme"): "Gère les établissements, comptes et candidatures de son organisme.",
    ROLES.label("utilisateur_organisme"): "Saisit les candidatures et évaluations de son organisme.",
    ROLES.label("admin_etablissement"): "Gère les comptes et candidatures de son établissement.",
    ROLES.label("utilisateur_etablissement"): "Saisit les candidatures et évaluations de son établissement.",
    ROLES.label("employeur"): "Propose et suit les candidatures de ses salariés.",
    ROLES.label("evaluateur"): "Évalue les candidats des dossiers qui lui sont confiés.",
    ROLES.label("jury"): "Délibère dans les jurys dont il est membre.",
    ROLES.label("manager"): "Consulte les statistiques et rapports de son dispositif.",
    "Public": "Visiteur non connecté : pages publiques (vérification des documents, inscription employeur).",
}


def _roles(roles) -> str:
    return ", ".join(r.name for r in roles) or "—"


def _yes_no(value) -> str:
    return "Oui" if value else "Non"


def _count(value) -> str:
    # FAB leaves the counters NULL until the first login (created by invitation or the demo).
    return str(value or 0)


def _when(value) -> str:
    return format_datetime_fr(value) if value else "—"


class OcUserView(UserDBModelView):
    """Users, read-only: invitations and deactivation are in Comptes › Utilisateurs."""

    base_permissions = ["can_list", "can_show"]
    list_title = "Comptes (vue technique)"
    list_template = "opencertif/comptes_techniques.html"
    show_title = "Compte"
    list_columns = ["first_name", "last_name", "username", "email", "roles", "active", "last_login"]
    show_columns = ["first_name", "last_name", "username", "email", "roles", "active", "last_login",
                    "login_count", "fail_login_count", "created_on", "changed_on"]
    show_fieldsets = None
    search_columns = ["first_name", "last_name", "username", "email", "active"]
    label_columns = {
        "first_name": "Prénom", "last_name": "Nom", "username": "Identifiant", "email": "E-mail",
        "roles": "Rôle", "active": "Actif", "last_login": "Dernière connexion",
        "login_count": "Connexions", "fail_login_count": "Échecs de connexion",
        "created_on": "Créé le", "changed_on": "Modifié le",
    }
    formatters_columns = {"roles": _roles, "active": _yes_no, "last_login": _when,
                          "created_on": _when, "changed_on": _when, "login_count": _count,
                          "fail_login_count": _count}

    # FAB's « reset password » action (list and show): no password is set by a third party;
    # its own-account actions live in « Mon compte ».
    resetpasswords = resetmypassword = userinfoedit = None

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        widgets = self._get_show_widget(pk, item, actions={})
        self.update_redirect()
        return self.render_template(self.show_template, pk=pk, title=self.show_title,
                                    widgets=widgets, related_views=self._related_views)


class OcRoleView(RoleModelView):
    """Roles by name and purpose; their permissions are code (app/security/roles.py)."""

    # FAB's role widgets print the permissions and ignore formatters.
    list_widget = ListWidget
    show_widget = ShowWidget
    base_permissions = ["can_list", "can_show"]
    list_title = "Rôles"
    show_title = "Rôle"
    list_columns = ["name"]
    show_columns = ["name"]
    label_columns = {"name": "Rôle et usage"}
    formatters_columns = {"name": lambda n: Markup("<strong>{}</strong> — {}").format(
        escape(n), PURPOSES.get(n, "—"))}
    copy_role = None  # FAB's « copy role » action: roles are code


class NoPasswordByOthers(ResetPasswordView):
    """FAB's form where an administrator sets another user's password: refused to everyone
    (R-ACC-2, a password is only ever chosen by its owner through a signed link)."""

    base_permissions = []
