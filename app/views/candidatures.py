"""Candidature lists (filters, counts, exports), creation after the duplicate search (R-CAN-2),
abandoned dossiers (R-CAN-7) and rattachement requests (R-CAN-6)."""
from datetime import date

from flask import abort, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import ListWidget
from wtforms import SelectField

from app.errors import RuleViolation
from app.extensions import db
from app.models import Etablissement, Organisme
from app.models.candidature import STATUTS, Candidature, RattachementDemande
from app.reports.counts import status_counts
from app.reports.exports import FORMATS, ListExport, send_dataset
from app.security import perimeter, tokens
from app.security.account_limits import TooManyRequests
from app.security.perimeter import current_perimetre
from app.views import candidatures_export
from app.views.actions import run_verb
from app.views.base import EXPORT_MAX_ROWS, ScopedModelView
from app.views.candidature_forms import (
    CreationForm,
    DecisionRattachementForm,
    RattachementForm,
    RechercheForm,
    groups_of,
    split,
)
from app.views.candidatures_query import CandidatureInterface
from app.workflow import engine
from app.workflow.dossier import candidats as candidats_wf
from app.workflow.dossier import creation, rattachements
from app.workflow.dossier.candidatures import create_candidature
from app.workflow.engine import EMP

RATTACHEMENT_LINK_MAX_AGE = 24 * 3600
# R-ENV-2 and the CléA list (003: « Jury », « Courrier »): the dossier's jury and the last mailing
# status of its certificate, read by the list's own statement (app/models/suivi.py).
LIST_COLUMNS = ["numero", "candidat", "certification.code", "titulaire", "statut_label",
                "created_on", "envoye_le", "jury_date", "courrier_label"]
EXPORT_COLUMNS = ["numero", "candidat.nom_naissance", "candidat.nom_usage", "candidat.prenom",
                  "candidat.date_naissance", "candidat.lieu_naissance", "certification.code",
                  "certification.intitule", "titulaire", "statut_label", "financement_label",
                  "origine_label", "created_on", "envoye_le", "decision_label", "decide_le",
                  "jury_date",
                  "courrier_label"]
COLUMN_LABELS = {
    "numero": "N° de dossier", "candidat": "Candidat", "certification.code": "Certification",
    "certification.intitule": "Intitulé", "titulaire": "Établissement / entreprise",
    "statut_label": "Statut", "statut": "Statut", "created_on": "Créée le",
    "envoye_le": "Envoyée au jury le", "jury_date": "Jury", "courrier_label": "Courrier",
    "candidat.nom_naissance": "Nom de naissance",
    "candidat.nom_usage": "Nom d'usage", "candidat.prenom": "Prénom",
    "candidat.date_naissance": "Date de naissance", "candidat.lieu_naissance": "Lieu de naissance",
    "financement": "Financement", "origine": "Origine", "decision": "Décision",
    "financement_label": "Financement", "origine_label": "Origine", "decision_label": "Décision",
    "decide_le": "Date de décision", "certification": "Certification",
    "etablissement": "Établissement", "abandonne_le": "Abandonnée le",
    "abandon_motif": "Motif", "abandon_precision": "Précision",
}


class DossierListWidget(ListWidget):
    template = "candidatures/list_widget.html"


def _status_search_field():
    return SelectField("Statut", choices=[("", "—")] + list(STATUTS))


class CandidatureView(ScopedModelView):
    """The dossiers of the perimeter; the dossier page is app/views/dossier.py."""

    route_base = "/candidatures"
    datamodel = CandidatureInterface(Candidature)
    class_permission_name = "Candidatures"
    method_permission_name = {**ScopedModelView.method_permission_name, "recherche": "read",
                              "nouvelle": "write"}
    exclude_route_methods = {"edit", "delete", "api", "api_read", "api_get", "api_create",
                             "api_update", "api_delete", "api_column_add", "api_column_edit",
                             "api_readvalues", "download"}
    list_title = "Candidatures"
    list_template = "candidatures/list.html"
    list_widget = DossierListWidget
    list_columns = LIST_COLUMNS
    export_columns = EXPORT_COLUMNS
    # No établissement filter: FAB renders every établissement of the perimeter into the search
    # form on each page (10,000 for a secretariat: ~1.1 s per page at national scale, make bench).
    search_columns = ["numero", "statut", "certification", "created_on"]
    search_form_extra_fields = {"statut": _status_search_field()}
    order_columns = ["numero", "created_on", "envoye_le"]
    label_columns = COLUMN_LABELS
    base_order = ("created_on", "desc")
    export_name = "candidatures"
    status_filter = None  # subclasses fix one status

    def __init__(self, **kwargs):
        if self.status_filter:
            self.base_filters = [["statut", FilterEqual, self.status_filter]]
        super().__init__(**kwargs)

    @expose("/list/")
    @has_access
    def list(self):
        self.update_redirect()
        widgets = self._list()
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    counts=self._counts(), view_name=self.__class__.__name__)

    def make_export(self, query):
        if candidatures_export.supports(self.export_columns):
            return candidatures_export.CandidatureListExport(
                self.export_name, self.export_columns, self.label_columns, query,
                EXPORT_MAX_ROWS)
        return super().make_export(query)

    def _counts(self):
        """Dossiers per status in the perimeter (the status counters, app/reports/counts.py)."""
        counts = status_counts(current_perimetre())
        return [(code, STATUTS.label(code), counts[code]) for code in STATUTS.codes
                if counts.get(code)]

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return redirect(url_for("DossierView.dossier", pk=pk))

    # -- creation: search first (R-CAN-2), then the form ---------------------------------------
    @expose("/add", methods=["GET"])
    @has_access
    def add(self):
        return redirect(url_for("CandidatureView.recherche", creation=1))

    @expose("/recherche", methods=["GET"])
    @has_access
    def recherche(self):
        """R-CAN-2: the dossiers of the perimeter; of the others, only that the exact person has
        one, with the way to ask for its rattachement (R-CAN-6). Limited per account."""
        form = RechercheForm(request.args)
        p = current_perimetre()
        found, error, status, headers = candidats_wf.DuplicateSearch(), None, 200, {}
        searched = any(v for k, v in request.args.items() if k != "creation")
        if searched:
            try:
                found = candidats_wf.duplicate_search(p, **{k: getattr(form, k).data for k in (
                    "numero", "nom", "prenom", "date_naissance", "ville_naissance",
                    "code_postal_naissance", "pays_naissance")})
            except TooManyRequests as exc:
                error, status = str(exc), 429
                headers = {"Retry-After": str(exc.retry_after)}
            except RuleViolation as exc:
                error = str(exc)
        ailleurs = [(c.certification.intitule, tokens.make_token("rattachement", c.id,
                                                                 str(p.user_id)))
                    for c in found.elsewhere]
        page = self.render_template("candidatures/recherche.html", form=form, rows=found.rows,
                                    ailleurs=ailleurs, exact=found.exact, error=error,
                                    searched=searched,
                                    creation=request.args.get("creation"),
                                    may_create=bool(searched and not error
                                                    and creation.creatable_dispositifs(p)),
                                    may_transfer=p.role in engine.ORG,
                                    title="Rechercher un candidat")
        return page, status, headers

    @expose("/nouvelle", methods=["GET", "POST"])
    @has_access
    def nouvelle(self):
        p = current_perimetre()
        dispositifs = creation.creatable_dispositifs(p)
        if not dispositifs:
            return self.render_template("candidatures/form.html", form=None, groups=[],
                                        title="Créer une candidature",
                                        nothing=creation.why_nothing_creatable(p))
        form = CreationForm()
        groups = _creation_choices(form, p, dispositifs)
        if request.method == "GET":
            _prefill(form, p)
        # R-CAN-2 before the form is filled: the certifications this person already holds or
        # follows, said at once (the search page came first; the form checks again).
        already = _already_followed(form)
        if request.method == "POST" and not form.validate_on_submit():
            _other_errors(form, split(form)[0])
        elif request.method == "POST":
            identity, fields = split(form)
            done = run_verb(
                create_candidature, p, certification=form.certification.data, identite=identity,
                etablissement=form.etablissement.data if "etablissement" in form else None,
                entreprise=form.entreprise.data,
                organisme_formation=form.organisme_formation.data,
                parcours=form.parcours.data if "parcours" in form else None,
                vae=form.vae.data if "vae" in form else False,
                cqpi_detenu=form.cqpi_detenu.data if "cqpi_detenu" in form else None,
                recevabilite_recue_le=form.recevabilite_recue_le.data
                if "recevabilite_recue_le" in form else None, **fields, form=form,
                success=lambda c: f"Dossier {c.numero} créé le {c.created_on:%d/%m/%Y}.")
            if done:
                return redirect(url_for("DossierView.dossier", pk=done.result.id))
            _other_errors(form, identity)
        return self.render_template("candidatures/form.html", form=form, groups=groups,
                                    title="Créer une candidature", multipart=False,
                                    already=already)


# The identity typed on the search page, carried into the form (R-CAN-2): search field -> form's.
CARRIED = {"nom_naissance": "nom_naissance", "nom": "nom_naissance", "prenom": "prenom",
           "ville_naissance": "ville_naissance", "code_postal_naissance": "code_postal_naissance",
           "pays_naissance": "pays_naissance"}


def _prefill(form, p):
    """A new form: the identity searched, then each list with a single choice, or else the
    choice of the user's last dossier, selected (issue 16 item 7)."""
    for arg, name in CARRIED.items():
        if request.args.get(arg) and name in form:
            form[name].data = request.args[arg].strip()
    if request.args.get("pays_naissance") and "ne_etranger" in form:
        form.ne_etranger.data = True
    if request.args.get("date_naissance"):
        try:
            form.date_naissance.data = candidats_wf.parse_date(request.args["date_naissance"], "x")
        except RuleViolation:
            pass
    last = creation.last_choices(p)
    for name, previous in (("certification", last.certification_id),
                           ("etablissement", last.etablissement_id), ("entreprise", None)):
        if name not in form:
            continue
        offered = [value for value, _ in form[name].choices if value != ""]
        if len(offered) == 1 and (name != "entreprise" or p.role == EMP):
            form[name].data = offered[0]
        elif previous in offered:
            form[name].data = previous


def _already_followed(form) -> list[str]:
    """The certifications for which the person typed already has a dossier in progress or
    certified (R-CAN-2): a second one would be refused. Names only, as the search page shows."""
    from app.models import Certification as Cert
    from app.models.statuts import ENDED_WITHOUT_TITLE
    identity = {"nom_naissance": form.nom_naissance.data, "prenom": form.prenom.data,
                "date_naissance": form.date_naissance.data}
    if not all(identity.values()):
        return []
    person = candidats_wf.find_same_person(identity)
    if person is None:
        return []
    rows = (db.session.query(Cert.code, Cert.intitule).join(Candidature,
                                                              Candidature.certification_id == Cert.id)
            .filter(Candidature.candidat_id == person.id,
                    Candidature.statut.notin_(ENDED_WITHOUT_TITLE))
            .order_by(Cert.code).distinct().all())
    return [f"{code} — {intitule}" for code, intitule in rows]


# Values the identity rules accept, put in place of a field already found wrong so that the
# next check of validate_identity runs and says its own error (R-CAN-1).
_ACCEPTED = {"civilite": "M", "nom_naissance": "Nom", "prenom": "Prenom", "nom_usage": "",
             "date_naissance": date(1990, 1, 1), "ne_outre_mer": False, "pays_naissance": "Espagne",
             "ville_naissance": "Lyon", "code_postal_naissance": "69003", "email": "",
             "code_postal": ""}


def _other_errors(form, identity):
    """Every error at once: the domain stops at its first refusal; the identity is checked again
    with each wrong field set aside, so a second mistake does not wait for the next submit."""
    data = dict(identity)
    for _ in range(len(_ACCEPTED)):
        try:
            candidats_wf.validate_identity(data)
            return
        except RuleViolation as exc:
            field = getattr(form, exc.field or "", None)
            if field is not None and exc.message not in (field.errors or []):
                field.errors = list(field.errors or []) + [exc.message]
            if exc.field not in _ACCEPTED or data.get(exc.field) == _ACCEPTED[exc.field]:
                return
            data[exc.field] = _ACCEPTED[exc.field]
            if exc.field == "ne_outre_mer":
                data["ne_etranger"] = False


def _creation_choices(form, p, dispositifs):
    """Only what the user may choose (app/workflow/dossier/creation.py), and only the fields the
    dossiers of these dispositifs use."""
    certs = creation.creatable_certifications(p, dispositifs)
    several = len(dispositifs) > 1  # the dispositif's code tells the certifications apart
    form.certification.choices = [("", "—")] + [
        (c.id, f"{c.dispositif.code} — {c.code} — {c.intitule}" if several
         else f"{c.code} — {c.intitule}") for c in certs]
    if p.role == EMP:  # its company holds its dossiers, no établissement is named (R-ACC-5)
        del form["etablissement"]
        form.entreprise.choices = [(e.id, e.raison_sociale)
                                   for e in creation.creation_entreprises(p)]
    else:
        form.etablissement.choices = [("", "—")] + [
            (e.id, e.nom) for e in creation.creation_etablissements(p, dispositifs)]
        form.entreprise.choices = [("", "—")] + [
            (e.id, e.raison_sociale) for e in creation.creation_entreprises(p)]
    orgs = db.session.query(Organisme).filter(Organisme.actif.is_(True)) \
        .order_by(Organisme.nom).limit(creation.MAX_CHOICES).all()
    form.organisme_formation.choices = [("", "—")] + [(o.id, o.nom) for o in orgs]
    cqpis = [c for c in certs if c.type == "CQPI" and c.membre_branche]
    form.cqpi_detenu.choices = [("", "—")] + [(c.id, c.intitule) for c in cqpis]
    if "cqpi_demande" in form:  # shown by the page's script only for a CQP giving a CQPI
        from app.workflow.jury.acquis import cqps_giving_a_cqpi
        giving = sorted(cqps_giving_a_cqpi(c.id for c in certs))
        form.cqpi_demande.render_kw = {"data-cqp": ",".join(map(str, giving))}
    return groups_of(form, set().union(*(creation.fields_applying(d) for d in dispositifs)))


class CandidatureAbandonneeView(CandidatureView):
    """R-CAN-7: abandoned dossiers listed apart; export of the last 30 days."""

    route_base = "/candidatures-abandonnees"
    exclude_route_methods = CandidatureView.exclude_route_methods | {"add", "nouvelle", "recherche"}
    status_filter = "abandonnee"
    list_title = "Candidatures abandonnées"
    list_template = "candidatures/abandonnees.html"
    list_columns = ["numero", "candidat", "titulaire", "abandonne_le", "abandon_motif_label"]
    export_columns = ["numero", "candidat.nom_naissance", "candidat.prenom", "titulaire",
                      "certification.code", "abandonne_le", "abandon_motif_label",
                      "abandon_precision"]
    search_columns = ["numero", "certification", "abandonne_le"]
    search_form_extra_fields = {}
    order_columns = ["numero", "abandonne_le"]
    label_columns = {**COLUMN_LABELS, "abandon_motif_label": "Motif"}
    base_order = ("abandonne_le", "desc")
    export_name = "candidatures-abandonnees"

    @expose("/export-30-jours/<string:fmt>/")
    @has_access
    def export_30_jours(self, fmt):
        if fmt not in FORMATS:
            abort(404)
        from app.workflow.dossier.abandons import abandoned_since
        items = (perimeter.scoped_query(Candidature).filter(*abandoned_since(30))
                 .order_by(Candidature.abandonne_le.desc()).limit(100_000).all())
        export = ListExport("abandons-30-jours", self.export_columns, self.label_columns, items,
                            self.formatters_columns)
        return send_dataset(export, fmt)


CandidatureAbandonneeView.method_permission_name = {
    **CandidatureView.method_permission_name, "export_30_jours": "read"}


class RattachementView(ScopedModelView):
    """R-CAN-6: requests; the certifier accepts or refuses, the requester follows them."""

    route_base = "/rattachements"
    datamodel = SQLAInterface(RattachementDemande)
    class_permission_name = "Candidatures"
    method_permission_name = {**ScopedModelView.method_permission_name, "demander": "write",
                              "decider": "decide_transfer"}
    exclude_route_methods = {"edit", "delete", "add", "download"}
    list_title = "Demandes de rattachement"
    show_title = "Demande de rattachement"
    list_columns = ["created_on", "candidature.numero", "etablissement_demandeur",
                    "ancien_etablissement", "motif_label", "etat_label", "decide_le"]
    show_columns = list_columns + ["precision", "reponse"]
    search_columns = ["etat", "motif", "created_on"]
    label_columns = {"created_on": "Demandée le", "candidature.numero": "Dossier",
                     "etablissement_demandeur": "Établissement demandeur",
                     "ancien_etablissement": "Établissement actuel", "motif_label": "Motif",
                     "etat_label": "État", "decide_le": "Décidée le", "precision": "Précision",
                     "reponse": "Réponse", "etat": "État", "motif": "Motif"}
    base_order = ("created_on", "desc")
    export_name = "rattachements"
    show_template = "candidatures/rattachement_show.html"

    @expose("/demander/<token>", methods=["GET", "POST"])
    @has_access
    def demander(self, token):
        """The request form for a dossier the duplicate search signalled outside the perimeter:
        reached only through the signed link that search gave this user, never by number."""
        p = current_perimetre()
        try:
            pk, owner = tokens.read_token("rattachement", token, RATTACHEMENT_LINK_MAX_AGE)
        except RuleViolation:
            abort(404)
        c = db.session.get(Candidature, pk) if owner == str(p.user_id) else None
        if c is None:
            abort(404)
        form = RattachementForm()
        form.etablissement.choices = [(e.id, e.nom) for e in perimeter.scoped_query(
            Etablissement, p).filter(Etablissement.actif.is_(True)).order_by(Etablissement.nom)
            .limit(500)]
        if form.validate_on_submit():
            if run_verb(rattachements.request_transfer, p, c, form.etablissement.data,
                        form.motif.data, form.precision.data, form=form,
                        success="Demande de rattachement envoyée au certificateur."):
                return redirect(url_for("RattachementView.list"))
        # Neither number nor status: the dossier is not in the perimeter.
        return self.render_template(
            "opencertif/public_form.html", form=form, title="Demande de rattachement",
            message=f"Dossier de {c.candidat.prenom} {c.candidat.nom_naissance} pour la "
                    f"certification « {c.certification.intitule} », suivi par un autre "
                    "établissement. Le certificateur décidera de sa reprise.")

    @expose("/decider/<int:pk>/<string:choix>", methods=["POST"])
    @has_access
    def decider(self, pk, choix):
        d = perimeter.scoped_get(RattachementDemande, pk)
        if d is None or choix not in ("accepter", "refuser"):
            abort(404)
        form = DecisionRattachementForm()
        run_verb(rattachements.decide_transfer, current_perimetre(), d, choix == "accepter",
                 form.reponse.data,
                 success=f"Demande {'acceptée' if choix == 'accepter' else 'refusée'}.")
        return redirect(url_for("RattachementView.show", pk=pk))


def register(appbuilder):
    cat = {"category": "Candidatures", "category_icon": "fa-id-card", "category_label": "Candidatures"}
    appbuilder.add_view(CandidatureView, "Toutes les candidatures", label="Toutes les candidatures",
                        icon="fa-list", **cat)
    appbuilder.add_view(CandidatureAbandonneeView, "Candidatures abandonnées",
                        label="Candidatures abandonnées", icon="fa-archive", **cat)
    appbuilder.add_view(RattachementView, "Demandes de rattachement",
                        label="Demandes de rattachement", icon="fa-key", **cat)
    from app.views import dashboard, dossier
    dossier.register(appbuilder)
    dashboard.register(appbuilder)
