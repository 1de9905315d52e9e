"""The dossier page (tabs like the sources) and its actions: every button is a POST running the
workflow verb, whose guard is the one that decided to show the button (R-WF-*, R-ACC-5)."""
from urllib.parse import quote

from flask import Response, abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.extensions import db
from app.models.candidature import MOTIFS_ABANDON, Candidature, Document
from app.models.evaluation import NATURES_AMENAGEMENT
from app.security.perimeter import current_perimetre
from app.views.actions import load_scoped, run_verb
from app.views.candidature_forms import (
    IDENTITY_KEYS,
    DocumentForm,
    EditionForm,
    groups_of,
    split,
)
from app.workflow import engine as transitions
from app.workflow import pieces as documents_wf
from app.workflow import verbs
from app.workflow.dossier import vae
from app.workflow.dossier.candidatures import update_candidature
from app.workflow.dossier.creation import fields_applying
from app.workflow.evaluation import commission as commission_wf
from app.workflow.evaluation import common as evaluations_wf

# Small forms opened from a button (<details>, no JavaScript): verb -> fields.
PARAMS = {
    "confirm_evaluator": [("evaluateur", "Évaluateur habilité", "evaluateurs", True),
                          ("date_evaluation", "Date de l'évaluation", "date", False)],
    "invite_metier": [("prenom", "Prénom", "text", True), ("nom", "Nom", "text", True),
                      ("email", "E-mail", "email", True), ("fonction", "Fonction", "text", False)],
    "plan_evaluation": [("date_evaluation", "Date de l'évaluation", "date", True),
                        ("motif", "Motif du changement (obligatoire si une date était fixée)",
                         "textarea", False)],
    "declare_abandon": [("motif", "Motif de l'abandon", [
        (c, label) for c, label in MOTIFS_ABANDON if c != "automatique"], True),
        ("precision", "Précision", "textarea", False)],
    "decide_recevabilite": [("recevable", "Décision", [("1", "Recevable"), ("0", "Refusée")], True),
                            ("motif", "Motifs (obligatoires en cas de refus)", "textarea", False),
                            ("decidee_le", "Décidée le", "date", False)],
    "add_amenagement": [("nature", "Nature", list(NATURES_AMENAGEMENT), True),
                        ("description", "Description", "textarea", True)],
    "open_evaluation": [("date_evaluation", "Date de la commission", "date", False)],
    "unlock": [("commentaire", "Motif de l'annulation", "textarea", False)],
    "reinstate": [("commentaire", "Commentaire", "textarea", False)],
}
# Buttons that open a page instead of posting.
PAGES = {
    "edit": "DossierView.modifier",
    "enter_results": "EvaluationView.saisie",
    "start_evaluation": "EvaluationView.saisie",
    "enter_commission_results": "EvaluationView.saisie",
    "add_formation": "EvaluationView.formation",
    # « Inscrire au jury » / « Présenter au jury »: the page where the user chooses the jury.
    "submit_to_jury": "InscriptionJuryView.inscrire",
}
TABS = [("fiche", "Fiche individu"), ("parcours", "Parcours"), ("documents", "Documents"),
        ("formations", "Formations"), ("evaluations", "Évaluations"),
        ("decision", "Décision du jury"), ("envois", "Historique des envois"),
        ("historique", "Historique")]


def load(pk, mode="read") -> Candidature:
    """The dossier, only inside the perimeter (R-ACC-5): 404 otherwise, whatever the id."""
    return load_scoped(Candidature, pk, mode)


def _documents_emis(c):
    """Certificates and letters issued for the dossier, with their mailing history (R-ENV-2)."""
    from sqlalchemy.orm import selectinload

    from app.extensions import db
    from app.models.document import DocumentEmis
    return (db.session.query(DocumentEmis).options(selectinload(DocumentEmis.envois))
            .filter(DocumentEmis.candidature_id == c.id).order_by(DocumentEmis.emis_le).all())


def _evaluateur_choices(c):
    from app.workflow.habilitations import evaluateurs_possibles
    if not c.region:
        return []
    return [(e.user_id, f"{e.nom_complet}" + (f" — {e.employeur_nom}" if e.employeur_nom else ""))
            for e in evaluateurs_possibles(c.certification, c.region).limit(300)]


class DossierView(BaseView):
    route_base = "/dossier"
    default_view = "dossier"
    class_permission_name = "Candidatures"
    # The FAB permission only opens the door; the workflow guard decides each action.
    method_permission_name = {"dossier": "read", "action": "read", "modifier": "read",
                              "document": "read", "telecharger": "read", "retirer": "read"}

    @expose("/<int:pk>")
    @has_access
    def dossier(self, pk):
        return self._render(load(pk))

    def _render(self, c, upload=None, refused=None):
        """The dossier page; after a refused upload, `upload` ({"type_piece", "error", "onglet"})
        keeps the chosen type and puts the error next to the file field; after a refused action,
        `refused` ({"verb", "values", "error", "field"}) reopens its form with what was typed and
        the error next to its field (issue 16 item 1)."""
        p = current_perimetre()
        states = transitions.action_states(p, c)
        allowed = {m.verb for m, reason in states if reason is None}
        choices = {}
        if "confirm_evaluator" in allowed:
            choices["evaluateurs"] = _evaluateur_choices(c)
        evs = evaluations_wf.evaluations_of(c)
        from app.workflow.dossier.candidatures import pending_complement
        from app.workflow.jury import sessions as jurys_wf
        return self.render_template(
            "candidatures/dossier.html", c=c, p=p, wf=transitions.workflow_of(c), states=states,
            allowed=allowed, params=PARAMS, pages=PAGES, choices=choices, tabs=TABS,
            evaluations=evs, blocs=commission_wf.blocs_acquis,
            historique=sorted(c.historique, key=lambda h: h.id, reverse=True),
            doc_form=DocumentForm(), types_piece=self._types_piece(p, c),
            may_upload=bool({"upload_document", "upload_evaluation_document"} & allowed),
            removable=_removable(p, c),
            echeance_recevabilite=vae.echeance_recevabilite(c), echeance_jury=vae.echeance_jury(c),
            avis_requis=commission_wf.avis_entreprise_requis(c),
            documents_emis=_documents_emis(c),
            inscription=jurys_wf.active_inscription(c),
            pret_jury=jurys_wf.is_evaluated_to_send(c, evs),
            decision_detail=_decision_detail(c),
            may_register=jurys_wf.may_register_again(p, c),
            complement=pending_complement(c), upload=upload, refused=refused,
            onglet_choisi=upload["onglet"] if upload else None,
            title=f"Candidat — {c.candidat.nom_complet}")

    def _types_piece(self, p, c):
        own = documents_wf.pieces_for(c)
        if p.role == transitions.EV:
            return [(k, v) for k, v in own if k in documents_wf.EVALUATOR_PIECES]
        return own

    @expose("/<int:pk>/action/<string:verb>", methods=["POST"])
    @has_access
    def action(self, pk, verb):
        c = load(pk)
        params = {k: v for k, v in request.form.items() if k != "csrf_token"}
        # The parameters are the user's: passed through a closure, never as run_verb's own.
        done = run_verb(lambda: verbs.perform(current_perimetre(), c, verb, **params),
                        success=lambda result: transitions.done_message(
                            c, verb, placed=getattr(result, "jury", None)), quiet=bool(params))
        if not done and params:
            # A refused form (an invitation, an abandonment…) comes back open, as typed.
            db.session.expire_all()
            c = load(pk)
            violation = done.violation
            flash(violation.message, "danger")  # the summary at the top; the form says where
            field = violation.field if violation.field in params else None
            return self._render(c, refused={"verb": verb, "typed": params,
                                            "error": violation.message, "field": field})
        return redirect(url_for("DossierView.dossier", pk=c.id))

    @expose("/<int:pk>/modifier", methods=["GET", "POST"])
    @has_access
    def modifier(self, pk):
        c = load(pk)
        p = current_perimetre()
        # The guard of the button (403, 404, or its reason flashed back on the dossier page).
        if not run_verb(transitions.check, p, c, "edit"):
            return redirect(url_for("DossierView.dossier", pk=c.id))
        form = EditionForm(obj=None)
        groups = groups_of(form, fields_applying(c.dispositif))
        from app.models import Entreprise
        form.entreprise.choices = [("", "—")] + [(e.id, e.raison_sociale) for e in db.session.query(
            Entreprise).order_by(Entreprise.raison_sociale).limit(500)]
        if request.method == "GET":
            for key in IDENTITY_KEYS:
                getattr(form, key).data = getattr(c.candidat, key)
            for key in ("statut_inscription", "financement", "type_public", "niveau_formation",
                        "branche_delegataire", "socle_contextualise", "origine_demarche",
                        "initiative_salarie", "diplomes", "objectifs_professionnels",
                        "objectifs_extra_professionnels", "recevabilite_recue_le",
                        "cqpi_demande"):
                if key in form:
                    getattr(form, key).data = getattr(c, key)
            form.entreprise.data = c.entreprise_id
        if form.validate_on_submit():
            identity, fields = split(form)
            extra = {"recevabilite_recue_le": form.recevabilite_recue_le.data
                     if "recevabilite_recue_le" in form else None}
            if p.role != "employeur":
                extra["entreprise"] = form.entreprise.data or ""
            if run_verb(update_candidature, p, c, identite=identity, **fields, **extra, form=form,
                        success="Fiche enregistrée."):
                return redirect(url_for("DossierView.dossier", pk=c.id))
        return self.render_template("candidatures/form.html", form=form, groups=groups,
                                    title=f"Modifier la fiche — {c.numero}", multipart=False,
                                    back=url_for("DossierView.dossier", pk=c.id))

    @expose("/<int:pk>/document", methods=["POST"])
    @has_access
    def document(self, pk):
        """Upload (R-CAN-4); the guard of the dossier applies (R-WF-3)."""
        c = load(pk)
        upload = request.files.get("fichier")
        data = upload.read(documents_wf.MAX_SIZE + 1) if upload else b""
        type_piece = request.form.get("type_piece") or "autre"
        elsewhere = bool(request.form.get("next"))
        done = run_verb(documents_wf.add_document, current_perimetre(), c,
                        filename=upload.filename if upload else "", data=data,
                        type_piece=type_piece,
                        evaluation=request.form.get("evaluation") or None,
                        formation=request.form.get("formation") or None,
                        # The upload form of the tab shows the refusal itself, next to the file.
                        quiet=not elsewhere,
                        success="Document ajouté.")
        if not done and not elsewhere:
            return self._render(load(pk), upload={"type_piece": type_piece,
                                                  "error": done.violation.message,
                                                  "onglet": "documents"})
        # A form elsewhere on the page (a formation's attestation) has its type fixed: only the
        # file is lost, as a browser never re-sends one; back to it with the flashed error.
        from app.security.headers import local_path
        return redirect(local_path(request.form.get("next"),
                                   url_for("DossierView.dossier", pk=c.id, onglet="documents")))

    @expose("/document/<int:doc_id>")
    @has_access
    def telecharger(self, doc_id):
        """Download only within the perimeter: the dossier is loaded with scoped_get first."""
        doc = db.session.get(Document, doc_id)
        if doc is None:
            abort(404)
        load(doc.candidature_id)
        name = quote(doc.nom_fichier)
        return Response(doc.contenu, mimetype=doc.mimetype, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})

    @expose("/document/<int:doc_id>/retirer", methods=["POST"])
    @has_access
    def retirer(self, doc_id):
        doc = db.session.get(Document, doc_id)
        if doc is None:
            abort(404)
        c = load(doc.candidature_id)
        run_verb(documents_wf.delete_document, current_perimetre(), doc,
                 success="Document retiré.")
        return redirect(url_for("DossierView.dossier", pk=c.id, onglet="documents"))


def register(appbuilder):
    appbuilder.add_view_no_menu(DossierView)
    from app.views import evaluations
    evaluations.register(appbuilder)


def _decision_detail(c) -> dict:
    """What the jury's decision gave this dossier (R-DEC-2/3): certifications and blocs
    delivered, competences kept; two small queries, only once decided."""
    if not c.decision:
        return {}
    from app.models.jury import AcquisCompetence, AttributionCertification
    return {"attributions": db.session.query(AttributionCertification)
            .filter(AttributionCertification.candidature_id == c.id)
            .order_by(AttributionCertification.id).all(),
            "acquis": db.session.query(AcquisCompetence)
            .filter(AcquisCompetence.candidature_id == c.id)
            .order_by(AcquisCompetence.id).all()}


def _removable(p, c) -> set:
    """The ids of the dossier's pieces this user may remove (pieces.may_remove), one query."""
    evaluators = documents_wf.evaluators_among(d.created_by_id for d in c.documents)
    return {d.id for d in c.documents if documents_wf.may_remove(p, d, evaluators)}
