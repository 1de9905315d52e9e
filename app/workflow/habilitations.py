"""Habilitations: the guards later features call, and the request → decision workflow.

Guards (call them from any screen, action, REST endpoint or job that needs them):
- `ensure_habilitated(etablissement, dispositif, on=None)` — R-ACC-3/4 then R-HAB-2; raises
  RuleViolation in French. Evaluation and formation features call it before every write.
- `ensure_evaluator_allowed(evaluateur_user, certification, region, entreprise=None,
  organisme=None, on=None)` — R-HAB-5 then R-HAB-6 (independence); the candidature workflow calls
  it when an evaluator is named on a dossier.
- `habilitation_valide(...)`, `evaluateurs_possibles(...)` — read helpers.
- `menu_visible_for_evaluations()` — a menu `cond` hiding the evaluation/formation screens of an
  établissement that has no valid habilitation (R-HAB-2). It only hides: the server-side guard is
  ensure_habilitated.

Verbs: demander_habilitation, apprecier, valider, rejeter, remind_expiring.
"""
from datetime import date, timedelta

import sqlalchemy as sa
from flask import has_request_context
from flask_appbuilder.security.sqla.models import User

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.formats import format_date_fr
from app.models import (
    Certification,
    Dispositif,
    Entreprise,
    Etablissement,
    Organisme,
    Profil,
)
from app.models.base import today as _today
from app.models.base import utcnow
from app.models.habilitation import (
    CRITERES,
    INDICATEURS,
    NIVEAUX,
    PALIERS_RAPPEL,
    AppreciationHabilitation,
    EvaluateurHabilite,
    Habilitation,
    HabilitationEvaluateur,
    RappelHabilitation,
)
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.workflow.comptes import ensure_can_operate
from app.workflow.mail import send_mail
from app.workflow.notifications import notify

# A request made while a valid habilitation ends within this many days is its renewal (R-HAB-1).
RENOUVELLEMENT_JOURS = 90
REQUESTERS = ("admin", "admin_reseau", "admin_organisme", "admin_etablissement")


def _id(value):
    return getattr(value, "id", value)


def _get(model, value):
    return value if isinstance(value, model) or value is None else db.session.get(model, value)


# ---------------------------------------------------------------------------------------------
# Guards
# ---------------------------------------------------------------------------------------------
def habilitation_valide(etablissement, dispositif, on: date | None = None) -> Habilitation | None:
    """The validated habilitation of `etablissement` for `dispositif` covering day `on` (today)."""
    day = on or _today()
    return (db.session.query(Habilitation)
            .filter(Habilitation.etablissement_id == _id(etablissement),
                    Habilitation.dispositif_id == _id(dispositif),
                    Habilitation.etat == "validee",
                    Habilitation.date_debut <= day, Habilitation.date_fin >= day)
            .order_by(Habilitation.date_fin.desc()).first())


def ensure_habilitated(etablissement, dispositif, on: date | None = None,
                       known=None) -> Habilitation:
    """R-ACC-3/4 then R-HAB-2: refuse evaluation/formation work without a valid habilitation.

    `etablissement` may be an Etablissement, its id or None (an organisme without établissement,
    R-ACC-4). Returns the habilitation that allows the work. `known`: a bulk caller's valid
    habilitations prefetched for all its rows (app/imports/known.py).
    """
    etablissement = _get(Etablissement, etablissement)
    ensure_can_operate(etablissement)
    dispositif = _get(Dispositif, dispositif)
    day = on or _today()
    hab = known.habilitation(etablissement, dispositif, day) if known is not None else \
        habilitation_valide(etablissement, dispositif, day)
    if hab is None:
        nom = dispositif.nom if dispositif is not None else "ce dispositif"
        raise RuleViolation(
            f"L'établissement {etablissement.nom} n'a pas d'habilitation valide au "
            f"{format_date_fr(day)} pour le dispositif {nom} : les évaluations et les formations "
            "lui sont fermées. Demandez une habilitation au certificateur.", "R-HAB-2")
    return hab


def etablissements_habilites(p: Perimetre, dispositif=None, on: date | None = None):
    """SQL select of the ids of the perimeter's établissements holding a valid habilitation
    (and able to work, R-ACC-3)."""
    day = on or _today()
    q = (sa.select(Etablissement.id)
         .join(Organisme, Organisme.id == Etablissement.organisme_id)
         .join(Habilitation, Habilitation.etablissement_id == Etablissement.id)
         .where(Habilitation.etat == "validee", Habilitation.date_debut <= day,
                Habilitation.date_fin >= day, Etablissement.actif.is_(True),
                Organisme.actif.is_(True),
                perimeter.criterion(Etablissement, p, "read")))
    if dispositif is not None:
        q = q.where(Habilitation.dispositif_id == _id(dispositif))
    return q


def menu_visible_for_evaluations(p: Perimetre | None = None, dispositif=None,
                                 on: date | None = None) -> bool:
    """R-HAB-2 menu condition: False for a training-organisation user none of whose
    établissements is habilitated today. Other roles are not concerned (True).

    Use: appbuilder.add_view(View, "Évaluations", ..., menu_cond=menu_visible_for_evaluations)
    """
    if p is None:
        if not has_request_context():
            return True
        p = perimeter.current_perimetre()
    if p.niveau not in ("reseau", "organisme", "etablissement"):
        return True
    q = etablissements_habilites(p, dispositif, on).limit(1)
    return db.session.execute(q).first() is not None


def _evaluateur_of(evaluateur_user) -> EvaluateurHabilite | None:
    if isinstance(evaluateur_user, EvaluateurHabilite):
        return evaluateur_user
    return (db.session.query(EvaluateurHabilite)
            .filter(EvaluateurHabilite.user_id == _id(evaluateur_user)).one_or_none())


def _siren(siret_or_siren):
    return (siret_or_siren or "")[:9] or None


def ensure_evaluator_allowed(evaluateur_user, certification, region: str, entreprise=None,
                             organisme=None, on: date | None = None) -> HabilitationEvaluateur:
    """R-HAB-5 (habilitated for this certification and région on that day) and R-HAB-6
    (independent of the dossier's company and training organisation, and not of the same
    national network). `organisme` may be an Organisme or an Etablissement.
    Returns the evaluator's habilitation that allows it."""
    day = on or _today()
    ev = _evaluateur_of(evaluateur_user)
    certification = _get(Certification, certification)
    if ev is None or not ev.actif or (ev.user is not None and not ev.user.active):
        raise RuleViolation("Cette personne n'est pas un évaluateur habilité actif.", "R-HAB-5",
                            field="evaluateur")
    hab = next((h for h in ev.habilitations if h.certification_id == _id(certification)
                and h.region == region and h.valide_le(day)), None)
    if hab is None:
        raise RuleViolation(
            f"{ev.nom_complet} n'est pas habilité(e) pour la certification "
            f"{certification.code if certification else ''} en région {region} au "
            f"{format_date_fr(day)}.", "R-HAB-5", field="evaluateur")
    entreprise = _get(Entreprise, entreprise)
    if isinstance(organisme, Etablissement):
        organisme = organisme.organisme
    organisme = _get(Organisme, organisme)
    reseau = ev.reseau_effectif
    if entreprise is not None:
        same = (ev.employeur_entreprise_id == entreprise.id
                or (ev.employeur_siret and _siren(ev.employeur_siret) == _siren(entreprise.siret)))
        if same:
            raise RuleViolation(
                f"{ev.nom_complet} est salarié(e) de l'entreprise {entreprise.raison_sociale} : "
                "l'évaluateur habilité doit être indépendant de l'entreprise du candidat.",
                "R-HAB-6", field="evaluateur")
        if reseau is not None and reseau.national and entreprise.reseau_id == reseau.id:
            raise RuleViolation(
                f"{ev.nom_complet} appartient au réseau national {reseau.nom}, comme l'entreprise "
                f"{entreprise.raison_sociale} : choisissez un évaluateur indépendant.",
                "R-HAB-6", field="evaluateur")
    if organisme is not None:
        same = (ev.employeur_organisme_id == organisme.id
                or (ev.employeur_siret and _siren(ev.employeur_siret) == organisme.siren))
        if same:
            raise RuleViolation(
                f"{ev.nom_complet} est salarié(e) de l'organisme de formation {organisme.nom} : "
                "l'évaluateur habilité doit être indépendant de l'organisme qui a formé le "
                "candidat.", "R-HAB-6", field="evaluateur")
        if reseau is not None and reseau.national and organisme.reseau_id == reseau.id:
            raise RuleViolation(
                f"{ev.nom_complet} est salarié(e) du réseau national {reseau.nom}, auquel "
                f"appartient l'organisme de formation {organisme.nom} : un évaluateur d'un réseau "
                "national ne peut pas évaluer un candidat formé par un membre du même réseau.",
                "R-HAB-6", field="evaluateur")
    return hab


def evaluateurs_possibles(certification, region: str, on: date | None = None):
    """Query of the active évaluateurs habilités for `certification` in `region` on day `on`
    (R-HAB-5), by name. Independence (R-HAB-6) is checked per dossier by
    ensure_evaluator_allowed."""
    day = on or _today()
    valid = (sa.select(HabilitationEvaluateur.id)
             .where(HabilitationEvaluateur.evaluateur_id == EvaluateurHabilite.id,
                    HabilitationEvaluateur.certification_id == _id(certification),
                    HabilitationEvaluateur.region == region,
                    HabilitationEvaluateur.date_debut <= day,
                    HabilitationEvaluateur.date_fin >= day))
    return (db.session.query(EvaluateurHabilite)
            .join(User, User.id == EvaluateurHabilite.user_id)
            .filter(EvaluateurHabilite.actif.is_(True), User.active.is_(True), valid.exists())
            .order_by(User.last_name, User.first_name))


# ---------------------------------------------------------------------------------------------
# Who is told
# ---------------------------------------------------------------------------------------------
def _active_users(*criteria):
    return (db.session.query(User).join(Profil, Profil.user_id == User.id)
            .filter(User.active.is_(True), sa.or_(*criteria)).all())


def cote_demandeur(hab: Habilitation) -> list:
    """The requester and the administrators of the établissement and of its organisme."""
    etab = hab.etablissement
    users = _active_users(
        sa.and_(Profil.role == "admin_etablissement", Profil.etablissement_id == etab.id),
        sa.and_(Profil.role == "admin_organisme", Profil.organisme_id == etab.organisme_id))
    if hab.demande_par is not None and hab.demande_par.active:
        users.insert(0, hab.demande_par)
    return _unique(users)


def cote_certificateur(hab: Habilitation) -> list:
    """The secretariat of the dispositif (the certifier)."""
    return _active_users(sa.and_(Profil.role == "secretariat",
                                 Profil.dispositif_id == hab.dispositif_id))


def _unique(users):
    seen, out = set(), []
    for u in users:
        if u.id not in seen:
            seen.add(u.id)
            out.append(u)
    return out


def _lien(hab: Habilitation) -> str:
    return f"/habilitationview/show/{hab.id}"


def _tell(users, rubrique, titre, contenu, hab, template, **ctx):
    notify(users, rubrique, titre, contenu, _lien(hab))
    for user in users:
        if user.email:
            send_mail(user.email, template, user=user, hab=hab, lien=_lien(hab), titre=titre,
                      contenu=contenu, format_date_fr=format_date_fr, **ctx)


def _describe(hab: Habilitation) -> str:
    return (f"la demande d'habilitation de l'établissement {hab.etablissement.nom} auprès de "
            f"{hab.dispositif.certificateur} pour le dispositif {hab.dispositif.nom}")


# ---------------------------------------------------------------------------------------------
# Verbs
# ---------------------------------------------------------------------------------------------
def demander_habilitation(p: Perimetre, etablissement, dispositifs, commentaire=None,
                          on: date | None = None) -> list[Habilitation]:
    """R-HAB-1: one request per dispositif for `etablissement`, by an administrator of its
    réseau, organisme or établissement. A request while a valid habilitation ends within
    RENOUVELLEMENT_JOURS is its renewal."""
    day = on or _today()
    if p.role not in REQUESTERS:
        raise RuleViolation("Seul un administrateur de réseau, d'organisme ou d'établissement peut "
                            "demander une habilitation.", "R-HAB-1")
    etablissement = _get(Etablissement, etablissement)
    if etablissement is None or not perimeter.contains(etablissement, p, "read"):
        raise PerimeterViolation()
    ensure_can_operate(etablissement)
    dispositifs = [_get(Dispositif, d) for d in (dispositifs or [])]
    dispositifs = [d for d in dispositifs if d is not None]
    if not dispositifs:
        raise RuleViolation("Choisissez au moins un dispositif (certificateur).", "R-HAB-1",
                            field="dispositifs")
    created = []
    for dispositif in dispositifs:
        if not dispositif.actif:
            raise RuleViolation(f"Le dispositif {dispositif.nom} n'est plus actif.", "R-HAB-1",
                                field="dispositifs")
        pending = db.session.query(Habilitation.id).filter(
            Habilitation.etablissement_id == etablissement.id,
            Habilitation.dispositif_id == dispositif.id,
            Habilitation.etat == "en_attente").first()
        if pending:
            raise RuleViolation(
                f"Une demande d'habilitation de {etablissement.nom} pour {dispositif.nom} est déjà "
                "en attente.", "R-HAB-1", field="dispositifs")
        # The latest validated period not yet ended (today's, or one already renewed ahead).
        current = (db.session.query(Habilitation)
                   .filter(Habilitation.etablissement_id == etablissement.id,
                           Habilitation.dispositif_id == dispositif.id,
                           Habilitation.etat == "validee", Habilitation.date_fin >= day)
                   .order_by(Habilitation.date_fin.desc()).first())
        if current is not None and current.date_fin > day + timedelta(days=RENOUVELLEMENT_JOURS):
            raise RuleViolation(
                f"{etablissement.nom} est habilité pour {dispositif.nom} jusqu'au "
                f"{format_date_fr(current.date_fin)} : le renouvellement se demande dans les "
                f"{RENOUVELLEMENT_JOURS} jours qui précèdent la fin.", "R-HAB-1",
                field="dispositifs")
        hab = Habilitation(etablissement=etablissement, dispositif=dispositif, etat="en_attente",
                           etablissement_id=etablissement.id, dispositif_id=dispositif.id,
                           commentaire=(commentaire or "").strip() or None,
                           demande_par_id=p.user_id, renouvellement_de=current)
        perimeter.ensure(hab, "write", p)
        db.session.add(hab)
        db.session.flush()
        created.append(hab)
        _announce_request(hab)
    return created


def renouveler(p: Perimetre, hab: Habilitation, commentaire=None, on=None):
    """R-HAB-1: the « Renouveler » button: a new request for the same établissement and dispositif."""
    return demander_habilitation(p, hab.etablissement, [hab.dispositif], commentaire, on)[0]


def _announce_request(hab: Habilitation):
    if hab.est_renouvellement:
        rubrique, titre = "renouvellement_habilitation", "Demande de renouvellement d'habilitation"
    else:
        rubrique, titre = "demande_habilitation", "Demande d'habilitation envoyée"
    contenu = f"{_describe(hab)[0].upper()}{_describe(hab)[1:]} a été envoyée le " \
              f"{format_date_fr(hab.demande_le)}."
    _tell(cote_demandeur(hab), rubrique, titre, contenu, hab, "habilitation_demande",
          pour="demandeur")
    # The certifier receives a file to examine.
    titre_cert = ("Dossier d'habilitation à instruire (renouvellement)" if hab.est_renouvellement
                  else "Dossier d'habilitation à instruire")
    _tell(cote_certificateur(hab), "dossier_habilitation", titre_cert, contenu, hab,
          "habilitation_demande", pour="certificateur")


def _ensure_certifier(p: Perimetre, hab: Habilitation):
    if p.role == "admin":
        return
    if p.role != "secretariat":
        raise RuleViolation("Seul le certificateur (secrétariat du dispositif) décide d'une "
                            "habilitation.", "R-HAB-1")
    if not perimeter.is_secretariat_of(p, hab.dispositif_id):
        raise PerimeterViolation()


def _ensure_pending(hab: Habilitation):
    if hab.etat != "en_attente":
        raise RuleViolation(f"Cette demande est déjà {hab.etat_label.lower()}.", "R-HAB-1")


def apprecier(p: Perimetre, hab: Habilitation, appreciations: dict) -> None:
    """R-HAB-4: record the certifier's assessment; `appreciations` maps (critere, indicateur)
    to a level code (or a (level, comment) pair)."""
    _ensure_certifier(p, hab)
    _ensure_pending(hab)
    existing = {(a.critere, a.indicateur): a for a in hab.appreciations}
    for key, value in appreciations.items():
        critere, indicateur = int(key[0]), int(key[1])
        if (critere, indicateur) not in INDICATEURS:
            raise RuleViolation("Indicateur inconnu.", "R-HAB-4")
        niveau, commentaire = (value if isinstance(value, (tuple, list)) else (value, None))
        if not niveau:
            continue
        if niveau not in NIVEAUX.codes:
            raise RuleViolation("Appréciation inconnue.", "R-HAB-4",
                                field=f"c{critere}_i{indicateur}")
        row = existing.get((critere, indicateur))
        if row is None:
            row = AppreciationHabilitation(critere=critere, indicateur=indicateur)
            hab.appreciations.append(row)
        row.niveau = niveau
        row.commentaire = (commentaire or "").strip() or None
    db.session.flush()


def appreciation_requise(hab: Habilitation) -> bool:
    """R-HAB-4 applies to the schemes evaluated by blocs (metallurgy)."""
    return hab.dispositif.structure_evaluation == "blocs"


def indicateurs_manquants(hab: Habilitation) -> list[tuple[int, int]]:
    done = {(a.critere, a.indicateur) for a in hab.appreciations if a.niveau}
    return [k for k in INDICATEURS if k not in done]


def validate_habilitation(p: Perimetre, hab: Habilitation, debut: date, fin: date,
            appreciations: dict | None = None, commentaire=None) -> Habilitation:
    """R-HAB-1: the certifier grants the habilitation for [debut, fin]. For the metallurgy scheme
    the 12 indicators must be assessed first (R-HAB-4)."""
    _ensure_certifier(p, hab)
    _ensure_pending(hab)
    if debut is None or fin is None:
        raise RuleViolation("Indiquez les dates de début et de fin de l'habilitation.", "R-HAB-1",
                            field="date_debut" if debut is None else "date_fin")
    if fin < debut:
        raise RuleViolation("La date de fin doit suivre la date de début.", "R-HAB-1",
                            field="date_fin")
    if appreciations:
        apprecier(p, hab, appreciations)
    if appreciation_requise(hab):
        missing = indicateurs_manquants(hab)
        if missing:
            raise RuleViolation(
                f"Appréciez les {len(INDICATEURS)} indicateurs des {len(CRITERES)} critères "
                f"d'habilitation avant de valider ({len(missing)} manquant(s), dont « "
                f"{CRITERES[missing[0][0] - 1][0]} », indicateur {missing[0][1]}).", "R-HAB-4")
    hab.etat, hab.date_debut, hab.date_fin = "validee", debut, fin
    hab.decide_le, hab.decide_par_id = utcnow(), p.user_id
    if commentaire:
        hab.commentaire = "\n".join(x for x in (hab.commentaire, commentaire.strip()) if x)
    db.session.flush()
    titre = "Demande d'habilitation acceptée"
    contenu = (f"{_describe(hab)[0].upper()}{_describe(hab)[1:]} est acceptée. Sa validité : du "
               f"{format_date_fr(debut)} au {format_date_fr(fin)}.")
    users = _unique(cote_demandeur(hab) + cote_certificateur(hab))
    _tell(users, "demande_habilitation", titre, contenu, hab, "habilitation_validee")
    return hab


def reject_habilitation(p: Perimetre, hab: Habilitation, motif: str) -> Habilitation:
    """R-HAB-1: the certifier refuses with a reason the requester reads."""
    _ensure_certifier(p, hab)
    _ensure_pending(hab)
    motif = (motif or "").strip()
    if not motif:
        raise RuleViolation("Indiquez le motif du rejet : le demandeur le lira.", "R-HAB-1",
                            field="motif_rejet")
    hab.etat, hab.motif_rejet = "rejetee", motif
    hab.decide_le, hab.decide_par_id = utcnow(), p.user_id
    db.session.flush()
    titre = "Demande d'habilitation rejetée"
    contenu = f"{_describe(hab)[0].upper()}{_describe(hab)[1:]} est rejetée. Motif : {motif}"
    users = _unique(cote_demandeur(hab) + cote_certificateur(hab))
    _tell(users, "demande_habilitation", titre, contenu, hab, "habilitation_rejetee")
    return hab


def renewed(hab: Habilitation) -> bool:
    """A renewal was requested or granted, or a later validated period exists."""
    q = db.session.query(Habilitation.id).filter(
        Habilitation.id != hab.id,
        Habilitation.etablissement_id == hab.etablissement_id,
        Habilitation.dispositif_id == hab.dispositif_id,
        sa.or_(sa.and_(Habilitation.renouvellement_de_id == hab.id,
                       Habilitation.etat.in_(["en_attente", "validee"])),
               sa.and_(Habilitation.etat == "validee", Habilitation.date_fin > hab.date_fin)))
    return q.first() is not None


def remind_expiring(today: date | None = None) -> int:
    """`flask habilitations remind`: warn 60 and 15 days before an end date (rubric
    Renouvellement d'habilitation). Each (habilitation, threshold) is sent once, recorded in
    RappelHabilitation, so running the command twice a day — or missing a day — is harmless.
    Returns the number of reminders sent."""
    day = today or _today()
    horizon = day + timedelta(days=max(PALIERS_RAPPEL))
    habs = (db.session.query(Habilitation)
            .filter(Habilitation.etat == "validee", Habilitation.date_fin >= day,
                    Habilitation.date_fin <= horizon)
            .order_by(Habilitation.date_fin).all())
    sent_before = {(r.habilitation_id, r.palier) for r in db.session.query(RappelHabilitation)
                   .filter(RappelHabilitation.habilitation_id.in_([h.id for h in habs] or [0]))}
    count = 0
    for hab in habs:
        left = (hab.date_fin - day).days
        # The smallest threshold reached is the one due; a missed larger one is not sent late.
        palier = min((p for p in PALIERS_RAPPEL if left <= p), default=None)
        if palier is None or (hab.id, palier) in sent_before or renewed(hab):
            continue
        db.session.add(RappelHabilitation(habilitation_id=hab.id, palier=palier, envoye_le=day))
        titre = f"Habilitation à renouveler : fin dans {left} jour(s)"
        contenu = (f"L'habilitation de l'établissement {hab.etablissement.nom} pour le dispositif "
                   f"{hab.dispositif.nom} prend fin le {format_date_fr(hab.date_fin)}. Demandez "
                   "son renouvellement depuis l'onglet Habilitations.")
        users = _unique(cote_demandeur(hab) + cote_certificateur(hab))
        _tell(users, "renouvellement_habilitation", titre, contenu, hab, "habilitation_rappel",
              jours=left)
        count += 1
    db.session.commit()
    return count


# ---------------------------------------------------------------------------------------------
# Évaluateurs habilités (written by the secretariat)
# ---------------------------------------------------------------------------------------------
def habiliter_evaluateur(p: Perimetre, evaluateur: EvaluateurHabilite, certification,
                         region: str, debut: date, fin: date) -> HabilitationEvaluateur:
    """R-HAB-5: habilitate an evaluator for a certification of the the user's dispositif × région."""
    from app.models.structures import REGIONS
    certification = _get(Certification, certification)
    if not (p.unrestricted or certification is not None
            and perimeter.is_secretariat_of(p, certification.dispositif_id)):
        raise PerimeterViolation()
    if region not in REGIONS:
        raise RuleViolation("Région inconnue.", "R-HAB-5", field="region")
    if debut is None or fin is None or fin < debut:
        raise RuleViolation("Indiquez une période valide (la fin suit le début).", "R-HAB-5",
                            field="date_fin")
    row = HabilitationEvaluateur(evaluateur=evaluateur, certification=certification,
                                 region=region, date_debut=debut, date_fin=fin)
    db.session.add(row)
    db.session.flush()
    return row
