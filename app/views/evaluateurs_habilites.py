"""Évaluateurs habilités (R-HAB-5, R-HAB-6): the secretariat's register, the public list per
certification and région (as the observatoire publishes it), and « Mes habilitations »."""
from datetime import date

import sqlalchemy as sa
from flask import abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.sqla.models import User
from flask_appbuilder.urltools import get_filter_args
from flask_login import current_user

from app.errors import RuleViolation
from app.extensions import db
from app.formats import FormatError, check_siret
from app.models import Certification, Profil
from app.models.habilitation import EvaluateurHabilite, HabilitationEvaluateur
from app.models.structures import REGIONS
from app.reports.exports import FORMATS, Export, send_dataset
from app.security.perimeter import PerimeterFilter, current_perimetre
from app.views.actions import run_verb
from app.views.base import ScopedModelView
from app.views.labels import LABELS, choice_field, labels
from app.workflow.habilitations import habiliter_evaluateur


class EvaluateurUserFilter(BaseFilter):
    """Only accounts whose role is « Évaluateur habilité » can be registered (R-HAB-5)."""

    name = "Comptes évaluateurs"
    arg_name = None

    def apply(self, query, value):
        return query.filter(User.id.in_(sa.select(Profil.user_id).where(
            Profil.role == "evaluateur")))


class HabilitationEvaluateurView(ScopedModelView):
    """Certification × région periods of one evaluator (shown under the evaluator)."""

    datamodel = SQLAInterface(HabilitationEvaluateur)
    class_permission_name = "EvaluateursHabilites"
    list_title = "Habilitations de l'évaluateur"
    show_title = "Habilitation de l'évaluateur"
    add_title = "Habiliter pour une certification et une région"
    edit_title = "Modifier l'habilitation de l'évaluateur"
    list_columns = ["evaluateur", "certification", "region", "date_debut", "date_fin"]
    add_columns = edit_columns = list_columns
    show_columns = list_columns + ["created_on"]
    search_columns = ["region", "date_fin"]
    label_columns = labels(*show_columns)
    add_form_extra_fields = edit_form_extra_fields = {
        "region": choice_field(LABELS["region"], [(r, r) for r in REGIONS]),
    }
    # The secretariat habilitates for its own certifications only (R-DIS-1).
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "certification": [["id", PerimeterFilter, "write"]]}
    base_order = ("date_fin", "desc")
    export_name = "habilitations_evaluateurs"

    def _add(self):
        """A period is created by the workflow (R-HAB-5: the secretariat's own certifications,
        a known région, a valid period), not by FAB's generic save."""
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()  # the evaluator, from its page
        form = self.add_form.refresh()
        if request.method != "POST":
            self.update_redirect()
        else:
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate() and run_verb(
                    habiliter_evaluateur, current_perimetre(), form.evaluateur.data,
                    form.certification.data, form.region.data, form.date_debut.data,
                    form.date_fin.data, form=form, success=self.add_row_message):
                return None
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def check_rules(self, item):
        # Edits of a period (no workflow verb changes one yet): the checks of R-HAB-5 that
        # habiliter_evaluateur makes at creation, on the changed row.
        if item.region not in REGIONS:
            raise RuleViolation("Région inconnue.", "R-HAB-5", field="region")
        if item.date_debut and item.date_fin and item.date_fin < item.date_debut:
            raise RuleViolation("La date de fin doit suivre la date de début.", "R-HAB-5",
                                field="date_fin")


class EvaluateurHabiliteView(ScopedModelView):
    """The secretariat's register of evaluators: account, employer and national network."""

    datamodel = SQLAInterface(EvaluateurHabilite)
    class_permission_name = "EvaluateursHabilites"
    list_title = "Évaluateurs habilités — gestion"
    show_title = "Évaluateur habilité"
    add_title = "Enregistrer un évaluateur habilité"
    edit_title = "Modifier l'évaluateur habilité"
    list_columns = ["nom_complet", "email", "employeur_nom", "reseau", "ville", "actif"]
    add_columns = edit_columns = ["user", "employeur_nom", "employeur_siret",
                                  "employeur_entreprise", "employeur_organisme", "reseau",
                                  "telephone", "ville", "actif"]
    show_columns = ["nom_complet", "email"] + add_columns[1:] + ["created_on"]
    search_columns = ["employeur_nom", "ville", "actif"]
    label_columns = labels(*set(show_columns + add_columns))
    description_columns = {
        "user": "Le compte de la personne (rôle « Évaluateur habilité »).",
        "employeur_siret": "Sert au contrôle d'indépendance (R-HAB-6).",
        "reseau": "Réseau national de l'employeur (GRETA, AFPI, AFPA…) : l'évaluateur ne peut pas "
                  "évaluer un candidat formé par un membre de ce réseau.",
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "user": [["id", EvaluateurUserFilter, None]]}
    related_views = [HabilitationEvaluateurView]
    base_order = ("id", "desc")
    export_name = "evaluateurs_habilites"

    def check_rules(self, item):
        profil = db.session.query(Profil).filter(Profil.user_id == item.user_id).one_or_none() \
            if item.user_id else (item.user.profil if item.user else None)
        if profil is None or profil.role != "evaluateur":
            raise RuleViolation("Choisissez un compte dont le rôle est « Évaluateur habilité ».",
                                "R-HAB-5", field="user")
        if item.employeur_siret:
            try:
                item.employeur_siret = check_siret(item.employeur_siret)
            except FormatError as exc:
                raise RuleViolation(str(exc), "R-FMT-1", field="employeur_siret")
        else:
            item.employeur_siret = None
        employer = item.employeur_organisme or item.employeur_entreprise
        if employer is not None and not item.employeur_nom:
            item.employeur_nom = getattr(employer, "nom", None) or employer.raison_sociale


def _valid_rows(day, certification_id=None, region=None, user_id=None):
    q = (db.session.query(HabilitationEvaluateur)
         .join(EvaluateurHabilite, EvaluateurHabilite.id == HabilitationEvaluateur.evaluateur_id)
         .join(User, User.id == EvaluateurHabilite.user_id)
         .join(Certification, Certification.id == HabilitationEvaluateur.certification_id))
    if user_id is not None:
        return q.filter(EvaluateurHabilite.user_id == user_id).order_by(
            HabilitationEvaluateur.date_fin.desc())
    q = q.filter(EvaluateurHabilite.actif.is_(True), User.active.is_(True),
                 HabilitationEvaluateur.date_debut <= day, HabilitationEvaluateur.date_fin >= day)
    if certification_id:
        q = q.filter(HabilitationEvaluateur.certification_id == certification_id)
    if region:
        q = q.filter(HabilitationEvaluateur.region == region)
    return q.order_by(Certification.code, HabilitationEvaluateur.region, User.last_name,
                      User.first_name)


class ListeEvaluateursExport(Export):
    name = "evaluateurs_habilites"
    title = "Évaluateurs habilités"

    def __init__(self, rows):
        self.items = rows

    def header(self):
        return ["Certification", "Intitulé", "Région", "Nom", "Prénom", "Employeur", "Ville",
                "Habilitation valable jusqu'au"]

    def rows(self):
        for r in self.items:
            ev = r.evaluateur
            yield [r.certification.code, r.certification.intitule, r.region, ev.user.last_name,
                   ev.user.first_name, ev.employeur_nom, ev.ville, r.date_fin]


class EvaluateursPublicView(BaseView):
    """The list the observatoire publishes: no account needed, only public facts (no e-mail or
    telephone); « Mes habilitations » for the signed-in evaluator."""

    route_base = "/evaluateurs-habilites"
    default_view = "liste"
    class_permission_name = "EvaluateursHabilites"
    method_permission_name = {"liste": "read", "export": "read", "mes_habilitations": "read"}

    def _filters(self):
        try:
            certification_id = int(request.args.get("certification_id") or 0) or None
        except ValueError:
            certification_id = None
        region = request.args.get("region") or None
        return certification_id, (region if region in REGIONS else None)

    @expose("/")
    def liste(self):
        certification_id, region = self._filters()
        rows = _valid_rows(date.today(), certification_id, region).limit(5000).all()
        certifications = db.session.query(Certification).order_by(Certification.code).all()
        return self.render_template("habilitations/evaluateurs_public.html", rows=rows,
                                    certifications=certifications, regions=REGIONS,
                                    certification_id=certification_id, region=region,
                                    title="Évaluateurs habilités")

    @expose("/export/<string:fmt>")
    def export(self, fmt):
        if fmt not in FORMATS:
            abort(404)
        certification_id, region = self._filters()
        rows = _valid_rows(date.today(), certification_id, region).all()
        return send_dataset(ListeEvaluateursExport(rows), fmt)

    @expose("/mes-habilitations")
    @has_access
    def mes_habilitations(self):
        rows = _valid_rows(date.today(), user_id=current_user.id).all()
        return self.render_template("habilitations/mes_habilitations.html", rows=rows,
                                    today=date.today(), title="Mes habilitations")


def _is(*roles):
    return lambda: current_perimetre().role in roles


def register(appbuilder, cat):
    appbuilder.add_view(EvaluateursPublicView, "Évaluateurs habilités",
                        label="Évaluateurs habilités", icon="fa-id-badge", **cat)
    appbuilder.add_view(EvaluateursPublicView, "Mes habilitations", label="Mes habilitations",
                        icon="fa-id-card", href="/evaluateurs-habilites/mes-habilitations",
                        menu_cond=_is("evaluateur"), **cat)
    appbuilder.add_view(EvaluateurHabiliteView, "Gestion des évaluateurs",
                        label="Gestion des évaluateurs", icon="fa-user-plus",
                        menu_cond=_is("secretariat", "admin"), **cat)
    appbuilder.add_view_no_menu(HabilitationEvaluateurView)
