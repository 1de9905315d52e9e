"""REST API of the imports (issue 18): upload (multipart) answering the preview as JSON, the
preview again, and the confirmation — the same domain as the « Importer » screens."""
import json

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.extensions import db
from app.imports import process
from app.models.imports import ImportFichier
from app.security import perimeter
from app.security.perimeter import current_perimetre
from app.views.actions import run_verb
from app.views.base import ScopedApi

COLUMNS = ["id", "kind", "dispositif.code", "nom_fichier", "sha256", "statut", "total", "valides",
           "erreurs", "deja_importees", "creees", "created_on", "finished_on"]
PREVIEW_SCHEMA = """
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      statut: {type: string}
                      total: {type: integer}
                      valides: {type: integer}
                      erreurs: {type: integer}
                      deja_importees: {type: integer}
                      creees: {type: integer}
                      colonnes_inconnues: {type: array, items: {type: string}}
                      colonnes_absentes: {type: array, items: {type: string}}
                      colonnes: {type: object, additionalProperties: {type: string}}
                      lignes:
                        type: array
                        items:
                          type: object
                          properties:
                            ligne: {type: integer}
                            erreurs: {type: object, additionalProperties: {type: string}}
                            deja: {type: string, nullable: true}
                            cree: {type: string, nullable: true}"""


def _preview(imp: ImportFichier, sheet=None) -> dict:
    sheet = sheet or process.read(imp)
    return {"id": imp.id, "statut": imp.statut, "total": imp.total, "valides": imp.valides,
            "erreurs": imp.erreurs, "deja_importees": imp.deja_importees, "creees": imp.creees,
            "colonnes_inconnues": sheet.matching.unknown,
            "colonnes_absentes": sheet.matching.missing,
            "colonnes": process.labels(sheet),
            "lignes": [{"ligne": r["ligne"], "erreurs": r["erreurs"], "deja": r.get("deja"),
                        "cree": r.get("cree")} for r in imp.resultats or []]}


class ImportApi(ScopedApi):
    resource_name = "import"
    datamodel = SQLAInterface(ImportFichier)
    class_permission_name = "Imports"
    method_permission_name = {"get": "read", "get_list": "read", "depot": "write",
                              "apercu": "read", "confirmer": "write"}
    include_route_methods = {"get", "get_list", "depot", "apercu", "confirmer"}
    list_columns = show_columns = COLUMNS
    search_columns = ["kind", "statut"]
    order_columns = ["id", "created_on"]
    base_order = ("id", "desc")

    @expose("/depot", methods=["POST"])
    @protect()
    @safe
    def depot(self):
        """Upload a file: it is read, every row validated, nothing created.
        ---
        post:
          summary: Déposer un fichier à importer ; réponse = l'aperçu de chaque ligne
          requestBody:
            required: true
            content:
              multipart/form-data:
                schema:
                  type: object
                  required: [kind, fichier]
                  properties:
                    kind: {type: string, description: "candidats, etablissements ou evaluateurs"}
                    dispositif: {type: integer, description: "Dispositif (candidats, évaluateurs)"}
                    correspondance:
                      type: string
                      description: 'Objet JSON : en-tête du fichier -> champ (ou "__ignorer__")'
                    fichier: {type: string, format: binary}
          responses:
            201:
              description: "Fichier conservé et vérifié (statut apercu) ou en cours de
                vérification (statut verification : relire /import/{id}/apercu) ; rien n'est
                encore créé"
""" + PREVIEW_SCHEMA + """
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            422: {$ref: '#/components/responses/422'}
        """
        upload = request.files.get("fichier")
        if upload is None or not upload.filename:
            return self.response(422, message="Joignez le fichier (champ « fichier »).")
        mapping = {}
        if request.form.get("correspondance"):
            try:
                mapping = json.loads(request.form["correspondance"])
            except ValueError:
                mapping = None
            if not isinstance(mapping, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
                return self.response(400, message="correspondance : un objet JSON "
                                                  "{en-tête : champ} est attendu.")
        p = current_perimetre()

        def store():
            imp = process.upload(p, request.form.get("kind", ""), request.form.get("dispositif"),
                                 upload.filename, upload.read(20 * 1024 * 1024 + 1))
            imp.mapping = mapping
            return imp
        # Two transactions, as app/imports/process.py asks: the file is stored, then checked —
        # a check rolls back whatever it tried, and a large file's runs in a background job.
        imp = run_verb(store).result
        sheet = run_verb(process.check, imp, p).result
        return self.response(201, **_preview(imp, sheet))

    @expose("/<int:pk>/apercu", methods=["GET"])
    @protect()
    @safe
    def apercu(self, pk):
        """The preview (or, once imported, the outcome) of every row.
        ---
        get:
          summary: Aperçu ligne par ligne (erreurs par colonne, lignes déjà importées)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: L'aperçu
""" + PREVIEW_SCHEMA + """
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        imp = perimeter.scoped_get(ImportFichier, pk, current_perimetre())
        if imp is None:
            return self.response_404()
        return self.response(200, **_preview(imp))

    @expose("/<int:pk>/confirmer", methods=["POST"])
    @protect()
    @safe
    def confirmer(self, pk):
        """Create the valid rows (background job when a worker runs, else now).
        ---
        post:
          summary: Importer les lignes valides (une seule fois, même appelé deux fois)
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Import lancé ou terminé ; compteurs
""" + PREVIEW_SCHEMA + """
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {$ref: '#/components/responses/422'}
        """
        imp = perimeter.scoped_get(ImportFichier, pk, current_perimetre())
        if imp is None:
            return self.response_404()
        started = run_verb(process.confirm, imp, current_perimetre()).result
        db.session.expire_all()
        imp = db.session.get(ImportFichier, pk)
        if not started and imp.statut not in ("terminee", "en_cours", "en_attente"):
            return self.response(409, message="Cet import ne peut plus être lancé.")
        return self.response(200, **_preview(imp))
