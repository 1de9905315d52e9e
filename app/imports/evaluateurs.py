"""Habilitated evaluators and their certification × région habilitations (R-HAB-5), by the
secretariat of the dispositif: one row per habilitation; the account is created (with its
invitation, R-ACC-2) by the first row naming its e-mail, by the accounts' own verb create_user.

R-HAB-6: the employer's SIRET is linked to the company or training organisation it names on the
platform (what the independence check compares with a dossier's), and an evaluator whose
employer or network the file sets or changes is checked again, by ensure_evaluator_allowed — the
function the evaluator's confirmation on a dossier calls — against each dossier in progress that
names them: a file cannot make an evaluator the colleague of a candidate they evaluate."""
import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import joinedload

from app.errors import RuleViolation
from app.extensions import db
from app.formats import FormatError, check_siret
from app.imports.columns import Column, by_label, norm
from app.models import Certification, Entreprise, Etablissement, Organisme, Reseau
from app.models.candidature import Candidature, cle
from app.models.comptes import Profil
from app.models.habilitation import EvaluateurHabilite, HabilitationEvaluateur
from app.models.statuts import ENDED_WITHOUT_TITLE
from app.models.structures import REGIONS
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.workflow.comptes import create_user

KIND = "evaluateurs"
PER_DISPOSITIF = True
COLUMNS = [
    Column("prenom", "Prénom", True, (), "Paul"),
    Column("nom", "Nom", True, (), "Durand"),
    Column("email", "E-mail", True, ("courriel", "mail", "adresse e mail"), "paul.durand@exemple.fr"),
    Column("telephone", "Téléphone", False, ("tel",), None),
    Column("ville", "Ville", False, (), "Lyon"),
    Column("employeur_nom", "Employeur", False, ("nom de l employeur",), "Chimie Rhône SAS"),
    Column("employeur_siret", "SIRET de l'employeur", False, ("siret",), None, "digits", 14),
    Column("reseau", "Réseau national de l'employeur", False, ("reseau",), None),
    Column("certification", "Code de la certification", True, ("certification",),
           "CQP-CHIMIE-01"),
    Column("region", "Région", True, (), "Auvergne-Rhône-Alpes"),
    Column("date_debut", "Début de l'habilitation (jj/mm/aaaa)", True, ("debut", "du"),
           "01/01/2027", "date"),
    Column("date_fin", "Fin de l'habilitation (jj/mm/aaaa)", True, ("fin", "au"),
           "31/12/2029", "date"),
]
RULE_COLUMN = {"R-HAB-5": "certification", "R-HAB-6": "employeur_siret"}
DUPLICATE_COLUMN = "certification"


def columns(dispositif) -> list[Column]:
    return list(COLUMNS)


def may_import(p: Perimetre, dispositif) -> bool:
    return dispositif is not None and perimeter.is_secretariat_of(p, dispositif)


@dataclass
class Context:
    p: Perimetre
    dispositif: object
    certifications: dict = field(default_factory=dict)  # cle(code) -> Certification
    reseaux: dict = field(default_factory=dict)         # norm(nom) -> Reseau
    users: dict = field(default_factory=dict)           # e-mail -> User
    registre: dict = field(default_factory=dict)        # user id -> EvaluateurHabilite
    entreprises: dict = field(default_factory=dict)     # SIRET -> Entreprise (employer)
    organismes: dict = field(default_factory=dict)      # SIRET -> Organisme (employer)
    dossiers: dict = field(default_factory=dict)        # user id -> dossiers in progress


def load(p: Perimetre, dispositif, rows: list[dict]) -> Context:
    ctx = Context(p, dispositif)
    ctx.certifications = {cle(c.code): c for c in db.session.query(Certification).filter(
        Certification.dispositif_id == dispositif.id)}
    ctx.reseaux = {norm(r.nom): r for r in db.session.query(Reseau)}
    emails = sorted({(r.get("email") or "").lower() for r in rows} - {""})
    for start in range(0, len(emails), 1000):
        for u in db.session.query(User).filter(sa.func.lower(User.email).in_(
                emails[start:start + 1000])):
            ctx.users[u.email.lower()] = u
    ids = [u.id for u in ctx.users.values()]
    for start in range(0, len(ids), 1000):
        for ev in db.session.query(EvaluateurHabilite).filter(
                EvaluateurHabilite.user_id.in_(ids[start:start + 1000])):
            ctx.registre[ev.user_id] = ev
    _load_independence(ctx, rows, ids)
    return ctx


def _load_independence(ctx: Context, rows: list[dict], user_ids: list):
    """R-HAB-6's data, for the whole file: the employers named by SIRET (a company; else the
    organisme of an établissement with that SIRET, or with that SIREN) and the dossiers in
    progress of the evaluators already known."""
    sirets = sorted({r.get("employeur_siret") for r in rows} - {None})
    for start in range(0, len(sirets), 1000):
        part = sirets[start:start + 1000]
        for e in db.session.query(Entreprise).filter(Entreprise.siret.in_(part)):
            ctx.entreprises[e.siret] = e
        for e in (db.session.query(Etablissement).options(joinedload(Etablissement.organisme))
                  .filter(Etablissement.siret.in_(part))):
            ctx.organismes[e.siret] = e.organisme
        by_siren = {siret[:9]: siret for siret in part if siret not in ctx.organismes}
        for o in db.session.query(Organisme).filter(Organisme.siren.in_(list(by_siren))):
            ctx.organismes[by_siren[o.siren]] = o
    for start in range(0, len(user_ids), 1000):
        for c in (db.session.query(Candidature)
                  .options(joinedload(Candidature.entreprise), joinedload(Candidature.etablissement),
                           joinedload(Candidature.certification))
                  .filter(Candidature.evaluateur_id.in_(user_ids[start:start + 1000]),
                          Candidature.statut.notin_(ENDED_WITHOUT_TITLE),
                          Candidature.decision.is_(None))):
            ctx.dossiers.setdefault(c.evaluateur_id, []).append(c)


def identity_key(ctx: Context, values: dict) -> str | None:
    cert = ctx.certifications.get(cle(values.get("certification")))
    if cert is None or not values.get("email") or not values.get("region"):
        return None
    raw = "|".join([KIND, values["email"].lower(), str(cert.id), norm(values["region"]),
                    str(values.get("date_debut"))])
    return hashlib.sha256(raw.encode()).hexdigest()


def duplicate_message(line: int) -> str:
    return (f"Cette habilitation (même évaluateur, certification, région et début) figure déjà "
            f"à la ligne {line} du fichier.")


def _evaluateur(ctx: Context, values: dict) -> EvaluateurHabilite:
    email = values["email"].lower()
    user = ctx.users.get(email)
    if user is not None and not sa.inspect(user).persistent:
        user = None  # created by a row whose savepoint was rolled back (preview)
    if user is not None:
        ev = ctx.registre.get(user.id)
        if ev is None or not sa.inspect(ev).persistent:
            profil = db.session.query(Profil).filter(Profil.user_id == user.id).one_or_none()
            if profil is None or profil.role != "evaluateur":
                raise RuleViolation("Un compte qui n'est pas celui d'un évaluateur habilité "
                                    "existe déjà avec cette adresse e-mail.", field="email")
            ev = None
        elif _employer_changes(ctx, ev, values):
            _set_employer(ctx, ev, values)
            _check_independence(ctx, ev)
    else:
        if not values.get("prenom") or not values.get("nom"):
            raise RuleViolation("Le prénom et le nom sont obligatoires pour un nouvel évaluateur.",
                                field="nom" if values.get("prenom") else "prenom")
        user = create_user(ctx.p, prenom=values["prenom"], nom=values["nom"], email=email,
                           role="evaluateur", dispositif=ctx.dispositif)
        ctx.users[email] = user
        ev = None
    if ev is None:
        ev = EvaluateurHabilite(user=user, telephone=values.get("telephone"),
                                ville=values.get("ville"))
        _set_employer(ctx, ev, values)
        db.session.add(ev)
        ctx.registre[user.id] = ev
        _check_independence(ctx, ev)
    return ev


def _siret(values: dict) -> str | None:
    if not values.get("employeur_siret"):
        return None
    try:
        return check_siret(values["employeur_siret"])
    except FormatError as exc:
        raise RuleViolation(str(exc), "R-FMT-1", field="employeur_siret")


def _reseau(ctx: Context, values: dict):
    if not values.get("reseau"):
        return None
    reseau = ctx.reseaux.get(norm(values["reseau"]))
    if reseau is None:
        raise RuleViolation("Réseau inconnu.", field="reseau")
    return reseau


def _employer_changes(ctx: Context, ev, values: dict) -> bool:
    """The row names an employer or a network other than the register's."""
    siret, reseau = _siret(values), _reseau(ctx, values)
    return (siret is not None and siret != ev.employeur_siret) or \
        (reseau is not None and reseau.id != ev.reseau_id)


def _set_employer(ctx: Context, ev, values: dict):
    """The employer as the row gives it, linked to the platform's company or organisme with
    that SIRET (R-HAB-6 compares those with the dossier's)."""
    siret, reseau = _siret(values), _reseau(ctx, values)
    if siret is not None:
        ev.employeur_siret = siret
        ev.employeur_entreprise = ctx.entreprises.get(siret)
        ev.employeur_organisme = ctx.organismes.get(siret) if ev.employeur_entreprise is None \
            else None
        employer = ev.employeur_entreprise or ev.employeur_organisme
        ev.employeur_nom = values.get("employeur_nom") or (
            getattr(employer, "raison_sociale", None) or getattr(employer, "nom", None)) \
            or ev.employeur_nom
    elif values.get("employeur_nom"):
        ev.employeur_nom = values["employeur_nom"]
    if reseau is not None:
        ev.reseau = reseau


def _check_independence(ctx: Context, ev):
    """R-HAB-6 against each dossier in progress naming this evaluator, by the function the
    confirmation of an evaluator calls. A dossier they are no longer habilitated for (R-HAB-5)
    is not this file's doing: only independence is reported."""
    from app.workflow.habilitations import ensure_evaluator_allowed
    for c in ctx.dossiers.get(ev.user_id, []):
        region = c.region
        if not region:
            continue
        try:
            ensure_evaluator_allowed(ev.user, c.certification, region, entreprise=c.entreprise,
                                     organisme=c.organisme_formation or c.organisme)
        except RuleViolation as exc:
            if exc.rule == "R-HAB-6":
                raise RuleViolation(f"Dossier {c.numero} : {exc.message}", "R-HAB-6",
                                    field="employeur_siret")


def create(ctx: Context, values: dict, nom_fichier: str):
    cert = ctx.certifications.get(cle(values.get("certification")))
    if cert is None:
        raise RuleViolation(f"Certification inconnue dans le dispositif {ctx.dispositif.nom}.",
                            field="certification")
    region = by_label(values.get("region"), [(r, r) for r in REGIONS])
    if region not in REGIONS:
        raise RuleViolation("Région inconnue.", "R-HAB-5", field="region")
    debut, fin = values.get("date_debut"), values.get("date_fin")
    if debut is None:
        raise RuleViolation("La date de début est obligatoire.", field="date_debut")
    if fin is None:
        raise RuleViolation("La date de fin est obligatoire.", field="date_fin")
    if fin < debut:
        raise RuleViolation("La date de fin doit suivre la date de début.", "R-HAB-5",
                            field="date_fin")
    if not values.get("email") or "@" not in values["email"]:
        raise RuleViolation("Adresse e-mail invalide.", field="email")
    ev = _evaluateur(ctx, values)
    db.session.add(HabilitationEvaluateur(evaluateur=ev, certification=cert, region=region,
                                          date_debut=debut, date_fin=fin))
    db.session.flush()
    return None, f"{ev.nom_complet} — {cert.code} — {region}"[:120]


def codes(dispositif, p: Perimetre):
    certs = (db.session.query(Certification)
             .filter(Certification.dispositif_id == dispositif.id,
                     Certification.date_suppression.is_(None))
             .order_by(Certification.code).all())
    reseaux = db.session.query(Reseau).filter(Reseau.national.is_(True)).order_by(Reseau.nom)
    return [("Code de la certification", [(c.code, c.intitule) for c in certs]),
            ("Région", [(r, "") for r in REGIONS]),
            ("Réseau national de l'employeur", [(r.nom, "") for r in reseaux])]
