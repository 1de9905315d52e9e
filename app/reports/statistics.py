"""Statistics and dashboard figures (R-STA-1, R-STA-2, R-STA-3).

Every figure is computed by the database: one grouped statement over the dossiers of the user's
perimeter (`perimeter.criterion(Candidature)`) and the chosen filters, with CASE sums per category
— never a Python loop over dossiers. Python only reshapes the few aggregated rows it gets back.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.models import Certification, Dispositif, Entreprise, Etablissement
from app.models.candidature import STATUTS, Candidat, Candidature
from app.models.statuts import FAILURE, SUCCESS
from app.reports.counts import DASHBOARD_BUCKETS, status_counts
from app.security import perimeter, roles
from app.security.perimeter import Perimetre

# --- outcome categories (R-STA-2) ----------------------------------------------------------------
CATEGORIES = [
    # (code, label, statuses); the last one takes every other status.
    ("certifie", "Certificats délivrés", SUCCESS),
    ("partiel", "Validations partielles", ("partiel",)),
    ("non_certifie", "Dossiers non certifiés", FAILURE),
    ("abandonne", "Dossiers abandonnés", ("abandonnee",)),
    ("refuse", "Recevabilité refusée", ("recevabilite_refusee",)),
    ("en_cours", "Dossiers en cours", None),
]
CATEGORY_LABELS = {code: label for code, label, _ in CATEGORIES}
_CLOSED = {s for _, _, statuses in CATEGORIES if statuses for s in statuses}
IN_PROGRESS = tuple(s for s in STATUTS.codes if s not in _CLOSED)

# --- portable SQL helpers ------------------------------------------------------------------------
class days_between(FunctionElement):
    """Whole calendar days from the first date/datetime to the second (NULL if one is NULL)."""

    type = sa.Integer()
    name = "days_between"
    inherit_cache = True


@compiles(days_between, "postgresql")
def _days_pg(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


@compiles(days_between)
def _days_default(element, compiler, **kw):  # SQLite
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"


class year_month(FunctionElement):
    """'YYYY-MM' of a date or datetime."""

    type = sa.String()
    name = "year_month"
    inherit_cache = True


@compiles(year_month, "postgresql")
def _ym_pg(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


@compiles(year_month)
def _ym_default(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


def dialect() -> str:
    return db.session.get_bind().dialect.name


# The dossier's région (R-HAB-5): its établissement's, else its company's.
REGION = sa.func.coalesce(Etablissement.region, Entreprise.region)


# --- filters -------------------------------------------------------------------------------------
def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value):
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


@dataclass
class Filters:
    """What a statistics or report page narrows the perimeter's dossiers to."""

    dispositif: int | None = None
    certification: int | None = None
    region: str | None = None
    etablissement: int | None = None
    debut: dt.date | None = None     # created_on from this day…
    fin: dt.date | None = None       # …to this day included
    statut: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args) -> Filters:
        """Parse query arguments; unknown or malformed values are ignored, never an error."""
        statuts = args.getlist("statut") if hasattr(args, "getlist") else args.get("statut") or []
        if isinstance(statuts, str):
            statuts = [statuts]
        return cls(dispositif=_int(args.get("dispositif")),
                   certification=_int(args.get("certification")),
                   region=(args.get("region") or "").strip() or None,
                   etablissement=_int(args.get("etablissement")),
                   debut=_date(args.get("debut")), fin=_date(args.get("fin")),
                   statut=[s for s in statuts if s in STATUTS.codes])

    def criteria(self) -> list:
        out = []
        if self.dispositif:
            out.append(Candidature.dispositif_id == self.dispositif)
        if self.certification:
            out.append(Candidature.certification_id == self.certification)
        if self.etablissement:
            out.append(Candidature.etablissement_id == self.etablissement)
        if self.region:
            out.append(REGION == self.region)
        if self.debut:
            out.append(Candidature.created_on >= dt.datetime.combine(self.debut, dt.time()))
        if self.fin:
            out.append(Candidature.created_on < dt.datetime.combine(self.fin, dt.time())
                       + dt.timedelta(days=1))
        if self.statut:
            out.append(Candidature.statut.in_(self.statut))
        return out

    @property
    def needs_region(self) -> bool:
        return bool(self.region)

    def as_args(self) -> list[tuple[str, str]]:
        """Query arguments reproducing these filters (export links)."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "statut":
                out += [("statut", s) for s in value]
            elif value not in (None, ""):
                text = value.isoformat() if isinstance(value, dt.date) else str(value)
                out.append((f.name, text))
        return out


def scoped(stmt, p: Perimetre, filters: Filters | None = None, joined_region=False):
    """Restrict a SELECT over Candidature to the perimeter and the filters."""
    filters = filters or Filters()
    if filters.needs_region and not joined_region:
        stmt = join_region(stmt)
    return stmt.where(perimeter.criterion(Candidature, p), *filters.criteria())


def join_region(stmt):
    return (stmt.outerjoin(Etablissement, Etablissement.id == Candidature.etablissement_id)
            .outerjoin(Entreprise, Entreprise.id == Candidature.entreprise_id))


def category_sums() -> list:
    """One SUM(CASE …) column per outcome category, labelled by its code."""
    cols = []
    for code, _, statuses in CATEGORIES:
        members = statuses or IN_PROGRESS
        cols.append(sa.func.coalesce(sa.func.sum(
            sa.case((Candidature.statut.in_(members), 1), else_=0)), 0).label(code))
    return cols


# --- R-STA-2: the statistics page ----------------------------------------------------------------
@dataclass
class Summary:
    total: int
    counts: dict          # category code -> number of dossiers
    generated_at: dt.datetime

    def items(self):
        return [(code, label, self.counts.get(code, 0)) for code, label, _ in CATEGORIES]


def summary(p: Perimetre, filters: Filters | None = None) -> Summary:
    """Certificates delivered, in progress, not certified, abandoned… in one statement."""
    stmt = scoped(sa.select(sa.func.count(Candidature.id).label("total"), *category_sums())
                  .select_from(Candidature), p, filters)
    row = db.session.execute(stmt).mappings().one()
    from app.models.base import utcnow
    return Summary(int(row["total"] or 0), {c: int(row[c] or 0) for c, _, _ in CATEGORIES},
                   utcnow())


def by_status(p: Perimetre, filters: Filters | None = None) -> list[tuple[str, str, int]]:
    """(code, label, count) per status, in the order users read them."""
    stmt = scoped(sa.select(Candidature.statut, sa.func.count(Candidature.id))
                  .select_from(Candidature), p, filters).group_by(Candidature.statut)
    counts = dict(db.session.execute(stmt).all())
    return [(code, STATUTS.label(code), counts[code]) for code in STATUTS.codes if code in counts]


# --- R-STA-1: the dashboard ----------------------------------------------------------------------
@dataclass
class Bucket:
    code: str
    label: str
    total: int
    parts: list   # (status code, label, count) with count > 0

    @property
    def statuts(self):
        return [code for code, _, _ in self.parts]


def _taken_by_a_jury(p: Perimetre, statuts) -> dict[str, int]:
    """Dossiers of the perimeter in these statuses that a jury has taken and not decided yet
    (an active registration still "inscrit": few rows, read from a partial index)."""
    from app.models.jury import InscriptionJury
    stmt = (sa.select(Candidature.statut, sa.func.count(Candidature.id))
            .select_from(InscriptionJury)
            .join(Candidature, Candidature.id == InscriptionJury.candidature_id)
            .where(InscriptionJury.active.is_(True), InscriptionJury.etat == "inscrit",
                   Candidature.statut.in_(list(statuts)), perimeter.criterion(Candidature, p))
            .group_by(Candidature.statut))
    return {statut: int(n) for statut, n in db.session.execute(stmt)}


def dashboard_counts(p: Perimetre) -> list[Bucket]:
    """The three dashboard counts of the perimeter: the status counters (app/reports/counts.py),
    less, for the dossiers waiting for their jury, those a jury has already taken."""
    wanted = sorted({s for _, _, ss in DASHBOARD_BUCKETS for s in ss})
    jury_statuses = next(ss for code, _, ss in DASHBOARD_BUCKETS if code == "affectation_jury")
    counts = status_counts(p, wanted)
    for statut, n in _taken_by_a_jury(p, jury_statuses).items():
        counts[statut] = counts.get(statut, 0) - n
    buckets = []
    for code, label, statuses in DASHBOARD_BUCKETS:
        parts = [(s, STATUTS.label(s), counts[s]) for s in statuses if counts.get(s)]
        buckets.append(Bucket(code, label, sum(n for _, _, n in parts), parts))
    return buckets


_DOSSIER_COLUMNS = (Candidature.id, Candidature.numero, Candidature.statut,
                    Candidature.updated_on, Candidature.decide_le, Candidature.decision,
                    Candidat.nom_naissance, Candidat.prenom,
                    Certification.code.label("certification"),
                    Etablissement.nom.label("etablissement"),
                    Entreprise.raison_sociale.label("entreprise"))


def _dossier_lines(p: Perimetre, where, order_by, limit):
    stmt = (sa.select(*_DOSSIER_COLUMNS).select_from(Candidature)
            .join(Candidat, Candidat.id == Candidature.candidat_id)
            .join(Certification, Certification.id == Candidature.certification_id)
            .outerjoin(Etablissement, Etablissement.id == Candidature.etablissement_id)
            .outerjoin(Entreprise, Entreprise.id == Candidature.entreprise_id)
            .where(perimeter.criterion(Candidature, p), *where)
            .order_by(*order_by).limit(limit))
    return [dict(row, statut_label=STATUTS.label(row["statut"]),
                 candidat=f"{(row['nom_naissance'] or '').upper()} {row['prenom'] or ''}".strip(),
                 titulaire=row["etablissement"] or row["entreprise"] or "")
            for row in db.session.execute(stmt).mappings()]


def last_modified(p: Perimetre, limit: int = 8) -> list[dict]:
    """The perimeter's most recently modified dossiers (one statement, no query per line)."""
    return _dossier_lines(p, [], [Candidature.updated_on.desc(), Candidature.id.desc()], limit)


def last_certified(p: Perimetre, limit: int = 8) -> list[dict]:
    """The perimeter's most recently certified dossiers (positive jury decision)."""
    # decide_le IS NOT NULL lets PostgreSQL walk a (…, decide_le) index backwards past the
    # undecided dossiers, which DESC order would otherwise put first.
    return _dossier_lines(p, [Candidature.statut.in_(SUCCESS), Candidature.decide_le.isnot(None)],
                          [Candidature.decide_le.desc(), Candidature.id.desc()], limit)


def may_propose(p: Perimetre) -> bool:
    """Whether the role may create a dossier in at least one active dispositif (R-DIS-2)."""
    from app.workflow.dossier.candidatures import CREATOR_KIND
    kind = CREATOR_KIND.get(p.role)
    if kind is None or not roles.allowed(p.role, "Candidatures", "write"):
        return False
    q = db.session.query(Dispositif).filter(Dispositif.actif.is_(True))
    if p.role == "secretariat":
        q = q.filter(Dispositif.id == perimeter.own_id(p, "dispositif"))
    return any(d.allows_creator(kind) or (kind == "secretariat" and d.allows_creator("candidat"))
               for d in q)


def shows_identity(p: Perimetre) -> bool:
    """Dossier-level exports name the candidates only for roles that may open the dossiers;
    a manager / observatoire gets the same lines without identity."""
    return p.unrestricted or roles.allowed(p.role, "Candidatures", "read")
