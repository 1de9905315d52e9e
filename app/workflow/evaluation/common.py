"""Evaluations of the three schemes (R-EVA-1..8, R-CAN-9).

Chimie: one evaluation of the CQP's competences by the évaluateur habilité, who first invites the
évaluateur métier (signed single-use link, no account), enters results within the window after
the evaluation day, and uploads outil n°4; the employer is told when both have written.
CléA: évaluation préalable then finale(s) on the 28 sub-domains, saved and resumed, finalised
(Validé iff 28/28), reopened by an administrateur organisme or above; formations in between.
Metallurgy: the commission d'évaluation's results per competence grouped by bloc, and the
company's opinion where it applies.
"""
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask import current_app

from app.extensions import db
from app.models.base import today, utcnow
from app.models.candidature import Candidature, cle
from app.models.evaluation import (
    NATURES_AMENAGEMENT, Amenagement,
    Evaluation, InvitationMetier, ResultatCompetence,
)
from app.security import tokens
from app.security.perimeter import Perimetre
from app.errors import RuleViolation
from app.workflow.dossier.candidats import _bool, _date
from app.workflow.mail import send_mail
from app.workflow.notifications import notify
from app.workflow.engine import (
    EMP, ORG, SEC, check, dossier_link, holders, precondition, record, verb, workflow_of,
)

METIER_PURPOSE = "metier"
CLEA_EVALUATION_VERBS = ("start_evaluation", "save_evaluation", "finalize_evaluation",
                         "add_formation", "upload_evaluation_document", "open_evaluation",
                         "enter_commission_results")


def _max_age() -> int:
    return int(current_app.config.get("METIER_INVITATION_MAX_AGE", 14 * 86400))


def evaluations_of(c: Candidature):
    return sorted(c.evaluations, key=lambda e: e.id)


def latest(c: Candidature, finalised_only=False) -> Evaluation | None:
    rows = [e for e in evaluations_of(c) if e.finalisee or not finalised_only]
    return rows[-1] if rows else None


def in_progress(c: Candidature) -> Evaluation | None:
    return next((e for e in evaluations_of(c) if e.statut == "en_cours"), None)


def _evaluation_of(c: Candidature, evaluation) -> Evaluation:
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
        from app.workflow.habilitations import ensure_habilitated
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
    from app.workflow.jury.deliberation import acquis_valides
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


def _new_evaluation(c: Candidature, type_, **values) -> Evaluation:
    items = competences_a_evaluer(c)  # queried before the new rows exist (no early autoflush)
    ev = Evaluation(type=type_, statut="en_cours", **values)
    db.session.add(ev)
    ev.candidature = c
    for ordre, (comp, source) in enumerate(items):
        ev.resultats.append(ResultatCompetence(competence=comp, ordre=ordre,
                                               acquis=True if source else None,
                                               pre_acquis=bool(source), source=source))
    return ev


def _apply_results(ev: Evaluation, resultats: dict | None, metier=False):
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


def _proposition(ev: Evaluation) -> str:
    """R-EVA-4 / R-DEC-1: all acquired → valide; none → non_valide; otherwise partiel."""
    acquis, _, total = ev.compte()
    return "valide" if acquis == total > 0 else ("non_valide" if acquis == 0 else "partiel")


def _ensure_all_entered(ev: Evaluation, rule: str):
    refresh_grid(ev)
    if not ev.resultats:  # R-EVA-4: nothing evaluated is nothing acquired, never « 0 / 0 validé »
        raise RuleViolation("Cette évaluation ne porte sur aucune compétence : elle ne peut pas "
                            "être finalisée. " + (empty_grid_reason(ev.candidature) or ""),
                            "R-EVA-4")
    missing = [r for r in ev.resultats if r.acquis is None]
    if missing:
        raise RuleViolation(f"{len(missing)} compétence(s) sans résultat, dont « "
                            f"{missing[0].competence.intitule} ».", rule)


def _finalise(p, ev: Evaluation, resultat: str):
    ev.statut, ev.resultat = "finalisee", resultat
    ev.finalisee_le, ev.finalisee_par_id = utcnow(), p.user_id


# --- chimie (R-EVA-1..4) -----------------------------------------------------------------------------
def create_skills_evaluation(c: Candidature, evaluateur_user, day: date | None) -> Evaluation:
    """Called when the evaluator is confirmed: the competences to evaluate, R-CAN-9 applied."""
    return _new_evaluation(c, "unique", evaluateur_id=evaluateur_user.id, date_evaluation=day)


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


@verb("plan_evaluation")
def plan_evaluation(p: Perimetre, c: Candidature, date_evaluation=None, motif=None, **_):
    """Fix the day of the evaluation (the results window starts that day, R-EVA-2). The employer
    and the evaluator plan or postpone it (today or later) before the day; afterwards only the
    secretariat corrects it. A change of a set date states its reason; each change is in the
    dossier's history."""
    check(p, c, "plan_evaluation")
    day = _date(date_evaluation, "date_evaluation")
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


@verb("invite_metier")
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
    _apply_results(ev, {k: {"observation": v} for k, v in texts.items()}, metier=True)
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


@precondition("upload_evaluation_document")
def _evaluation_being_entered(p, c):
    ev = latest(c)
    if ev is None or ev.finalisee:
        raise RuleViolation("Aucune évaluation en cours de saisie.", "R-EVA-3")


def has_outil4(c: Candidature) -> bool:
    return any(d.type_piece == "guide_evaluation" for d in c.documents)


@verb("enter_results")
def record_results(p: Perimetre, c: Candidature, resultats=None, observations_candidat=None,
                   commentaire=None, finalise=False, **_) -> Evaluation:
    """R-EVA-3: results and comments per competence, the candidate's observations; finalising also
    needs outil n°4. R-EVA-4: the proposal follows the acquired competences."""
    check(p, c, "enter_results")
    ev = _chimie_evaluation(c)
    refresh_grid(ev)
    _apply_results(ev, resultats)
    if observations_candidat is not None:
        ev.observations_candidat = (observations_candidat or "").strip() or None
    if commentaire is not None:
        ev.commentaire = (commentaire or "").strip() or None
    first = ev.resultats_saisis_le is None
    ev.resultats_saisis_le = ev.resultats_saisis_le or utcnow()
    if _bool(finalise):
        _ensure_all_entered(ev, "R-EVA-3")
        if not ev.observations_candidat:
            raise RuleViolation("Saisissez les observations du candidat.", "R-EVA-3",
                                field="observations_candidat")
        if not has_outil4(c):
            raise RuleViolation("Téléversez le guide d'évaluation complété (outil n°4).", "R-EVA-3")
        _finalise(p, ev, _proposition(ev))
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
    elif wf.key == "blocs":
        if ev is None or not ev.finalisee:
            raise RuleViolation("Les résultats de la commission d'évaluation ne sont pas finalisés.",
                                "R-EVA-8")



# --- accommodations (R-EVA-8) -----------------------------------------------------------------------
@verb("add_amenagement")
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

# The CléA and metallurgy verbs live in their own modules; imported here so that one import of
# app.workflow.evaluation.common registers every evaluation verb and precondition.
from app.workflow.evaluation.clea import *  # noqa: E402,F401,F403
from app.workflow.evaluation.commission import *  # noqa: E402,F401,F403
