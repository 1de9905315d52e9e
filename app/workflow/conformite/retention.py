"""Retention schedule and purge (R-ARC-1…3).

`purge(today)` applies each dispositif's RetentionRule rows with a few SQL statements per rule:
an INSERT … SELECT writing one tombstone (PurgeTrace) per removed item, then the DELETE or UPDATE
itself. Nothing is loaded into Python, so a run over years of dossiers stays short. Removed:
- uploaded pieces (Document rows): deleted, the tombstone keeps type, file name and date;
- evaluation appraisals: the evaluators' free-text comments are emptied (the acquis / non acquis
  results stay: they are the jury's basis and the partial benefit of R-DEC-2);
- issued documents (DocumentEmis): PDF and frozen data emptied in SQL, bypassing the ORM guard
  that otherwise forbids touching them — the retention duration is the one legitimate exception;
  number, title, dates and SHA-256 stay (a paper copy can still be recognised).
`purge(today, dry_run=True)` counts and lists the same selections without changing anything.
Both record PurgeLog rows (counts per class, never content).
"""
import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.errors import RuleViolation
from app.extensions import db
from app.models.candidature import TYPES_PIECE, Candidature, Document
from app.models.conformite import CLASSES, DEFAULT_RULES, MAX_MOIS, PurgeLog, PurgeTrace, RetentionRule
from app.models.document import DocumentEmis
from app.models.evaluation import Evaluation, ResultatCompetence
from app.models.referentiel import Dispositif
from app.models.statuts import DECIDED, FAILURE, PARTIAL, SUCCESS

# Uploaded pieces per class. Appraisals: the completed evaluation guides and matrices (outils
# n°4 and n°8). Any other piece type — including one added later — is a document of the
# preparation, removed at the decision (the shortest duration: the safe default for privacy).
APPRAISAL_PIECES = ("guide_evaluation", "guide_evaluation_vae", "matrice_evaluation")
IDENTITY_PIECES = ("piece_identite",)
PREPARATION_PIECES = tuple(c for c in TYPES_PIECE.codes
                           if c not in APPRAISAL_PIECES + IDENTITY_PIECES)
PIECES = {"piece_identite": IDENTITY_PIECES, "documents_evaluation": PREPARATION_PIECES,
          "appreciations": APPRAISAL_PIECES}
ISSUED = {"certificat": ("certificat",), "pv": ("pv",), "emargement": ("emargement",),
          "attribution": ("lettre_gtp", "lettre_decision")}
# Free-text appraisals of the evaluators, emptied with the appraisal class.
EVALUATION_TEXTS = ("commentaire", "observations_candidat", "observations_metier",
                    "avis_entreprise_commentaire")
RESULT_TEXTS = ("commentaire", "observation_metier")
SAMPLE = 50  # references listed per line of a dry run


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by `months` (negative: back), the day clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise ValueError(day)


# -- the schedule --------------------------------------------------------------------------------
def ensure_rules(dispositifs=None) -> int:
    """Create the default schedule lines a dispositif lacks (idempotent); returns how many."""
    dispositifs = dispositifs if dispositifs is not None else db.session.query(Dispositif).all()
    if not dispositifs:
        return 0
    ids = [d.id for d in dispositifs]
    existing = set(db.session.query(RetentionRule.dispositif_id, RetentionRule.classe,
                                    RetentionRule.issue)
                   .filter(RetentionRule.dispositif_id.in_(ids)))
    created = 0
    for d in dispositifs:
        for classe, issue, mois, regle in DEFAULT_RULES:
            if (d.id, classe, issue) not in existing:
                db.session.add(RetentionRule(dispositif_id=d.id, classe=classe, issue=issue,
                                             duree_mois=mois, regle=regle))
                created += 1
    if created:
        db.session.flush()
    return created


def schedule(dispositif) -> list[RetentionRule]:
    """The dispositif's schedule, in the order of the sources."""
    ensure_rules([dispositif])
    order = {c: i for i, c in enumerate(CLASSES.codes)}
    rules = db.session.query(RetentionRule).filter_by(dispositif_id=dispositif.id).all()
    return sorted(rules, key=lambda r: (order[r.classe], r.issue != "toutes", r.duree_mois or 0))


def set_duration(rule: RetentionRule, mois) -> RetentionRule:
    """Change a schedule line's duration (months; None = unlimited)."""
    if mois in ("", None):
        rule.duree_mois = None
        return rule
    try:
        mois = int(mois)
    except (TypeError, ValueError):
        raise RuleViolation("Indiquez une durée en mois (nombre entier).", rule.regle, "duree_mois")
    if not 0 <= mois <= MAX_MOIS:
        raise RuleViolation(f"La durée doit être comprise entre 0 et {MAX_MOIS} mois.",
                            rule.regle, "duree_mois")
    rule.duree_mois = mois
    return rule


# -- selections (SQL) ------------------------------------------------------------------------------
def _acquired_something():
    """The dossier has an acquired competence (not a pre-acquired one) in a finalised evaluation:
    a "non validé / non admis" decision with acquired parts is a partial validation (R-DEC-1)."""
    ev, res = aliased(Evaluation), aliased(ResultatCompetence)
    evaluated = sa.exists().where(ev.candidature_id == Candidature.id, ev.statut == "finalisee",
                                  res.evaluation_id == ev.id, res.acquis.is_(True),
                                  res.pre_acquis.is_(False)).correlate(Candidature)
    try:  # the jury's own record of acquired competences (R-DEC-2), when the feature is there
        from app.models.jury import AcquisCompetence
    except ImportError:
        return evaluated
    kept = sa.exists().where(AcquisCompetence.candidature_id == Candidature.id) \
        .correlate(Candidature)
    return sa.or_(evaluated, kept)


def outcome_criterion(issue: str):
    decision = Candidature.decision
    if issue == "toutes":
        return decision.in_(DECIDED)
    if issue == "reussite":
        return decision.in_(SUCCESS)
    if issue == "partiel":
        return sa.or_(decision.in_(PARTIAL), sa.and_(decision.in_(FAILURE), _acquired_something()))
    if issue == "echec":
        return sa.and_(decision.in_(FAILURE), ~_acquired_something())
    raise ValueError(issue)


def _dossiers(rule: RetentionRule, cutoff: dt.date):
    """Decided dossiers of the rule's dispositif and outcome whose decision is old enough."""
    return sa.and_(Candidature.dispositif_id == rule.dispositif_id,
                   outcome_criterion(rule.issue), Candidature.decide_le <= cutoff)


def _pieces_select(rule, cutoff, *columns):
    return (sa.select(*columns).select_from(Document)
            .join(Candidature, Candidature.id == Document.candidature_id)
            .where(Document.type_piece.in_(PIECES[rule.classe]), _dossiers(rule, cutoff))
            .correlate(None))


def _texts_present(model, names):
    return sa.or_(*[getattr(model, n).isnot(None) for n in names])


def _appraised_dossiers(rule, cutoff):
    """Dossiers of the rule still holding an appraisal text (evaluation or competence)."""
    ev, res = aliased(Evaluation), aliased(ResultatCompetence)
    texts = sa.or_(_texts_present(ev, EVALUATION_TEXTS), sa.exists().where(
        res.evaluation_id == ev.id, _texts_present(res, RESULT_TEXTS)))
    has_text = sa.exists().where(ev.candidature_id == Candidature.id, texts).correlate(Candidature)
    return (sa.select(Candidature.id, Candidature.dispositif_id, Candidature.numero)
            .where(_dossiers(rule, cutoff), has_text).correlate(None))


def _issued_select(rule, cutoff, *columns):
    """Issued documents of the class whose jury (else issue) date is older than the cutoff and
    not purged yet."""
    start_limit = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time())
    old_enough = sa.or_(
        sa.and_(DocumentEmis.date_reference.isnot(None), DocumentEmis.date_reference <= cutoff),
        sa.and_(DocumentEmis.date_reference.is_(None), DocumentEmis.emis_le < start_limit))
    trace = aliased(PurgeTrace)
    purged = sa.exists().where(trace.document_emis_id == DocumentEmis.id).correlate(DocumentEmis)
    return (sa.select(*columns).where(DocumentEmis.dispositif_id == rule.dispositif_id,
                                      DocumentEmis.type.in_(ISSUED[rule.classe]),
                                      old_enough, ~purged).correlate(None))


# -- the run ---------------------------------------------------------------------------------------
@dataclass
class PurgeLine:
    dispositif: str
    classe: str
    issue: str
    regle: str
    nombre: int
    references: list = field(default_factory=list)

    @property
    def classe_label(self):
        return CLASSES.label(self.classe)


@dataclass
class PurgeReport:
    date: dt.date
    dry_run: bool
    lines: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.nombre for line in self.lines)

    def text(self) -> str:
        verb = "seraient supprimés" if self.dry_run else "supprimés"
        title = f"Purge du {self.date:%d/%m/%Y}{' (simulation)' if self.dry_run else ''}"
        out = [f"{title} : {self.total} élément(s) {verb}."]
        for line in self.lines:
            out.append(f"  [{line.dispositif}] {line.classe_label} ({line.issue}, {line.regle}) : "
                       f"{line.nombre}")
            refs = line.references[:SAMPLE]
            if refs:
                more = " …" if len(line.references) > SAMPLE or line.nombre > len(refs) else ""
                out.append("      " + ", ".join(refs) + more)
        return "\n".join(out)


def _purge_pieces(rule, cutoff, today, dry_run):
    if dry_run:
        rows = db.session.execute(_pieces_select(
            rule, cutoff, Candidature.numero, Document.type_piece).order_by(Candidature.numero)
            .limit(SAMPLE)).all()
        count = db.session.execute(_pieces_select(
            rule, cutoff, sa.func.count(Document.id))).scalar_one()
        return count, [f"{n} ({TYPES_PIECE.label(t)})" for n, t in rows]
    db.session.execute(sa.insert(PurgeTrace).from_select(
        ["dispositif_id", "candidature_id", "classe", "element", "libelle", "purge_le", "regle"],
        _pieces_select(rule, cutoff, Candidature.dispositif_id, Document.candidature_id,
                       sa.literal(rule.classe), Document.type_piece, Document.nom_fichier,
                       sa.literal(today, sa.Date), sa.literal(rule.regle))))
    result = db.session.execute(
        sa.delete(Document.__table__).where(Document.__table__.c.id.in_(
            _pieces_select(rule, cutoff, Document.id))))
    return result.rowcount, []


def _purge_appraisal_texts(rule, cutoff, today, dry_run):
    dossiers = _appraised_dossiers(rule, cutoff).subquery()
    if dry_run:
        rows = db.session.execute(sa.select(dossiers.c.numero).order_by(dossiers.c.numero)
                                  .limit(SAMPLE)).scalars().all()
        count = db.session.execute(sa.select(sa.func.count()).select_from(dossiers)).scalar_one()
        return count, [f"{n} (commentaires d'évaluation)" for n in rows]
    count = db.session.execute(sa.select(sa.func.count()).select_from(dossiers)).scalar_one()
    if not count:
        return 0, []
    db.session.execute(sa.insert(PurgeTrace).from_select(
        ["dispositif_id", "candidature_id", "classe", "element", "libelle", "purge_le", "regle"],
        sa.select(dossiers.c.dispositif_id, dossiers.c.id, sa.literal(rule.classe),
                  sa.literal("commentaires"),
                  sa.literal("Commentaires et observations des évaluateurs"),
                  sa.literal(today, sa.Date), sa.literal(rule.regle))))
    dossier_ids = sa.select(Candidature.id).where(_dossiers(rule, cutoff)).correlate(None)
    ev = Evaluation.__table__
    rc = ResultatCompetence.__table__
    db.session.execute(
        sa.update(rc).where(
            rc.c.evaluation_id.in_(sa.select(ev.c.id).where(ev.c.candidature_id.in_(dossier_ids))
                                   .correlate(None)),
            sa.or_(*[rc.c[n].isnot(None) for n in RESULT_TEXTS]))
        .values({n: None for n in RESULT_TEXTS}))
    db.session.execute(
        sa.update(ev).where(ev.c.candidature_id.in_(dossier_ids),
                            sa.or_(*[ev.c[n].isnot(None) for n in EVALUATION_TEXTS]))
        .values({n: None for n in EVALUATION_TEXTS}))
    return count, []


def _purge_issued(rule, cutoff, today, dry_run):
    if dry_run:
        rows = db.session.execute(_issued_select(rule, cutoff, DocumentEmis.numero)
                                  .order_by(DocumentEmis.numero).limit(SAMPLE)).scalars().all()
        count = db.session.execute(_issued_select(
            rule, cutoff, sa.func.count(DocumentEmis.id))).scalar_one()
        return count, list(rows)
    ids = [i for (i,) in db.session.execute(_issued_select(rule, cutoff, DocumentEmis.id))]
    if not ids:
        return 0, []
    db.session.execute(sa.insert(PurgeTrace).from_select(
        ["dispositif_id", "candidature_id", "document_emis_id", "classe", "element", "libelle",
         "purge_le", "regle"],
        sa.select(DocumentEmis.dispositif_id, DocumentEmis.candidature_id, DocumentEmis.id,
                  sa.literal(rule.classe), DocumentEmis.type, DocumentEmis.numero,
                  sa.literal(today, sa.Date), sa.literal(rule.regle))
        .where(DocumentEmis.id.in_(ids))))
    # Core UPDATE on purpose: the ORM event refusing changes to an issued document does not
    # apply to the legal end of its retention.
    table = DocumentEmis.__table__
    db.session.execute(sa.update(table).where(table.c.id.in_(ids))
                       .values(pdf=b"", donnees={}, titulaire=None))
    return len(ids), []


def _attribution_model():
    """The jury feature's AttributionCertification rows (R-DEC-3), when the model exists."""
    try:
        from app.models.jury import AttributionCertification
    except ImportError:
        return None
    return AttributionCertification if hasattr(AttributionCertification, "date_jury") else None


def _purge_attribution_rows(rule, cutoff, today, dry_run):
    """R-ARC-3: the attributions validated by the jury (certification, bloc, CQPI) after 20
    years; the certificate copy (42 years) remains the holder's proof."""
    model = _attribution_model()
    if model is None:
        return 0, []

    def select(*columns):
        return (sa.select(*columns).select_from(model)
                .join(Candidature, Candidature.id == model.candidature_id)
                .where(Candidature.dispositif_id == rule.dispositif_id,
                       model.date_jury <= cutoff).correlate(None))
    if dry_run:
        rows = db.session.execute(select(Candidature.numero).order_by(Candidature.numero)
                                  .limit(SAMPLE)).scalars().all()
        count = db.session.execute(select(sa.func.count(model.id))).scalar_one()
        return count, [f"{n} (attribution)" for n in rows]
    db.session.execute(sa.insert(PurgeTrace).from_select(
        ["dispositif_id", "candidature_id", "classe", "element", "libelle", "purge_le", "regle"],
        select(Candidature.dispositif_id, model.candidature_id, sa.literal(rule.classe),
               sa.literal("attribution_certification"), model.nature,
               sa.literal(today, sa.Date), sa.literal(rule.regle))))
    table = model.__table__
    result = db.session.execute(sa.delete(table).where(table.c.id.in_(select(model.id))))
    return result.rowcount, []


def _apply(rule, cutoff, today, dry_run):
    if rule.classe in ISSUED:
        count, refs = _purge_issued(rule, cutoff, today, dry_run)
        if rule.classe == "attribution":
            more, more_refs = _purge_attribution_rows(rule, cutoff, today, dry_run)
            count, refs = count + more, refs + more_refs
        return count, refs
    count, refs = _purge_pieces(rule, cutoff, today, dry_run)
    if rule.classe == "appreciations":
        more, more_refs = _purge_appraisal_texts(rule, cutoff, today, dry_run)
        count, refs = count + more, refs + more_refs
    return count, refs


def purge(today: dt.date | None = None, dry_run: bool = False, dispositif=None) -> PurgeReport:
    """Apply every dispositif's retention schedule as of `today` (R-ARC-1…3); the caller commits."""
    today = today or dt.date.today()
    dispositifs = [dispositif] if dispositif is not None else \
        db.session.query(Dispositif).order_by(Dispositif.code).all()
    ensure_rules(dispositifs)
    db.session.flush()
    report = PurgeReport(today, dry_run)
    order = {c: i for i, c in enumerate(CLASSES.codes)}
    for d in dispositifs:
        rules = db.session.query(RetentionRule).filter(
            RetentionRule.dispositif_id == d.id, RetentionRule.duree_mois.isnot(None)).all()
        for rule in sorted(rules, key=lambda r: (order[r.classe], r.issue)):
            cutoff = add_months(today, -rule.duree_mois)
            count, refs = _apply(rule, cutoff, today, dry_run)
            if not count:
                continue
            report.lines.append(PurgeLine(d.code, rule.classe, rule.issue, rule.regle, count, refs))
            db.session.add(PurgeLog(dispositif_id=d.id, date_reference=today, classe=rule.classe,
                                    issue=rule.issue, nombre=count, dry_run=dry_run,
                                    regle=rule.regle))
    db.session.flush()
    if not dry_run:
        db.session.expire_all()  # the bulk statements bypassed the identity map
    return report


# -- what the dossier shows ------------------------------------------------------------------------
def traces_for(candidature_id: int) -> list[PurgeTrace]:
    """What was removed from a dossier and when (tombstones), newest first."""
    return (db.session.query(PurgeTrace).filter(PurgeTrace.candidature_id == candidature_id)
            .order_by(PurgeTrace.purge_le.desc(), PurgeTrace.id).all())

