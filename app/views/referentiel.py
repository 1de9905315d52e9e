"""Screens of the dispositifs and of the certifications' referential (R-DIS, R-REF)."""
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectMultipleField

from app.errors import RuleViolation
from app.formats import FormatError, check_bloc_code, check_certification_code, check_rncp, check_rs
from app.models import Bloc, Certification, Competence, Dispositif, Passerelle
from app.models.referentiel import (
    CREATEURS,
    MODELES_PV,
    STRUCTURES_EVALUATION,
    TYPES_CERTIFICATION,
    VOCABULAIRES_DECISION,
)
from app.security.perimeter import PerimeterFilter
from app.views.base import ScopedApi, ScopedModelView
from app.views.labels import LABELS, choice_field, labels


class _CreateursField(SelectMultipleField):
    """Stores the chosen creators as a comma-separated string."""

    def process_data(self, value):
        self.data = [v for v in (value or "").split(",") if v] if isinstance(value, str) else value

    def populate_obj(self, obj, name):
        setattr(obj, name, ",".join(self.data or []))


class DispositifView(ScopedModelView):
    datamodel = SQLAInterface(Dispositif)
    class_permission_name = "Dispositifs"
    list_title = "Dispositifs de certification"
    show_title = "Dispositif"
    add_title = "Nouveau dispositif"
    edit_title = "Paramètres du dispositif"
    list_columns = ["code", "nom", "certificateur", "vocabulaire_decision", "actif"]
    settings = ["structure_evaluation", "vocabulaire_decision", "createurs", "duree_acquis_mois",
                "duree_acquis_rncp_mois", "capacite_jury_defaut", "delai_inscription_jury_jours",
                "delai_saisie_resultats_jours", "delai_convocation_jours", "jury_paritaire",
                "delai_recevabilite_jours", "delai_vae_jury_mois", "delai_abandon_annees",
                "prefixe_numero", "lettre_gtp", "pv_signature_papier", "modele_pv",
                "signataire_certificats", "id_client_cdc",
                "id_contrat_cdc"]
    add_columns = ["code", "nom", "certificateur"] + settings
    edit_columns = ["nom", "certificateur"] + settings
    show_columns = ["code", "nom", "certificateur"] + settings + ["actif", "changed_on"]
    search_columns = ["code", "nom", "certificateur"]
    label_columns = labels(*set(add_columns + show_columns))
    formatters_columns = {
        "vocabulaire_decision": VOCABULAIRES_DECISION.label,
        "structure_evaluation": STRUCTURES_EVALUATION.label,
        "modele_pv": MODELES_PV.label,
        "createurs": lambda v: ", ".join(CREATEURS.label(c) for c in (v or "").split(",") if c),
    }
    _extra = {
        "structure_evaluation": choice_field(LABELS["structure_evaluation"], STRUCTURES_EVALUATION),
        "vocabulaire_decision": choice_field(LABELS["vocabulaire_decision"], VOCABULAIRES_DECISION),
        "modele_pv": choice_field(LABELS["modele_pv"], MODELES_PV),
        "createurs": _CreateursField(LABELS["createurs"], choices=list(CREATEURS),
                                     description="R-DIS-2 : acteurs autorisés à créer un dossier"),
    }
    add_form_extra_fields = edit_form_extra_fields = _extra
    export_name = "dispositifs"
    base_order = ("code", "asc")

    def check_rules(self, item):
        from app.workflow.issued.documents import check_prefix
        item.prefixe_numero = check_prefix(item.prefixe_numero, item.id)


def _check_certification(item):
    if item.niveau is not None and not 1 <= item.niveau <= 8:  # else a CHECK constraint error
        raise RuleViolation("Le niveau doit être compris entre 1 et 8 (cadre national des "
                            "certifications professionnelles).", "R-REF-5", field="niveau")
    try:
        item.code = check_certification_code(item.type, item.code)
        if item.rncp_code:
            item.rncp_code = check_rncp(item.rncp_code)
        if item.rs_code:
            item.rs_code = check_rs(item.rs_code)
    except FormatError as exc:
        field = "rncp_code" if "RNCP" in str(exc) else "rs_code" if "RS" in str(exc) else "code"
        raise RuleViolation(str(exc), "R-REF-4", field=field)


class CertificationView(ScopedModelView):
    datamodel = SQLAInterface(Certification)
    class_permission_name = "Referentiel"
    list_title = "Certifications"
    show_title = "Certification"
    add_title = "Nouvelle certification"
    edit_title = "Modifier la certification"
    list_columns = ["code", "intitule", "type", "dispositif", "niveau", "rncp_code", "date_suppression"]
    add_columns = ["dispositif", "type", "code", "intitule", "filiere", "coefficient", "niveau",
                   "rncp_code", "rs_code", "date_enregistrement_rncp", "date_suppression",
                   "membre_branche", "obtention", "equivalences", "description"]
    edit_columns = add_columns
    show_columns = add_columns + ["blocs", "competences", "passerelles", "demo"]
    search_columns = ["code", "intitule", "type", "filiere", "rncp_code", "dispositif"]
    label_columns = labels(*set(show_columns + list_columns))
    description_columns = {
        "code": "CQPM : « CQPM AAAA NNNN » suivi de R (RNCP) et/ou I (CQPI) ; CCPM : « CCPM AAAA NNNN ».",
        "date_suppression": "Une certification supprimée ne prend plus de nouveaux candidats ; "
                            "les dossiers commencés avant restent certifiables.",
        "equivalences": "Pour un CQPI : les CQP de la branche qui le délivrent par équivalence.",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "type": choice_field(LABELS["type"], TYPES_CERTIFICATION),
        "obtention": choice_field(LABELS["obtention"], [("", "—"), ("equivalence", "Par équivalence avec un CQP"),
                                                        ("processus", "Même processus qu'un CQP")],
                                  required=False),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "dispositif": [["id", PerimeterFilter, "write"]],
    }
    search_form_query_rel_fields = {"dispositif": [["id", PerimeterFilter, "read"]]}
    base_order = ("code", "asc")
    export_name = "certifications"

    def check_rules(self, item):
        _check_certification(item)
        if item.obtention == "":
            item.obtention = None


class BlocView(ScopedModelView):
    datamodel = SQLAInterface(Bloc)
    class_permission_name = "Referentiel"
    list_title = "Blocs de compétences et domaines"
    show_title = "Bloc / domaine"
    add_title = "Nouveau bloc ou domaine"
    edit_title = "Modifier le bloc ou domaine"
    list_columns = ["certification", "code", "intitule", "ordre"]
    add_columns = edit_columns = ["certification", "code", "intitule", "ordre"]
    show_columns = add_columns + ["competences"]
    search_columns = ["code", "intitule"]
    label_columns = labels(*show_columns)
    base_order = ("id", "asc")
    export_name = "blocs"

    def check_rules(self, item):
        if item.certification and item.certification.type == "CQPM":
            try:
                item.code = check_bloc_code(item.code)
            except FormatError as exc:
                raise RuleViolation(str(exc), "R-REF-4", field="code")
        if item.certification and item.certification.type == "CCPM":
            raise RuleViolation("Un CCPM n'a pas de blocs : ses compétences sont rattachées "
                                "directement à la certification.", "R-REF-4", field="certification")


class CompetenceView(ScopedModelView):
    datamodel = SQLAInterface(Competence)
    class_permission_name = "Referentiel"
    list_title = "Compétences et sous-domaines"
    show_title = "Compétence"
    add_title = "Nouvelle compétence"
    edit_title = "Modifier la compétence"
    list_columns = ["certification", "bloc", "code", "intitule", "specifique_branche"]
    add_columns = edit_columns = show_columns = ["certification", "bloc", "code", "intitule", "ordre",
                                                 "specifique_branche"]
    search_columns = ["code", "intitule", "specifique_branche"]
    label_columns = labels(*add_columns)
    base_order = ("id", "asc")
    export_name = "competences"

    def check_rules(self, item):
        if item.bloc is not None and item.bloc.certification_id != item.certification.id:
            raise RuleViolation("Ce bloc appartient à une autre certification.", "R-REF-4", field="bloc")


class PasserelleView(ScopedModelView):
    datamodel = SQLAInterface(Passerelle)
    class_permission_name = "Referentiel"
    list_title = "Passerelles entre branches"
    show_title = "Passerelle"
    add_title = "Nouvelle passerelle"
    edit_title = "Modifier la passerelle"
    list_columns = add_columns = edit_columns = show_columns = [
        "certification", "autre_branche", "certification_autre", "nature"]
    search_columns = ["autre_branche", "certification_autre", "nature"]
    label_columns = labels(*list_columns)
    add_form_extra_fields = edit_form_extra_fields = {
        "nature": choice_field(LABELS["nature"], [("totale", "Totale"), ("partielle", "Partielle")]),
    }
    export_name = "passerelles"


class CertificationApi(ScopedApi):
    resource_name = "certification"
    datamodel = SQLAInterface(Certification)
    class_permission_name = "Referentiel"
    list_columns = show_columns = ["id", "type", "code", "intitule", "filiere", "coefficient",
                                   "niveau", "rncp_code", "rs_code", "date_suppression",
                                   "dispositif.id", "dispositif.code"]
    add_columns = edit_columns = ["dispositif", "type", "code", "intitule", "filiere", "coefficient",
                                  "niveau", "rncp_code", "rs_code", "date_suppression"]
    search_columns = ["code", "type", "intitule"]
    add_query_rel_fields = edit_query_rel_fields = {"dispositif": [["id", PerimeterFilter, "write"]]}

    def check_rules(self, item):
        _check_certification(item)


def register(appbuilder):
    cat = {"category": "Référentiel", "category_icon": "fa-book", "category_label": "Référentiel"}
    appbuilder.add_view(DispositifView, "Dispositifs", label="Dispositifs", icon="fa-sitemap", **cat)
    appbuilder.add_view(CertificationView, "Certifications", label="Certifications", icon="fa-certificate", **cat)
    appbuilder.add_view(BlocView, "Blocs et domaines", label="Blocs et domaines", icon="fa-cubes", **cat)
    appbuilder.add_view(CompetenceView, "Compétences", label="Compétences", icon="fa-check-square", **cat)
    appbuilder.add_view(PasserelleView, "Passerelles", label="Passerelles", icon="fa-exchange", **cat)
    appbuilder.add_api(CertificationApi)
