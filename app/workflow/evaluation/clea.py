"""CléA evaluations (R-EVA-5..7): évaluation préalable then finale(s) on the 28 sub-domains, saved
and resumed, finalised (Validé iff 28/28), reopened by an administrateur organisme or above; the
formations recorded in between. Re-exported by app/workflow/evaluation/common.py."""
import re
from decimal import Decimal, InvalidOperation

from app.errors import RuleViolation
from app.extensions import db
from app.models import Bloc
from app.models.base import today, utcnow
from app.models.candidature import Candidature
from app.models.evaluation import Evaluation, Formation
from app.security.perimeter import Perimetre
from app.workflow.dossier.candidats import parse_date
from app.workflow.engine import check, precondition, record, set_status
from app.workflow.evaluation.common import (
    apply_results,
    ensure_all_entered,
    evaluation_of,
    evaluations_of,
    in_progress,
    latest,
    mark_finalised,
    new_evaluation,
    refresh_grid,
)

# an address with a domain that has a dot (« alice@example » is not one)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")


def formation_between(c: Candidature, after: Evaluation) -> Formation | None:
    """R-EVA-6: a formation with an attendance certificate recorded after `after`."""
    for f in c.formations:
        if after.date_evaluation and f.date_debut >= after.date_evaluation and f.attestation:
            return f
    return None


@precondition("start_evaluation")
def _may_start(p, c):
    if in_progress(c) is not None:
        raise RuleViolation("Une évaluation est déjà en cours : continuez-la.", "R-EVA-5")
    last = latest(c, finalised_only=True)
    if last is not None and last.resultat != "valide" and formation_between(c, last) is None:
        raise RuleViolation("Vous devez fournir une formation ainsi qu'une attestation de formation "
                            "dans l'onglet « Formations » entre chaque évaluation.", "R-EVA-6")


def _evaluator_fields(ev, data):
    for key in ("evaluateur_nom", "evaluateur_prenom", "evaluateur_email", "conclusion",
                "commentaire"):
        if key in data and data[key] is not None:
            setattr(ev, key, (data[key] or "").strip() or None)
    email = ev.evaluateur_email or ""
    if email and not _EMAIL.fullmatch(email):
        raise RuleViolation("Adresse e-mail de l'évaluateur invalide (exemple : "
                            "prenom.nom@organisme.fr).", "R-EVA-5", field="evaluateur_email")
    if data.get("date_evaluation") not in (None, ""):
        ev.date_evaluation = parse_date(data["date_evaluation"], "date_evaluation")


def start_evaluation(p: Perimetre, c: Candidature, **data) -> Evaluation:
    """CléA: the préalable first, then finale(s) (R-EVA-6)."""
    check(p, c, "start_evaluation")
    type_ = "finale" if latest(c, finalised_only=True) is not None else "prealable"
    ev = new_evaluation(c, type_)
    _evaluator_fields(ev, data)
    db.session.flush()
    record(p, c, "start_evaluation", f"{ev.type_label} créée")
    return ev


@precondition("save_evaluation", "finalize_evaluation")
def _has_open_evaluation(p, c):
    if in_progress(c) is None:
        raise RuleViolation("Aucune évaluation en cours : ajoutez une évaluation.", "R-EVA-5")


def save_evaluation(p: Perimetre, c: Candidature, evaluation=None, resultats=None, **data):
    """« Enregistrer et reprendre plus tard » (R-EVA-5)."""
    check(p, c, "save_evaluation")
    ev = evaluation_of(c, evaluation)
    if ev.finalisee:
        raise RuleViolation("Cette évaluation est finalisée : seul un administrateur organisme ou "
                            "au-delà peut la rouvrir.", "R-EVA-5")
    refresh_grid(ev)
    apply_results(ev, resultats)
    _evaluator_fields(ev, data)
    return ev


def finalize_evaluation(p: Perimetre, c: Candidature, evaluation=None, resultats=None, **data):
    """R-EVA-5: Validé iff every sub-domain is acquis; moves the dossier on (R-WF-2)."""
    check(p, c, "finalize_evaluation")
    ev = save_evaluation(p, c, evaluation, resultats, **data)
    ensure_all_entered(ev, "R-EVA-5")
    for key, label in (("date_evaluation", "la date d'évaluation"), ("evaluateur_nom", ("le nom de "
                       "l'évaluateur")), ("evaluateur_prenom", "le prénom de l'évaluateur"),
                       ("evaluateur_email", "l'e-mail de l'évaluateur")):
        if not getattr(ev, key):
            raise RuleViolation(f"Renseignez {label}.", "R-EVA-5", field=key)
    if ev.date_evaluation > today():
        raise RuleViolation("La date d'évaluation ne peut pas être dans le futur.", "R-EVA-5",
                            field="date_evaluation")
    previous = [e for e in evaluations_of(c) if e.finalisee and e.id != ev.id]
    if previous and previous[-1].date_evaluation and ev.date_evaluation < previous[-1].date_evaluation:
        raise RuleViolation("Cette évaluation ne peut pas précéder la précédente.", "R-EVA-6",
                            field="date_evaluation")
    if not any(d.type_piece == "matrice_evaluation" for d in ev.documents):
        raise RuleViolation("Déposez la matrice d'évaluation complétée avant de finaliser.", "R-EVA-5")
    acquis, _, total = ev.compte()
    resultat = "valide" if acquis == total else "non_valide"
    ev.statut_dossier_avant = c.statut
    mark_finalised(p, ev, resultat)
    target = "en_attente_envoi_certification" if resultat == "valide" else "en_attente_evaluation_finale"
    set_status(p, c, "finalize_evaluation", target,
               f"{acquis}/{total} sous-domaines acquis",
               libelle=f"{ev.type_label} finalisée : {ev.resultat_label}")
    return ev


@precondition("reopen_evaluation")
def _reopenable(p, c):
    ev = latest(c)
    if ev is None or not ev.finalisee:
        raise RuleViolation("Aucune évaluation finalisée à rouvrir.", "R-EVA-5")


def reopen_evaluation(p: Perimetre, c: Candidature, **_) -> Evaluation:
    """R-EVA-5: an Administrateur organisme or above reopens the latest finalised evaluation."""
    move = check(p, c, "reopen_evaluation")
    ev = latest(c)
    ev.statut, ev.resultat, ev.finalisee_le = "en_cours", None, None
    ev.rouverte_le, ev.rouverte_par_id = utcnow(), p.user_id
    label = f"{ev.type_label} rouverte"
    if move.targets:
        target = ev.statut_dossier_avant or ("en_attente_evaluation_prealable"
                                             if ev.type == "prealable" else "en_attente_evaluation_finale")
        set_status(p, c, "reopen_evaluation", target, libelle=label)
    else:
        record(p, c, "reopen_evaluation", label)
    return ev


@precondition("send_to_certification")
def _validated_evaluation(p, c):
    """R-EVA-6: sending is possible only from a Validé evaluation."""
    last = latest(c)
    if last is None or not last.finalisee or last.resultat != "valide":
        raise RuleViolation("L'envoi en certification n'est possible que depuis une évaluation "
                            "Validée (28 sous-domaines acquis).", "R-EVA-6")


def add_formation(p: Perimetre, c: Candidature, intitule=None, date_debut=None, date_fin=None,
                  duree_heures=None, domaines=(), organisme_formation=None, commentaire=None,
                  **_) -> Formation:
    """R-EVA-7: domains covered, dates, hours; proofs are attached as documents."""
    check(p, c, "add_formation")
    intitule = (intitule or "").strip()
    if not intitule:
        raise RuleViolation("Indiquez l'intitulé de la formation.", "R-EVA-7", field="intitule")
    start, end = parse_date(date_debut, "date_debut"), parse_date(date_fin, "date_fin")
    if start is None or end is None:
        raise RuleViolation("Indiquez les dates de début et de fin.", "R-EVA-7",
                            field="date_debut" if start is None else "date_fin")
    if end < start:
        raise RuleViolation("La date de fin doit suivre la date de début.", "R-EVA-7", field="date_fin")
    last = latest(c, finalised_only=True)
    if last is not None and last.date_evaluation and start < last.date_evaluation:
        # R-EVA-6: only a formation after the last evaluation opens the next one (formation_between)
        raise RuleViolation(f"La formation commence après la dernière évaluation (du "
                            f"{last.date_evaluation:%d/%m/%Y}) : c'est elle qui prépare la "
                            "suivante.", "R-EVA-6", field="date_debut")
    try:
        hours = Decimal(str(duree_heures).replace(",", "."))
    except (InvalidOperation, TypeError):
        raise RuleViolation("Durée en heures invalide.", "R-EVA-7", field="duree_heures")
    if hours <= 0 or hours > ((end - start).days + 1) * 24:
        raise RuleViolation("La durée doit être positive et tenir entre les deux dates.", "R-EVA-7",
                            field="duree_heures")
    ids = {int(x) for x in (domaines or []) if str(x).strip()}
    blocs = db.session.query(Bloc).filter(Bloc.id.in_(ids or [0]),
                                          Bloc.certification_id == c.certification_id).all()
    if not blocs or len(blocs) != len(ids):
        raise RuleViolation("Choisissez le ou les domaines travaillés.", "R-EVA-7", field="domaines")
    f = Formation(candidature=c, intitule=intitule, date_debut=start, date_fin=end,
                  duree_heures=hours, domaines=blocs,
                  organisme_formation=(organisme_formation or "").strip() or None,
                  commentaire=(commentaire or "").strip() or None, created_by_id=p.user_id)
    db.session.add(f)
    db.session.flush()
    record(p, c, "add_formation", f"Formation ajoutée : {intitule}",
           f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}, {hours} h")
    return f


