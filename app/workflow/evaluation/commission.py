"""Metallurgy: the commission d'évaluation's results per competence grouped by bloc, and the
company's opinion where it applies (R-EVA-8, R-CAN-3). Re-exported by app/workflow/evaluation/common.py."""
from app.errors import RuleViolation
from app.models.base import today, utcnow
from app.models.candidature import Candidature
from app.models.evaluation import AVIS_ENTREPRISE, Evaluation
from app.security.perimeter import Perimetre
from app.workflow.dossier.candidats import parse_bool, parse_date
from app.workflow.engine import check, precondition, record, set_status
from app.workflow.evaluation.common import (
    apply_results,
    ensure_all_entered,
    latest,
    mark_finalised,
    new_evaluation,
    proposition,
    refresh_grid,
)


def avis_entreprise_requis(c: Candidature) -> bool:
    """The company's opinion applies unless VAE, CCPM/CCPI, employee-initiated, or no company."""
    return (c.entreprise_id is not None and not c.vae and not c.initiative_salarie
            and c.certification.type not in ("CCPM", "CCPI"))


def open_evaluation(p: Perimetre, c: Candidature, date_evaluation=None, **_) -> Evaluation:
    """Metallurgy: inscription → évaluation, with one row per competence of the referential."""
    check(p, c, "open_evaluation")
    ev = new_evaluation(c, "commission", date_evaluation=parse_date(date_evaluation, "date_evaluation"))
    set_status(p, c, "open_evaluation", "evaluation")
    return ev


@precondition("enter_commission_results")
def _commission_open(p, c):
    ev = latest(c)
    if ev is None or ev.finalisee:
        raise RuleViolation("Aucune évaluation de commission en cours.", "R-EVA-8")


def record_commission_results(p: Perimetre, c: Candidature, resultats=None, date_evaluation=None,
                              avis_entreprise=None, avis_entreprise_commentaire=None,
                              commentaire=None, finalise=False, **_) -> Evaluation:
    """Results of the commission d'évaluation per competence, the company's opinion."""
    check(p, c, "enter_commission_results")
    ev = latest(c)
    refresh_grid(ev)
    apply_results(ev, resultats)
    if date_evaluation not in (None, ""):
        ev.date_evaluation = parse_date(date_evaluation, "date_evaluation")
    if avis_entreprise not in (None, ""):
        if avis_entreprise not in AVIS_ENTREPRISE.codes:
            raise RuleViolation("Avis de l'entreprise inconnu.", "R-CAN-3", field="avis_entreprise")
        ev.avis_entreprise = avis_entreprise
    if avis_entreprise_commentaire is not None:
        ev.avis_entreprise_commentaire = (avis_entreprise_commentaire or "").strip() or None
    if commentaire is not None:
        ev.commentaire = (commentaire or "").strip() or None
    ev.resultats_saisis_le = ev.resultats_saisis_le or utcnow()
    if parse_bool(finalise):
        ensure_all_entered(ev, "R-EVA-4")
        # A date emptied in the form is not replaced by the one saved before.
        if ev.date_evaluation is None or date_evaluation == "":
            raise RuleViolation("Indiquez la date de la commission.", "R-EVA-8", field="date_evaluation")
        if ev.date_evaluation > today():  # R-EVA-2: results exist once the commission has met
            raise RuleViolation(f"La commission se réunit le {ev.date_evaluation:%d/%m/%Y} : ses "
                                "résultats se finalisent à partir de ce jour.", "R-EVA-2",
                                field="date_evaluation")
        if avis_entreprise_requis(c) and not ev.avis_entreprise:
            raise RuleViolation("Recueillez l'avis de l'entreprise.", "R-CAN-3", field="avis_entreprise")
        mark_finalised(p, ev, proposition(ev))
        record(p, c, "enter_commission_results",
               f"Résultats de la commission finalisés ({ev.resultat_label})")
    return ev


def blocs_acquis(ev: Evaluation) -> list[tuple]:
    """(bloc, [results], acquired) grouped by bloc, in the referential's order."""
    groups = {}
    for r in ev.resultats:
        groups.setdefault(r.competence.bloc, []).append(r)
    out = []
    for bloc, rows in sorted(groups.items(), key=lambda kv: (kv[0].ordre if kv[0] else 9999)):
        out.append((bloc, rows, all(r.acquis for r in rows)))
    return out
