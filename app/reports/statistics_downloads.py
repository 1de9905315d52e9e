"""R-STA-2 downloads: every statistic as one workbook, and the dossier-level data streamed.

The workbook holds a few aggregated sheets (app/reports/xlsx_stream.py); the dossier-level export can reach
hundreds of thousands of lines, so it is read in batches and written row by row
(app/reports/xlsx_stream.py, or the csv module), through the same Export base class as every
other export.
"""
import io

import sqlalchemy as sa

from app.extensions import db
from app.models import Certification, Dispositif, Entreprise, Etablissement
from app.models.candidature import STATUTS, Candidat, Candidature
from app.reports import sql_cells as cells
from app.reports.exports import Export
from app.reports.reports import ReportExport, run_report
from app.reports.statistics import (
    CATEGORIES,
    CATEGORY_LABELS,
    REGION,
    Filters,
    by_status,
    join_region,
    scoped,
    shows_identity,
    summary,
)
from app.reports.xlsx_stream import write_sheets
from app.security.perimeter import Perimetre


class Table(Export):
    """A sheet of a few lines already computed."""

    def __init__(self, title: str, header: list[str], lines: list[list]):
        self.title, self.head, self.lines = title, header, lines

    def header(self):
        return self.head

    def rows(self):
        return self.lines


def statistics_sheets(p: Perimetre, filters: Filters | None = None) -> list[Export]:
    """Every statistic of the page as the sheets of one workbook, one sheet per view."""
    s = summary(p, filters)
    sheets = [
        Table("Synthèse", ["Indicateur", "Valeur"],
              [["Date de génération des statistiques", s.generated_at],
               ["Dossiers de candidature", s.total]] + [[label, n] for _, label, n in s.items()]),
        Table("Par statut", ["Statut", "Dossiers"],
              [[label, n] for _, label, n in by_status(p, filters)])]
    for dim, title in (("dispositif", "Par dispositif"), ("certification", "Par certification"),
                       ("region", "Par région"), ("etablissement", "Par établissement"),
                       ("mois", "Par mois de création")):
        export = ReportExport(run_report(p, filters, (dim,), with_delays=False))
        export.title = title
        sheets.append(export)
    delays = ReportExport(run_report(p, filters, ("dispositif",), with_delays=True))
    delays.title = "Délais par dispositif"
    return sheets + [delays]


def statistics_workbook(p: Perimetre, filters: Filters | None = None) -> bytes:
    """statistics_sheets() as one .xlsx (app/reports/xlsx_stream.py)."""
    out = io.BytesIO()
    write_sheets(out, [(sheet.title, sheet.heading(), sheet.cells())
                       for sheet in statistics_sheets(p, filters)])
    return out.getvalue()


class DossierExport(Export):
    """R-STA-2 "statistiques des dossiers": one line per dossier of the perimeter, read from the
    database in batches (never the whole result in memory)."""

    name = "statistiques-dossiers"
    title = "Dossiers"
    large = True
    BATCH = 2000

    def __init__(self, p: Perimetre, filters: Filters | None = None):
        self.p, self.filters = p, filters or Filters()
        self.identity = shows_identity(p)

    def header(self):
        head = ["N° de dossier", "Dispositif", "Certification", "Intitulé"]
        if self.identity:
            head += ["Nom de naissance", "Prénom"]
        return head + ["Établissement", "Entreprise", "Région", "Statut", "Catégorie",
                       "Financement", "Origine", "Créé le", "Envoyé en certification le",
                       "Décision", "Date de décision", "Abandonné le"]

    def statement(self):
        cols = [Candidature.numero, Dispositif.code.label("dispositif"),
                Certification.code.label("certification"), Certification.intitule]
        if self.identity:
            cols += [Candidat.nom_naissance, Candidat.prenom]
        cols += [Etablissement.nom.label("etablissement"), Entreprise.raison_sociale,
                 REGION.label("region"), Candidature.statut, Candidature.financement,
                 Candidature.origine, Candidature.created_on, Candidature.envoye_le,
                 Candidature.decision, Candidature.decide_le, Candidature.abandonne_le]
        stmt = (sa.select(*cols).select_from(Candidature)
                .join(Dispositif, Dispositif.id == Candidature.dispositif_id)
                .join(Certification, Certification.id == Candidature.certification_id))
        if self.identity:
            stmt = stmt.join(Candidat, Candidat.id == Candidature.candidat_id)
        stmt = scoped(join_region(stmt), self.p, self.filters, joined_region=True)
        return stmt.order_by(Candidature.created_on, Candidature.id)

    def cell_statement(self):
        """The same lines as typed cells of the database (app/reports/sql_cells.py): on
        PostgreSQL the csv and the sheet's rows are then written by COPY."""
        stmt = self.statement()
        cols = {c.key: c for c in stmt.selected_columns}
        category = sa.case(*[(cols["statut"].in_(list(ss)), CATEGORY_LABELS[code])
                             for code, _, ss in CATEGORIES if ss],
                           else_=CATEGORY_LABELS["en_cours"])
        cells_ = [cells.code(cols["numero"]), cells.code(cols["dispositif"]),
                  cells.code(cols["certification"]), cells.text(cols["intitule"])]
        if self.identity:
            cells_ += [cells.text(cols["nom_naissance"]), cells.text(cols["prenom"])]
        cells_ += [cells.text(cols["etablissement"]), cells.text(cols["raison_sociale"]),
                   cells.text(cols["region"]), cells.label(cols["statut"], STATUTS),
                   category, cells.code(cols["financement"]),
                   cells.code(cols["origine"]), cells.datetime(cols["created_on"]),
                   cells.datetime(cols["envoye_le"]),
                   cells.label(cols["decision"], STATUTS),
                   cells.date(cols["decide_le"]), cells.datetime(cols["abandonne_le"])]
        return stmt.with_only_columns(*cells_)

    def cells(self):
        statement = self.cell_statement().execution_options(yield_per=self.BATCH)
        return db.session.execute(statement)

    def rows(self):
        category = {s: code for code, _, ss in CATEGORIES if ss for s in ss}
        result = db.session.execute(self.statement().execution_options(yield_per=self.BATCH))
        for row in result.mappings():
            line = [row["numero"], row["dispositif"], row["certification"], row["intitule"]]
            if self.identity:
                line += [row["nom_naissance"], row["prenom"]]
            statut = row["statut"]
            line += [row["etablissement"], row["raison_sociale"], row["region"],
                     STATUTS.label(statut), CATEGORY_LABELS[category.get(statut, "en_cours")],
                     row["financement"], row["origine"], row["created_on"], row["envoye_le"],
                     STATUTS.label(row["decision"]) if row["decision"] else None,
                     row["decide_le"], row["abandonne_le"]]
            yield line
