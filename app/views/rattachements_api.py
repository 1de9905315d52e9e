"""REST API of rattachements (R-CAN-6), as the screens (app/views/candidatures.py
RattachementView): an organisation user files a request for a dossier the duplicate search
(GET /api/v1/dossier/recherche) signalled outside the perimeter — only with the signed `jeton`
that search gave this user, never by dossier number — and the certifier's secretariat accepts
or refuses it. Both call app/workflow/dossier/rattachements.py."""
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models.candidature import Candidature, RattachementDemande
from app.security import perimeter, tokens
from app.security.perimeter import current_perimetre
from app.views.actions import run_verb
from app.views.base import READ_WRITE, ScopedApi
from app.views.jurys_api import _body, _key, _text
from app.workflow.dossier import rattachements

LINK_MAX_AGE = 24 * 3600  # as the screen's signed link (RATTACHEMENT_LINK_MAX_AGE)


def demande_json(d: RattachementDemande) -> dict:
    return {"id": d.id, "etat": d.etat, "motif": d.motif, "precision": d.precision,
            "reponse": d.reponse, "etablissement_demandeur_id": d.etablissement_demandeur_id}


class RattachementApi(ScopedApi):
    """The requests of the perimeter: the requester's établissements, the dispositif's
    secretariat. Neither the dossier's number nor its current établissement is sent: for the
    requester the dossier is outside the perimeter until the request is accepted."""

    resource_name = "rattachement"
    datamodel = SQLAInterface(RattachementDemande)
    class_permission_name = "Candidatures"
    openapi_spec_tag = "Rattachements"
    include_route_methods = {"get_list", "get", "demander", "accepter", "refuser"}
    method_permission_name = {**READ_WRITE, "demander": "write", "accepter": "decide_transfer",
                              "refuser": "decide_transfer"}
    list_columns = show_columns = ["id", "created_on", "candidature.id",
                                   "etablissement_demandeur.id", "etablissement_demandeur.nom",
                                   "motif", "precision", "etat", "reponse", "decide_le"]
    add_columns = edit_columns = ["precision"]  # no POST/PUT route: requests go through /demande
    search_columns = ["etat", "motif"]
    order_columns = ["created_on"]
    base_order = ("created_on", "desc")

    @expose("/demande", methods=["POST"])
    @protect()
    @safe
    def demander(self):
        """
        ---
        post:
          summary: Demander le rattachement d'un dossier suivi par un autre établissement
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [jeton, etablissement, motif]
                  properties:
                    jeton:
                      type: string
                      description: "Le jeton `rattachement[].jeton` de GET /dossier/recherche
                        (valable 24 heures, pour ce compte seulement)"
                    etablissement: {type: integer, description: Établissement qui reprend le dossier}
                    motif: {type: string}
                    precision: {type: string, description: Obligatoire pour le motif « autre »}
          responses:
            201: {description: Demande envoyée au certificateur}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            p = current_perimetre()
            body = _body()
            try:
                pk, owner = tokens.read_token("rattachement", _text(body, "jeton", required=True),
                                              LINK_MAX_AGE)
            except RuleViolation as exc:
                if exc.field:  # the jeton is missing
                    raise
                raise PerimeterViolation() from None  # as the screen: a bad link is unknown
            c = db.session.get(Candidature, pk) if owner == str(p.user_id) else None
            if c is None:
                raise PerimeterViolation()
            d = rattachements.request_transfer(p, c, _key(body, "etablissement"),
                                               _text(body, "motif"), _text(body, "precision"))
            db.session.flush()
            return demande_json(d)
        return self.response(201, **run_verb(run).result)

    def _decide(self, pk, accept):
        def run():
            d = perimeter.scoped_get(RattachementDemande, pk)
            if d is None:
                raise PerimeterViolation()
            rattachements.decide_transfer(current_perimetre(), d, accept,
                                          _text(_body(), "reponse"))
            return demande_json(d)
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/accepter", methods=["POST"])
    @protect()
    @safe
    def accepter(self, pk):
        """
        ---
        post:
          summary: Accepter la demande (le dossier passe à l'établissement demandeur)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    reponse: {type: string}
          responses:
            200: {description: Demande acceptée}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        return self._decide(pk, True)

    @expose("/<int:pk>/refuser", methods=["POST"])
    @protect()
    @safe
    def refuser(self, pk):
        """
        ---
        post:
          summary: Refuser la demande (la raison est obligatoire)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [reponse]
                  properties:
                    reponse: {type: string}
          responses:
            200: {description: Demande refusée}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        return self._decide(pk, False)


def register(appbuilder):
    appbuilder.add_api(RattachementApi)
