"""Abandon (R-CAN-7): declared by a user with a reason, or automatic when the évaluation préalable
is too old (`flask candidatures abandon-stale`); an abandoned dossier is listed apart, exported over
30 days, and can be reinstated where it stood."""
from datetime import date, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from app.errors import RuleViolation
from app.extensions import db
from app.models.base import today, utcnow
from app.models.candidature import MOTIFS_ABANDON, Candidature
from app.models.evaluation import Evaluation
from app.security.perimeter import Perimetre
from app.workflow.dossier.candidatures import ensure_no_duplicate
from app.workflow.engine import (
    SYSTEM,
    WORKFLOWS,
    check,
    dossier_link,
    holders,
    precondition,
    set_status,
    workflow_of,
)
from app.workflow.notifications import notify


def declare_abandon(p: Perimetre, c: Candidature, motif=None, precision=None, **_):
    """A user declares an abandon with a reason (R-CAN-7)."""
    check(p, c, "declare_abandon")
    if motif not in MOTIFS_ABANDON.codes or motif == "automatique":
        raise RuleViolation("Choisissez le motif de l'abandon.", "R-CAN-7", field="motif")
    precision = (precision or "").strip() or None
    if motif == "autre" and not precision:
        raise RuleViolation("Précisez le motif.", "R-CAN-7", field="precision")
    _abandon(p, c, "declare_abandon", motif, precision, auto=False)


def _abandon(p, c, verb_name, motif, precision, auto):
    c.statut_avant_abandon = c.statut
    c.abandon_motif, c.abandon_precision = motif, precision
    c.abandonne_le, c.abandon_auto = utcnow(), auto
    set_status(p, c, verb_name, "abandonnee",
               MOTIFS_ABANDON.label(motif) + (f" — {precision}" if precision else ""))


@precondition("reinstate")
def _reinstate_possible(p, c):
    ensure_no_duplicate(c.candidat_id, c.certification_id, exclude_id=c.id)


def reinstate(p: Perimetre, c: Candidature, commentaire=None, **_):
    """R-CAN-7: an abandoned dossier is reinstated where it stood."""
    move = check(p, c, "reinstate")
    target = c.statut_avant_abandon if c.statut_avant_abandon in move.targets \
        else workflow_of(c).initial
    set_status(p, c, "reinstate", target, commentaire)
    c.abandon_motif = c.abandon_precision = c.abandonne_le = c.statut_avant_abandon = None
    c.abandon_auto = False


def abandon_stale(on: date | None = None) -> int:
    """`flask candidatures abandon-stale`: abandon the dossiers whose évaluation préalable was
    recorded more than `delai_abandon_annees` years ago (R-CAN-7). Idempotent."""
    day = on or today()
    count = 0
    for wf in WORKFLOWS.values():
        move = wf.moves.get("auto_abandon")
        if move is None:
            continue
        from app.models import Dispositif
        for dispositif in db.session.query(Dispositif).filter(
                Dispositif.structure_evaluation == wf.key):
            cutoff = day - relativedelta(years=dispositif.delai_abandon_annees)
            prealable = sa.select(Evaluation.id).where(
                Evaluation.candidature_id == Candidature.id, Evaluation.type == "prealable",
                Evaluation.created_on < cutoff)
            stale = (db.session.query(Candidature)
                     .filter(Candidature.dispositif_id == dispositif.id,
                             Candidature.statut.in_(move.sources), prealable.exists())
                     .order_by(Candidature.id).all())
            for c in stale:
                _abandon(SYSTEM, c, "auto_abandon", "automatique", None, auto=True)
                notify(holders(c), "dossier_candidature", f"Dossier {c.numero} abandonné",
                       f"Évaluation préalable de plus de {dispositif.delai_abandon_annees} ans : "
                       "le dossier est classé abandonné. Il peut être réintégré.", dossier_link(c))
                count += 1
    db.session.commit()
    return count


def abandoned_since(days: int = 30, on: date | None = None):
    """R-CAN-7: the dossiers abandoned during the last `days` days (export)."""
    since = (on or today()) - timedelta(days=days)
    return (Candidature.statut == "abandonnee", Candidature.abandonne_le >= since)
