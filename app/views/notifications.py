"""Notifications (R-NOT-1) and the mail outbox."""
from urllib.parse import urlsplit

from flask import flash, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from wtforms import SelectField

from app.models.notification import RUBRIQUES, MailMessage, Notification
from app.views.base import ScopedApi, ScopedModelView
from app.views.labels import labels
from app.workflow.mail import deliver
from app.workflow.notifications import mark_read


class NotificationView(ScopedModelView):
    datamodel = SQLAInterface(Notification)
    class_permission_name = "Notifications"
    method_permission_name = {**ScopedModelView.method_permission_name, "marquer_lu": "write",
                              "tout_lire": "write", "ouvrir": "read"}
    list_title = "Mes notifications"
    show_title = "Notification"
    list_columns = ["created_on", "rubrique_label", "titre", "lu"]
    show_columns = ["created_on", "rubrique_label", "titre", "contenu", "lien", "lu"]
    search_columns = ["rubrique", "titre", "contenu", "lu"]
    label_columns = labels(*set(show_columns + search_columns))
    base_order = ("created_on", "desc")
    export_name = "notifications"
    list_template = "opencertif/notifications.html"
    # A notification is written by the platform: read it, mark it read, delete it; never write it.
    exclude_route_methods = {"add", "edit", "download"}

    @action("marquer_lu", "Marquer comme lu", None, "fa-check")
    def marquer_lu(self, items):
        items = items if isinstance(items, list) else [items]
        n = mark_read(current_user.id, [i.id for i in items])
        flash(f"{n} notification(s) marquée(s) comme lue(s).", "success")
        return redirect(self.get_redirect())

    @expose("/tout-lire", methods=["POST"])
    @has_access
    def tout_lire(self):
        n = mark_read(current_user.id)
        flash(f"{n} notification(s) marquée(s) comme lue(s).", "success")
        return redirect(url_for("NotificationView.list"))

    @expose("/ouvrir/<int:pk>", methods=["GET"])
    @has_access
    def ouvrir(self, pk):
        """Open the page of the action and mark the notification read."""
        item = self._scoped_item(pk)
        mark_read(current_user.id, [item.id])
        target = item.lien or url_for("NotificationView.show", pk=item.id)
        return redirect(target if _local_path(target) else url_for("NotificationView.list"))


def _local_path(link: str) -> bool:
    """Only a path of this site: '//host/x' and '/\\host' are other sites for a browser."""
    parts = urlsplit(link)
    return (link.startswith("/") and not link.startswith(("//", "/\\")) and "\\" not in link
            and not parts.scheme and not parts.netloc)


NotificationView.search_form_extra_fields = {
    "rubrique": SelectField("Rubrique", choices=[("", "—")] + list(RUBRIQUES)),
}


class OutboxView(ScopedModelView):
    """Every e-mail the platform sent or tried to send (technical administrators)."""

    datamodel = SQLAInterface(MailMessage)
    class_permission_name = "Outbox"
    method_permission_name = {**ScopedModelView.method_permission_name, "renvoyer": "read"}
    list_title = "Boîte d'envoi (e-mails)"
    show_title = "E-mail"
    # An e-mail is a record of what was sent: resent, never written or rewritten by hand.
    exclude_route_methods = {"add", "edit"}
    list_columns = ["created_on", "destinataire", "sujet", "statut_label", "essais"]
    show_columns = ["created_on", "destinataire", "copie", "sujet", "corps_texte", "statut_label",
                    "essais", "erreur", "sent_on"]
    search_columns = ["destinataire", "sujet", "statut"]
    label_columns = labels(*set(show_columns + search_columns))
    base_order = ("created_on", "desc")
    export_name = "emails"

    @action("renvoyer", "Renvoyer", "Renvoyer les e-mails en échec ?", "fa-refresh")
    def renvoyer(self, items):
        items = items if isinstance(items, list) else [items]
        for item in items:
            if item.statut == "echec":
                deliver(item.id)
        flash("Nouvel essai effectué.", "success")
        return redirect(self.get_redirect())


class NotificationApi(ScopedApi):
    resource_name = "notification"
    datamodel = SQLAInterface(Notification)
    class_permission_name = "Notifications"
    list_columns = show_columns = ["id", "rubrique", "titre", "contenu", "lien", "lu", "created_on"]
    edit_columns = ["lu"]
    include_route_methods = {"get_list", "get", "put", "info"}
    search_columns = ["rubrique", "lu", "titre"]


def register(appbuilder):
    appbuilder.add_view(NotificationView, "Notifications", label="Notifications", icon="fa-bell",
                        category="Comptes")
    appbuilder.add_view(OutboxView, "Boîte d'envoi", label="Boîte d'envoi (e-mails)",
                        icon="fa-envelope", category="Comptes")
    appbuilder.add_api(NotificationApi)
