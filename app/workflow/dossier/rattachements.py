"""Rattachement (R-CAN-6): an établissement asks to take over a dossier held by another one; the
certifier accepts or refuses; a dossier at the jury, in certification or certified never moves."""
from flask_appbuilder.security.sqla.models import User

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models import Etablissement, Profil
from app.models.base import utcnow
from app.models.candidature import MOTIFS_RATTACHEMENT, Candidature, RattachementDemande
from app.models.statuts import AT_JURY
from app.security import perimeter, roles
from app.security.perimeter import Perimetre
from app.workflow.engine import (
    ORG,
    SEC,
    NotAllowed,
    dossier_link,
    record,
    secretariat_of,
)
from app.workflow.habilitations import ensure_habilitated
from app.workflow.notifications import notify


def ensure_transferable(c: Candidature):
    # R-CAN-6: "en attente de jury, in certification or certified" — and every decided status.
    if c.statut in AT_JURY:
        raise RuleViolation("Un dossier en attente de jury, en cours de certification ou certifié ne "
                            "peut pas être réaffecté.", "R-CAN-6")


def _users_of(etablissement_id) -> list[User]:
    return (db.session.query(User).join(Profil, Profil.user_id == User.id)
            .filter(User.active.is_(True), Profil.etablissement_id == etablissement_id).all())


def request_transfer(p: Perimetre, c: Candidature, etablissement, motif, precision=None
                     ) -> RattachementDemande:
    """A training-organisation user asks that `etablissement` (of their perimeter) take `c` over."""
    if p.role not in ORG:
        raise NotAllowed("Seul un utilisateur d'organisme de formation demande un rattachement.",
                         "R-CAN-6")
    etab = etablissement if isinstance(etablissement, Etablissement) else (
        db.session.get(Etablissement, int(etablissement)) if str(etablissement or "").isdigit() else None)
    if etab is None:
        raise RuleViolation("Choisissez l'établissement d'évaluation.", "R-CAN-6", field="etablissement")
    if not perimeter.contains(etab, p, "read"):
        raise PerimeterViolation()
    if c.etablissement_id is None:
        raise RuleViolation("Ce dossier n'est pas suivi par un établissement.", "R-CAN-6")
    if c.etablissement_id == etab.id:
        raise RuleViolation("Ce dossier est déjà suivi par cet établissement.", "R-CAN-6",
                            field="etablissement")
    ensure_transferable(c)
    ensure_habilitated(etab, c.dispositif)
    if motif not in MOTIFS_RATTACHEMENT.codes:
        raise RuleViolation("Choisissez le motif de la demande.", "R-CAN-6", field="motif")
    precision = (precision or "").strip() or None
    if motif == "autre" and not precision:
        raise RuleViolation("Précisez le motif « autre ».", "R-CAN-6", field="precision")
    pending = db.session.query(RattachementDemande.id).filter(
        RattachementDemande.candidature_id == c.id, RattachementDemande.etat == "en_attente").first()
    if pending:
        raise RuleViolation("Une demande de rattachement de ce dossier est déjà en attente.",
                            "R-CAN-6")
    d = RattachementDemande(candidature=c, etablissement_demandeur=etab, motif=motif,
                            precision=precision, demandeur_id=p.user_id,
                            ancien_etablissement_id=c.etablissement_id)
    db.session.add(d)
    db.session.flush()
    titre = f"Demande de rattachement du dossier {c.numero}"
    contenu = f"{etab.nom} demande à reprendre ce dossier ({d.motif_label})."
    notify(secretariat_of(c.dispositif_id), "demande_rattachement", titre, contenu,
           "/rattachements/list/")
    notify(_users_of(c.etablissement_id), "demande_rattachement", titre, contenu, dossier_link(c))
    return d


def decide_transfer(p: Perimetre, d: RattachementDemande, accept: bool, reponse=None):
    """The certifier decides; both sides are notified (R-CAN-6)."""
    c = d.candidature
    if not (p.role == SEC and roles.allowed(p.role, "Candidatures", "decide_transfer")):
        raise NotAllowed("Seul le certificateur décide d'un rattachement.", "R-CAN-6")
    if not perimeter.is_secretariat_of(p, c.dispositif_id):
        raise PerimeterViolation()
    if d.etat != "en_attente":
        raise RuleViolation("Cette demande a déjà reçu une réponse.", "R-CAN-6")
    reponse = (reponse or "").strip() or None
    if not accept and not reponse:
        raise RuleViolation("Indiquez la raison du refus.", "R-CAN-6", field="reponse")
    ancien = c.etablissement
    if accept:
        ensure_transferable(c)
        etab = d.etablissement_demandeur
        c.etablissement = etab
        c.etablissement_id = etab.id
        c.organisme_id, c.reseau_id = etab.organisme_id, etab.organisme.reseau_id
        record(p, c, "rattachement", f"Dossier rattaché à {etab.nom}",
               f"Ancien établissement : {ancien.nom if ancien else '—'}. {d.motif_label}"
               + (f" — {d.precision}" if d.precision else ""))
    d.etat = "acceptee" if accept else "refusee"
    d.reponse, d.decide_le, d.decide_par_id = reponse, utcnow(), p.user_id
    titre = f"Rattachement du dossier {c.numero} {'accepté' if accept else 'refusé'}"
    contenu = reponse or (f"Le dossier est désormais suivi par {d.etablissement_demandeur.nom}."
                          if accept else "")
    sides = _users_of(d.etablissement_demandeur_id) + _users_of(d.ancien_etablissement_id)
    if d.demandeur_id:
        sides.append(d.demandeur_id)
    notify(sides, "demande_rattachement", titre, contenu, dossier_link(c))
    return d
