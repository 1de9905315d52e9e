"""REST API of the dossiers: scoped lists and reads, creation and edition through the workflow,
actions as POST /api/v1/candidature/<pk>/action/<verb> under the same guard as the buttons."""
from flask import request
from flask_appbuilder.api import expose, protect, safe

from app.extensions import db
from app.models.candidature import Candidature
from app.security import perimeter
from app.security.perimeter import current_perimetre
from app.views.actions import run_verb
from app.views.base import READ_WRITE, ScopedApi
from app.views.candidatures_query import CandidatureInterface
from app.workflow import engine as transitions
from app.workflow import verbs as verbs_wf
from app.workflow.dossier.candidatures import (
    DOSSIER_FIELDS,
    create_candidature,
    update_candidature,
)

LIST = ["id", "numero", "statut", "statut_label", "dispositif.code", "certification.code",
        "candidat.nom_naissance", "candidat.nom_usage", "candidat.prenom", "etablissement.nom",
        "entreprise.raison_sociale", "created_on", "envoye_le"]
SHOW = LIST + ["candidat.civilite", "candidat.date_naissance", "candidat.ne_etranger",
               "candidat.ne_outre_mer", "candidat.ville_naissance",
               "candidat.code_postal_naissance", "candidat.pays_naissance", "candidat.email",
               "candidat.adresse", "candidat.code_postal", "candidat.ville", "financement",
               "statut_inscription", "origine", "niveau_formation", "parcours", "vae",
               "objectifs_professionnels", "decision", "decide_le", "recevabilite_statut"]


UPDATE_KEYS = set(DOSSIER_FIELDS) | {"identite", "entreprise", "recevabilite_recue_le"}
CREATE_KEYS = UPDATE_KEYS | {"certification", "candidat", "etablissement", "organisme_formation",
                             "parcours", "vae", "cqpi_detenu"}


class CandidatureApi(ScopedApi):
    resource_name = "candidature"
    datamodel = CandidatureInterface(Candidature)
    class_permission_name = "Candidatures"
    method_permission_name = {**READ_WRITE, "actions": "read", "run_action": "read"}
    list_columns = LIST
    show_columns = SHOW
    add_columns = edit_columns = ["financement"]  # writes go through the workflow below
    search_columns = ["numero", "statut", "certification", "etablissement"]
    order_columns = ["numero", "created_on"]
    base_order = ("created_on", "desc")

    def post_headless(self):
        """Create a dossier: {"certification": id, "identite": {...}, "etablissement": id, ...}."""
        if not request.is_json:
            return self.response_400(message="Request is not JSON")
        body = {k: v for k, v in dict(request.json or {}).items() if k in CREATE_KEYS}
        body.setdefault("certification", None)  # the workflow names what is missing (R-CAN-3)

        def create():
            c = create_candidature(current_perimetre(), **body)
            db.session.flush()
            return c
        c = run_verb(create).result
        return self.response(201, id=c.id, numero=c.numero, statut=c.statut)

    def put_headless(self, pk):
        c = perimeter.scoped_get(Candidature, pk)
        if c is None:
            return self.response_404()
        if not request.is_json:
            return self.response_400(message="Request is not JSON")
        body = {k: v for k, v in dict(request.json or {}).items() if k in UPDATE_KEYS}
        changed = run_verb(update_candidature, current_perimetre(), c, **body).result
        return self.response(200, id=c.id, changed=changed)

    def delete_headless(self, pk):
        return self.response(405, message="Un dossier ne se supprime pas : déclarez un abandon.")

    @expose("/<int:pk>/actions", methods=["GET"])
    @protect()
    @safe
    def actions(self, pk):
        """The verbs the caller may run now (what the dossier page shows as buttons).
        ---
        get:
          summary: Actions possibles sur le dossier, et pourquoi les autres sont bloquées
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Actions permises et bloquées
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      statut: {type: string}
                      locked: {type: boolean}
                      allowed: {type: array, items: {type: string}}
                      blocked: {type: object, additionalProperties: {type: string}}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        c = perimeter.scoped_get(Candidature, pk)
        if c is None:
            return self.response_404()
        states = transitions.action_states(current_perimetre(), c)
        return self.response(200, statut=c.statut, locked=c.locked,
                             allowed=[m.verb for m, reason in states if reason is None],
                             blocked={m.verb: reason for m, reason in states if reason})

    @expose("/<int:pk>/action/<string:verb>", methods=["POST"])
    @protect()
    @safe
    def run_action(self, pk, verb):
        """Run a workflow action under the same guard as the dossier page's button.
        ---
        post:
          summary: Exécuter une action du dossier (envoi, abandon, recevabilité…)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - in: path
            name: verb
            required: true
            description: Action, parmi celles que GET /candidature/{pk}/actions permet
            schema: {type: string}
          requestBody:
            description: Paramètres de l'action (motif, date…), selon l'action
            required: false
            content:
              application/json:
                schema: {type: object, additionalProperties: true}
          responses:
            200:
              description: Action faite ; nouveau statut
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      statut: {type: string}
                      statut_label: {type: string}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        c = perimeter.scoped_get(Candidature, pk)
        if c is None:
            return self.response_404()
        params = dict(request.json or {}) if request.is_json else dict(request.form)
        # The parameters come from the caller: passed through a closure, never as run_verb's own.
        run_verb(lambda: verbs_wf.perform(current_perimetre(), c, verb, **params))
        return self.response(200, id=c.id, statut=c.statut, statut_label=c.statut_label)


def register(appbuilder):
    appbuilder.add_api(CandidatureApi)
    from app.views import dossier_api  # search, documents, evaluations of a dossier
    dossier_api.register(appbuilder)
