"""Chimie evaluations (R-EVA-1..4): one evaluation of the CQP's competences by the évaluateur
habilité, who first invites the évaluateur métier (signed single-use link, no account), enters
results within the window after the evaluation day, and uploads outil n°4; the employer is told
when both have written."""
from datetime import date, timedelta

from flask import current_app

from app.errors import RuleViolation
from app.extensions import db
from app.models.base import today, utcnow
from app.models.candidature import Candidature
from app.models.evaluation import Evaluation, InvitationMetier
from app.security import tokens
from app.security.perimeter import Perimetre
from app.workflow.dossier.candidats import parse_bool, parse_date
from app.workflow.engine import EMP, SEC, check, dossier_link, holders, precondition, record
from app.workflow.evaluation.common import (
    apply_results,
    ensure_all_entered,
    has_outil4,
    latest,
    mark_finalised,
    new_evaluation,
    proposition,
    refresh_grid,
)
from app.workflow.mail import send_mail
from app.workflow.notifications import notify

METIER_PURPOSE = "metier"


def _max_age() -> int:
    return int(current_app.config.get("METIER_INVITATION_MAX_AGE", 14 * 86400))


# --- chimie (R-EVA-1..4) -----------------------------------------------------------------------------
def create_skills_evaluation(c: Candidature, evaluateur_user, day: date | None) -> Evaluation:
    """Called when the evaluator is confirmed: the competences to evaluate, R-CAN-9 applied."""
    return new_evaluation(c, "unique", evaluateur_id=evaluateur_user.id, date_evaluation=day)


def _chimie_evaluation(c) -> Evaluation:
    ev = latest(c)
    if ev is None or ev.type != "unique":
        raise RuleViolation("L'évaluation de ce dossier n'est pas ouverte.", "R-WF-1")
    return ev


@precondition("plan_evaluation")
def _not_started(p, c):
    """R-EVA-2: the date opens the results window; once the evaluation day has passed, moving
    it would reopen a closed window, so only the secretariat corrects it, with a reason."""
    ev = _chimie_evaluation(c)
    if ev.resultats_saisis_le is not None:
        raise RuleViolation("Des résultats sont saisis : la date de l'évaluation ne change plus.",
                            "R-EVA-2")
    if p.role != SEC and ev.date_evaluation is not None and today() > ev.date_evaluation:
        raise RuleViolation(f"Le jour de l'évaluation ({ev.date_evaluation:%d/%m/%Y}) est passé : "
                            "seul le secrétariat du dispositif peut en changer la date, motif à "
                            "l'appui.", "R-EVA-2")


def plan_evaluation(p: Perimetre, c: Candidature, date_evaluation=None, motif=None, **_):
    """Fix the day of the evaluation (the results window starts that day, R-EVA-2). The employer
    and the evaluator plan or postpone it (today or later) before the day; afterwards only the
    secretariat corrects it. A change of a set date states its reason; each change is in the
    dossier's history."""
    check(p, c, "plan_evaluation")
    day = parse_date(date_evaluation, "date_evaluation")
    if day is None:
        raise RuleViolation("Indiquez la date de l'évaluation.", "R-EVA-2", field="date_evaluation")
    ev = _chimie_evaluation(c)
    if p.role != SEC and day < today():
        raise RuleViolation("La date de l'évaluation se fixe à aujourd'hui ou plus tard. Pour "
                            "enregistrer une date passée, adressez-vous au secrétariat du "
                            "dispositif.", "R-EVA-2", field="date_evaluation")
    motif = (motif or "").strip()
    before = ev.date_evaluation
    if before is not None and day == before:
        raise RuleViolation(f"L'évaluation est déjà fixée au {day:%d/%m/%Y}.", "R-EVA-2",
                            field="date_evaluation")
    if before is not None and not motif:
        raise RuleViolation("Indiquez le motif du changement de date.", "R-EVA-2", field="motif")
    ev.date_evaluation = day
    change = f"{before:%d/%m/%Y} → {day:%d/%m/%Y}" if before else f"{day:%d/%m/%Y}"
    record(p, c, "plan_evaluation", f"Date d'évaluation : {change}", motif or None)


@precondition("invite_metier")
def _open_evaluation(p, c):
    if _chimie_evaluation(c).finalisee:
        raise RuleViolation("Les résultats sont finalisés.", "R-EVA-1")


def invite_metier_evaluator(p: Perimetre, c: Candidature, nom=None, prenom=None, email=None,
                            fonction=None, **_) -> InvitationMetier:
    """R-EVA-1: e-mail the évaluateur métier a signed, expiring, single-use link (R-NOT-3).
    A new invitation replaces the previous links."""
    check(p, c, "invite_metier")
    nom, prenom, email = (nom or "").strip(), (prenom or "").strip(), (email or "").strip().lower()
    if not nom or not prenom:
        raise RuleViolation("Indiquez le nom et le prénom de l'évaluateur métier.", "R-EVA-1",
                            field="nom" if not nom else "prenom")
    if "@" not in email or "." not in email.split("@")[-1]:
        raise RuleViolation("Adresse e-mail invalide.", "R-EVA-1", field="email")
    ev = _chimie_evaluation(c)
    now = utcnow()
    for old in ev.invitations:
        if old.utilisee_le is None:
            old.nonce = tokens.new_nonce()  # older links stop working
            old.expire_le = now
    inv = InvitationMetier(evaluation=ev, nom=nom, prenom=prenom, email=email,
                           fonction=(fonction or "").strip() or None, nonce=tokens.new_nonce(),
                           envoyee_le=now, expire_le=now + timedelta(seconds=_max_age()),
                           created_by_id=p.user_id)
    db.session.add(inv)
    db.session.flush()
    link = f"/evaluation-metier/{tokens.make_token(METIER_PURPOSE, inv.id, inv.nonce)}"
    send_mail(email, "candidature_invitation_metier", c=c, invitation=inv, lien=link,
              jours=_max_age() // 86400)
    record(p, c, "invite_metier", f"Évaluateur métier invité : {prenom} {nom}", email)
    return inv


def invitation_for_token(token: str) -> InvitationMetier:
    """The invitation a métier link designates, if it is still usable (R-EVA-1)."""
    inv_id, nonce = tokens.read_token(METIER_PURPOSE, token, _max_age())
    inv = db.session.get(InvitationMetier, inv_id)
    if inv is None or inv.nonce != nonce or inv.utilisee_le is not None:
        raise RuleViolation("Ce lien a déjà été utilisé ou a été remplacé par une nouvelle "
                            "invitation.", "R-EVA-1")
    if inv.expire_le is not None and inv.expire_le < utcnow():
        raise RuleViolation("Ce lien a expiré. Demandez une nouvelle invitation à l'évaluateur "
                            "habilité.", "R-EVA-1")
    c = inv.evaluation.candidature
    if c.statut != "en_attente_evaluation":
        raise RuleViolation("L'évaluation de ce dossier est close.", "R-EVA-1")
    return inv


def record_metier_observations(token: str, observations: dict, commentaire=None):
    """The évaluateur métier's observations per competence, from the link (no account)."""
    inv = invitation_for_token(token)
    ev = inv.evaluation
    texts = {int(k): (v or "").strip() for k, v in (observations or {}).items()}
    if not any(texts.values()) and not (commentaire or "").strip():
        raise RuleViolation("Saisissez au moins une observation.", "R-EVA-1", field="commentaire")
    apply_results(ev, {k: {"observation": v} for k, v in texts.items()}, metier=True)
    ev.observations_metier = (commentaire or "").strip() or None
    ev.metier_termine_le = utcnow()
    inv.utilisee_le, inv.nonce = utcnow(), tokens.new_nonce()
    c = ev.candidature
    record(None, c, "metier_observations", "Observations de l'évaluateur métier saisies",
           auteur=f"{inv.prenom} {inv.nom} (évaluateur métier)")
    _tell_company_if_both_done(ev)
    return ev


@precondition("enter_results")
def _may_enter_results(p, c):
    ev = _chimie_evaluation(c)
    if ev.finalisee:
        raise RuleViolation("Les résultats sont finalisés.", "R-EVA-3")
    if not ev.invitation_envoyee:  # R-EVA-1
        raise RuleViolation("Invitez d'abord l'évaluateur métier : il doit être invité avant la "
                            "saisie de vos résultats.", "R-EVA-1")
    if ev.date_evaluation is None:
        raise RuleViolation("Indiquez d'abord la date de l'évaluation.", "R-EVA-2")
    delai = c.dispositif.delai_saisie_resultats_jours
    day = today()
    if day < ev.date_evaluation:
        raise RuleViolation(f"Les résultats se saisissent au plus tôt le jour de l'évaluation "
                            f"({ev.date_evaluation:%d/%m/%Y}).", "R-EVA-2")
    if day > ev.date_evaluation + timedelta(days=delai):
        raise RuleViolation(f"Les résultats se saisissent au plus tard {delai} jours après "
                            f"l'évaluation (le {ev.date_evaluation + timedelta(days=delai):%d/%m/%Y}).",
                            "R-EVA-2")


def record_results(p: Perimetre, c: Candidature, resultats=None, observations_candidat=None,
                   commentaire=None, finalise=False, **_) -> Evaluation:
    """R-EVA-3: results and comments per competence, the candidate's observations; finalising also
    needs outil n°4. R-EVA-4: the proposal follows the acquired competences."""
    check(p, c, "enter_results")
    ev = _chimie_evaluation(c)
    refresh_grid(ev)
    apply_results(ev, resultats)
    if observations_candidat is not None:
        ev.observations_candidat = (observations_candidat or "").strip() or None
    if commentaire is not None:
        ev.commentaire = (commentaire or "").strip() or None
    first = ev.resultats_saisis_le is None
    ev.resultats_saisis_le = ev.resultats_saisis_le or utcnow()
    if parse_bool(finalise):
        ensure_all_entered(ev, "R-EVA-3")
        if not ev.observations_candidat:
            raise RuleViolation("Saisissez les observations du candidat.", "R-EVA-3",
                                field="observations_candidat")
        if not has_outil4(c):
            raise RuleViolation("Téléversez le guide d'évaluation complété (outil n°4).", "R-EVA-3")
        mark_finalised(p, ev, proposition(ev))
        record(p, c, "enter_results", f"Résultats de l'évaluation finalisés ({ev.resultat_label})")
        _tell_company_if_both_done(ev)
    elif first:
        record(p, c, "enter_results", "Saisie des résultats commencée")
    return ev


def _tell_company_if_both_done(ev: Evaluation):
    """R-EVA-3 / R-NOT-3: the company is e-mailed once both evaluators have written."""
    if not (ev.finalisee and ev.metier_termine_le):
        return
    c = ev.candidature
    users = [u for u in holders(c) if u.profil and u.profil.role == EMP] or holders(c)
    notify(users, "dossier_candidature", f"Dossier {c.numero} : évaluations saisies",
           "Les évaluateurs habilité et métier ont saisi leurs commentaires : vous pouvez inscrire "
           "le candidat à un jury.", dossier_link(c))
    for user in users:
        send_mail(user.email, "candidature_evaluations_saisies", c=c, user=user, lien=dossier_link(c))
