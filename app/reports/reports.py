"""Managers' tabular reports (R-STA-3, issue 7): dossiers grouped by one or two dimensions, with
outcome counts, the success rate and the mean and median delays between the steps
creation → evaluation → jury → certificate.

A report is two SQL statements whatever the number of dossiers: the grouped rows and the totals
row (a median cannot be summed from groups, so the totals are aggregated by the database too).
Step dates, per dossier:
  evaluation   the first evaluation actually held (finalised or with results entered);
  jury         the date of the jury that decided (jury model), else the day the dossier was sent
               to the jury (`envoye_le`);
  certificate  the first certificate issued (document model), else the positive decision's date.
Labels (dispositif name, certification title, établissement name) are joined to the aggregated
groups, not to every dossier. Medians: PostgreSQL's percentile_cont; elsewhere (SQLite) the
middle row(s) of each group found with ROW_NUMBER() and COUNT() windows — still one statement,
exact, and never Python over rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Certification, Dispositif, Etablissement
from app.models.base import utcnow
from app.models.candidature import STATUTS, Candidature
from app.reports.exports import Export
from app.reports.statistics import (
    CATEGORIES,
    IN_PROGRESS,
    REGION,
    SUCCESS,
    Filters,
    days_between,
    dialect,
    join_region,
    scoped,
    year_month,
)
from app.security.perimeter import Perimetre

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]


@dataclass(frozen=True)
class Dimension:
    code: str
    label: str
    key: object                  # SQL expression grouped on (a Candidature column when possible)
    table: object | None = None  # model whose row names a key, joined after the aggregation
    text: object = None          # fn(aliased table) -> SQL label expression
    region: bool = False         # the key needs the établissement / company joins
    empty: str = "Non renseigné"

    def label_of(self, key, text):
        if key is None:
            return self.empty
        if self.code == "mois":
            year, month = str(key).split("-")
            return f"{MONTHS[int(month) - 1]} {year}"
        if self.code == "statut":
            return STATUTS.label(key)
        return text if text is not None else str(key)

    def sort_key(self, key, text):
        if self.code == "statut":
            return (key is None, STATUTS.codes.index(key) if key in STATUTS.codes else 99, "")
        if self.code == "mois":
            return (key is None, 0, str(key or ""))
        return (key is None, 0, str(self.label_of(key, text)).lower())


DIMENSIONS = {d.code: d for d in [
    Dimension("dispositif", "Dispositif", Candidature.dispositif_id, Dispositif,
              lambda t: t.nom),
    Dimension("certification", "Certification", Candidature.certification_id, Certification,
              lambda t: t.code + " — " + t.intitule),
    Dimension("region", "Région", REGION, region=True, empty="Région non renseignée"),
    Dimension("etablissement", "Établissement", Candidature.etablissement_id, Etablissement,
              lambda t: t.nom, empty="Sans établissement (dossier d'entreprise)"),
    Dimension("mois", "Mois de création", year_month(Candidature.created_on)),
    Dimension("statut", "Statut", Candidature.statut),
]}
STEPS = [
    ("evaluation", "Création → évaluation"),
    ("jury", "Évaluation → jury"),
    ("certificat", "Jury → certificat"),
    ("total", "Création → certificat"),
]


# --- step dates ---------------------------------------------------------------------------------
def _first_evaluation():
    from app.models.evaluation import Evaluation
    return (sa.select(Evaluation.candidature_id.label("cid"),
                      sa.func.min(Evaluation.date_evaluation).label("d"))
            .where(Evaluation.date_evaluation.isnot(None),
                   sa.or_(Evaluation.statut == "finalisee",
                          Evaluation.resultats_saisis_le.isnot(None)))
            .group_by(Evaluation.candidature_id).subquery("first_evaluation"))


def _jury_held():
    """Date of the jury that decided on the dossier, when the jury model is there."""
    try:
        from app.models.jury import InscriptionJury, Jury
    except ImportError:
        return None
    if not all(hasattr(InscriptionJury, a) for a in ("candidature_id", "jury_id", "decision")):
        return None
    return (sa.select(InscriptionJury.candidature_id.label("cid"),
                      sa.func.max(Jury.date).label("d"))
            .join(Jury, Jury.id == InscriptionJury.jury_id)
            .where(InscriptionJury.decision.isnot(None))
            .group_by(InscriptionJury.candidature_id).subquery("jury_held"))


def _first_certificate():
    try:
        from app.models.document import DocumentEmis
    except ImportError:
        return None
    return (sa.select(DocumentEmis.candidature_id.label("cid"),
                      sa.func.min(DocumentEmis.emis_le).label("d"))
            .where(DocumentEmis.type == "certificat", DocumentEmis.duplicata.is_(False),
                   DocumentEmis.candidature_id.isnot(None))
            .group_by(DocumentEmis.candidature_id).subquery("first_certificate"))


# --- the report -----------------------------------------------------------------------------------
@dataclass
class Line:
    keys: tuple
    labels: tuple
    total: int
    counts: dict                 # category -> dossiers
    decided: int
    certified: int
    delays: dict = field(default_factory=dict)   # step -> (mean, median, number of dossiers)

    @property
    def success_rate(self) -> float | None:
        """Certified / decided, in percent (None when nothing is decided yet)."""
        return round(100.0 * self.certified / self.decided, 1) if self.decided else None


@dataclass
class Report:
    dimensions: list
    lines: list
    totals: Line
    filters: Filters
    generated_at: dt.datetime
    with_delays: bool = True


def _row_select(dims, filters, p, with_delays):
    """Per-dossier columns (group keys, status, decision, step delays), scoped and filtered."""
    cols = [d.key.label(f"k{i}") for i, d in enumerate(dims)]
    cols += [Candidature.statut.label("statut"), Candidature.decision.label("decision")]
    stmt = sa.select(*cols).select_from(Candidature)
    region = any(d.region for d in dims) or filters.needs_region
    if region:
        stmt = join_region(stmt)
    if with_delays:
        ev, jury, cert = _first_evaluation(), _jury_held(), _first_certificate()
        stmt = stmt.outerjoin(ev, ev.c.cid == Candidature.id)
        jury_date = Candidature.envoye_le
        if jury is not None:
            stmt = stmt.outerjoin(jury, jury.c.cid == Candidature.id)
            jury_date = sa.func.coalesce(jury.c.d, Candidature.envoye_le)
        decided_ok = sa.case((Candidature.decision.in_(SUCCESS), Candidature.decide_le))
        cert_date = decided_ok
        if cert is not None:
            stmt = stmt.outerjoin(cert, cert.c.cid == Candidature.id)
            cert_date = sa.func.coalesce(cert.c.d, decided_ok)
        delays = {"evaluation": days_between(Candidature.created_on, ev.c.d),
                  "jury": days_between(ev.c.d, jury_date),
                  "certificat": days_between(jury_date, cert_date),
                  "total": days_between(Candidature.created_on, cert_date)}
        keys = [d.key for d in dims] or None
        for step, expr in delays.items():
            stmt = stmt.add_columns(expr.label(f"d_{step}"))
            if dialect() != "postgresql":
                stmt = stmt.add_columns(
                    sa.func.row_number().over(partition_by=keys, order_by=expr.nulls_last())
                    .label(f"rn_{step}"),
                    sa.func.count(expr).over(partition_by=keys).label(f"n_{step}"))
    return scoped(stmt, p, filters, joined_region=region)


def _median(rows, step):
    d = rows.c[f"d_{step}"]
    if dialect() == "postgresql":
        return sa.func.percentile_cont(0.5).within_group(d)
    rn, n = rows.c[f"rn_{step}"], rows.c[f"n_{step}"]
    middle = sa.and_(d.isnot(None), sa.or_(rn == (n + 1) // 2, rn == (n + 2) // 2))
    return sa.func.avg(sa.case((middle, d)))


def _aggregate(dims, filters, p, with_delays):
    """Aggregate on the bare keys (narrow sorts and hashes), then name the few groups."""
    rows = _row_select(dims, filters, p, with_delays).subquery("dossiers")
    group = [rows.c[f"k{i}"] for i in range(len(dims))]
    cols = [sa.func.count().label("total")]
    for code, _, statuses in CATEGORIES:
        members = statuses or IN_PROGRESS
        cols.append(sa.func.coalesce(sa.func.sum(sa.case((rows.c.statut.in_(members), 1),
                                                         else_=0)), 0).label(code))
    cols += [sa.func.count(rows.c.decision).label("decided"),
             sa.func.coalesce(sa.func.sum(sa.case((rows.c.decision.in_(SUCCESS), 1), else_=0)),
                              0).label("certified")]
    if with_delays:
        for step, _ in STEPS:
            cols += [sa.func.avg(rows.c[f"d_{step}"]).label(f"mean_{step}"),
                     _median(rows, step).label(f"median_{step}"),
                     sa.func.count(rows.c[f"d_{step}"]).label(f"n_{step}")]
    stmt = sa.select(*group, *cols)
    if not group:
        return db.session.execute(stmt).mappings().all()
    agg = stmt.group_by(*group).subquery("groupes")
    named = sa.select(agg)
    for i, d in enumerate(dims):
        if d.table is None:
            named = named.add_columns(sa.null().label(f"t{i}"))
            continue
        table = aliased(d.table, name=f"n{i}")
        named = named.outerjoin(table, table.id == agg.c[f"k{i}"]) \
            .add_columns(d.text(table).label(f"t{i}"))
    return db.session.execute(named).mappings().all()


def _num(value):
    return None if value is None else round(float(value), 1)


def _line(row, dims, with_delays) -> Line:
    keys = tuple(row[f"k{i}"] for i in range(len(dims)))
    texts = tuple(row.get(f"t{i}") for i in range(len(dims)))
    line = Line(keys, tuple(d.label_of(k, t) for d, k, t in zip(dims, keys, texts)),
                int(row["total"]), {c: int(row[c]) for c, _, _ in CATEGORIES},
                int(row["decided"]), int(row["certified"]))
    line._sort = tuple(d.sort_key(k, t) for d, k, t in zip(dims, keys, texts))
    if with_delays:
        line.delays = {s: (_num(row[f"mean_{s}"]), _num(row[f"median_{s}"]), int(row[f"n_{s}"]))
                       for s, _ in STEPS}
    return line


def run_report(p: Perimetre, filters: Filters | None = None, group_by=("dispositif",),
               with_delays: bool = True) -> Report:
    """The report of the perimeter's dossiers matching `filters`, grouped by 0–2 dimensions."""
    filters = filters or Filters()
    dims = [DIMENSIONS[g] for g in group_by if g in DIMENSIONS][:2]
    lines = [_line(r, dims, with_delays) for r in _aggregate(dims, filters, p, with_delays)] \
        if dims else []
    lines.sort(key=lambda line: line._sort)
    totals = _line(_aggregate([], filters, p, with_delays)[0], [], with_delays)
    return Report(dims, lines, totals, filters, utcnow(), with_delays)


def chart_series(report: Report):
    """(labels, [(series name, values)]) by the first dimension, for the chart. Summing the
    already aggregated lines is enough: counts add up (delays and medians do not)."""
    if not report.dimensions:
        return [], []
    dim = report.dimensions[0]
    order, names, total, certified = [], {}, {}, {}
    for line in report.lines:
        key = line.keys[0]
        if key not in total:
            order.append(key)
            names[key] = line.labels[0]
            total[key] = certified[key] = 0
        total[key] += line.total
        certified[key] += line.counts["certifie"]
    if dim.code == "mois" and order:  # a time axis: months without dossiers are zeros
        order = _months(min(k for k in order if k), max(k for k in order if k))
    labels = [names.get(k) or dim.label_of(k, None) for k in order]
    return labels, [("Dossiers", [total.get(k, 0) for k in order]),
                    ("Certificats délivrés", [certified.get(k, 0) for k in order])]


def _months(first: str, last: str) -> list[str]:
    """'YYYY-MM' keys from first to last included."""
    year, month = map(int, first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


# --- export ---------------------------------------------------------------------------------------
class ReportExport(Export):
    """The report table as a spreadsheet: one line per group, then the totals line."""

    name = "rapport"
    title = "Rapport"

    def __init__(self, report: Report):
        self.report = report

    def header(self):
        head = [d.label for d in self.report.dimensions] or ["Périmètre"]
        head += ["Dossiers"] + [label for _, label, _ in CATEGORIES]
        head += ["Dossiers décidés", "Taux de réussite (%)"]
        if self.report.with_delays:
            for _, label in STEPS:
                head += [f"{label} : délai moyen (jours)", f"{label} : délai médian (jours)",
                         f"{label} : dossiers"]
        return head

    def _values(self, line, labels):
        out = list(labels) + [line.total] + [line.counts[c] for c, _, _ in CATEGORIES]
        out += [line.decided, line.success_rate]
        if self.report.with_delays:
            for step, _ in STEPS:
                out += list(line.delays[step])
        return out

    def rows(self):
        width = max(len(self.report.dimensions), 1)
        for line in self.report.lines:
            yield self._values(line, line.labels)
        yield self._values(self.report.totals, ["Total"] + [""] * (width - 1))
