"""Jury sessions (R-JUR-1..3) and the placement of dossiers within capacity (R-JUR-2..4).

Public verbs:
  create_jury(p, dispositif, date, …) / prepare_jury(p, jury)        calendar (R-JUR-1..3)
  place(p, c, jury=None) -> Registration | None                      R-JUR-3/4
  place_sent(p, c, jury=None)      called by the dossier's moves towards the jury
  assign_waiting(p, jury) / withdraw_from_jury(p, inscription, motif)
Registering a dossier (its move, then its placement) is registration.register_to_jury;
composition and convocations (R-JUR-5/6) are in composition.py; deliberation, closing and the
consequences of a decision in deliberation.py.
"""
import random
from dataclasses import dataclass
from datetime import date as date_type
from datetime import timedelta

import sqlalchemy as sa

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models import Dispositif
from app.models.base import today, utcnow
from app.models.candidature import Candidature
from app.models.jury import (
    ETATS_OUVERTS,
    MODALITES,
    InscriptionJury,
    Jury,
    JuryMembre,
)
from app.models.statuts import WAITING_JURY
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.workflow.comptes import ensure_can_operate
from app.workflow.engine import (
    ORG,
    SEC,
    SYSTEM,
    NotAllowed,
    dossier_link,
    holders,
    precondition,
    record,
    workflow_for,
    workflow_of,
)
from app.workflow.notifications import notify

# The verb that brings a dossier to the jury, per workflow (transitions table).
ENTRY_VERBS = ("submit_to_jury", "send_to_certification")
_random = random.SystemRandom()


@dataclass
class Registration:
    """What register_to_jury did: the row, the jury it landed in and what to tell the user."""
    inscription: InscriptionJury
    jury: Jury
    message: str
    reported: bool = False  # R-JUR-4: not the jury asked for (or not the next one)


def jury_link(jury: Jury) -> str:
    return f"/jurys/show/{jury.id}"


def row_of(model, value):
    """`value` as a row of `model`: the row itself, its id (str or int), or None."""
    if value is None or value == "" or isinstance(value, model):
        return value or None
    try:
        return db.session.get(model, int(value))
    except (TypeError, ValueError):
        return None


def ensure_organiser(p: Perimetre, dispositif_id):
    """Only the dispositif's secretariat organises its juries (R-JUR-1, R-DIS-1)."""
    if p.role != SEC and not p.unrestricted:
        raise NotAllowed("Seul le secrétariat du dispositif organise ses jurys.", "R-JUR-1")
    if not perimeter.may_organise(p, dispositif_id):
        raise PerimeterViolation()


# --- calendar (R-JUR-1..3) -------------------------------------------------------------------
def default_deadline(dispositif: Dispositif, day: date_type) -> date_type:
    """R-JUR-2: registrations close `delai_inscription_jury_jours` (21) days before the jury."""
    return day - timedelta(days=dispositif.delai_inscription_jury_jours)


def prepare_jury(p: Perimetre, jury: Jury) -> Jury:
    """Defaults and checks of a new or changed jury (screens, REST and create_jury share it)."""
    dispositif = jury.dispositif or row_of(Dispositif, jury.dispositif_id)
    if dispositif is None:
        raise RuleViolation("Choisissez le dispositif du jury.", "R-DIS-1", field="dispositif")
    jury.dispositif = dispositif
    ensure_organiser(p, dispositif.id)
    state = sa.inspect(jury)
    new = state.transient or state.pending
    if not new and jury.etat in ("tenu", "clos"):
        raise RuleViolation("Un jury tenu ou clos ne se modifie plus.", "R-JUR-9")
    if not isinstance(jury.date, date_type):
        raise RuleViolation("Indiquez la date du jury.", "R-JUR-1", field="date")
    if new and jury.date < today():
        raise RuleViolation("La date du jury est passée.", "R-JUR-1", field="date")
    jury.certificateur = (jury.certificateur or "").strip() or dispositif.certificateur
    jury.region = (jury.region or "").strip() or None
    jury.lieu = (jury.lieu or "").strip()
    jury.modalite = jury.modalite or "presentiel"
    if jury.modalite not in MODALITES.codes:
        raise RuleViolation("Modalité inconnue.", "R-JUR-1", field="modalite")
    if jury.capacite in (None, ""):
        jury.capacite = dispositif.capacite_jury_defaut  # R-JUR-3
    try:
        jury.capacite = int(jury.capacite)
    except (TypeError, ValueError):
        raise RuleViolation("Capacité invalide.", "R-JUR-3", field="capacite")
    if jury.capacite <= 0:
        raise RuleViolation("Un jury examine au moins un dossier.", "R-JUR-3", field="capacite")
    if not new:
        taken = count_active(jury.id)
        if jury.capacite < taken:
            raise RuleViolation(f"{taken} dossiers sont déjà inscrits : la capacité ne peut pas "
                                "être inférieure.", "R-JUR-3", field="capacite")
        # The date moved and the deadline was left as it was: it follows the date (R-JUR-2).
        if state.attrs.date.history.has_changes() and \
                not state.attrs.date_limite_inscription.history.has_changes():
            jury.date_limite_inscription = None
    if jury.date_limite_inscription is None:
        jury.date_limite_inscription = default_deadline(dispositif, jury.date)
    if jury.date_limite_inscription > jury.date:
        raise RuleViolation("La date limite d'inscription doit précéder la date du jury.", "R-JUR-2",
                            field="date_limite_inscription")
    jury.anonyme = bool(jury.anonyme)
    if new:
        jury.etat = "planifie"
        jury.created_by_id = p.user_id
    return jury


def create_jury(p: Perimetre, dispositif, date, lieu="", modalite="presentiel", capacite=None,
                date_limite_inscription=None, certificateur=None, region=None, libelle=None,
                anonyme=False) -> Jury:
    """A session in the certificateur's calendar (R-JUR-1), capacity (R-JUR-3), deadline (R-JUR-2)."""
    jury = Jury(dispositif=row_of(Dispositif, dispositif), date=date, lieu=lieu, modalite=modalite,
                capacite=capacite, date_limite_inscription=date_limite_inscription,
                certificateur=certificateur, region=region, libelle=libelle, anonyme=anonyme)
    prepare_jury(p, jury)
    db.session.add(jury)
    db.session.flush()
    return jury


def calendar(on: date_type | None = None) -> list[dict]:
    """R-JUR-1: per certificateur, the last jury held and the next ones (every signed-in role)."""
    day = on or today()
    rows = (db.session.query(Jury).order_by(Jury.dispositif_id, Jury.certificateur, Jury.date)
            .all())
    groups: dict[tuple, dict] = {}
    for j in rows:
        key = (j.dispositif_id, j.certificateur, j.region)
        g = groups.setdefault(key, {"dispositif": j.dispositif, "certificateur": j.certificateur,
                                    "region": j.region, "dernier": None, "prochains": []})
        # A jury held or closed today is the last one, no longer an upcoming one.
        if j.date < day or (j.date == day and j.etat in ("tenu", "clos")):
            g["dernier"] = j
        else:
            g["prochains"].append(j)
    return sorted(groups.values(), key=lambda g: (g["dispositif"].nom, g["certificateur"],
                                                  g["region"] or ""))


# --- registration (R-JUR-2..4) -----------------------------------------------------------------
def count_active(jury_id) -> int:
    return db.session.query(sa.func.count(InscriptionJury.id)).filter(
        InscriptionJury.jury_id == jury_id, InscriptionJury.active.is_(True)).scalar() or 0


def active_inscription(c: Candidature) -> InscriptionJury | None:
    return (db.session.query(InscriptionJury)
            .filter(InscriptionJury.candidature_id == c.id, InscriptionJury.active.is_(True))
            .one_or_none())


def _closed_reason(jury: Jury, day: date_type) -> str | None:
    if jury.etat not in ETATS_OUVERTS:
        return f"le jury du {jury.date:%d/%m/%Y} est {jury.etat_label.lower()}"
    if day > jury.date_limite_inscription:
        return (f"les inscriptions au jury du {jury.date:%d/%m/%Y} sont closes depuis le "
                f"{jury.date_limite_inscription:%d/%m/%Y}")
    return None


def _region_ok(jury_region, c: Candidature) -> bool:
    return jury_region is None or jury_region == c.region


def _open_juries(c: Candidature, after: Jury | None, day: date_type):
    """Ids of the juries that may take `c`, in date order; after a given jury: only the next ones
    of the same certificateur (R-JUR-4)."""
    q = db.session.query(Jury.id).filter(Jury.dispositif_id == c.dispositif_id,
                                          Jury.etat.in_(ETATS_OUVERTS),
                                          Jury.date_limite_inscription >= day)
    if after is not None:
        q = q.filter(Jury.certificateur == after.certificateur,
                     sa.or_(Jury.date > after.date, sa.and_(Jury.date == after.date,
                                                            Jury.id > after.id)))
    region = c.region
    q = q.filter(sa.or_(Jury.region.is_(None), Jury.region == region) if region
                 else Jury.region.is_(None))
    return [jid for (jid,) in q.order_by(Jury.date, Jury.id).limit(50)]


def open_juries_for(c: Candidature) -> list[Jury]:
    """The juries a dossier may be registered to today, in date order (registration screen)."""
    ids = _open_juries(c, None, today())
    return (db.session.query(Jury).filter(Jury.id.in_(ids or [0]))
            .order_by(Jury.date, Jury.id).all())


def lock_jury(jury_id) -> Jury:
    """Hold the jury row until commit before counting its dossiers, so that concurrent
    registrations are counted one after the other (R-JUR-3)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(Jury.id).where(Jury.id == jury_id).with_for_update())
    else:  # SQLite: a write takes the database lock that serialises writers
        db.session.execute(sa.update(Jury).where(Jury.id == jury_id)
                           .values(capacite=Jury.capacite)
                           .execution_options(synchronize_session=False))
    return db.session.get(Jury, jury_id, populate_existing=True)


def _insert(p: Perimetre, c: Candidature, jury: Jury, report_de: Jury | None) -> InscriptionJury:
    used = set(db.session.scalars(sa.select(InscriptionJury.numero_anonyme)
                                  .where(InscriptionJury.jury_id == jury.id)))
    rang = (db.session.scalar(sa.select(sa.func.max(InscriptionJury.rang))
                              .where(InscriptionJury.jury_id == jury.id)) or 0) + 1
    numero = _random.randint(1000, 9999)
    while numero in used:  # R-JUR-7: a number that says nothing about the candidate
        numero = _random.randint(1000, 9999)
    ins = InscriptionJury(jury=jury, candidature=c, numero_anonyme=numero, rang=rang,
                          inscrit_par_id=p.user_id, report_de=report_de, etat="inscrit",
                          active=True, competences_acquises=[], blocs_acquis=[])
    db.session.add(ins)
    db.session.flush()
    return ins


def _resume(p: Perimetre, c: Candidature, jury: Jury) -> InscriptionJury | None:
    """R-WF-4: a completed dossier back in the jury that asked the complement takes its row there
    again (its number, its place, the request kept), so the jury lists one row per dossier and no
    longer counts it as waiting for a complement."""
    ins = (db.session.query(InscriptionJury)
           .filter(InscriptionJury.jury_id == jury.id, InscriptionJury.candidature_id == c.id,
                   InscriptionJury.etat == "complement")
           .order_by(InscriptionJury.id.desc()).first())
    if ins is None:
        return None
    ins.etat, ins.active, ins.decide_par_id = "inscrit", True, None
    ins.inscrit_le, ins.inscrit_par_id = utcnow(), p.user_id
    db.session.flush()
    return ins


def place(p: Perimetre, c: Candidature, requested: Jury | None = None,
          required: bool = True, spill: bool = True) -> Registration | None:
    """Put `c` in the requested jury, or the next one with room (R-JUR-3/4; spill=False: only the
    requested one). Without room: RuleViolation when `required`, else None (the dossier waits for
    an assignment)."""
    day = today()
    if active_inscription(c) is not None:
        current = active_inscription(c).jury
        raise RuleViolation(f"Le dossier est déjà inscrit au jury du {current.date:%d/%m/%Y}.",
                            "R-JUR-4")
    if requested is not None:
        if requested.dispositif_id != c.dispositif_id:
            raise RuleViolation("Ce jury n'appartient pas au dispositif du dossier.", "R-DIS-1",
                                field="jury")
        if not _region_ok(requested.region, c):
            raise RuleViolation(f"Ce jury ne reçoit que les dossiers de la région "
                                f"{requested.region}.", "R-JUR-1", field="jury")
        ids = [requested.id] + (_open_juries(c, requested, day) if spill else [])
    else:
        ids = _open_juries(c, None, day)
    skipped = []
    for jury_id in ids:
        jury = lock_jury(jury_id)
        reason = _closed_reason(jury, day)
        if reason is None and count_active(jury.id) >= jury.capacite:
            reason = f"le jury du {jury.date:%d/%m/%Y} est complet ({jury.capacite} dossiers)"
        if reason is not None:
            skipped.append(reason)
            continue
        first = db.session.get(Jury, ids[0])
        ins = (_resume(p, c, jury)
               or _insert(p, c, jury, report_de=first if skipped else None))
        where = f"jury du {jury.date:%d/%m/%Y} ({jury.certificateur}{', ' + jury.lieu if jury.lieu else ''})"
        if skipped:
            message = (f"{skipped[0][:1].upper()}{skipped[0][1:]} : le dossier {c.numero} est "
                       f"inscrit au jury suivant, le {where}.")
        else:
            message = f"Dossier {c.numero} inscrit au {where}."
        record(p, c, "inscription_jury", f"Inscription au {where}"[:200],
               message if skipped else None)
        notify(holders(c), "jury", f"Dossier {c.numero} inscrit au jury du {jury.date:%d/%m/%Y}",
               message, dossier_link(c))
        return Registration(ins, jury, message, reported=bool(skipped))
    if not required:
        return None
    detail = f" ({'; '.join(skipped)})" if skipped else ""
    raise RuleViolation(f"Aucun jury n'est ouvert aux inscriptions pour ce dossier{detail}. "
                        "Consultez les dates des prochains jurys.", "R-JUR-4", field="jury")


def entry_verb(c: Candidature) -> str | None:
    moves = workflow_of(c).moves
    return next((v for v in ENTRY_VERBS if v in moves and c.statut in moves[v].sources), None)


def _entry_move_of(wf):
    return next((wf.moves[v] for v in ENTRY_VERBS if v in wf.moves), None)


def entry_move(c: Candidature):
    return _entry_move_of(workflow_of(c))


def ensure_may_place(p: Perimetre, c: Candidature):
    """Who registers a dossier that waits for a jury (sent, complement returned, withdrawn from a
    jury): the secretariat; and where the holders register their dossiers themselves (chimie,
    metallurgy: « Inscrire au jury »), those holders too (R-JUR-2) — a withdrawal is never a dead
    end for the dossier's owner. CléA dossiers wait for the certificateur's assignment."""
    if p is SYSTEM or p.unrestricted:
        return
    if p.role != SEC:
        entry = entry_move(c)
        if entry.verb != "submit_to_jury":  # CléA: the certificateur assigns sent dossiers (003)
            raise NotAllowed("Ce dossier attend son affectation à un jury : le secrétariat "
                             "l'inscrit.", "R-JUR-2")
        if p.role not in entry.roles:
            raise NotAllowed("Votre rôle ne permet pas d'inscrire ce dossier à un jury.", "R-JUR-2")
        if c.vae and c.parcours != "2":
            raise NotAllowed("Un dossier de VAE est inscrit au jury par le secrétariat.", "R-JUR-2")
        if p.role in ORG and c.etablissement is not None:
            ensure_can_operate(c.etablissement)
    if not perimeter.contains(c, p, "write"):
        raise PerimeterViolation()


def may_register_again(p: Perimetre, c: Candidature) -> bool:
    """The dossier waits for a jury without being in one, and `p` may register it (dossier page:
    « Inscrire au jury » after a withdrawal)."""
    if c.statut not in WAITING_JURY or active_inscription(c) is not None:
        return False
    try:
        ensure_may_place(p, c)
    except RuleViolation:
        return False
    return True


def assign_waiting(p: Perimetre, jury: Jury) -> list[Registration]:
    """Secretariat: put the dossiers waiting for a jury assignment into this jury, oldest first,
    within its capacity (R-JUR-3); the others stay waiting."""
    ensure_organiser(p, jury.dispositif_id)
    waiting = (db.session.query(Candidature)
               .filter(Candidature.dispositif_id == jury.dispositif_id,
                       Candidature.statut.in_(WAITING_JURY),
                       ~sa.exists().where(InscriptionJury.candidature_id == Candidature.id,
                                          InscriptionJury.active.is_(True)))
               .order_by(Candidature.envoye_le, Candidature.id).all())
    done = []
    for c in waiting:
        if not _region_ok(jury.region, c):
            continue
        reg = place(p, c, jury, required=False, spill=False)
        if reg is None:  # full or closed: the others keep waiting
            break
        done.append(reg)
    return done


def withdraw_from_jury(p: Perimetre, ins: InscriptionJury, motif: str | None = None):
    """Secretariat: take a dossier out of a jury that has not deliberated on it (it then waits for
    another jury)."""
    ensure_organiser(p, ins.jury.dispositif_id)
    if not ins.active or ins.decision is not None or ins.jury.etat == "clos":
        raise RuleViolation("Ce dossier ne peut plus être retiré de ce jury.", "R-JUR-8")
    _withdraw(p, ins, motif or "Retiré du jury par le secrétariat")


def _withdraw(p, ins, motif):
    ins.etat, ins.active = "retire", False
    record(p, ins.candidature, "retrait_jury",
           f"Retiré du jury du {ins.jury.date:%d/%m/%Y}", motif)


# --- what the dossier's moves call (app/workflow/dossier/candidatures.py) ----------------------
@precondition("submit_to_jury")
def _vae_registered_by_secretariat(p, c):
    """Seed 001: the secretariat registers a VAE de droit commun dossier (parcours 3, and VAE
    through the centre de certification); the employer registers the others."""
    if c.vae and c.parcours != "2" and p.role != SEC:
        raise NotAllowed("Un dossier de VAE est inscrit au jury par le secrétariat.", "R-JUR-2")


def place_sent(p: Perimetre, c: Candidature, jury=None) -> Registration | None:
    """A dossier just sent to (or back to) the jury enters the requested jury (or the next one with
    room, R-JUR-4); without a jury asked for, the certificateur's next open jury. A jury asked for
    must take it (else the whole move is refused); with none open at all, the dossier waits for an
    assignment by the secretariat (« en attente d'affectation à un jury ») and None is returned."""
    requested = row_of(Jury, jury)
    reg = place(p, c, requested, required=requested is not None)
    if reg is None:
        record(p, c, "attente_affectation_jury", "En attente d'affectation à un jury",
               "Aucun jury ouvert aux inscriptions pour le moment.")
    return reg


def withdraw_unlocked(p: Perimetre, c: Candidature):
    """The sending was undone (R-WF-3): the dossier leaves the jury it was registered to."""
    ins = active_inscription(c)
    if ins is not None:
        _withdraw(p, ins, "Envoi annulé")


def ensure_not_deliberated(c: Candidature):
    """R-WF-3: once its jury has started deliberating on it, a sending is no longer undone."""
    ins = active_inscription(c)
    if ins is not None and (ins.decision is not None or ins.jury.etat in ("tenu", "clos")):
        raise RuleViolation("Le jury a commencé à délibérer sur ce dossier : l'envoi ne peut plus "
                            "être annulé.", "R-WF-3")


def members_of(jury: Jury, user_id) -> JuryMembre | None:
    return next((m for m in jury.membres if m.user_id == user_id), None)


def delete_jury(p: Perimetre, jury: Jury) -> None:
    """R-JUR-1: a jury is deleted only while it is planned and empty — once a dossier is
    registered or members are convened, it is part of their history."""
    perimeter.ensure(jury, "write", p)
    if jury.inscriptions or jury.etat != "planifie":
        raise RuleViolation("Un jury qui a des dossiers inscrits ou qui est convoqué ne se "
                            "supprime pas.", "R-JUR-1")
    db.session.delete(jury)


# --- the jury workspace (issue 16 item 3) ------------------------------------------------------
def _sending_sources() -> list[str]:
    from app.workflow.engine import WORKFLOWS
    return sorted({s for w in WORKFLOWS.values() for verb in ENTRY_VERBS if verb in w.moves
                   for s in w.moves[verb].sources})


def evaluated_to_send():
    """« Prêt pour le jury »: evaluated (its evaluation finalised) in a status whose next move
    takes it to the jury, so not sent yet. One criterion for the home's to-do count, its list and
    the jury page (is_evaluated_to_send is the same test on one loaded dossier)."""
    from app.models.evaluation import Evaluation
    finalised = sa.exists().where(Evaluation.candidature_id == Candidature.id,
                                  Evaluation.statut == "finalisee")
    return sa.and_(Candidature.statut.in_(_sending_sources()), finalised)


def is_evaluated_to_send(c: Candidature, evaluations) -> bool:
    """evaluated_to_send() for the dossier page, from its already loaded evaluations."""
    return c.statut in _sending_sources() and any(e.statut == "finalisee" for e in evaluations)


def sending_move(p: Perimetre, dispositif):
    """The move by which `p` may itself send an evaluated dossier of `dispositif` to the jury
    (the chemical secretariat's « Inscrire au jury »), or None (CléA: only its organisme sends)."""
    from app.security import roles
    move = _entry_move_of(workflow_for(dispositif))
    if move is None or p.role not in move.roles:
        return None
    return move if not move.grant or roles.allowed(p.role, *move.grant) else None


def ready_for_jury(p: Perimetre, jury: Jury, limit: int = 500) -> list[Candidature]:
    """The dossiers the organiser `p` may register to `jury` from its page: of its dispositif, in
    `p`'s perimeter, in no jury yet, of a région the jury receives, and either waiting for a jury
    (WAITING_JURY) or evaluated and not sent yet where `p` may send it itself (its move then runs
    with this jury); oldest first. Empty for anyone who does not organise the jury's dispositif.
    One query (candidat, certification, établissement and company are selectin-loaded); the
    région is a property of the dossier (établissement, else company), so it is checked on the
    loaded rows."""
    if not perimeter.may_organise(p, jury.dispositif_id):
        return []
    which = Candidature.statut.in_(WAITING_JURY)
    if sending_move(p, jury.dispositif) is not None:
        which = sa.or_(which, evaluated_to_send())
    rows = (db.session.query(Candidature)
            .filter(Candidature.dispositif_id == jury.dispositif_id, which,
                    perimeter.criterion(Candidature, p, "write"),
                    ~sa.exists().where(InscriptionJury.candidature_id == Candidature.id,
                                       InscriptionJury.active.is_(True)))
            .order_by(Candidature.envoye_le.is_(None), Candidature.envoye_le,
                      Candidature.updated_on, Candidature.id).limit(limit).all())
    return [c for c in rows if _region_ok(jury.region, c)]


def unavailable_reason(jury: Jury) -> str | None:
    """Why `jury` takes no more dossiers today (closed, registrations over, full), said to the
    user; None when it has room."""
    reason = _closed_reason(jury, today())
    if reason is None and count_active(jury.id) >= jury.capacite:
        reason = f"le jury du {jury.date:%d/%m/%Y} est complet ({jury.capacite} dossiers)"
    return reason
