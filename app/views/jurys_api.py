"""REST API of the juries (issue 14, build 3): what the jury screens do (app/views/jurys.py), by
the same workflow verbs — registration of a dossier, composition and convocations, decisions,
complement, closing, issued documents and their PDF. Rows are read through the perimeter
(secretariat of the dispositif; a jury member his own juries): another perimeter's jury,
member, inscription or document is a 404. RuleViolation → 422 with its field, NotAllowed → 403,
a second closing → 409, and nothing is done twice."""
from flask import Response, request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.errors import PK_MAX, PerimeterViolation, RuleViolation
from app.extensions import db
from app.models.candidature import Candidature
from app.models.document import DocumentEmis
from app.models.jury import InscriptionJury, Jury, JuryMembre
from app.security import perimeter
from app.security.perimeter import current_perimetre
from app.views.actions import AnswersRefusals, run_verb
from app.views.base import READ_WRITE, ScopedApi, check_api_input
from app.workflow.jury import composition as composition_wf
from app.workflow.jury import deliberation as deliberation_wf
from app.workflow.jury import registration as registration_wf
from app.workflow.jury import sessions as wf

JURY_COLUMNS = ["id", "dispositif.code", "certificateur", "region", "libelle", "date", "lieu",
                "modalite", "capacite", "date_limite_inscription", "anonyme", "etat",
                "convoque_le", "tenu_le", "clos_le"]
MEMBRE_KEYS = ("college", "user", "nom", "prenom", "email", "organisation", "qualite", "syndicat",
               "syndicat_email")


class BadInput(RuleViolation):
    """A parameter of the wrong type (422 with its field, before any workflow call)."""


def _body() -> dict:
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return {k: (v if len(v) > 1 else v[0]) for k, v in request.form.lists()}


def _text(body, key, required=False):
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise BadInput("Champ obligatoire.", field=key)
        return None
    if not isinstance(value, str):
        raise BadInput("Texte attendu.", field=key)
    return value


def _key(body, key):
    """A row number (the workflow looks the row up), or None; anything else is refused here."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= PK_MAX:
        raise BadInput("Identifiant numérique attendu.", field=key)
    return value


def jury_json(jury: Jury) -> dict:
    return {"id": jury.id, "intitule": jury.intitule, "etat": jury.etat,
            "etat_label": jury.etat_label, "date": jury.date.isoformat()}


def inscription_json(ins: InscriptionJury, name: str) -> dict:
    return {"id": ins.id, "candidature_id": ins.candidature_id,
            "numero_anonyme": ins.numero_anonyme, "candidat": name, "etat": ins.etat,
            "etat_label": ins.etat_label, "active": ins.active, "decision": ins.decision,
            "decision_label": ins.decision_label,
            "competences_acquises": list(ins.competences_acquises or []),
            "commentaire": ins.commentaire}


def membre_json(m: JuryMembre) -> dict:
    return {"id": m.id, "college": m.college, "user_id": m.user_id, "nom": m.nom,
            "prenom": m.prenom, "organisation": m.organisation, "syndicat": m.syndicat,
            "votant": m.votant, "designe": m.designe}


def document_json(d: DocumentEmis) -> dict:
    return {"id": d.id, "type": d.type, "numero": d.numero, "titulaire": d.titulaire,
            "candidature_id": d.candidature_id, "statut": d.statut,
            "emis_le": d.emis_le.isoformat() if d.emis_le else None}


OBJ = {"type": "object", "additionalProperties": True}


class JuryApi(ScopedApi):
    """The juries of the perimeter and what the jury page, the composition page and the
    deliberation page do."""

    resource_name = "jury"
    datamodel = SQLAInterface(Jury)
    class_permission_name = "Jurys"
    openapi_spec_tag = "Jurys"
    include_route_methods = {
        "get_list", "get", "inscriptions", "membres", "ajouter_membre", "retirer_membre",
        "votant", "designations", "convoquer", "affecter", "retirer_dossier", "decision",
        "complement", "cloturer", "emettre", "documents", "pdf"}
    method_permission_name = {
        **READ_WRITE, "inscriptions": "read", "membres": "read", "ajouter_membre": "write",
        "retirer_membre": "write", "votant": "write", "designations": "write",
        "convoquer": "write", "affecter": "write", "retirer_dossier": "write",
        "decision": "deliberate", "complement": "deliberate", "cloturer": "write",
        "emettre": "write", "documents": "read", "pdf": "read"}
    list_columns = show_columns = JURY_COLUMNS
    add_columns = edit_columns = ["lieu"]  # no POST/PUT route: the calendar is kept on screen
    search_columns = ["date", "etat", "certificateur"]
    order_columns = ["date", "date_limite_inscription"]
    base_order = ("date", "desc")

    def _jury(self, pk, mode="read") -> Jury:
        jury = perimeter.scoped_get(Jury, pk, mode=mode)
        if jury is None:
            raise PerimeterViolation()
        return jury

    def _row(self, model, pk, mode="read"):
        row = perimeter.scoped_get(model, pk, mode=mode)
        if row is None:
            raise PerimeterViolation()
        return row

    # -- the jury's dossiers ---------------------------------------------------------------------
    @expose("/<int:pk>/inscriptions", methods=["GET"])
    @protect()
    @safe
    def inscriptions(self, pk):
        """The dossiers of the jury; names as on the jury page (R-JUR-7: numbers for the members of
        an anonymous jury, names for its organiser).
        ---
        get:
          summary: Dossiers inscrits au jury et décisions enregistrées
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Le jury et ses inscriptions
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      jury: {type: object}
                      inscriptions: {type: array, items: {type: object}}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        from app.views.jurys import _display_name
        from app.workflow.jury.deliberation import decision_rows

        def run():
            jury = self._jury(pk)
            return {"jury": jury_json(jury), "inscriptions": [
                inscription_json(i, _display_name(i)) for i in decision_rows(jury)]}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/affecter", methods=["POST"])
    @protect()
    @safe
    def affecter(self, pk):
        """Secretariat: the dossiers waiting for a jury go into this one, oldest first (R-JUR-3).
        ---
        post:
          summary: Inscrire à ce jury les dossiers en attente d'affectation
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: Dossiers inscrits (ids des inscriptions)}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            regs = wf.assign_waiting(current_perimetre(), self._jury(pk, "write"))
            db.session.flush()
            return {"inscriptions": [r.inscription.id for r in regs]}
        return self.response(200, **run_verb(run).result)

    @expose("/inscription/<int:ins_id>/retrait", methods=["POST"])
    @protect()
    @safe
    def retirer_dossier(self, ins_id):
        """Secretariat: take a dossier out of a jury that has not decided on it.
        ---
        post:
          summary: Retirer un dossier du jury
          parameters:
          - {in: path, name: ins_id, required: true, schema: {type: integer}}
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    motif: {type: string}
          responses:
            200: {description: Dossier retiré}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            ins = self._row(InscriptionJury, ins_id, "write")
            wf.withdraw_from_jury(current_perimetre(), ins, _text(_body(), "motif"))
            return {"id": ins.id, "etat": ins.etat}
        return self.response(200, **run_verb(run).result)

    # -- composition and convocations (R-JUR-5, R-JUR-6) -------------------------------------------
    @expose("/<int:pk>/membres", methods=["GET"])
    @protect()
    @safe
    def membres(self, pk):
        """
        ---
        get:
          summary: Composition du jury et ce qui y manque
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Membres et problèmes de composition
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      membres: {type: array, items: {type: object}}
                      problemes: {type: array, items: {type: string}}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            jury = self._jury(pk)
            return {"membres": [membre_json(m) for m in jury.membres],
                    "problemes": composition_wf.check_composition(jury)}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/membres", methods=["POST"])
    @protect()
    @safe
    def ajouter_membre(self, pk):
        """Same fields as the composition form.
        ---
        post:
          summary: Ajouter un membre au jury (compte « Membre de jury » ou personne nommée)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [college]
                  properties:
                    college: {type: string, enum: [president, employeurs, salaries, invite]}
                    user: {type: integer, description: Compte « Membre de jury » du dispositif}
                    nom: {type: string}
                    prenom: {type: string}
                    email: {type: string}
                    organisation: {type: string}
                    qualite: {type: string}
                    syndicat: {type: string}
                    syndicat_email: {type: string}
                    votant: {type: boolean, nullable: true, description: "Vide : automatique"}
          responses:
            201: {description: Membre ajouté}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            jury = self._jury(pk, "write")
            body = _body()
            fields = {k: _text(body, k) for k in MEMBRE_KEYS if k != "user"}
            votant = body.get("votant")
            votant = {"1": True, "0": False, "true": True, "false": False}.get(
                votant, votant) if isinstance(votant, str) else votant
            if votant is not None and not isinstance(votant, bool):
                raise BadInput("Valeur oui/non (true/false) attendue.", field="votant")
            m = composition_wf.add_member(current_perimetre(), jury, fields.pop("college") or "",
                              _key(body, "user"), votant=votant, **fields)
            return membre_json(m)
        return self.response(201, **run_verb(run).result)

    @expose("/membre/<int:membre_id>", methods=["DELETE"])
    @protect()
    @safe
    def retirer_membre(self, membre_id):
        """
        ---
        delete:
          summary: Retirer un membre du jury
          parameters:
          - {in: path, name: membre_id, required: true, schema: {type: integer}}
          responses:
            200: {description: Membre retiré}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            m = self._row(JuryMembre, membre_id, "write")
            composition_wf.remove_member(current_perimetre(), m)
            return {"id": membre_id}
        return self.response(200, **run_verb(run).result)

    @expose("/membre/<int:membre_id>/votant", methods=["POST"])
    @protect()
    @safe
    def votant(self, membre_id):
        """
        ---
        post:
          summary: Choisir le représentant votant d'une organisation syndicale
          parameters:
          - {in: path, name: membre_id, required: true, schema: {type: integer}}
          responses:
            200: {description: Représentant votant choisi}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            m = self._row(JuryMembre, membre_id, "write")
            composition_wf.set_voter(current_perimetre(), m)
            return {"membres": [membre_json(x) for x in m.jury.membres]}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/designations", methods=["POST"])
    @protect()
    @safe
    def designations(self, pk):
        """
        ---
        post:
          summary: Demander aux organisations syndicales de désigner leurs représentants
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: Nombre d'organisations sollicitées}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {description: Déjà demandé ; rien n'est renvoyé}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            return {"organisations": composition_wf.request_designations(current_perimetre(),
                                                             self._jury(pk, "write"))}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/convoquer", methods=["POST"])
    @protect()
    @safe
    def convoquer(self, pk):
        """
        ---
        post:
          summary: Convoquer les membres du jury
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: Nombre de membres convoqués}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {description: Déjà convoqués ; rien n'est renvoyé}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            return {"convoques": composition_wf.convene(current_perimetre(), self._jury(pk, "write"))}
        return self.response(200, **run_verb(run).result)

    # -- deliberation (R-JUR-7, R-JUR-8, R-DEC-1, R-WF-4) -------------------------------------------
    @expose("/inscription/<int:ins_id>/decision", methods=["POST"])
    @protect()
    @safe
    def decision(self, ins_id):
        """Same parameters as the deliberation form.
        ---
        post:
          summary: Enregistrer la décision du jury pour un dossier inscrit
          parameters:
          - {in: path, name: ins_id, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [decision]
                  properties:
                    decision:
                      type: string
                      description: "Selon le dispositif : valide, partiel, non_valide ; admis,
                        non_admis ; certifiee, non_certifiee"
                    acquis:
                      type: array
                      items: {type: integer}
                      description: "Compétences acquises (absent : toutes pour une décision
                        favorable, la proposition de l'évaluation sinon)"
                    commentaire: {type: string}
          responses:
            200: {description: Décision enregistrée (publiée à la clôture)}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            ins = self._row(InscriptionJury, ins_id)
            body = _body()
            acquis = body.get("acquis")
            if isinstance(acquis, (str, int)) and not isinstance(acquis, bool):
                acquis = [acquis]
            if acquis is not None and not (isinstance(acquis, list) and all(
                    isinstance(x, (int, str)) and not isinstance(x, bool) for x in acquis)):
                raise BadInput("Liste de compétences attendue.", field="acquis")
            deliberation_wf.record_decision(current_perimetre(), ins, _text(body, "decision") or "", acquis,
                               _text(body, "commentaire"))
            from app.views.jurys import _display_name
            return inscription_json(ins, _display_name(ins))
        return self.response(200, **run_verb(run).result)

    @expose("/inscription/<int:ins_id>/complement", methods=["POST"])
    @protect()
    @safe
    def complement(self, ins_id):
        """CléA: the jury asks the organisation for complements (R-WF-4).
        ---
        post:
          summary: Demander un complément (le dossier quitte ce jury)
          parameters:
          - {in: path, name: ins_id, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [commentaire]
                  properties:
                    commentaire: {type: string}
          responses:
            200: {description: Complément demandé}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            ins = self._row(InscriptionJury, ins_id)
            deliberation_wf.request_complement(current_perimetre(), ins,
                                  _text(_body(), "commentaire", required=True))
            return {"id": ins.id, "etat": ins.etat,
                    "statut_dossier": ins.candidature.statut}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/cloturer", methods=["POST"])
    @protect()
    @safe
    def cloturer(self, pk):
        """Publishes every decision at once (R-JUR-9); a second closing publishes nothing (409).
        ---
        post:
          summary: Clore le jury et publier ses décisions
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: Jury clos ; nombre de décisions publiées}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {description: Jury déjà clos ; rien n'a été publié une seconde fois}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            jury = self._jury(pk, "write")
            n = deliberation_wf.close_jury(current_perimetre(), jury)
            return {"publiees": n, "jury": jury_json(db.session.get(Jury, jury.id))}
        return self.response(200, **run_verb(run).result)

    # -- issued documents (R-DOC-1..6) ---------------------------------------------------------------
    @expose("/<int:pk>/documents/<string:kind>", methods=["POST"])
    @protect()
    @safe
    def emettre(self, pk, kind):
        """Issues what has no valid original yet; a second call issues nothing again.
        ---
        post:
          summary: Émettre les documents d'un jury clos (PV, émargement, certificats, lettres)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - in: path
            name: kind
            required: true
            schema:
              type: string
              enum: [pv, emargement, certificat, lettre_decision, lettre_gtp]
          responses:
            200: {description: Documents émis et nombre de déjà émis}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        from app.workflow.jury.documents import issue_jury_documents
        p = current_perimetre()

        def run():
            emission = issue_jury_documents(p, self._jury(pk, "write"), kind, emis_par=p.user_id)
            db.session.flush()
            return {"message": emission.message(kind), "existants": emission.existants,
                    "emis": [document_json(d) for d in emission.emis]}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/documents", methods=["GET"])
    @protect()
    @safe
    def documents(self, pk):
        """
        ---
        get:
          summary: Documents émis pour ce jury (ceux de votre périmètre)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Documents émis
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      documents: {type: array, items: {type: object}}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            jury = self._jury(pk)
            rows = (perimeter.scoped_query(DocumentEmis).filter(DocumentEmis.jury_id == jury.id)
                    .order_by(DocumentEmis.type, DocumentEmis.id).all())
            return {"documents": [document_json(d) for d in rows]}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/documents/<int:doc_id>/pdf", methods=["GET"])
    @protect()
    @safe
    def pdf(self, pk, doc_id):
        """By primary key after the perimeter checks of the jury and of the document.
        ---
        get:
          summary: Télécharger le PDF d'un document émis du jury
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: path, name: doc_id, required: true, schema: {type: integer}}
          responses:
            200:
              description: Le PDF
              content:
                application/pdf:
                  schema: {type: string, format: binary}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        jury = perimeter.scoped_get(Jury, pk)
        doc = perimeter.scoped_get(DocumentEmis, doc_id) if jury is not None else None
        if doc is None or doc.jury_id != jury.id:
            return self.response_404()
        return Response(doc.pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{doc.numero}.pdf"',
            "Cache-Control": "private, no-store"})


class InscriptionJuryApi(AnswersRefusals, BaseApi):
    """« Inscrire à un jury » from a dossier (the /inscription-jury page): the actor its
    dispositif allows, in the jury chosen or the next open one (R-JUR-2..4)."""

    resource_name = "inscription_jury"
    allow_browser_login = True
    class_permission_name = "Candidatures"
    method_permission_name = {"jurys_ouverts": "read", "inscrire": "write"}
    openapi_spec_tag = "Jurys"

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(check_api_input)
        return blueprint

    def _dossier(self, pk) -> Candidature:
        c = perimeter.scoped_get(Candidature, pk)
        if c is None:
            raise PerimeterViolation()
        return c

    @expose("/<int:pk>/jurys", methods=["GET"])
    @protect()
    @safe
    def jurys_ouverts(self, pk):
        """
        ---
        get:
          summary: Jurys ouverts aux inscriptions pour ce dossier, par date
          parameters:
          - {in: path, name: pk, required: true, description: Le dossier, schema: {type: integer}}
          responses:
            200:
              description: Jurys possibles et inscription en cours
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      jurys: {type: array, items: {type: object}}
                      inscription: {type: object, nullable: true}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            c = self._dossier(pk)
            current = wf.active_inscription(c)
            return {"jurys": [{**jury_json(j), "capacite": j.capacite,
                               "inscrits": wf.count_active(j.id),
                               "date_limite_inscription": j.date_limite_inscription.isoformat()}
                              for j in wf.open_juries_for(c)],
                    "inscription": {"id": current.id, "jury": jury_json(current.jury)}
                    if current else None}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>", methods=["POST"])
    @protect()
    @safe
    def inscrire(self, pk):
        """Same workflow as the page: register_to_jury; with no jury open yet, a dossier still
        before the jury is presented and waits for the secretariat's assignment.
        ---
        post:
          summary: Inscrire le dossier à un jury (celui choisi, ou le prochain disponible)
          parameters:
          - {in: path, name: pk, required: true, description: Le dossier, schema: {type: integer}}
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    jury: {type: integer, nullable: true, description: "Vide : le prochain jury ouvert"}
                    commentaire: {type: string}
          responses:
            201:
              description: Dossier inscrit (ou présenté en attente d'un jury)
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      message: {type: string}
                      inscription: {type: integer, nullable: true}
                      jury: {type: object, nullable: true}
                      reporte: {type: boolean}
                      statut: {type: string}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        from app.views.jurys import _before_jury

        def run():
            p = current_perimetre()
            c = self._dossier(pk)
            body = _body()
            jury, commentaire = _key(body, "jury"), _text(body, "commentaire")
            if jury is None and not wf.open_juries_for(c) and _before_jury(c):
                from app.workflow.dossier import candidatures
                candidatures.submit_to_jury(p, c, commentaire=commentaire)
                return {"message": "Dossier présenté : aucun jury n'est ouvert aux inscriptions "
                                   "pour le moment ; le secrétariat l'inscrira au prochain jury.",
                        "inscription": None, "jury": None, "reporte": False, "statut": c.statut}
            reg = registration_wf.register_to_jury(p, c, jury, commentaire)
            db.session.flush()
            return {"message": reg.message, "inscription": reg.inscription.id,
                    "jury": jury_json(reg.jury), "reporte": reg.reported, "statut": c.statut}
        return self.response(201, **run_verb(run).result)


def register(appbuilder):
    appbuilder.add_api(JuryApi)
    appbuilder.add_api(InscriptionJuryApi)
