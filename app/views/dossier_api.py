"""REST API of what the dossier page does beyond status verbs (issue 14): the duplicate search
(R-CAN-2, same rules as the screen), documents (upload, list, download — R-CAN-4) and the
evaluations with their competence rows (ids needed by save/finalize_evaluation). Verbs stay at
POST /api/v1/candidature/<pk>/action/<verb>. Every route calls the workflow the screens call."""
from urllib.parse import quote

from flask import Response, request
from flask_appbuilder.api import BaseApi, expose, protect, safe

from app.errors import PerimeterViolation
from app.extensions import db
from app.models.candidature import Candidature, Document
from app.security import perimeter, tokens
from app.security.perimeter import current_perimetre
from app.views.actions import AnswersRefusals, run_verb
from app.workflow import pieces as documents_wf
from app.workflow.dossier import candidats as candidats_wf
from app.workflow.evaluation.common import evaluations_of

SEARCH_KEYS = ("numero", "nom", "prenom", "date_naissance", "ville_naissance",
               "code_postal_naissance", "pays_naissance")


class DossierApi(AnswersRefusals, BaseApi):
    resource_name = "dossier"
    allow_browser_login = True
    class_permission_name = "Candidatures"
    method_permission_name = {"recherche": "read", "documents": "read", "telecharger": "read",
                              "deposer": "read", "evaluations": "read"}
    openapi_spec_tag = "Dossiers"

    @expose("/recherche", methods=["GET"])
    @protect()
    @safe
    def recherche(self):
        """Duplicate search (R-CAN-2): the perimeter's dossiers; elsewhere, only whether the exact
        person (birth name, first name, birth date) has a dossier.
        ---
        get:
          summary: Rechercher un candidat avant de créer un dossier
          parameters:
          - {in: query, name: numero, schema: {type: string}}
          - {in: query, name: nom, schema: {type: string}}
          - {in: query, name: prenom, schema: {type: string}}
          - {in: query, name: date_naissance, schema: {type: string, format: date}}
          - {in: query, name: ville_naissance, schema: {type: string}}
          - {in: query, name: code_postal_naissance, schema: {type: string}}
          - {in: query, name: pays_naissance, schema: {type: string}}
          responses:
            200: {description: Dossiers du périmètre et dossier existant ailleurs}
            422: {description: Recherche trop large}
            429: {description: Trop de recherches}
        """
        p = current_perimetre()

        def run():
            found = candidats_wf.duplicate_search(p, **{k: request.args.get(k) for k in SEARCH_KEYS})
            return {"dossiers": [{"id": c.id, "numero": c.numero, "statut": c.statut,
                                  "nom_naissance": cand.nom_naissance, "prenom": cand.prenom,
                                  "date_naissance": cand.date_naissance.isoformat()}
                                 for c, cand in found.rows],
                    "dossier_ailleurs": bool(found.elsewhere),
                    "rattachement": [{"certification": c.certification.intitule,
                                      "jeton": tokens.make_token("rattachement", c.id,
                                                                 str(p.user_id))}
                                     for c in found.elsewhere]}
        return self.response(200, **run_verb(run).result)

    def _dossier(self, pk):
        c = perimeter.scoped_get(Candidature, pk)
        if c is None:
            raise PerimeterViolation()
        return c

    @expose("/<int:pk>/documents", methods=["GET"])
    @protect()
    @safe
    def documents(self, pk):
        """
        ---
        get:
          summary: Documents du dossier
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: Liste des documents}
            404: {description: Hors périmètre}
        """
        def run():
            c = self._dossier(pk)
            return {"documents": [{"id": d.id, "nom_fichier": d.nom_fichier,
                                   "type_piece": d.type_piece, "evaluation_id": d.evaluation_id}
                                  for d in db.session.query(Document).filter_by(
                                      candidature_id=c.id).order_by(Document.id)]}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/documents", methods=["POST"])
    @protect()
    @safe
    def deposer(self, pk):
        """Upload (multipart/form-data), under the dossier's guard (R-CAN-4, R-WF-3).
        ---
        post:
          summary: Déposer un document
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  required: [fichier]
                  properties:
                    fichier: {type: string, format: binary}
                    type_piece: {type: string}
                    evaluation: {type: integer}
                    formation: {type: integer}
          responses:
            201: {description: Document déposé}
            404: {description: Hors périmètre}
            422: {description: Règle non respectée}
        """
        upload = request.files.get("fichier")

        def run():
            c = self._dossier(pk)
            data = upload.read(documents_wf.MAX_SIZE + 1) if upload else b""
            doc = documents_wf.add_document(
                current_perimetre(), c, filename=upload.filename if upload else "", data=data,
                type_piece=request.form.get("type_piece") or "autre",
                evaluation=request.form.get("evaluation") or None,
                formation=request.form.get("formation") or None)
            db.session.flush()
            return {"id": doc.id}
        return self.response(201, **run_verb(run).result)

    @expose("/<int:pk>/documents/<int:doc_id>", methods=["GET"])
    @protect()
    @safe
    def telecharger(self, pk, doc_id):
        """
        ---
        get:
          summary: Télécharger un document du dossier
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: path, name: doc_id, required: true, schema: {type: integer}}
          responses:
            200: {description: Le fichier}
            404: {description: Hors périmètre}
        """
        c = perimeter.scoped_get(Candidature, pk)
        doc = db.session.get(Document, doc_id) if c is not None else None
        if doc is None or doc.candidature_id != c.id:
            return self.response_404()
        return Response(doc.contenu, mimetype=doc.mimetype, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.nom_fichier)}",
            "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})

    @expose("/<int:pk>/evaluations", methods=["GET"])
    @protect()
    @safe
    def evaluations(self, pk):
        """The evaluations and their competence rows (ids for save/finalize_evaluation).
        ---
        get:
          summary: Évaluations du dossier
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: Évaluations et compétences}
            404: {description: Hors périmètre}
        """
        def run():
            c = self._dossier(pk)
            return {"evaluations": [{
                "id": ev.id, "type": ev.type, "statut": ev.statut, "resultat": ev.resultat,
                "finalisee": ev.finalisee,
                "date_evaluation": ev.date_evaluation.isoformat() if ev.date_evaluation else None,
                "competences": [{"competence_id": r.competence_id, "acquis": r.acquis,
                                 "pre_acquis": r.pre_acquis, "commentaire": r.commentaire}
                                for r in ev.resultats]} for ev in evaluations_of(c)]}
        return self.response(200, **run_verb(run).result)


def register(appbuilder):
    appbuilder.add_api(DossierApi)
