"""Secretariat screens for personal data (R-ARC-1…4): the retention schedule (editable durations),
the purge log, a person's data on request, and the holders' declarations to the Caisse des Dépôts.

Everything is in the "DonneesPersonnelles" area (secretariat read/write) and scoped to the
dispositif; each action calls one function of app/workflow (retention, personal_data, cdc).
"""
import datetime as dt

from flask import Response, abort, current_app, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from wtforms import SelectField

from app.errors import PerimeterViolation, RuleViolation
from app.models.conformite import (
    CLASSES,
    ISSUES,
    STATUTS_DECLARATION,
    DeclarationCDC,
    PurgeLog,
    RetentionRule,
)
from app.models.referentiel import Dispositif
from app.security import perimeter
from app.security.perimeter import current_perimetre, scoped_query
from app.views.actions import load_scoped, run_verb
from app.views.base import READ_WRITE, ScopedModelView
from app.views.labels import labels
from app.workflow import cdc, cdc_report
from app.workflow.conformite import personal_data, retention

AREA = "DonneesPersonnelles"
NOBODY = {"add": "nobody", "delete": "nobody"}
LABELS = {
    "classe": "Données", "classe_label": "Données", "issue": "Issue du dossier",
    "issue_label": "Issue du dossier", "duree_mois": "Durée de conservation (mois)",
    "duree_label": "Durée de conservation", "depart_label": "À compter de",
    "contenu_label": "Ce qui est supprimé", "regle": "Règle", "executee_le": "Exécutée le",
    "date_reference": "Date de référence", "nombre": "Éléments", "dry_run": "Simulation",
    "mode_label": "Mode", "id_flux": "Identifiant du flux", "generee_le": "Générée le",
    "statut": "Statut", "statut_label": "Statut", "nb_certifications": "Certifications",
    "nb_titulaires": "Titulaires", "nb_acceptes": "Acceptés", "nb_rejetes": "Rejetés",
    "deposee_le": "Déposée le", "traitee_le": "Compte rendu intégré le",
    "compte_rendu_nom": "Compte rendu",
}


def _labels(*cols):
    known = labels(*[c for c in cols if c not in LABELS])
    return {**known, **{c: LABELS[c] for c in cols if c in LABELS}}


def _dispositifs(p=None):
    """The dispositifs whose personal data this user administers (the secretariat's own)."""
    p = p or current_perimetre()
    return scoped_query(Dispositif, p, "write").order_by(Dispositif.nom).all()


class RetentionRuleView(ScopedModelView):
    """R-ARC-1…3: the schedule per class of record and outcome; only the duration is editable."""

    datamodel = SQLAInterface(RetentionRule)
    class_permission_name = AREA
    method_permission_name = {**READ_WRITE, **NOBODY}
    list_title = "Durées de conservation des données"
    # Written by the platform (seeded rules, purges, generated declarations), never added by hand.
    exclude_route_methods = {"add"}
    show_title = "Durée de conservation"
    edit_title = "Modifier la durée de conservation"
    # Not `regle` (R-ARC-n): the rule id stays in the data and the logs, the columns say it in
    # French (what, after which outcome, how long, from when, what goes).
    list_columns = ["dispositif", "classe_label", "issue_label", "duree_label", "depart_label",
                    "contenu_label"]
    show_columns = list_columns + ["changed_on"]
    edit_columns = ["duree_mois"]
    search_columns = ["classe", "issue"]
    search_form_extra_fields = {
        "classe": SelectField("Données", choices=[("", "—")] + list(CLASSES)),
        "issue": SelectField("Issue du dossier", choices=[("", "—")] + list(ISSUES))}
    description_columns = {"duree_mois": "En mois : 0 = supprimé dès la décision du jury ; vide = "
                                         "conservation illimitée ; 504 = 42 ans."}
    label_columns = _labels(*set(show_columns + edit_columns + search_columns))
    base_order = ("id", "asc")
    page_size = 50
    export_name = "durees_conservation"

    @expose("/list/")
    @has_access
    def list(self):
        # A new dispositif gets the sources' schedule.
        run_verb(retention.ensure_rules, _dispositifs())
        return super().list()

    def check_rules(self, item):
        retention.set_duration(item, item.duree_mois)


class PurgeLogView(ScopedModelView):
    """What each purge removed (counts per class, never the content)."""

    datamodel = SQLAInterface(PurgeLog)
    class_permission_name = AREA
    method_permission_name = {**READ_WRITE, **NOBODY, "edit": "nobody"}
    list_title = "Journal des purges"
    # Written by the platform (seeded rules, purges, generated declarations), never added by hand.
    exclude_route_methods = {"add"}
    show_title = "Purge"
    list_columns = ["executee_le", "date_reference", "dispositif", "classe_label", "issue_label",
                    "nombre", "mode_label"]  # not `regle`: see RetentionRuleView
    show_columns = list_columns
    search_columns = ["date_reference", "classe", "dry_run"]
    search_form_extra_fields = {"classe": SelectField("Données",
                                                      choices=[("", "—")] + list(CLASSES))}
    label_columns = _labels(*set(show_columns + search_columns))
    base_order = ("executee_le", "desc")
    export_name = "journal_purges"


class DeclarationCDCView(ScopedModelView):
    """R-ARC-4: files of holders for the Caisse des Dépôts, their processing reports, the holders
    rejected (offered again) and those still undeclared 3 months after their jury."""

    route_base = "/declarationscdc"
    datamodel = SQLAInterface(DeclarationCDC)
    class_permission_name = AREA
    method_permission_name = {**READ_WRITE, **NOBODY, "edit": "nobody", "generer": "write",
                              "xml": "read", "deposee": "write", "annuler": "write",
                              "compte_rendu": "write"}
    list_title = "Déclarations des titulaires à la Caisse des Dépôts"
    # Written by the platform (seeded rules, purges, generated declarations), never added by hand.
    exclude_route_methods = {"add"}
    show_title = "Déclaration à la Caisse des Dépôts"
    list_columns = ["id_flux", "dispositif", "generee_le", "statut_label", "nb_certifications",
                    "nb_titulaires", "nb_acceptes", "nb_rejetes"]
    show_columns = list_columns + ["deposee_le", "traitee_le", "compte_rendu_nom"]
    search_columns = ["statut"]
    search_form_extra_fields = {"statut": SelectField(
        "Statut", choices=[("", "—")] + list(STATUTS_DECLARATION))}
    label_columns = _labels(*set(show_columns + search_columns))
    base_order = ("generee_le", "desc")
    list_template = "conformite/declarations_list.html"
    export_name = "declarations_cdc"

    def _may(self, perm):
        return self.appbuilder.sm.has_access(f"can_{perm}", self.class_permission_name)

    @expose("/list/")
    @has_access
    def list(self):
        today = dt.date.today()
        panels = []
        for d in _dispositifs():
            panels.append({
                "dispositif": d,
                "parametre": bool((d.id_client_cdc or "").strip() and
                                  (d.id_contrat_cdc or "").strip()),
                "a_declarer": cdc.holders_query(d.id).count(),
                "rejetes": cdc.rejected_holders(d.id),
                "alertes": cdc.undeclared_warnings(today, d.id),
            })
        self.update_redirect()
        widgets = self._list()
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    panels=panels, can_write=self._may("write"),
                                    delai=cdc.DELAI_ALERTE_MOIS)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        declaration = self._scoped_item(pk)
        return self.render_template(
            "conformite/declaration_show.html", d=declaration, title=self.show_title,
            lignes=declaration.titulaires, can_write=self._may("write"))

    @expose("/generer", methods=["POST"])
    @has_access
    def generer(self):
        dispositif = load_scoped(Dispositif, request.form.get("dispositif_id"), "write")
        done = run_verb(cdc.generate_declaration, dispositif, dt.date.today(),
                        par=current_perimetre().user_id, success=lambda d: (
                            f"Déclaration {d.id_flux} générée et validée par le schéma de la "
                            f"Caisse des Dépôts : {d.nb_titulaires} titulaire(s). Téléchargez-la "
                            "puis déposez-la sur le portail de la Caisse des Dépôts."))
        if not done:
            return redirect(url_for("DeclarationCDCView.list"))
        return redirect(url_for("DeclarationCDCView.show", pk=done.result.id))

    @expose("/xml/<int:pk>")
    @has_access
    def xml(self, pk):
        declaration = self._scoped_item(pk)
        return Response(declaration.xml, mimetype="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{declaration.nom_fichier}"'})

    def _post(self, pk, fn, success):
        declaration = self._scoped_item(pk, "write")
        if not run_verb(fn, declaration, success=success):
            return redirect(url_for("DeclarationCDCView.show", pk=pk))
        return None

    @expose("/deposee/<int:pk>", methods=["POST"])
    @has_access
    def deposee(self, pk):
        return self._post(pk, cdc.mark_sent, "Déclaration marquée comme déposée.") or \
            redirect(url_for("DeclarationCDCView.show", pk=pk))

    @expose("/annuler/<int:pk>", methods=["POST"])
    @has_access
    def annuler(self, pk):
        return self._post(pk, cdc.cancel_declaration, "Déclaration annulée : ses titulaires "
                                                      "seront proposés dans la prochaine.") or \
            redirect(url_for("DeclarationCDCView.list"))

    @expose("/compte-rendu/<int:pk>", methods=["POST"])
    @has_access
    def compte_rendu(self, pk):
        upload = request.files.get("fichier")
        data = upload.read(5 * 1024 * 1024) if upload else b""
        name = upload.filename if upload else None
        return self._post(pk, lambda d: cdc_report.import_processing_report(d, data, name),
                          lambda result: result.message()) or \
            redirect(url_for("DeclarationCDCView.show", pk=pk))


class DonneesPersonneView(BaseView):
    """Right of access: find a candidate of the dispositif and download everything held."""

    route_base = "/donnees-personnelles"
    default_view = "recherche"
    class_permission_name = AREA
    method_permission_name = {"recherche": "read", "export": "write"}

    @expose("/")
    @has_access
    def recherche(self):
        p = current_perimetre()
        text = (request.args.get("q") or "").strip()
        naissance = None
        error = None
        if request.args.get("naissance"):
            try:
                naissance = dt.date.fromisoformat(request.args["naissance"])
            except ValueError:
                error = "Date de naissance invalide."
        results = []
        if (text or naissance) and not error:
            try:
                for person in personal_data.search_candidates(p, text, naissance):
                    results.append((person, personal_data.dossiers_of(person.id, p)))
            except PerimeterViolation:
                abort(403)
            except RuleViolation as exc:
                error = exc.message
        return self.render_template("conformite/donnees_personne.html", q=text,
                                    naissance=request.args.get("naissance", ""), error=error,
                                    results=results, searched=bool(text or naissance),
                                    limit=personal_data.SEARCH_LIMIT,
                                    title="Données d'une personne")

    @expose("/export/<int:candidat_id>", methods=["POST"])
    @has_access
    def export(self, candidat_id):
        done = run_verb(personal_data.export_person, candidat_id, current_perimetre())
        if not done:
            return redirect(url_for("DonneesPersonneView.recherche"))
        data = done.result
        name = f"donnees-personnelles-{candidat_id}-{dt.date.today():%Y%m%d}.zip"
        return Response(data, mimetype="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _traces(candidature_id):
    """Tombstones of a dossier, inside the reader's perimeter (for the dossier page)."""
    from app.models.conformite import PurgeTrace
    return (perimeter.scoped_query(PurgeTrace).filter(PurgeTrace.candidature_id == candidature_id)
            .order_by(PurgeTrace.purge_le.desc(), PurgeTrace.id).all())


def register(appbuilder):
    cat = {"category": "DonneesPersonnelles", "category_icon": "fa-user-secret",
           "category_label": "Données personnelles"}
    appbuilder.add_view(RetentionRuleView, "Durées de conservation",
                        label="Durées de conservation", icon="fa-hourglass-half", **cat)
    appbuilder.add_view(PurgeLogView, "Journal des purges", label="Journal des purges",
                        icon="fa-eraser", **cat)
    appbuilder.add_view(DonneesPersonneView, "Données d'une personne",
                        label="Données d'une personne", icon="fa-user", **cat)
    appbuilder.add_view(DeclarationCDCView, "Déclarations Caisse des Dépôts",
                        label="Déclarations des titulaires (CDC)", icon="fa-paper-plane", **cat)
    # The dossier page shows what the purge removed: {% include "conformite/_traces_dossier.html" %}
    current_app.jinja_env.globals["purge_traces"] = _traces
