"""Dossier verbs: creation (R-CAN-1..5, R-DIS-2, R-REF-5), the fiche, the moves towards the jury
(R-WF-1..4), abandon and reinstatement (R-CAN-7), accommodations (R-EVA-8).

The moves towards the jury place the dossier themselves (app/workflow/jury/sessions.py) and
return what happened (each checks the same guard as the buttons):
  submit_to_jury(p, c, jury=None)      chimie / metallurgy: → en attente de jury (locked), placed
  send_to_certification(p, c, jury=None)  CléA: → en attente de jury (locked), placed
  complete_and_resend(p, c)            CléA, R-WF-4: back to the jury, placed
  unlock(p, c)                         undo the sending (R-WF-3): out of its jury
  request_complement(p, c, commentaire)  CléA, R-WF-4 (jury side)
  apply_decision(p, c, decision, decide_le=None, commentaire=None)  (jury side)
Abandon and reinstatement are in abandons.py, accommodations in evaluation/common.py.
"""
from datetime import date

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models import Certification, Entreprise, Etablissement, Organisme
from app.models.base import today, utcnow
from app.models.candidature import (
    STATUTS_INSCRIPTION,
    Candidat,
    Candidature,
    Historique,
    NumeroSequence,
)
from app.models.statuts import ENDED_WITHOUT_TITLE
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.seed_data.referentiels import FINANCEMENTS
from app.workflow.comptes import ensure_can_operate
from app.workflow.dossier import candidats
from app.workflow.engine import (
    CHIMIE,
    EMP,
    ORG,
    SEC,
    NotAllowed,
    author_name,
    check,
    dossier_link,
    holders,
    is_locked,
    precondition,
    record,
    secretariat_of,
    set_status,
    workflow_for,
    workflow_of,
)
from app.workflow.evaluation.chimie import create_skills_evaluation
from app.workflow.habilitations import ensure_evaluator_allowed, ensure_habilitated
from app.workflow.jury import sessions as jury_sessions
from app.workflow.jury.acquis import cqpi_by_equivalence
from app.workflow.mail import send_mail
from app.workflow.notifications import notify

CREATOR_KIND = {EMP: "employeur", SEC: "secretariat", **{r: "etablissement" for r in ORG}}
FINANCEMENT_CODES = [code for code, _ in FINANCEMENTS]
DOSSIER_FIELDS = ("financement", "statut_inscription", "type_public", "niveau_formation",
                  "branche_delegataire", "socle_contextualise", "origine_demarche", "diplomes",
                  "objectifs_professionnels", "objectifs_extra_professionnels",
                  "initiative_salarie", "cqpi_demande")
OBJECTIFS_MIN = 20
def _get(model, value):
    if value is None or value == "" or isinstance(value, model):
        return value or None
    try:
        return db.session.get(model, int(value))
    except (TypeError, ValueError):
        return None


# --- fields -------------------------------------------------------------------------------------
def clean_fields(data: dict, dispositif) -> dict:
    """R-CAN-3: the dossier's descriptive fields, normalised."""
    out = {}
    for key in DOSSIER_FIELDS:
        if key not in data:
            continue
        value = data[key]
        if key in ("socle_contextualise", "initiative_salarie", "cqpi_demande"):
            out[key] = candidats.parse_bool(value)
        elif key == "niveau_formation":
            if value in (None, ""):
                out[key] = None
            else:
                try:
                    out[key] = int(value)
                except (TypeError, ValueError):
                    raise RuleViolation("Niveau de formation invalide.", "R-CAN-3", field=key)
                if not 1 <= out[key] <= 8:
                    raise RuleViolation("Le niveau de formation va de 1 à 8 (cadre européen).",
                                        "R-CAN-3", field=key)
        else:
            text = value.strip() if isinstance(value, str) else value
            out[key] = text or None
    if out.get("financement") and out["financement"] not in FINANCEMENT_CODES:
        raise RuleViolation("Dispositif de financement inconnu.", "R-CAN-3", field="financement")
    if "statut_inscription" in out:
        if out["statut_inscription"] not in STATUTS_INSCRIPTION.codes:
            raise RuleViolation("Choisissez le statut du candidat à l'inscription.", "R-CAN-3",
                                field="statut_inscription")
        out["origine"] = {"salarie": "SL", "demandeur_emploi": "DE"}.get(out["statut_inscription"])
    return out


def _check_cqpi_request(c: Candidature, known=None):
    """R-REF-2: a CQPI is asked for only with a CQP that gives one by equivalence."""
    equivalent = known.cqpi_by_equivalence if known is not None else cqpi_by_equivalence
    if c.cqpi_demande and not equivalent(c.certification):
        raise RuleViolation("Cette certification ne donne aucun CQPI par équivalence : la demande "
                            "de CQPI ne s'applique pas.", "R-REF-2", field="cqpi_demande")


def next_numero(dispositif, year: int | None = None) -> str:
    """R-CAN-5: '<DISPOSITIF>-<year>-<000001>'; the UPDATE … RETURNING holds the sequence row's lock
    until commit, so two concurrent creations never get the same number."""
    return next_numeros(dispositif, 1, year)[0]


def next_numeros(dispositif, count: int, year: int | None = None) -> list[str]:
    """`count` consecutive numbers (R-CAN-5) in one statement: a bulk creation numbers its
    dossiers as `count` single creations would."""
    key = f"{dispositif.code}-{year or today().year}"
    bump = (sa.update(NumeroSequence).where(NumeroSequence.cle == key)
            .values(dernier=NumeroSequence.dernier + count).returning(NumeroSequence.dernier)
            .execution_options(synchronize_session=False))
    n = db.session.execute(bump).scalar()
    if n is None:
        try:
            with db.session.begin_nested():
                db.session.add(NumeroSequence(cle=key, dernier=count))
            n = count
        except sa.exc.IntegrityError:  # created meanwhile by another transaction
            n = db.session.execute(bump).scalar()
    return [f"{key}-{i:06d}" for i in range(n - count + 1, n + 1)]


def ensure_no_duplicate(candidat_id, certification_id, exclude_id=None, p: Perimetre | None = None,
                        known=None):
    """R-CAN-2: no second dossier in progress or certified for the same certification. A dossier
    outside the perimeter (p, else the request's) is only said to exist, with what to do next:
    neither its number, nor its établissement, nor its status (issue 14, build 1). `known`: a
    bulk caller's (id, numero, inside) of such dossiers, prefetched (app/imports/known.py)."""
    if known is not None:
        row = known.dossier_in_progress(candidat_id, certification_id)
    else:
        q = db.session.query(Candidature.id, Candidature.numero).filter(
            Candidature.candidat_id == candidat_id,
            Candidature.certification_id == certification_id,
            Candidature.statut.notin_(ENDED_WITHOUT_TITLE))
        if exclude_id:
            q = q.filter(Candidature.id != exclude_id)
        row = q.first()
    if row is None:
        return
    inside = row.inside if known is not None else \
        perimeter.scoped_get(Candidature, row.id, p) is not None
    if inside:
        raise RuleViolation(
            f"Ce candidat a déjà un dossier en cours ou certifié pour cette certification "
            f"(n° {row.numero}) : un candidat ne peut pas être certifié deux fois.", "R-CAN-2")
    raise RuleViolation(
        "Un dossier existe déjà pour cette personne et cette certification : un candidat ne peut "
        "pas être certifié deux fois. Demandez son rattachement depuis la recherche de candidat.",
        "R-CAN-2")


# --- creation -----------------------------------------------------------------------------------
def create_candidature(p: Perimetre, *, certification, identite: dict | None = None,
                       candidat=None, etablissement=None, entreprise=None,
                       organisme_formation=None, parcours=None, vae=False, cqpi_detenu=None,
                       recevabilite_recue_le=None, known=None, save=True,
                       **fields) -> Candidature:
    """Create a dossier by the actor its dispositif allows (R-DIS-2), numbered (R-CAN-5).

    Bulk creation (app/imports): `known` answers the lookups (valid habilitation, same person,
    dossier in progress, CQPI equivalences) from data prefetched for every row; `save=False`
    checks everything and returns the dossier unsaved, for save_candidatures."""
    certification = _get(Certification, certification)
    if certification is None:
        raise RuleViolation("Choisissez la certification.", "R-CAN-3", field="certification")
    dispositif = certification.dispositif
    wf = workflow_for(dispositif)
    kind = CREATOR_KIND.get(p.role)
    if kind is None:
        raise NotAllowed("Votre rôle ne permet pas de créer un dossier.", "R-DIS-2")
    if kind == "secretariat":
        if not perimeter.is_secretariat_of(p, dispositif):
            raise PerimeterViolation()
        if not (dispositif.allows_creator("secretariat") or dispositif.allows_creator("candidat")):
            raise NotAllowed("Les dossiers de ce dispositif ne sont pas créés par le secrétariat.",
                             "R-DIS-2")
    elif not dispositif.allows_creator(kind):
        raise NotAllowed(f"Dans le dispositif {dispositif.nom}, un dossier n'est pas créé par un "
                         f"utilisateur de votre rôle.", "R-DIS-2")
    elif kind == "employeur":
        company = db.session.get(Entreprise, perimeter.own_id(p, "entreprise") or 0)
        if company is not None and not company.in_branch(dispositif):
            raise RuleViolation(
                f"Votre entreprise n'est pas rattachée au dispositif {dispositif.nom} : choisissez "
                "une certification de votre branche, ou demandez au secrétariat du certificateur "
                "de rattacher votre entreprise à ce dispositif.", "R-DIS-2", field="certification")
    if not dispositif.actif:
        raise RuleViolation("Ce dispositif n'est plus actif.", "R-DIS-2")
    if not certification.is_open_to_new_candidates():
        raise RuleViolation("Cette certification est supprimée : elle ne prend plus de nouveaux "
                            "candidats.", "R-REF-5", field="certification")

    with db.session.no_autoflush:  # nothing is written before the dossier is complete
        c, person = _build(p, kind, dispositif, wf, certification, identite, candidat,
                           etablissement, entreprise, organisme_formation, parcours, vae,
                           cqpi_detenu, recevabilite_recue_le, fields, known)
    c.candidat = person
    if save:
        save_candidatures(p, [c])
    return c


def save_candidatures(p: Perimetre, dossiers: list[Candidature]) -> None:
    """Number, store and announce dossiers checked by create_candidature(save=False), in a few
    statements whatever their number (one flush, one number range per dispositif)."""
    by_dispositif: dict = {}
    for c in dossiers:
        by_dispositif.setdefault(c.dispositif, []).append(c)
    with db.session.no_autoflush:
        for dispositif, group in by_dispositif.items():
            for c, numero in zip(group, next_numeros(dispositif, len(group))):
                c.numero = numero
    db.session.add_all(dossiers)
    db.session.flush()
    auteur, admins = author_name(p), {}
    db.session.execute(sa.insert(Historique), [  # one executemany, not one object per dossier
        {"candidature_id": c.id, "statut_avant": None, "statut_apres": c.statut,
         "action": "create", "libelle": "Création du dossier", "user_id": p.user_id,
         "auteur": auteur} for c in dossiers])
    for c in dossiers:
        _announce_creation(c, admins)


def _build(p, kind, dispositif, wf, certification, identite, candidat, etablissement, entreprise,
           organisme_formation, parcours, vae, cqpi_detenu, recevabilite_recue_le, fields,
           known=None):
    c = Candidature(dispositif=dispositif, certification=certification, createur_id=p.user_id,
                    createur_type=kind)
    # Holder of the dossier, inside the creator's perimeter.
    etablissement = _get(Etablissement, etablissement)
    entreprise = _get(Entreprise, entreprise)
    if kind == "employeur":
        entreprise = db.session.get(Entreprise, perimeter.own_id(p, "entreprise"))
        etablissement = None
    if kind == "etablissement":
        if etablissement is None:
            raise RuleViolation("Choisissez l'établissement d'évaluation.", "R-ACC-4",
                                field="etablissement")
        if not perimeter.contains(etablissement, p, "read"):
            raise PerimeterViolation()
        try:
            ensure_habilitated(etablissement, dispositif, known=known)
        except RuleViolation as exc:  # said next to the établissement chosen
            exc.field = exc.field or "etablissement"
            raise
    elif etablissement is not None:
        ensure_can_operate(etablissement)
    if etablissement is not None:
        c.etablissement = etablissement
        c.organisme_id = etablissement.organisme_id
        c.reseau_id = etablissement.organisme.reseau_id
    c.entreprise = entreprise
    c.organisme_formation = _get(Organisme, organisme_formation)

    # Parcours and VAE (R-CAN-8) and CQPI held (R-CAN-9).
    if wf is CHIMIE:
        parcours = str(parcours or "1")
        if parcours not in ("1", "2", "3"):
            raise RuleViolation("Parcours inconnu.", "R-CAN-8", field="parcours")
        if parcours == "3" and kind != "secretariat":
            raise RuleViolation("Un dossier de VAE de droit commun (parcours n°3) est créé par le "
                                "secrétariat.", "R-CAN-8", field="parcours")
        c.parcours, c.vae = parcours, parcours in ("2", "3")
    else:
        c.vae = bool(vae) and wf.initial_vae is not None
    cqpi = _get(Certification, cqpi_detenu)
    if cqpi is not None:
        if cqpi.type != "CQPI" or not cqpi.membre_branche or cqpi.dispositif_id != dispositif.id:
            raise RuleViolation("Choisissez un CQPI auquel la branche a adhéré.", "R-CAN-9",
                                field="cqpi_detenu")
        c.cqpi_detenu = cqpi

    for key, value in clean_fields(fields, dispositif).items():
        setattr(c, key, value)
    _check_cqpi_request(c, known)
    if not c.statut_inscription:
        raise RuleViolation("Choisissez le statut du candidat à l'inscription.", "R-CAN-3",
                            field="statut_inscription")

    # The candidate, once (R-CAN-1, R-CAN-2).
    if candidat is not None:
        person = perimeter.scoped_get(Candidat, getattr(candidat, "id", candidat), p)
        if person is None:
            raise PerimeterViolation()
    else:
        identity = candidats.validate_identity(identite or {})
        person = candidats.find_same_person(identity, known=known)
        if person is None:
            person = Candidat(**identity)
        else:  # same person: keep the recorded identity, complete what is missing
            for key in ("email", "telephone", "adresse", "code_postal", "ville", "nom_usage"):
                if identity.get(key) and not getattr(person, key):
                    setattr(person, key, identity[key])
    if person.id is not None:
        ensure_no_duplicate(person.id, certification.id, p=p, known=known)

    c.statut = wf.initial_vae if c.vae else wf.initial
    if c.vae:
        c.recevabilite_statut = "en_attente"
        c.recevabilite_recue_le = candidats.parse_date(recevabilite_recue_le, "recevabilite_recue_le") \
            or today()
    return c, person


def _announce_creation(c: Candidature, admins: dict | None = None):
    """R-NOT-2: a réseau may ask to hear of every new candidature of its network. `admins`:
    réseau id -> its administrators, read once per réseau for a batch."""
    if c.reseau is None or not c.reseau.notifier_candidatures:
        return
    from app.models import Profil
    admins = {} if admins is None else admins
    if c.reseau_id not in admins:
        admins[c.reseau_id] = (db.session.query(User).join(Profil, Profil.user_id == User.id)
                               .filter(Profil.role == "admin_reseau",
                                       Profil.reseau_id == c.reseau_id,
                                       User.active.is_(True)).all())
    users = admins[c.reseau_id]
    notify(users, "dossier_candidature", f"Nouvelle candidature {c.numero}",
           f"{c.candidat.nom_complet} — {c.certification.intitule} ({c.titulaire})",
           dossier_link(c))


# --- the fiche ------------------------------------------------------------------------------------
IDENTITY_KEYS = candidats.IDENTITY_FIELDS


@precondition("edit", "upload_document", "add_amenagement", "declare_abandon", "reinstate",
              "complete_and_resend", "send_to_certification", "submit_to_jury", "open_evaluation")
def _structure_active(p, c):
    """R-ACC-3/4: an inactive établissement can no longer complete its dossiers."""
    if p.role in ORG and c.etablissement is not None:
        ensure_can_operate(c.etablissement)


def update_candidature(p: Perimetre, c: Candidature, identite: dict | None = None,
                       entreprise=None, recevabilite_recue_le=None, **fields) -> list[str]:
    """Change the fiche (identity and R-CAN-3 fields); refused once locked (R-WF-3)."""
    check(p, c, "edit")
    changed = []
    if identite is not None:
        person = c.candidat
        others = [o for o in person.candidatures if o.id != c.id]
        identity = candidats.validate_identity(identite)
        diff = [k for k, v in identity.items() if getattr(person, k) != v]
        if diff:
            if any(is_locked(o) for o in others):
                raise RuleViolation("Un autre dossier de ce candidat est envoyé en certification : "
                                    "son identité ne peut plus être modifiée ici. Contactez le "
                                    "secrétariat.", "R-WF-3", field=diff[0])
            if any(not perimeter.contains(o, p, "write") for o in others):
                raise RuleViolation("Ce candidat a aussi un dossier suivi ailleurs : demandez au "
                                    "secrétariat de corriger son identité.", "R-ACC-5",
                                    field=diff[0])
            same = candidats.find_same_person(identity)
            if same is not None and same.id != person.id:
                raise RuleViolation("Un autre candidat porte déjà ce nom, ce prénom et cette date "
                                    "de naissance.", "R-CAN-2", field="nom_naissance")
            for key in diff:
                setattr(person, key, identity[key])
            changed += diff
    values = clean_fields(fields, c.dispositif)
    for key, value in values.items():
        if getattr(c, key) != value:
            setattr(c, key, value)
            changed.append(key)
    _check_cqpi_request(c)
    if entreprise is not None and p.role != EMP:
        ent = _get(Entreprise, entreprise) if entreprise != "" else None
        if (ent.id if ent else None) != c.entreprise_id:
            c.entreprise = ent
            changed.append("entreprise")
    if recevabilite_recue_le is not None and p.role == SEC and c.vae:
        day = candidats.parse_date(recevabilite_recue_le, "recevabilite_recue_le")
        if day != c.recevabilite_recue_le:
            c.recevabilite_recue_le = day
            changed.append("recevabilite_recue_le")
    if changed:
        c.updated_on = utcnow()
        record(p, c, "edit", "Fiche modifiée", ", ".join(changed))
    return changed


# --- moves towards the jury -----------------------------------------------------------------------
@precondition("confirm_evaluator")
def _inscription_complete(p, c):
    """R-WF-1: the inscription step is complete before the evaluator is confirmed."""
    missing = [label for key, label in (("financement", "dispositif de financement"),
                                        ("statut_inscription", "statut à l'inscription"))
               if not getattr(c, key)]
    if missing:
        raise RuleViolation("Complétez la fiche avant de confirmer l'évaluateur : "
                            + ", ".join(missing) + ".", "R-WF-1")


def confirm_evaluator(p: Perimetre, c: Candidature, evaluateur=None, date_evaluation=None,
                      commentaire=None, **_):
    """Chimie: the employer confirms the évaluateur habilité (R-HAB-5/6); he is e-mailed (R-NOT-3)."""
    check(p, c, "confirm_evaluator")
    user = _get(User, evaluateur)
    if user is None:
        raise RuleViolation("Choisissez l'évaluateur habilité.", "R-HAB-5", field="evaluateur")
    region = c.region
    if not region:
        raise RuleViolation("La région de l'évaluation est inconnue : renseignez la région de "
                            "l'entreprise ou de l'établissement.", "R-HAB-5", field="evaluateur")
    ensure_evaluator_allowed(user, c.certification, region, entreprise=c.entreprise,
                             organisme=c.organisme_formation or c.organisme)
    day = candidats.parse_date(date_evaluation, "date_evaluation")
    if day is not None and day < today() and p.role != SEC:
        # R-EVA-2: a past day would close the results window at once (plan_evaluation's rule)
        raise RuleViolation("La date de l'évaluation se fixe à aujourd'hui ou plus tard. Pour "
                            "enregistrer une date passée, adressez-vous au secrétariat du "
                            "dispositif.", "R-EVA-2", field="date_evaluation")
    c.evaluateur_id, c.evaluateur = user.id, user
    c.evaluateur_confirme_le = utcnow()
    create_skills_evaluation(c, user, day)
    set_status(p, c, "confirm_evaluator", "en_attente_evaluation", commentaire,
               libelle=f"Évaluateur habilité confirmé : {user.first_name} {user.last_name}")
    notify([user], "dossier_candidature", f"Dossier {c.numero} : vous êtes l'évaluateur habilité",
           f"{c.titulaire} a confirmé votre choix pour évaluer {c.candidat.nom_complet} "
           f"({c.certification.intitule}).", dossier_link(c))
    send_mail(user.email, "candidature_evaluateur_confirme", c=c, evaluateur=user,
              lien=dossier_link(c), date_evaluation=day)


@precondition("submit_to_jury", "send_to_certification")
def _identity_for_certificate(p, c):
    """R-CAN-1: the certificate is printed and posted with the identity and address."""
    missing = candidats.missing_for_certificate(c.candidat)
    if missing:
        raise RuleViolation("Complétez la fiche du candidat avant l'envoi : " + ", ".join(missing)
                            + " (utilisés pour le certificat).", "R-CAN-1")


def submit_to_jury(p: Perimetre, c: Candidature, commentaire=None, jury=None, **_):
    """Chimie / metallurgy: every evaluator input is in, the dossier waits for its jury (locked)
    and enters the one asked for or the next open one (None: it waits for an assignment)."""
    check(p, c, "submit_to_jury")
    # The history says what happened (« Dossier inscrit au jury »), not the button's verb.
    set_status(p, c, "submit_to_jury", "en_attente_jury", commentaire,
               libelle=f"Dossier {workflow_of(c).sent}")
    c.envoye_le = utcnow()
    notify(secretariat_of(c.dispositif_id), "envoi_certification",
           f"Dossier {c.numero} présenté au jury", f"{c.candidat.nom_complet} — "
           f"{c.certification.intitule} ({c.titulaire})", dossier_link(c))
    return jury_sessions.place_sent(p, c, jury)


@precondition("send_to_certification")
def _ready_for_certification(p, c):
    """R-ACC-4/R-HAB-2 and the objectives the jury reads (003)."""
    ensure_habilitated(c.etablissement, c.dispositif)
    if len((c.objectifs_professionnels or "").strip()) < OBJECTIFS_MIN:
        raise RuleViolation("Précisez les objectifs du projet professionnel : le jury peut refuser "
                            "un dossier insuffisamment renseigné.", "R-CAN-3")


def send_to_certification(p: Perimetre, c: Candidature, commentaire=None, jury=None, **_):
    """CléA: only from a Validé evaluation (R-EVA-6); the dossier is then locked (R-WF-3) and
    enters the certificateur's next open jury (None: it waits for an assignment)."""
    check(p, c, "send_to_certification")
    # The history says what happened (« Dossier inscrit au jury »), not the button's verb.
    set_status(p, c, "send_to_certification", "en_attente_jury", commentaire,
               libelle=f"Dossier {workflow_of(c).sent}")
    c.envoye_le = utcnow()
    notify(secretariat_of(c.dispositif_id), "envoi_certification",
           f"Dossier {c.numero} envoyé en certification",
           f"{c.candidat.nom_complet} — {c.titulaire}", dossier_link(c))
    return jury_sessions.place_sent(p, c, jury)


@precondition("unlock")
def _not_decided(p, c):
    if c.decision is not None:
        raise RuleViolation("Le jury a déjà statué sur ce dossier.", "R-WF-3")
    jury_sessions.ensure_not_deliberated(c)


def unlock(p: Perimetre, c: Candidature, commentaire=None, **_):
    """R-WF-3: only an administrateur réseau or the certifier undoes the sending."""
    move = check(p, c, "unlock")
    target = next(iter(move.targets))
    set_status(p, c, "unlock", target, commentaire)
    c.envoye_le = None
    notify(holders(c), "envoi_certification", f"Envoi du dossier {c.numero} annulé",
           "Le dossier peut de nouveau être modifié.", dossier_link(c))
    jury_sessions.withdraw_unlocked(p, c)


def request_complement(p: Perimetre, c: Candidature, commentaire: str):
    """R-WF-4 (jury side): ask the organisation for complements; the dossier opens again."""
    check(p, c, "request_complement", internal=True)
    if not (commentaire or "").strip():
        raise RuleViolation("Précisez les compléments demandés.", "R-WF-4", field="commentaire")
    set_status(p, c, "request_complement", "en_attente_complement", commentaire.strip())
    users = holders(c)
    notify(users, "dossier_candidature", f"Complément demandé pour le dossier {c.numero}",
           commentaire.strip(), dossier_link(c))
    for user in users:
        send_mail(user.email, "candidature_complement", c=c, user=user, demande=commentaire.strip(),
                  lien=dossier_link(c))


def pending_complement(c: Candidature) -> Historique | None:
    """R-WF-4: the jury's open complement request (who asked, when, what), for the page where the
    organisation completes the dossier."""
    if c.statut != "en_attente_complement":
        return None
    return max((h for h in c.historique if h.action == "request_complement"),
               key=lambda h: h.id, default=None)


@precondition("complete_and_resend")
def _complement_added(p, c):
    last = (db.session.query(sa.func.max(Historique.id))
            .filter(Historique.candidature_id == c.id, Historique.action == "request_complement")
            .scalar())
    added = last is not None and db.session.query(Historique.id).filter(
        Historique.candidature_id == c.id, Historique.id > last,
        Historique.action.in_(["upload_document", "edit"])).first()
    if not added:
        raise RuleViolation("Ajoutez d'abord les compléments demandés (document ou fiche).",
                            "R-WF-4")


def complete_and_resend(p: Perimetre, c: Candidature, commentaire=None, jury=None, **_):
    """R-WF-4: the completed dossier goes back to the jury (locked again), placed like a sent one."""
    check(p, c, "complete_and_resend")
    set_status(p, c, "complete_and_resend", "candidature_completee", commentaire)
    notify(secretariat_of(c.dispositif_id), "envoi_certification",
           f"Dossier {c.numero} complété", f"{c.candidat.nom_complet} — {c.titulaire}",
           dossier_link(c))
    return jury_sessions.place_sent(p, c, jury)


def apply_decision(p: Perimetre, c: Candidature, decision: str, decide_le: date | None = None,
                   commentaire=None, recorded_by: Perimetre | None = None, libelle=None):
    """The jury's decision (jury feature): Validé/Partiel/Non validé, Certifiée/Non certifiée,
    Admis/Non admis — the target status is the decision code. `recorded_by`: the juror who
    recorded it, named by the history line (`p` publishes it)."""
    move = check(p, c, "apply_decision", internal=True)
    if decision not in move.targets:
        raise RuleViolation("Décision inconnue pour ce dispositif.", "R-DIS-2", field="decision")
    c.decision, c.decide_le = decision, decide_le or today()
    set_status(recorded_by or p, c, "apply_decision", decision, commentaire, libelle=libelle)
    notify(holders(c), "decision_jury", f"Décision du jury : dossier {c.numero}",
           f"{c.candidat.nom_complet} — {c.statut_label}", dossier_link(c))
