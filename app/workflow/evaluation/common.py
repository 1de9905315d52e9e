"""What the evaluations of the three schemes share (R-EVA-1..8, R-CAN-9): the grid of competences
to evaluate (earlier acquisitions applied), entering and finalising results, the habilitation
and evaluator-input preconditions, accommodations.

Each scheme's own verbs are in its module: chimie.py (évaluateur habilité and métier), clea.py
(préalable, finale(s), formations), commission.py (metallurgy's commission d'évaluation).
"""

from dateutil.relativedelta import relativedelta

from app.errors import RuleViolation
from app.extensions import db
from app.models.base import today, utcnow
from app.models.candidature import Candidature, cle
from app.models.evaluation import (
    NATURES_AMENAGEMENT,
    Amenagement,
    Evaluation,
    ResultatCompetence,
)
from app.security.perimeter import Perimetre
from app.workflow.engine import (
    ORG,
    check,
    precondition,
    record,
    workflow_of,
)
from app.workflow.habilitations import ensure_habilitated
from app.workflow.jury.acquis import acquis_valides

CLEA_EVALUATION_VERBS = ("start_evaluation", "save_evaluation", "finalize_evaluation",
                         "add_formation", "upload_evaluation_document", "open_evaluation",
                         "enter_commission_results")


def evaluations_of(c: Candidature):
    return sorted(c.evaluations, key=lambda e: e.id)


def latest(c: Candidature, finalised_only=False) -> Evaluation | None:
    rows = [e for e in evaluations_of(c) if e.finalisee or not finalised_only]
    return rows[-1] if rows else None


def in_progress(c: Candidature) -> Evaluation | None:
    return next((e for e in evaluations_of(c) if e.statut == "en_cours"), None)


def evaluation_of(c: Candidature, evaluation) -> Evaluation:
    if isinstance(evaluation, Evaluation):
        ev = evaluation
    elif evaluation in (None, ""):
        ev = in_progress(c)
    else:
        ev = db.session.get(Evaluation, int(evaluation)) if str(evaluation).isdigit() else None
    if ev is None or ev.candidature_id != c.id:
        raise RuleViolation("Aucune évaluation en cours pour ce dossier.", "R-EVA-5")
    return ev


# --- R-HAB-2: no evaluation or formation work without a valid habilitation ------------------------
@precondition(*CLEA_EVALUATION_VERBS, "reopen_evaluation")
def _habilitated(p, c):
    if p.role in ORG and c.etablissement_id is not None:
        ensure_habilitated(c.etablissement, c.dispositif)


# --- what is evaluated (R-CAN-9) -------------------------------------------------------------------
def _key(competence) -> tuple:
    return (competence.code or "").upper(), cle(competence.intitule)


def acquis_anterieurs(c: Candidature) -> dict:
    """Competences the candidate acquired in an earlier dossier of the dispositif (validated or
    partial, benefit still running, R-DEC-2): {code or normalised title: source}."""
    found = {}
    others = [o for o in c.candidat.candidatures
              if o.id != c.id and o.dispositif_id == c.dispositif_id and o.statut in ("valide", "partiel")]
    for other in others:
        months = other.dispositif.duree_acquis_mois
        if other.parcours == "1" and months and other.decide_le and \
                other.decide_le + relativedelta(months=months) < today():
            continue
        ev = latest(other, finalised_only=True)
        for r in (ev.resultats if ev else []):
            if r.acquis:
                source = f"{other.certification.code} (dossier {other.numero})"
                code, title = _key(r.competence)
                found.setdefault(code, source)
                found.setdefault(title, source)
    # R-DEC-2: what a jury declared acquired (partial results included), while the benefit lasts;
    # the jury is sovereign (R-JUR-8), so its record is the source shown.
    found.update(acquis_valides(c))
    return found


def competences_a_evaluer(c: Candidature) -> list[tuple]:
    """R-CAN-9: (competence, pre-acquired source or None). A CQPI holder is evaluated only on the
    branch-specific competences; those acquired through another CQP of the branch come acquired."""
    comps = list(c.certification.competences)
    if c.cqpi_detenu_id:
        comps = [x for x in comps if x.specifique_branche]
    earlier = acquis_anterieurs(c)
    out = []
    for comp in comps:
        code, title = _key(comp)
        out.append((comp, earlier.get(code) or earlier.get(title)))
    return out


def empty_grid_reason(c: Candidature) -> str | None:
    """Why no evaluation of `c` can be opened: its référentiel gives it no competence to evaluate
    (none entered yet, or, for a CQPI holder, no branch-specific one, R-CAN-9)."""
    comps = c.certification.competences
    cert = f"{c.certification.code} — {c.certification.intitule}"
    if not comps:
        return (f"Le référentiel de la certification « {cert} » ne contient encore aucune "
                "compétence : l'évaluation ne peut pas être ouverte. Le secrétariat du dispositif "
                "doit d'abord saisir ses compétences (menu Référentiels).")
    if c.cqpi_detenu_id and not any(x.specifique_branche for x in comps):
        return (f"Le référentiel de la certification « {cert} » ne désigne aucune compétence "
                "spécifique à la branche : le titulaire d'un CQPI n'a rien à y faire évaluer. Le "
                "secrétariat du dispositif doit d'abord compléter le référentiel.")
    return None


@precondition("confirm_evaluator", "start_evaluation", "open_evaluation")
def _grid_not_empty(p, c):
    """An evaluation needs competences to evaluate: never a « Validé 0 / 0 » (R-EVA-4)."""
    reason = empty_grid_reason(c)
    if reason:
        raise RuleViolation(reason, "R-EVA-4")


def refresh_grid(ev: Evaluation) -> list:
    """Competences added to the référentiel after `ev` opened join its grid while it is open
    (a finalised evaluation keeps the grid it was decided on). Returns the rows added."""
    if ev.finalisee:
        return []
    present = {r.competence_id for r in ev.resultats}
    missing = [(comp, source) for comp, source in competences_a_evaluer(ev.candidature)
               if comp.id not in present]
    ordre = max((r.ordre or 0 for r in ev.resultats), default=-1)
    added = []
    for comp, source in missing:
        ordre += 1
        row = ResultatCompetence(competence=comp, ordre=ordre, acquis=True if source else None,
                                 pre_acquis=bool(source), source=source)
        ev.resultats.append(row)
        added.append(row)
    return added


def new_evaluation(c: Candidature, type_, **values) -> Evaluation:
    items = competences_a_evaluer(c)  # queried before the new rows exist (no early autoflush)
    ev = Evaluation(type=type_, statut="en_cours", **values)
    db.session.add(ev)
    ev.candidature = c
    for ordre, (comp, source) in enumerate(items):
        ev.resultats.append(ResultatCompetence(competence=comp, ordre=ordre,
                                               acquis=True if source else None,
                                               pre_acquis=bool(source), source=source))
    return ev


def apply_results(ev: Evaluation, resultats: dict | None, metier=False):
    """resultats: {competence_id: {"acquis": bool|None, "commentaire": str}} (ids may be str)."""
    if not resultats:
        return
    rows = {r.competence_id: r for r in ev.resultats}
    for key, value in resultats.items():
        row = rows.get(int(key)) if str(key).isdigit() else None
        if row is None:
            raise RuleViolation("Compétence hors du référentiel de ce dossier.", "R-EVA-3")
        if row.pre_acquis:
            continue  # R-CAN-9: not evaluated again
        value = value if isinstance(value, dict) else {"acquis": value}
        if metier:
            row.observation_metier = (value.get("observation") or "").strip() or None
            continue
        if "acquis" in value:
            acquis = value["acquis"]
            if isinstance(acquis, str):
                acquis = {"1": True, "true": True, "acquis": True, "0": False, "false": False,
                          "non_acquis": False}.get(acquis.strip().lower())
            row.acquis = acquis
        if "commentaire" in value:
            row.commentaire = (value.get("commentaire") or "").strip() or None


def proposition(ev: Evaluation) -> str:
    """R-EVA-4 / R-DEC-1: all acquired → valide; none → non_valide; otherwise partiel."""
    acquis, _, total = ev.compte()
    return "valide" if acquis == total > 0 else ("non_valide" if acquis == 0 else "partiel")


def ensure_all_entered(ev: Evaluation, rule: str):
    refresh_grid(ev)
    if not ev.resultats:  # R-EVA-4: nothing evaluated is nothing acquired, never « 0 / 0 validé »
        raise RuleViolation("Cette évaluation ne porte sur aucune compétence : elle ne peut pas "
                            "être finalisée. " + (empty_grid_reason(ev.candidature) or ""),
                            "R-EVA-4")
    missing = [r for r in ev.resultats if r.acquis is None]
    if missing:
        raise RuleViolation(f"{len(missing)} compétence(s) sans résultat, dont « "
                            f"{missing[0].competence.intitule} ».", rule, field="grille")


def mark_finalised(p, ev: Evaluation, resultat: str):
    ev.statut, ev.resultat = "finalisee", resultat
    ev.finalisee_le, ev.finalisee_par_id = utcnow(), p.user_id


@precondition("upload_evaluation_document")
def _evaluation_being_entered(p, c):
    ev = latest(c)
    if ev is None or ev.finalisee:
        raise RuleViolation("Aucune évaluation en cours de saisie.", "R-EVA-3")


def has_outil4(c: Candidature) -> bool:
    return any(d.type_piece == "guide_evaluation" for d in c.documents)


@precondition("submit_to_jury")
def _evaluation_done(p, c):
    """R-WF-1 / R-JUR-2: every evaluator input is in before the jury."""
    wf = workflow_of(c)
    ev = latest(c)
    if wf.key == "competences":
        if ev is None or not ev.finalisee:
            raise RuleViolation("L'évaluateur habilité n'a pas finalisé ses résultats.", "R-EVA-3")
        if ev.metier_termine_le is None:
            raise RuleViolation("L'évaluateur métier n'a pas saisi ses observations.", "R-EVA-1")
        if not has_outil4(c):
            raise RuleViolation("Le guide d'évaluation (outil n°4) manque.", "R-EVA-3")
    elif wf.key == "blocs" and (ev is None or not ev.finalisee):
        raise RuleViolation("Les résultats de la commission d'évaluation ne sont pas finalisés.",
                            "R-EVA-8")



# --- accommodations (R-EVA-8) -----------------------------------------------------------------------
def add_amenagement(p: Perimetre, c: Candidature, nature=None, description=None, **_):
    """R-EVA-8: a reasonable accommodation for a disabled candidate (e.g. extra time)."""
    check(p, c, "add_amenagement")
    if nature not in NATURES_AMENAGEMENT.codes:
        raise RuleViolation("Choisissez la nature de l'aménagement.", "R-EVA-8", field="nature")
    description = (description or "").strip()
    if not description:
        raise RuleViolation("Décrivez l'aménagement (par exemple : tiers-temps).", "R-EVA-8",
                            field="description")
    row = Amenagement(candidature=c, nature=nature, description=description,
                      created_by_id=p.user_id)
    db.session.add(row)
    record(p, c, "add_amenagement", f"Aménagement : {NATURES_AMENAGEMENT.label(nature)}",
           description)
    return row
