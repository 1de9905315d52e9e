"""Statistics page (R-STA-2) and managers' reports (R-STA-3, issue 7).

Both read only aggregates of the user's perimeter (app/reports/statistics.py, reports.py); the
"Statistiques" area is granted to organisme and réseau administrators, the certifier and the
managers, the "Rapports" area to the certifier and the managers (app/security/roles.py).
"""
import dataclasses
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Response, abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.extensions import db
from app.models import Certification, Dispositif, Etablissement
from app.models.candidature import STATUTS
from app.models.habilitation import Habilitation
from app.models.structures import REGIONS
from app.reports import charts
from app.reports import statistics as stats
from app.reports import statistics_downloads as downloads
from app.reports.exports import FORMATS, MIMETYPES, send_dataset, send_export
from app.reports.reports import DIMENSIONS, STEPS, ReportExport, chart_series, run_report
from app.security import perimeter
from app.security.perimeter import current_perimetre
from app.workflow.engine import workflow_for

CHART_MAX_BARS = 30
# The page's table stops there (the exports have every line, the totals count every dossier):
# rendering a line costs ~0.15 ms, and two fine dimensions (établissement × statut) reach 30,000
# lines at a million dossiers — 4 s of template for a table nobody reads (issue 9).
TABLE_MAX_LINES = 500
ETABLISSEMENT_CHOICES_MAX = 2000


def filter_options(p) -> dict:
    """The choices of the filter form, limited to what the perimeter may see."""
    dispositifs = perimeter.scoped_query(Dispositif, p).order_by(Dispositif.nom).all()
    ids = [d.id for d in dispositifs] or [0]
    certifications = (db.session.query(Certification.id, Certification.code,
                                       Certification.intitule)
                      .filter(Certification.dispositif_id.in_(ids))
                      .order_by(Certification.code).all())
    # Only the établissements that ever asked these dispositifs for a habilitation, and only
    # these dispositifs' statuses: a filter never offers what cannot match.
    asked = sa.exists().where(Habilitation.etablissement_id == Etablissement.id,
                              Habilitation.dispositif_id.in_(ids))
    etablissements = (perimeter.scoped_query(Etablissement, p).filter(asked)
                      .with_entities(Etablissement.id, Etablissement.nom)
                      .order_by(Etablissement.nom).limit(ETABLISSEMENT_CHOICES_MAX).all())
    used = {s for d in dispositifs for s in workflow_for(d).statuses}
    return {"dispositifs": dispositifs, "certifications": certifications,
            "etablissements": etablissements, "regions": REGIONS,
            "statuts": [(code, label) for code, label in STATUTS if code in used]}


def _query(filters, **extra) -> str:
    args = filters.as_args() + [(k, v) for k, v in extra.items() if v]
    return ("?" + urlencode(args)) if args else ""


class StatistiquesView(BaseView):
    """R-STA-2: certificates delivered, dossiers in progress, not certified, abandoned."""

    route_base = "/statistiques"
    default_view = "index"
    class_permission_name = "Statistiques"
    method_permission_name = {"index": "read", "export_all": "read", "dossiers": "read"}

    @expose("/")
    @has_access
    def index(self):
        p = current_perimetre()
        filters = stats.Filters.from_args(request.args)
        summary = stats.summary(p, filters)
        items = summary.items()
        chart = charts.bar_chart([label for _, label, _ in items],
                                 [("Dossiers", [n for _, _, n in items])],
                                 "Dossiers de candidature par issue")
        return self.render_template(
            "reports/statistiques.html", title="Statistiques", summary=summary, items=items,
            statuts=stats.by_status(p, filters), chart=chart, filters=filters,
            options=filter_options(p), query=_query(filters))

    @expose("/export/")
    @has_access
    def export_all(self):
        """Every statistic of the page in one workbook (several sheets)."""
        p = current_perimetre()
        book = downloads.statistics_workbook(p, stats.Filters.from_args(request.args))
        return Response(book, mimetype=MIMETYPES["xlsx"], headers={
            "Content-Disposition": 'attachment; filename="statistiques.xlsx"'})

    @expose("/dossiers/<string:fmt>/")
    @has_access
    def dossiers(self, fmt):
        """The dossier-level data, streamed (xlsx written in constant memory, csv row by row)."""
        export = downloads.DossierExport(current_perimetre(),
                                         stats.Filters.from_args(request.args))
        if fmt not in ("xlsx", "csv", "csv-brut"):
            abort(404)
        return send_export(export, fmt)


class RapportsView(BaseView):
    """Managers' tabular reports: filters, one or two groupings, totals, rates, delays, chart."""

    route_base = "/rapports"
    default_view = "index"
    class_permission_name = "Rapports"
    method_permission_name = {"index": "read", "export": "read"}

    @staticmethod
    def _grouping():
        groups = [request.args.get("groupe1") or "dispositif", request.args.get("groupe2") or ""]
        groups = [g for g in groups if g in DIMENSIONS]
        if len(groups) == 2 and groups[0] == groups[1]:
            groups = groups[:1]
        return tuple(groups) or ("dispositif",)

    def _report(self):
        filters = stats.Filters.from_args(request.args)
        return run_report(current_perimetre(), filters, self._grouping())

    @expose("/")
    @has_access
    def index(self):
        p = current_perimetre()
        report = self._report()
        labels, series = chart_series(report)
        note = None
        if report.dimensions and report.dimensions[0].code == "mois":
            chart = charts.line_chart(labels, series, "Dossiers créés et certifiés par mois")
        else:
            if len(labels) > CHART_MAX_BARS:
                order = sorted(range(len(labels)), key=lambda i: -series[0][1][i])[:CHART_MAX_BARS]
                order.sort()
                labels = [labels[i] for i in order]
                series = [(name, [values[i] for i in order]) for name, values in series]
                note = f"Le graphique montre les {CHART_MAX_BARS} groupes les plus nombreux."
            title = f"Dossiers par {report.dimensions[0].label.lower()}"
            chart = charts.bar_chart(labels, series, title)
        total_lines = len(report.lines)
        if total_lines > TABLE_MAX_LINES:
            report = dataclasses.replace(report, lines=report.lines[:TABLE_MAX_LINES])
            note = " ".join(filter(None, [note, (
                f"Le tableau montre les {TABLE_MAX_LINES} premières lignes sur "
                f"{total_lines:,}".replace(",", "\u202f")
                + " ; le total porte sur tous les dossiers et l'export contient toutes les lignes.")]))
        grouping = self._grouping()
        return self.render_template(
            "reports/rapports.html", title="Rapports", report=report, steps=STEPS,
            categories=stats.CATEGORIES, chart=chart, chart_note=note, filters=report.filters,
            options=filter_options(p), dimensions=list(DIMENSIONS.values()),
            groupe1=grouping[0], groupe2=grouping[1] if len(grouping) > 1 else "",
            query=_query(report.filters, groupe1=grouping[0],
                         groupe2=grouping[1] if len(grouping) > 1 else ""))

    @expose("/export/<string:fmt>/")
    @has_access
    def export(self, fmt):
        if fmt not in FORMATS:
            abort(404)
        export = ReportExport(self._report())
        export.name = "rapport-" + "-".join(d.code for d in export.report.dimensions)
        return send_dataset(export, fmt)


def register(appbuilder):
    cat = {"category": "Statistiques", "category_icon": "fa-bar-chart",
               "category_label": "Statistiques"}
    appbuilder.add_view(StatistiquesView, "Statistiques", label="Statistiques",
                        icon="fa-pie-chart", **cat)
    appbuilder.add_view(RapportsView, "Rapports", label="Rapports", icon="fa-table", **cat)
