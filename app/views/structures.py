"""Screens of réseaux, organismes, établissements and entreprises (R-ACC-3/4/6, R-FMT-1/3)."""
from flask import flash, redirect
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import StringField
from wtforms.validators import DataRequired

from app.errors import RuleViolation
from app.extensions import db
from app.models import Entreprise, Etablissement, Organisme, Reseau
from app.models.structures import REGIONS, SECTEURS
from app.security.perimeter import PerimeterFilter, current_perimetre
from app.views.base import ScopedApi, ScopedModelView
from app.views.labels import LABELS, choice_field, labels
from app.workflow.comptes import set_actif

STRUCTURE_PERMS = {"activer": "activate", "desactiver": "activate"}


class _ActifActions:
    """R-ACC-3: only the certifier switches Actif ↔ Inactif (permission `activate` + workflow)."""

    def _switch(self, items, value):
        items = items if isinstance(items, list) else [items]
        for item in items:  # in the action's one transaction (ScopedModelView._run_action)
            set_actif(current_perimetre(), item, value)
        flash(f"{len(items)} structure(s) {'activée(s)' if value else 'désactivée(s)'}.", "success")
        return redirect(self.get_redirect())

    @action("activer", "Activer", "Activer les structures sélectionnées ?", "fa-toggle-on")
    def activer(self, items):
        return self._switch(items, True)

    @action("desactiver", "Désactiver", "Désactiver les structures sélectionnées ? Elles ne "
            "pourront plus enregistrer de candidatures.", "fa-toggle-off")
    def desactiver(self, items):
        return self._switch(items, False)


def _identifier_field(label, description):
    """SIREN/SIRET typed as printed (« 123 456 789 00012 »): the column's length must not refuse
    the spaces the model's check removes (R-FMT-1)."""
    return StringField(label, description=description, validators=[DataRequired()])


def _ensure_unique(item, column: str, message: str, rule: str = "R-FMT-1"):
    """A French message on the field instead of the database's integrity error (data kept)."""
    model = type(item)
    value = getattr(item, column)
    with db.session.no_autoflush:  # the row being checked must not be flushed first
        q = db.session.query(model.id).filter(getattr(model, column) == value)
        if item.id is not None:
            q = q.filter(model.id != item.id)
        if value and q.first() is not None:
            raise RuleViolation(message, rule, field=column)


class ReseauView(ScopedModelView):
    datamodel = SQLAInterface(Reseau)
    class_permission_name = "Structures"
    list_title = "Réseaux"
    show_title = "Réseau"
    add_title = "Nouveau réseau"
    edit_title = "Modifier le réseau"
    list_columns = ["nom", "national", "notifier_candidatures"]
    add_columns = edit_columns = ["nom", "national", "notifier_candidatures"]
    show_columns = ["nom", "national", "notifier_candidatures", "organismes", "created_on"]
    search_columns = ["nom", "national"]
    label_columns = labels(*show_columns)
    base_order = ("nom", "asc")
    export_name = "reseaux"


class OrganismeView(_ActifActions, ScopedModelView):
    datamodel = SQLAInterface(Organisme)
    class_permission_name = "Structures"
    method_permission_name = {**ScopedModelView.method_permission_name, **STRUCTURE_PERMS}
    list_title = "Organismes de formation"
    show_title = "Organisme"
    add_title = "Nouvel organisme"
    edit_title = "Modifier l'organisme"
    list_columns = ["nom", "siren", "reseau", "actif"]
    add_columns = edit_columns = ["nom", "siren", "reseau"]
    show_columns = ["nom", "siren", "reseau", "actif", "etablissements", "created_on"]
    search_columns = ["nom", "siren", "actif"]
    label_columns = labels(*show_columns)
    add_form_query_rel_fields = edit_form_query_rel_fields = {"reseau": [["id", PerimeterFilter, "read"]]}
    add_form_extra_fields = edit_form_extra_fields = {
        "siren": _identifier_field(LABELS["siren"], "9 chiffres, clé de contrôle vérifiée."),
    }
    base_order = ("nom", "asc")
    export_name = "organismes"

    def check_rules(self, item):
        _ensure_unique(item, "siren", "Un organisme existe déjà avec ce SIREN.")


class EtablissementView(_ActifActions, ScopedModelView):
    datamodel = SQLAInterface(Etablissement)
    class_permission_name = "Structures"
    method_permission_name = {**ScopedModelView.method_permission_name, **STRUCTURE_PERMS}
    list_title = "Établissements"
    show_title = "Établissement"
    add_title = "Nouvel établissement"
    edit_title = "Modifier l'établissement"
    list_columns = ["nom", "siret", "ville", "region", "organisme", "actif"]
    add_columns = edit_columns = [
        "organisme", "libelle", "siret", "adresse", "code_postal", "ville", "region",
        "contact_nom", "contact_email", "contact_telephone",
        "contact_public_nom", "contact_public_email", "contact_public_telephone"]
    show_columns = ["nom"] + add_columns + ["actif", "created_on"]
    search_columns = ["nom", "siret", "ville", "region", "actif"]
    label_columns = {**labels(*show_columns), "libelle": "Nom de l'établissement ou ville"}
    description_columns = {
        "libelle": "Le nom affiché sera « ORGANISME libellé » (R-FMT-3).",
        "siret": "14 chiffres, clé de contrôle vérifiée.",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "region": choice_field(LABELS["region"], [(r, r) for r in REGIONS]),
        "siret": _identifier_field(LABELS["siret"], description_columns["siret"]),
    }
    # "read": an établissement administrator may not write its organisme, yet its form must
    # offer it; where the row may go is checked by ScopedModelView (write perimeter of the row).
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "organisme": [["id", PerimeterFilter, "read"]]}
    base_order = ("nom", "asc")
    export_name = "etablissements"

    def check_rules(self, item):
        _ensure_unique(item, "siret", "Un établissement existe déjà avec ce SIRET.")


class EntrepriseView(ScopedModelView):
    datamodel = SQLAInterface(Entreprise)
    class_permission_name = "Structures"
    list_title = "Entreprises"
    show_title = "Entreprise"
    add_title = "Nouvelle entreprise"
    edit_title = "Modifier l'entreprise"
    list_columns = ["raison_sociale", "siret", "naf", "secteur", "ville"]
    add_columns = edit_columns = ["raison_sociale", "siret", "naf", "secteur", "branche",
                                  "dispositifs", "adresse", "code_postal", "ville", "region",
                                  "reseau"]
    show_columns = add_columns + ["actif", "created_on"]
    search_columns = ["raison_sociale", "siret", "naf", "secteur"]
    label_columns = {**labels(*show_columns), "dispositifs": "Dispositifs de la branche"}
    description_columns = {"naf": "Code NAF/NACE, par exemple 25.62B.",
                           "secteur": "Hors métaux : préciser la branche.",
                           "dispositifs": "Les certifications que ses employeurs proposent. "
                                          "Aucun : toutes celles des dispositifs ouverts aux "
                                          "employeurs."}
    add_form_extra_fields = edit_form_extra_fields = {
        "secteur": choice_field(LABELS["secteur"], [("", "—")] + list(SECTEURS), required=False),
        "region": choice_field(LABELS["region"], [("", "—")] + [(r, r) for r in REGIONS], required=False),
        "siret": _identifier_field(LABELS["siret"], "14 chiffres, clé de contrôle vérifiée."),
    }
    base_order = ("raison_sociale", "asc")
    export_name = "entreprises"

    def check_rules(self, item):
        item.secteur = item.secteur or None
        item.region = item.region or None
        _ensure_unique(item, "siret", "Une entreprise existe déjà avec ce SIRET : un compte "
                                      "employeur par établissement.", "R-ACC-6")


class EtablissementApi(ScopedApi):
    resource_name = "etablissement"
    datamodel = SQLAInterface(Etablissement)
    class_permission_name = "Structures"
    list_columns = show_columns = ["id", "nom", "libelle", "siret", "adresse", "code_postal", "ville",
                                   "region", "actif", "organisme.id", "organisme.nom"]
    add_columns = edit_columns = ["organisme", "libelle", "siret", "adresse", "code_postal", "ville",
                                  "region", "contact_nom", "contact_email", "contact_telephone"]
    search_columns = ["nom", "siret", "ville", "region"]
    # _info lists the organismes one reads; the organisme a POST/PUT sets is checked against them
    # and the row against the write perimeter (ScopedApi.pre_add/pre_update).
    add_query_rel_fields = edit_query_rel_fields = {"organisme": [["id", PerimeterFilter, "read"]]}

    def check_rules(self, item):
        _ensure_unique(item, "siret", "Un établissement existe déjà avec ce SIRET.")


class OrganismeApi(ScopedApi):
    resource_name = "organisme"
    datamodel = SQLAInterface(Organisme)
    class_permission_name = "Structures"
    list_columns = show_columns = ["id", "nom", "siren", "actif", "reseau.id", "reseau.nom"]
    add_columns = edit_columns = ["nom", "siren", "reseau"]
    search_columns = ["nom", "siren"]
    add_query_rel_fields = edit_query_rel_fields = {"reseau": [["id", PerimeterFilter, "read"]]}

    def check_rules(self, item):
        _ensure_unique(item, "siren", "Un organisme existe déjà avec ce SIREN.")


class EntrepriseApi(ScopedApi):
    resource_name = "entreprise"
    datamodel = SQLAInterface(Entreprise)
    class_permission_name = "Structures"
    list_columns = show_columns = ["id", "raison_sociale", "siret", "naf", "secteur", "ville"]
    add_columns = edit_columns = ["raison_sociale", "siret", "naf", "secteur", "adresse",
                                  "code_postal", "ville"]
    search_columns = ["raison_sociale", "siret"]

    def check_rules(self, item):
        _ensure_unique(item, "siret", "Une entreprise existe déjà avec ce SIRET.", "R-ACC-6")


def register(appbuilder):
    cat = {"category": "Structures", "category_icon": "fa-building", "category_label": "Structures"}
    appbuilder.add_view(ReseauView, "Réseaux", label="Réseaux", icon="fa-share-alt", **cat)
    appbuilder.add_view(OrganismeView, "Organismes", label="Organismes", icon="fa-university", **cat)
    appbuilder.add_view(EtablissementView, "Établissements", label="Établissements", icon="fa-building-o", **cat)
    appbuilder.add_view(EntrepriseView, "Entreprises", label="Entreprises", icon="fa-industry", **cat)
    for api in (EtablissementApi, OrganismeApi, EntrepriseApi):
        appbuilder.add_api(api)
