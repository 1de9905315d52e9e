"""Screens and REST API of établissement habilitations (R-HAB-1..4, R-ACC-3/4).

Every state change goes through app/workflow/habilitations.py: the list has no add/edit/delete of
its own, the REST API has no PUT/DELETE, and `etat` is never a form or API field.
"""
from datetime import date, timedelta

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models import Dispositif, Etablissement, Organisme
from app.models.habilitation import CRITERES, ETATS, INDICATEURS, NIVEAUX, Habilitation
from app.security import perimeter
from app.security.perimeter import (
    PerimeterFilter,
    current_perimetre,
    scoped_get,
    scoped_query,
)
from app.views.actions import load_scoped, run_verb
from app.views.base import READ_WRITE, ScopedApi, ScopedModelView
from app.views.labels import labels
from app.workflow import habilitations as wf

# `request` (R-HAB-1): administrators of a réseau, organisme or établissement; `decide`: the
# certifier. Nobody edits or deletes a request: HabilitationView has no such routes.
PERMS = {"add": "request", "edit": "nobody", "delete": "nobody", "demander": "request",
         "renouveler": "request", "valider": "decide", "rejeter": "decide",
         "historique": "read", "periodes": "read"}


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _au_moins_un(form, field):
    if not field.data:
        raise StopValidation("Choisissez au moins un certificateur.")


class DemandeForm(FlaskForm):
    etablissement_id = SelectField("Établissement", coerce=_int, validators=[DataRequired()])
    # Not DataRequired: it would make every checkbox `required` in the browser.
    dispositifs = SelectMultipleField(
        "Organisme(s) certificateur(s)", coerce=int, validators=[_au_moins_un],
        widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput())
    commentaire = TextAreaField("Commentaire", validators=[Optional(), Length(max=2000)])


class RejetForm(FlaskForm):
    motif_rejet = TextAreaField("Motif du rejet (lu par le demandeur)",
                                validators=[DataRequired("Indiquez le motif du rejet.")])


def validation_form(hab: Habilitation):
    """Dates, and for the metallurgy scheme the 12 indicators of R-HAB-4."""
    class ValidationForm(FlaskForm):
        date_debut = DateField("Date de début de l'habilitation", validators=[DataRequired()])
        date_fin = DateField("Date de fin de l'habilitation", validators=[DataRequired()])
        commentaire = TextAreaField("Commentaire", validators=[Optional(), Length(max=2000)])

    if wf.appreciation_requise(hab):
        choices = [("", "—")] + list(NIVEAUX)
        for c, i in INDICATEURS:
            setattr(ValidationForm, f"c{c}_i{i}", SelectField(
                f"Indicateur {i}", choices=choices, validators=[DataRequired("Appréciez cet "
                                                                            "indicateur.")]))
            setattr(ValidationForm, f"c{c}_i{i}_commentaire",
                    StringField("Commentaire", validators=[Optional(), Length(max=1000)]))
    form = ValidationForm()
    if request.method == "GET":
        start = hab.renouvellement_de.date_fin + timedelta(days=1) if hab.renouvellement_de \
            else date.today()
        form.date_debut.data = start
        form.date_fin.data = start.replace(year=start.year + 3) - timedelta(days=1) \
            if not (start.month == 2 and start.day == 29) else date(start.year + 3, 2, 28)
        for a in hab.appreciations:
            getattr(form, f"c{a.critere}_i{a.indicateur}").data = a.niveau
            getattr(form, f"c{a.critere}_i{a.indicateur}_commentaire").data = a.commentaire
    return form


class HabilitationView(ScopedModelView):
    """Requests of the perimeter: the certifier's queue, the requester's follow-up."""

    datamodel = SQLAInterface(Habilitation)
    class_permission_name = "Habilitations"
    method_permission_name = {**ScopedModelView.method_permission_name, **PERMS}
    list_title = "Demandes d'habilitation"
    show_title = "Demande d'habilitation"
    list_columns = ["etablissement", "organisme", "dispositif", "demande_le", "date_debut",
                    "date_fin", "etat_label"]
    show_columns = list_columns + ["motif_rejet", "commentaire"]
    # Not `etablissement`: its filter would load every établissement of the perimeter per page.
    search_columns = ["etat", "dispositif", "date_debut", "date_fin"]
    search_form_query_rel_fields = {"dispositif": [["id", PerimeterFilter, "read"]]}
    search_form_extra_fields = {"etat": SelectField("État de la demande",
                                                    choices=[("", "—")] + list(ETATS))}
    label_columns = labels(*set(show_columns + search_columns))
    order_columns = ["demande_le", "date_debut", "date_fin", "etat"]
    base_order = ("demande_le", "desc")
    export_name = "habilitations"
    list_template = "habilitations/list.html"

    # No generic CRUD: requests are made and decided through the workflow. Without the edit and
    # delete routes their addresses are a 404 and no list row offers them (the technical
    # administrator, who has every permission, saw « Modifier » on each row).
    exclude_route_methods = {"edit", "delete"}

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        return redirect(url_for("HabilitationView.demander"))

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        hab = self._scoped_item(pk)
        return self.render_template(
            "habilitations/show.html", hab=hab, title=self.show_title, criteres=CRITERES,
            can_decide=hab.etat == "en_attente" and self._may("decide"),
            can_renew=self._may("request") and self._renewable(hab))

    def _may(self, perm):
        return self.appbuilder.sm.has_access(f"can_{perm}", self.class_permission_name)

    @staticmethod
    def _renewable(hab):
        """The « Renouveler » button: a validated habilitation ending within the renewal window
        (or already ended) and not renewed yet."""
        if hab.etat != "validee":
            return False
        if hab.date_fin > date.today() + timedelta(days=wf.RENOUVELLEMENT_JOURS):
            return False
        return not wf.renewed(hab)

    @expose("/demander", methods=["GET", "POST"])
    @has_access
    def demander(self):
        p = current_perimetre()
        form = DemandeForm()
        etabs = scoped_query(Etablissement, p, "write").order_by(Etablissement.nom).limit(1000).all()
        form.etablissement_id.choices = [(e.id, e.nom) for e in etabs]
        form.dispositifs.choices = [(d.id, f"{d.certificateur} — {d.nom}") for d in db.session.query(
            Dispositif).filter(Dispositif.actif.is_(True)).order_by(Dispositif.nom)]
        if request.method == "GET" and request.args.get("etablissement_id"):
            form.etablissement_id.data = _int(request.args["etablissement_id"])
        if form.validate_on_submit():
            etab = load_scoped(Etablissement, form.etablissement_id.data, "write")
            done = run_verb(wf.demander_habilitation, p, etab, form.dispositifs.data,
                            form.commentaire.data, form=form)
            if done:
                flash(f"{len(done.result)} demande(s) d'habilitation envoyée(s) pour {etab.nom}.",
                      "success")
                return redirect(url_for("HabilitationView.historique", etab_id=etab.id))
        return self.render_template("habilitations/demande.html", form=form,
                                    title="Demande d'habilitation")

    @expose("/renouveler/<int:pk>", methods=["POST"])
    @has_access
    def renouveler(self, pk):
        """Ask for the renewal of a habilitation.
        ---
        post:
          summary: Demander le renouvellement d'une habilitation
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            201:
              description: Demande de renouvellement créée
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result: {type: array, items: {type: object}}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        hab = self._scoped_item(pk)
        done = run_verb(wf.renouveler, current_perimetre(), hab,
                        success="Demande de renouvellement envoyée.")
        return redirect(url_for("HabilitationView.show", pk=done.result.id if done else hab.id))

    @expose("/valider/<int:pk>", methods=["GET", "POST"])
    @has_access
    def valider(self, pk):
        hab = self._scoped_item(pk)
        form = validation_form(hab)
        if form.validate_on_submit():
            appreciations = {
                (c, i): (getattr(form, f"c{c}_i{i}").data,
                         getattr(form, f"c{c}_i{i}_commentaire").data)
                for c, i in INDICATEURS if hasattr(form, f"c{c}_i{i}")}
            if run_verb(wf.validate_habilitation, current_perimetre(), hab, form.date_debut.data,
                        form.date_fin.data, appreciations or None, form.commentaire.data,
                        form=form, success="Habilitation validée."):
                return redirect(url_for("HabilitationView.show", pk=hab.id))
        return self.render_template("habilitations/valider.html", form=form, hab=hab,
                                    criteres=CRITERES, title="Valider la demande d'habilitation")

    @expose("/rejeter/<int:pk>", methods=["GET", "POST"])
    @has_access
    def rejeter(self, pk):
        hab = self._scoped_item(pk)
        form = RejetForm()
        if form.validate_on_submit():
            if run_verb(wf.reject_habilitation, current_perimetre(), hab, form.motif_rejet.data, form=form,
                        success="Demande d'habilitation rejetée."):
                return redirect(url_for("HabilitationView.show", pk=hab.id))
        return self.render_template("opencertif/public_form.html", form=form,
                                    title="Rejeter la demande d'habilitation",
                                    message=f"{hab.etablissement.nom} — {hab.dispositif.nom}")

    @expose("/etablissement/<int:etab_id>")
    @has_access
    def historique(self, etab_id):
        """R-HAB-3: every request of one établissement, and whether it may work (R-HAB-2)."""
        etab = scoped_get(Etablissement, etab_id)
        if etab is None:
            abort(404)
        p = current_perimetre()
        q = db.session.query(Habilitation).filter(Habilitation.etablissement_id == etab.id)
        habs = q.filter(perimeter.criterion(Habilitation, p)).order_by(
            Habilitation.demande_le.desc()).all()
        acces = []
        dispositifs = db.session.query(Dispositif).filter(
            perimeter.criterion(Dispositif, p)).order_by(Dispositif.nom).all()
        for d in dispositifs:
            try:
                hab = wf.ensure_habilitated(etab, d)
                acces.append((d, True, f"Habilitation valide jusqu'au {hab.date_fin:%d/%m/%Y}."))
            except RuleViolation as exc:
                acces.append((d, False, exc.message))
        return self.render_template(
            "habilitations/historique.html", etab=etab, habs=habs, acces=acces,
            title=f"Habilitations — {etab.nom}",
            can_request=self._may("request"))

    @expose("/periodes/")
    @has_access
    def periodes(self):
        """R-HAB-3: start/end of every validated period, per organisme and établissement."""
        p = current_perimetre()
        orgs = scoped_query(Organisme, p).order_by(Organisme.nom).limit(200).all()
        organisme_id = _int(request.args.get("organisme_id"))
        if organisme_id is not None:
            orgs = [o for o in orgs if o.id == organisme_id]
        rows = (db.session.query(Habilitation).join(Etablissement)
                .filter(perimeter.criterion(Habilitation, p), Habilitation.etat == "validee",
                        Etablissement.organisme_id.in_([o.id for o in orgs] or [0]))
                .order_by(Etablissement.nom, Habilitation.date_debut.desc()).all())
        by_org = {o.id: [] for o in orgs}
        for h in rows:
            by_org[h.etablissement.organisme_id].append(h)
        return self.render_template("habilitations/periodes.html", orgs=orgs, by_org=by_org,
                                    today=date.today(), title="Périodes d'habilitation")


class HabilitationApi(ScopedApi):
    """GET = the perimeter's requests; POST = a request (workflow); decisions have their own
    endpoints. No PUT or DELETE: `etat` only changes through the workflow."""

    resource_name = "habilitation"
    datamodel = SQLAInterface(Habilitation)
    class_permission_name = "Habilitations"
    method_permission_name = {**READ_WRITE, "post": "request", "valider": "decide",
                              "rejeter": "decide", "renouveler": "request", "acces": "read"}
    include_route_methods = {"get_list", "get", "info", "post", "valider", "rejeter",
                             "renouveler", "acces"}
    list_columns = show_columns = [
        "id", "etablissement.id", "etablissement.nom", "dispositif.id", "dispositif.code",
        "etat", "date_debut", "date_fin", "motif_rejet", "commentaire", "demande_le",
        "decide_le", "renouvellement_de.id"]
    add_columns = edit_columns = ["commentaire"]
    search_columns = ["etat", "date_fin", "dispositif", "etablissement"]
    order_columns = ["demande_le", "date_fin", "id"]

    # Published shape of this API's refusals: `regle`/`champ`, and 403 for a row outside the
    # perimeter (tests/test_habilitations*.py).
    refusal_keys = ("regle", "champ")
    perimeter_status = 403

    def _dump(self, habs):
        return [self.show_model_schema.dump(h) for h in habs]

    def post_headless(self):
        """Body: {"etablissement_id": 1, "dispositif_ids": [1, 2], "commentaire": "…"}."""
        data = request.get_json(silent=True) or {}
        ids = data.get("dispositif_ids") or ([data["dispositif_id"]] if data.get("dispositif_id")
                                             else [])
        etab = db.session.get(Etablissement, _int(data.get("etablissement_id")) or 0)

        def run():
            if etab is None:  # unknown or not: the same answer as outside the perimeter
                raise PerimeterViolation()
            habs = wf.demander_habilitation(current_perimetre(), etab,
                                            [i for i in map(_int, ids) if i], data.get(
                                                "commentaire"))
            return {"ids": [h.id for h in habs], "result": self._dump(habs)}
        return self.response(201, **run_verb(run).result)

    def _item(self, pk):
        return self.datamodel.get(pk, self._base_filters)

    @expose("/<int:pk>/valider", methods=["POST"])
    @protect()
    @safe
    def valider(self, pk):
        """Validate a request (R-HAB-1).
        ---
        post:
          summary: Valider une demande d'habilitation
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [date_debut, date_fin]
                  properties:
                    date_debut: {type: string, format: date, example: "2026-01-01"}
                    date_fin: {type: string, format: date, example: "2028-12-31"}
                    commentaire: {type: string}
                    appreciations:
                      type: array
                      items:
                        type: object
                        properties:
                          critere: {type: integer}
                          indicateur: {type: integer}
                          niveau: {type: string, example: satisfaisant}
                          commentaire: {type: string}
          responses:
            200:
              description: Décision enregistrée
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result: {type: object}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        hab = self._item(pk)
        if hab is None:
            return self.response_404()
        data = request.get_json(silent=True) or {}

        def run():
            debut, fin = _date(data.get("date_debut"), "date_debut"), _date(data.get("date_fin"),
                                                                          "date_fin")
            appreciations = {(a.get("critere"), a.get("indicateur")): (a.get("niveau"),
                                                                       a.get("commentaire"))
                             for a in data.get("appreciations") or []}
            wf.validate_habilitation(current_perimetre(), hab, debut, fin, appreciations or None,
                       data.get("commentaire"))
            return {"result": self.show_model_schema.dump(hab)}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/rejeter", methods=["POST"])
    @protect()
    @safe
    def rejeter(self, pk):
        """Reject a request with its reason.
        ---
        post:
          summary: Rejeter une demande d'habilitation
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [motif]
                  properties:
                    motif: {type: string}
          responses:
            200:
              description: Décision enregistrée
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result: {type: object}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            422: {$ref: '#/components/responses/422'}
        """
        hab = self._item(pk)
        if hab is None:
            return self.response_404()
        data = request.get_json(silent=True) or {}

        def run():
            wf.reject_habilitation(current_perimetre(), hab, data.get("motif"))
            return {"result": self.show_model_schema.dump(hab)}
        return self.response(200, **run_verb(run).result)

    @expose("/<int:pk>/renouveler", methods=["POST"])
    @protect()
    @safe
    def renouveler(self, pk):
        hab = self._item(pk)
        if hab is None:
            return self.response_404()
        renewed = run_verb(wf.renouveler, current_perimetre(), hab).result
        return self.response(201, result=self._dump([renewed]))

    @expose("/acces", methods=["GET"])
    @protect()
    @safe
    def acces(self):
        """R-HAB-2 check: may this établissement register candidates for this dispositif?
        ---
        get:
          summary: L'établissement est-il habilité pour ce dispositif ?
          parameters:
          - {in: query, name: etablissement_id, required: true, schema: {type: integer}}
          - {in: query, name: dispositif_id, required: true, schema: {type: integer}}
          responses:
            200:
              description: Réponse (autorisé ou non, avec le motif)
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      autorise: {type: boolean}
                      message: {type: string}
                      regle: {type: string}
                      habilitation_id: {type: integer}
                      date_fin: {type: string, format: date}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        etab = scoped_get(Etablissement, request.args.get("etablissement_id"))
        dispositif = db.session.get(Dispositif, _int(request.args.get("dispositif_id")) or 0)
        if etab is None or dispositif is None:
            return self.response_404()
        try:
            hab = wf.ensure_habilitated(etab, dispositif)
        except RuleViolation as exc:
            return self.response(200, autorise=False, message=exc.message, regle=exc.rule)
        return self.response(200, autorise=True, habilitation_id=hab.id,
                             date_fin=hab.date_fin.isoformat())


def _date(value, field):
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise RuleViolation("Date invalide (format AAAA-MM-JJ).", "R-HAB-1", field)


def register(appbuilder):
    from app.views import evaluateurs_habilites
    cat = {"category": "Habilitations", "category_icon": "fa-certificate",
               "category_label": "Habilitations"}
    appbuilder.add_view(HabilitationView, "Demandes d'habilitation",
                        label="Demandes d'habilitation", icon="fa-check-square-o", **cat)
    appbuilder.add_view(HabilitationView, "Demander une habilitation",
                        label="Demander une habilitation", icon="fa-plus",
                        href="/habilitationview/demander",
                        menu_cond=lambda: current_perimetre().role in wf.REQUESTERS, **cat)
    appbuilder.add_view(HabilitationView, "Périodes d'habilitation",
                        label="Périodes d'habilitation", icon="fa-calendar",
                        href="/habilitationview/periodes/", **cat)
    appbuilder.add_api(HabilitationApi)
    evaluateurs_habilites.register(appbuilder, cat)
