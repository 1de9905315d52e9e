"""Deliberation (R-JUR-7, R-JUR-8, R-JUR-10, R-DEC-1, R-WF-4), closing a jury (R-JUR-9) and what a
decision leaves behind: acquired competences kept (R-DEC-2), certifications, blocs and CQPI
attributed (R-DEC-3), passerelle information (R-DEC-5).

Public verbs:
  propose_decision(ins)                          the proposal from the evaluation (R-DEC-1)
  record_decision(p, ins, decision, acquis=None, commentaire=None)
  save_draft(p, ins, decision, acquis, commentaire, version)  the form as typed (issue 16)
  request_complement(p, ins, commentaire)        CléA (R-WF-4)
  close_jury(p, jury)                            publishes every decision the same day (R-JUR-9)
The documents of a closed jury (PV, certificates, letters) are issued from its frozen decisions by
app/workflow/jury/documents.py.
"""
from datetime import UTC

from dateutil.relativedelta import relativedelta
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import selectinload

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models import Bloc, Certification, Competence
from app.models.base import today, utcnow
from app.models.candidature import Candidature
from app.models.jury import AcquisCompetence, AttributionCertification, InscriptionJury, Jury
from app.models.statuts import SUCCESS
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.workflow.dossier import candidatures
from app.workflow.engine import NotAllowed, dossier_link, holders, record
from app.workflow.evaluation.common import latest
from app.workflow.jury import drafts
from app.workflow.jury.acquis import benefit_months, cqpi_by_equivalence, cqpi_of, passerelles_info
from app.workflow.jury.composition import AlreadyDone, check_composition
from app.workflow.jury.sessions import ensure_organiser, jury_link, lock_jury, members_of
from app.workflow.mail import send_mail
from app.workflow.notifications import notify


# --- what the jury reads (R-JUR-10) and the proposal (R-DEC-1) -----------------------------------
def decision_rows(jury: Jury, with_files: bool = False) -> list[InscriptionJury]:
    """The dossiers of a jury (withdrawn ones left out), eager-loaded for one page or export."""
    opts = selectinload(InscriptionJury.candidature)
    q = db.session.query(InscriptionJury).filter(InscriptionJury.jury_id == jury.id,
                                                 InscriptionJury.etat != "retire")
    q = q.options(opts.selectinload(Candidature.entreprise), opts.selectinload(Candidature.etablissement))
    if with_files:
        q = q.options(opts.selectinload(Candidature.evaluations),
                      opts.selectinload(Candidature.documents),
                      opts.selectinload(Candidature.amenagements))
    return q.order_by(InscriptionJury.rang).all()


def _evaluation(c: Candidature):
    return latest(c, finalised_only=True)


def _universe(c: Candidature, ev=None) -> list[int]:
    """The competences the decision is about: those evaluated, else the referential's."""
    ev = ev if ev is not None else _evaluation(c)
    if ev is not None and ev.resultats:
        return [r.competence_id for r in ev.resultats]
    return [comp.id for comp in c.certification.competences]


def blocs_complets(certification: Certification, acquis: list[int]) -> list[int]:
    """Blocs whose every competence is acquired."""
    got = set(acquis)
    return [b.id for b in certification.blocs
            if b.competences and all(comp.id in got for comp in b.competences)]


def propose_decision(ins: InscriptionJury) -> dict:
    """R-DEC-1 / R-EVA-4: Validé when every competence is acquired, Non validé when none, Partiel
    otherwise (Admis / Non admis and Certifiée / Non certifiée likewise); the jury may decide
    otherwise (R-JUR-8)."""
    c = ins.candidature
    ev = _evaluation(c)
    acquis = [r.competence_id for r in (ev.resultats if ev else []) if r.acquis]
    total = len(_universe(c, ev))
    vocab = c.dispositif.vocabulaire_decision
    everything = bool(total) and len(acquis) == total
    if vocab == "valide_partiel":
        decision = "valide" if everything else ("non_valide" if not acquis else "partiel")
    elif vocab == "admis":
        decision = "admis" if everything else "non_admis"
    else:
        decision = "certifiee" if ev is not None and ev.resultat == "valide" else "non_certifiee"
        acquis = acquis if decision == "certifiee" else []
    return {"decision": decision, "acquis": acquis, "evaluation": ev,
            "blocs": blocs_complets(c.certification, acquis)}


# --- deliberation (R-JUR-8) ----------------------------------------------------------------------
def may_deliberate(p: Perimetre, jury: Jury) -> bool:
    if perimeter.may_organise(p, jury.dispositif_id):
        return True
    m = members_of(jury, p.user_id) if p.role == "jury" else None
    return m is not None and m.college != "invite"


def _ensure_deliberator(p: Perimetre, jury: Jury):
    """The jury's members (guests have no vote) and the dispositif's secretariat record decisions."""
    if may_deliberate(p, jury):
        return
    if p.role == "jury" and members_of(jury, p.user_id) is None:
        raise PerimeterViolation()
    raise NotAllowed("Seuls les membres du jury (hors invités) et le secrétariat enregistrent les "
                     "décisions.", "R-JUR-8")


def _ensure_open(jury: Jury):
    if jury.etat == "clos":
        raise RuleViolation("Le jury est clos : ses décisions sont publiées.", "R-JUR-9")


def _ensure_deliberating(p: Perimetre, ins: InscriptionJury):
    """A decision on this dossier may be typed and recorded now: by a deliberator, on the jury's
    day or after, before it closes, while the dossier is still registered to it."""
    jury = ins.jury
    _ensure_deliberator(p, jury)
    _ensure_open(jury)
    if deliberation_opens_on(jury) is not None:
        raise RuleViolation(f"Le jury délibère le jour de sa réunion (le {jury.date:%d/%m/%Y}).",
                            "R-JUR-8")
    if ins.etat != "inscrit" or not ins.active:
        raise RuleViolation("Ce dossier n'est plus inscrit à ce jury.", "R-JUR-8")


def record_decision(p: Perimetre, ins: InscriptionJury, decision: str, acquis=None,
                    commentaire=None) -> InscriptionJury:
    """The jury's decision on one dossier, in the dispositif's vocabulary (R-DIS-2), with the
    competences acquired (R-DEC-1/2). Not visible on the dossier before the jury closes (R-JUR-9)."""
    jury = ins.jury
    _ensure_deliberating(p, ins)
    c = ins.candidature
    choices = dict(c.dispositif.decisions)
    if decision not in choices:
        raise RuleViolation("Choisissez une décision : " + " / ".join(choices.values()) + ".",
                            "R-DIS-2", field="decision")
    universe = _universe(c)
    total = len(universe)
    if c.dispositif.vocabulaire_decision == "certifie":
        acquis = _clea_acquis(c, decision, choices)
    elif acquis is None:
        acquis = universe if decision in SUCCESS else (
            propose_decision(ins)["acquis"] if decision in ("partiel", "non_admis") else [])
    try:
        acquis = sorted({int(x) for x in acquis if str(x).strip()})
    except (TypeError, ValueError):
        raise RuleViolation("Compétences acquises invalides.", "R-DEC-1", field="acquis")
    if set(acquis) - set(universe):
        raise RuleViolation("Compétence hors du référentiel de ce dossier.", "R-DEC-1",
                            field="acquis")
    n = len(acquis)
    if decision in SUCCESS and n != total:
        raise RuleViolation(f"« {choices[decision]} » : toutes les compétences sont acquises ; "
                            f"cochez-les toutes ({n}/{total}) ou choisissez une autre décision.",
                            "R-DEC-1", field="acquis")
    if decision == "partiel" and not 0 < n < total:
        raise RuleViolation("« Partiel » : une partie seulement des compétences est acquise ; "
                            "cochez celles qui le sont.", "R-DEC-1", field="acquis")
    if decision == "non_valide" and n:
        raise RuleViolation("« Non validé » : aucune compétence n'est acquise.", "R-DEC-1",
                            field="acquis")
    if decision == "non_admis" and total and n == total:
        raise RuleViolation("Toutes les compétences sont acquises : le candidat est admis.",
                            "R-DEC-3", field="acquis")
    if decision == "non_certifiee":
        acquis = []  # CléA keeps no partial benefit (R-DIS table)
    blocs = blocs_complets(c.certification, acquis)
    ins.decision, ins.decide_par_id, ins.decide_le = decision, p.user_id, utcnow()
    ins.competences_acquises, ins.blocs_acquis = acquis, blocs
    ins.commentaire = (commentaire or "").strip() or None
    if jury.etat in ("planifie", "convoque"):
        # No convocation date is made up: « Convoqué le » shows only a real convocation.
        jury.etat, jury.tenu_le = "tenu", utcnow()
    drafts.discard(inscription_id=ins.id)
    return ins


def decision_version(ins: InscriptionJury) -> str:
    """Which recorded decision a page showed ("" for none): a draft typed on a page older than
    the dossier's last decision is refused, so that it never hides that decision."""
    return ins.decide_le.isoformat() if ins.decide_le else ""


def save_draft(p: Perimetre, ins: InscriptionJury, decision: str = "", acquis=None,
               commentaire=None, version: str = ""):
    """The decision form as the user is typing it (issue 16 item 1), kept until he records it:
    refused when the decision itself would be (not a deliberator, before the jury's day, jury
    closed, dossier gone). The values are checked for what they are, not for agreeing with
    each other: that is the decision's check, when it is recorded. `version`: the
    `decision_version` of the page it was typed on."""
    _ensure_deliberating(p, ins)
    if p.user_id is None:
        raise NotAllowed("Un brouillon appartient à un compte.", "R-JUR-8")
    if (version or "") != decision_version(ins):
        raise RuleViolation("Une décision a été enregistrée pour ce dossier depuis l'ouverture "
                            "de la page ; rechargez la page pour la voir.", "R-JUR-8")
    choices = dict(ins.candidature.dispositif.decisions)
    if decision and decision not in choices:
        raise RuleViolation("Décision inconnue.", "R-DIS-2", field="decision")
    if ins.candidature.dispositif.vocabulaire_decision == "certifie":
        acquis = None  # nothing to tick: « Certifiée » takes the evaluation's results
    if acquis is not None:
        try:
            acquis = sorted({int(x) for x in acquis if str(x).strip()})
        except (TypeError, ValueError):
            raise RuleViolation("Compétences acquises invalides.", "R-DEC-1", field="acquis")
        if set(acquis) - set(_universe(ins.candidature)):
            raise RuleViolation("Compétence hors du référentiel de ce dossier.", "R-DEC-1",
                                field="acquis")
    return drafts.store(ins, p.user_id, decision or None, acquis,
                        (commentaire or "").strip() or None)


def _clea_acquis(c: Candidature, decision: str, choices: dict) -> list[int]:
    """CléA: a dossier reaches the jury only from a Validé final evaluation, every sub-domain
    acquired (R-EVA-5, R-EVA-6, R-WF-2); « Certifiée » takes that evaluation's results (the jury
    ticks nothing), « Non certifiée » keeps nothing (no partial benefit)."""
    if decision != "certifiee":
        return []
    ev = _evaluation(c)
    if ev is None or ev.resultat != "valide":
        raise RuleViolation(f"« {choices[decision]} » : le dossier n'a pas d'évaluation finale "
                            "validée (tous les sous-domaines acquis). Demandez un complément ou "
                            f"choisissez « {choices['non_certifiee']} ».", "R-EVA-6",
                            field="decision")
    return [r.competence_id for r in ev.resultats if r.acquis]


def request_complement(p: Perimetre, ins: InscriptionJury, commentaire: str) -> InscriptionJury:
    """R-WF-4 (CléA): the jury asks the organisation for complements; the dossier leaves this jury,
    goes to « En attente de complément » and, once completed and re-sent, back to a jury — this
    one takes its row again (sessions._resume)."""
    jury = ins.jury
    _ensure_deliberator(p, jury)
    _ensure_open(jury)
    if ins.etat != "inscrit" or not ins.active:
        raise RuleViolation("Ce dossier n'est plus inscrit à ce jury.", "R-WF-4")
    candidatures.request_complement(p, ins.candidature, commentaire)
    ins.etat, ins.active = "complement", False
    ins.complement_demande = commentaire.strip()
    ins.decide_par_id = p.user_id
    drafts.discard(inscription_id=ins.id)
    return ins


# --- closing (R-JUR-9) and consequences ------------------------------------------------------------
def ensure_closable(jury: Jury, rows=None, problems=None) -> list[InscriptionJury]:
    """Why the jury cannot be closed today, raised: before its day, without the composition the
    dispositif requires, with a dossier still undecided. The jury page shows the same reason next
    to its disabled « Clore » button, from the rows and composition problems it already read.
    Returns the registrations the closing publishes."""
    if today() < jury.date:
        raise RuleViolation(f"Le jury se clôt le jour de sa réunion (le {jury.date:%d/%m/%Y}), "
                            "pas avant.", "R-JUR-9")
    problems = check_composition(jury) if problems is None else problems
    if problems:
        raise RuleViolation("Le jury ne peut pas être clos sans la composition requise (complétez "
                            "la composition du jury) : " + " ".join(problems), "R-JUR-5")
    rows = [i for i in (decision_rows(jury) if rows is None else rows)
            if i.active and i.etat == "inscrit"]
    missing = [i for i in rows if i.decision is None]
    if missing:
        numbers = ", ".join(str(i.numero_anonyme) for i in missing[:10])
        raise RuleViolation(f"{len(missing)} dossier(s) sans décision (n° {numbers}) : enregistrez "
                            "toutes les décisions avant de clore le jury.", "R-JUR-8")
    return rows


def close_refusal(jury: Jury, rows=None, problems=None) -> str | None:
    """The reason ensure_closable would give, or None when the jury may be closed now."""
    try:
        ensure_closable(jury, rows, problems)
    except RuleViolation as exc:
        return exc.message
    return None


def close_jury(p: Perimetre, jury: Jury) -> int:
    """Publish every decision of the jury to its dossiers at once (R-JUR-9): status, notification
    « Décision du jury », mails, acquired competences (R-DEC-2), attributions (R-DEC-3),
    passerelles (R-DEC-5). Once: the jury row is locked and its state read again, so a second
    close (a second click, two at once) publishes nothing and raises AlreadyDone. Refused while
    the composition the dispositif requires is missing (the PV is signed by the president).
    Returns the number of dossiers decided."""
    ensure_organiser(p, jury.dispositif_id)
    jury = lock_jury(jury.id)
    if jury.etat == "clos":
        who = f" par {_name(jury.clos_par_id)}" if jury.clos_par_id else ""
        raise AlreadyDone(f"Ce jury est déjà clos depuis le {_when(jury.clos_le)}{who} : ses "
                          "décisions sont publiées, rien n'a été publié une seconde fois.",
                          "R-JUR-9")
    rows = ensure_closable(jury)
    now = utcnow()
    jurors = {u.id: u for u in db.session.query(User).filter(
        User.id.in_({i.decide_par_id for i in rows if i.decide_par_id} or {0}))}
    for ins in rows:
        _publish(p, ins, now, jurors.get(ins.decide_par_id))
    jury.etat, jury.clos_le, jury.clos_par_id = "clos", now, p.user_id
    drafts.discard(jury_id=jury.id)
    jury.tenu_le = jury.tenu_le or now
    notify([m.user_id for m in jury.membres if m.user_id], "jury",
           f"Jury du {jury.date:%d/%m/%Y} clos", f"{len(rows)} décision(s) publiée(s).",
           jury_link(jury))
    return len(rows)


def _name(user_id) -> str:
    user = db.session.get(User, user_id)
    return f"{user.first_name} {user.last_name}" if user else "un utilisateur supprimé"


def _when(moment) -> str:
    from zoneinfo import ZoneInfo
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    return f"{local:%d/%m/%Y à %H:%M}"


def _publish(p: Perimetre, ins: InscriptionJury, now, juror=None):
    c, jury = ins.candidature, ins.jury
    # R-WF-5: the decision's line names the juror who recorded it; the closing's line who closed.
    libelle = None
    if juror is not None:
        libelle = (f"Décision du jury : {ins.decision_label}, enregistrée par {juror.first_name} "
                   f"{juror.last_name} le {_when(ins.decide_le)}")
    candidatures.apply_decision(p, c, ins.decision, decide_le=jury.date,
                                commentaire=ins.commentaire, libelle=libelle,
                                recorded_by=Perimetre(juror.id, None, None, None) if juror else None)
    record(p, c, "cloture_jury", f"Clôture du jury du {jury.date:%d/%m/%Y} : décision publiée")
    ins.etat, ins.publiee_le = "publie", now
    acquis = _keep_acquis(ins)
    attributions = _attribute(ins)
    passerelles = passerelles_info(c) if ins.decision in SUCCESS else []
    if passerelles:
        record(p, c, "information_passerelle", "Information sur les passerelles",
               "\n".join(passerelles))
    ctx = {"c": c, "jury": jury, "inscription": ins, "decision": ins.decision_label, "acquis": acquis,
               "attributions": attributions, "passerelles": passerelles, "lien": dossier_link(c)}
    for user in holders(c):
        send_mail(user.email, "jury_decision", user=user, **ctx)
    if c.candidat.email:
        send_mail(c.candidat.email, "jury_decision_candidat", **ctx)


def _keep_acquis(ins: InscriptionJury) -> list[AcquisCompetence]:
    """R-DEC-2: one row per acquired competence, valid until the end of the benefit."""
    c = ins.candidature
    if c.dispositif.vocabulaire_decision == "certifie" or not ins.competences_acquises:
        return []
    months = benefit_months(c)
    until = None if ins.decision in SUCCESS or months is None else \
        ins.jury.date + relativedelta(months=months)
    comps = (db.session.query(Competence).filter(Competence.id.in_(ins.competences_acquises))
             .order_by(Competence.ordre).all())
    rows = [AcquisCompetence(candidat_id=c.candidat_id, certification_id=c.certification_id,
                             competence_id=comp.id, bloc_id=comp.bloc_id, candidature_id=c.id,
                             inscription_id=ins.id, date_jury=ins.jury.date,
                             valable_jusqu_au=until, competence=comp)
            for comp in comps]
    db.session.add_all(rows)
    return rows


def _cqpis(c: Candidature) -> list[Certification]:
    """R-DEC-3 / R-REF-2: the CQPI delivered with the certification of an admitted dossier."""
    cert = c.certification
    if cert.type == "CQPM":
        cqpi = cqpi_of(cert)
        return [cqpi] if cqpi is not None else []
    if c.cqpi_demande:
        return [x for x in cqpi_by_equivalence(cert) if x.id != c.cqpi_detenu_id]
    return []


def _attribute(ins: InscriptionJury) -> list[AttributionCertification]:
    """R-DEC-3: the certification (and its CQPI: the CQPM's, or the one a chemical CQP gives by
    equivalence when the dossier asked for it) when admitted; otherwise the blocs passed of a
    certification registered in the RNCP (they are certificates of their own)."""
    c = ins.candidature
    cert = c.certification
    rows = []
    if ins.decision in SUCCESS:
        rows.append(AttributionCertification(nature="certification", certification=cert))
        for cqpi in _cqpis(c):
            rows.append(AttributionCertification(nature="cqpi", certification=cqpi))
    elif ins.blocs_acquis and cert.rncp_code:
        for bloc in (db.session.query(Bloc).filter(Bloc.id.in_(ins.blocs_acquis))
                     .order_by(Bloc.ordre)):
            rows.append(AttributionCertification(nature="bloc", certification=cert, bloc=bloc))
    for row in rows:
        row.inscription, row.candidature_id, row.candidat_id = ins, c.id, c.candidat_id
        row.date_jury = ins.jury.date
        db.session.add(row)
    return rows


# --- the deliberation screen (issue 16 item 3) -----------------------------------------------------
def deliberation_opens_on(jury: Jury):
    """R-JUR-8: the day decisions may be recorded, while it is still to come (None once the jury's
    day has come). record_decision refuses before it; the screen shows itself read-only and says
    when it opens, rather than letting a juror type what would be refused."""
    return jury.date if today() < jury.date else None
