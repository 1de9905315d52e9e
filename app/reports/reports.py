"""Managers' tabular reports (R-STA-3, issue 7): dossiers grouped by one or two dimensions, with
outcome counts, the success rate and the mean and median delays between the steps
creation → evaluation → jury → certificate.

A report is ONE statement, one pass over the perimeter's dossiers, whatever their number
(issue 9): the lines and the totals line (a median cannot be summed from groups, so the totals
are aggregated by the database too) come out of the same GROUP BY, see `_statement`.
Step dates, per dossier (columns of the dossier, kept by app/models/etapes.py):
  evaluation   the first evaluation actually held (finalised or with results entered);
  jury         the date of the jury that decided (jury model), else the day the dossier was sent
               to the jury (`envoye_le`);
  certificate  the first certificate issued (document model), else the positive decision's date.
Delays are whole days, so the dossiers are first counted by (keys, status, decision, delays) —
a hash aggregation, the only per-dossier work; means and medians are then computed exactly from
these counts (running counts per delay value, window functions), the same on PostgreSQL and
SQLite, without sorting the dossiers and never in Python. Labels (dispositif name, certification
title, établissement name) are joined to the aggregated groups, not to every dossier.
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
# Kept on the dossier's row and recomputed from their sources at each change (app/models/etapes.py).


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
        evaluation = Candidature.etape_evaluation_le
        jury_date = sa.func.coalesce(Candidature.etape_jury_le, Candidature.envoye_le)
        decided_ok = sa.case((Candidature.decision.in_(SUCCESS), Candidature.decide_le))
        cert_date = sa.func.coalesce(Candidature.etape_certificat_le, decided_ok)
        delays = {"evaluation": days_between(Candidature.created_on, evaluation),
                  "jury": days_between(evaluation, jury_date),
                  "certificat": days_between(jury_date, cert_date),
                  "total": days_between(Candidature.created_on, cert_date)}
        for step, expr in delays.items():
            stmt = stmt.add_columns(expr.label(f"d_{step}"))
    return scoped(stmt, p, filters, joined_region=region)


def _typed_null(column):
    return sa.cast(sa.null(), column.type)


def _statement(dims, filters, p, with_delays):
    """The whole report — groups and totals — as ONE statement over ONE pass on the dossiers.

    1. `histogramme`: the dossiers counted by (keys, statut, decision, the four delays). Delays
       are whole days and most dossiers share their status and (missing) steps, so this hash
       aggregation is much smaller than the dossiers and is the only per-dossier work.
    2. per step, the number of dossiers per delay value and group (and for the totals), with
       the running count of each group (window) — a median needs no sort of the dossiers:
       it is the mean of the smallest values whose running count reaches n/2 (lower middle) and
       exceeds n/2 (upper middle), exactly percentile_cont(0.5).
    3. one GROUP BY (marker `tot`, keys) over the union of both gives every line and the totals
       line (tot = 1, keys NULL; GROUP BY treats NULL keys as equal, a join could not).
    """
    rows = _row_select(dims, filters, p, with_delays).subquery("dossiers")
    keys = [rows.c[f"k{i}"] for i in range(len(dims))]
    steps = [s for s, _ in STEPS] if with_delays else []
    delay_cols = [rows.c[f"d_{s}"] for s in steps]
    hist = (sa.select(*keys, rows.c.statut, rows.c.decision, *delay_cols,
                      sa.func.count().label("c"))
            .group_by(*keys, rows.c.statut, rows.c.decision, *delay_cols)
            .cte("histogramme"))
    hkeys = [hist.c[f"k{i}"] for i in range(len(dims))]
    null_keys = [_typed_null(k).label(k.name) for k in hkeys]
    # per step and delay value: dossiers of each group (tot = 0) and of the whole (tot = 1)
    levels = [(0, hkeys), (1, [])] if dims else [(1, [])]
    parts = []
    for index, step in enumerate(steps):
        d = hist.c[f"d_{step}"]
        for tot, group in levels:
            key_cols = hkeys if tot == 0 else null_keys
            parts.append(sa.select(sa.literal(tot).label("tot"), *key_cols,
                                   sa.literal(index).label("step"), d.label("v"),
                                   sa.func.sum(hist.c.c).label("c"))
                         .where(d.isnot(None)).group_by(*group, d))
    medians = []
    if parts:
        values = sa.union_all(*parts).subquery("valeurs")
        vkeys = [values.c[f"k{i}"] for i in range(len(dims))]
        window = [values.c.tot, values.c.step, *vkeys]
        ranked = sa.select(
            values,
            sa.func.sum(values.c.c).over(partition_by=window, order_by=values.c.v).label("cum"),
            sa.func.sum(values.c.c).over(partition_by=window).label("n")).subquery("rangs")
        medians.append(sa.select(
            ranked.c.tot, *[ranked.c[f"k{i}"] for i in range(len(dims))],
            *[_typed_null(hist.c.statut).label("statut"),
              _typed_null(hist.c.decision).label("decision")],
            *[_typed_null(c).label(c.name) for c in (hist.c[f"d_{s}"] for s in steps)],
            sa.cast(sa.null(), sa.BigInteger()).label("c"),
            ranked.c.step, ranked.c.v, ranked.c.cum, ranked.c.n))
    tail = [sa.cast(sa.null(), sa.Integer()).label("step"),
            sa.cast(sa.null(), sa.Integer()).label("v"),
            sa.cast(sa.null(), sa.Numeric()).label("cum"),
            sa.cast(sa.null(), sa.Numeric()).label("n")]
    body = [hist.c.statut, hist.c.decision, *[hist.c[f"d_{s}"] for s in steps], hist.c.c]
    counted = [sa.select(sa.literal(1).label("tot"), *null_keys, *body, *tail)]
    if dims:
        counted.insert(0, sa.select(sa.literal(0).label("tot"), *hkeys, *body, *tail))
    everything = sa.union_all(*counted, *medians).subquery("tout")
    t = everything.c
    dossiers = t.c   # the histogram's counts (NULL on the median rows)

    def weighted(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, dossiers), else_=0)), 0)

    cols = [sa.func.coalesce(sa.func.sum(dossiers), 0).label("total")]
    for code, _, statuses in CATEGORIES:
        cols.append(weighted(t.statut.in_(statuses or IN_PROGRESS)).label(code))
    cols += [weighted(t.decision.isnot(None)).label("decided"),
             weighted(t.decision.in_(SUCCESS)).label("certified")]
    postgres = dialect() == "postgresql"
    for index, step in enumerate(steps):
        d = t[f"d_{step}"]
        n = sa.func.sum(sa.case((d.isnot(None), dossiers)))
        total = sa.func.sum(d * dossiers)
        # the same arithmetic as avg(): numeric division (PostgreSQL), float (SQLite)
        mean = (sa.cast(total, sa.Numeric()) / sa.cast(n, sa.Numeric())) if postgres else \
            (sa.cast(total, sa.Float()) / n)
        this = t.step == index
        low = sa.func.min(sa.case((sa.and_(this, 2 * t.cum >= t.n), t.v)))
        high = sa.func.min(sa.case((sa.and_(this, 2 * t.cum > t.n), t.v)))
        cols += [mean.label(f"mean_{step}"), ((low + high) / 2.0).label(f"median_{step}"),
                 sa.func.coalesce(n, 0).label(f"n_{step}")]
    tkeys = [t[f"k{i}"] for i in range(len(dims))]
    agg = sa.select(t.tot, *tkeys, *cols).group_by(t.tot, *tkeys).subquery("groupes")
    named = sa.select(agg)
    for i, d in enumerate(dims):
        if d.table is None:
            named = named.add_columns(sa.null().label(f"t{i}"))
            continue
        table = aliased(d.table, name=f"n{i}")
        named = named.outerjoin(table, table.id == agg.c[f"k{i}"]) \
            .add_columns(d.text(table).label(f"t{i}"))
    return named


# For the report's transaction only (PostgreSQL): the planner expects as many histogram groups
# as dossiers and, with the default 4 MB, sorts them (on disk) instead of hashing them — 1.6
# times slower at a million dossiers for two dimensions (issue 9). A cheaper tuple transfer lets
# it read the dossiers' index with two workers (255 → 215 ms for a dispositif of 333,000
# dossiers; the step dates are columns of the dossier, nothing is recomputed per worker). JIT is
# off for the whole connection (app/__init__.py).
SETTINGS = sa.text("SELECT set_config('work_mem', '64MB', true), "
                   "set_config('parallel_tuple_cost', '0.01', true)")


def _aggregate(dims, filters, p, with_delays):
    """(rows of the groups, row of the totals or None when there is no dossier)."""
    stmt = _statement(dims, filters, p, with_delays)
    if dialect() == "postgresql":
        db.session.execute(SETTINGS)
    rows = db.session.execute(stmt).mappings().all()
    lines = [r for r in rows if r["tot"] == 0]
    totals = next((r for r in rows if r["tot"] == 1), None)
    return lines, totals


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
    rows, total_row = _aggregate(dims, filters, p, with_delays)
    lines = [_line(r, dims, with_delays) for r in rows] if dims else []
    lines.sort(key=lambda line: line._sort)
    totals = _line(total_row, [], with_delays) if total_row is not None \
        else _empty_line(with_delays)
    return Report(dims, lines, totals, filters, utcnow(), with_delays)


def _empty_line(with_delays) -> Line:
    line = Line((), (), 0, {c: 0 for c, _, _ in CATEGORIES}, 0, 0)
    if with_delays:
        line.delays = {s: (None, None, 0) for s, _ in STEPS}
    return line


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
