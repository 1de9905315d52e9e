"""Établissements and their organismes (SIREN, réseau), by a réseau administrator — in his réseau —
or the secretariat. Formats are the models' own checks (R-FMT-1 SIRET/SIREN with their Luhn key,
R-FMT-2 postal code), the perimeter that of the screens (R-ACC-5)."""
import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.errors import RuleViolation
from app.extensions import db
from app.imports.columns import Column, by_label, norm
from app.models import Etablissement, Organisme, Reseau
from app.models.structures import REGIONS
from app.security import perimeter
from app.security.perimeter import Perimetre

KIND = "etablissements"
PER_DISPOSITIF = False
COLUMNS = [
    Column("siren", "SIREN de l'organisme", True, ("siren",), "552100554", "digits", 9),
    Column("organisme", "Nom de l'organisme", True, ("organisme", "raison sociale"), "GRETA EST"),
    Column("reseau", "Réseau", False, ("reseau de l organisme",), None),
    Column("siret", "SIRET de l'établissement", True, ("siret",), "55210055400013", "digits", 14),
    Column("libelle", "Libellé de l'établissement (site ou ville)", True,
           ("libelle", "etablissement", "site"), "Metz"),
    Column("adresse", "Adresse", False, (), "1 rue de la Gare"),
    Column("code_postal", "Code postal", False, ("cp",), "57000", "digits", 5),
    Column("ville", "Ville", False, ("commune",), "Metz"),
    Column("region", "Région", True, (), "Grand Est"),
    Column("contact_nom", "Contact : nom", False, ("contact",), None),
    Column("contact_email", "Contact : e-mail", False, ("e mail", "courriel"), None),
    Column("contact_telephone", "Contact : téléphone", False, ("telephone",), None),
]
RULE_COLUMN = {"R-ACC-5": "reseau"}
DUPLICATE_COLUMN = "siret"


def columns(dispositif) -> list[Column]:
    return list(COLUMNS)


def may_import(p: Perimetre, dispositif=None) -> bool:
    return p.role in ("admin_reseau", "secretariat") and perimeter.scope_id(p) is not None


@dataclass
class Context:
    p: Perimetre
    reseaux: dict = field(default_factory=dict)       # norm(nom) -> Reseau
    organismes: dict = field(default_factory=dict)    # SIREN -> Organisme
    etablissements: set = field(default_factory=set)  # SIRET already in the base


def load(p: Perimetre, dispositif, rows: list[dict]) -> Context:
    ctx = Context(p)
    ctx.reseaux = {norm(r.nom): r for r in db.session.query(Reseau)}
    sirens = sorted({r.get("siren") for r in rows} - {None})
    sirets = sorted({r.get("siret") for r in rows} - {None})
    for start in range(0, max(len(sirens), len(sirets)), 1000):
        for o in db.session.query(Organisme).filter(Organisme.siren.in_(sirens[start:start + 1000])):
            ctx.organismes[o.siren] = o
        ctx.etablissements |= set(db.session.scalars(sa.select(Etablissement.siret).where(
            Etablissement.siret.in_(sirets[start:start + 1000]))))
    return ctx


def identity_key(ctx: Context, values: dict) -> str | None:
    if not values.get("siret"):
        return None
    return hashlib.sha256(f"{KIND}|{values['siret']}".encode()).hexdigest()


def duplicate_message(line: int) -> str:
    return f"Ce SIRET figure déjà à la ligne {line} du fichier."


def _organisme(ctx: Context, values: dict) -> Organisme:
    siren = values.get("siren")
    org = ctx.organismes.get(siren)
    if org is not None and not sa.inspect(org).persistent:
        org = None  # created by a row whose savepoint was rolled back (preview)
    if org is not None:
        if not perimeter.contains(org, ctx.p, "write"):
            raise RuleViolation("Cet organisme existe hors de votre périmètre.", field="siren")
        return org
    reseau = None
    if values.get("reseau"):
        reseau = ctx.reseaux.get(norm(values["reseau"]))
        if reseau is None:
            raise RuleViolation("Réseau inconnu.", field="reseau")
    if ctx.p.role == "admin_reseau":
        if reseau is not None and not perimeter.is_network_admin_of(ctx.p, reseau):
            raise RuleViolation("Vous n'importez que dans votre réseau.", field="reseau")
        reseau = db.session.get(Reseau, perimeter.own_id(ctx.p, "reseau"))
    org = Organisme(nom=values.get("organisme") or "", siren=siren, reseau=reseau)
    if not org.nom:
        raise RuleViolation("Le nom de l'organisme est obligatoire.", field="organisme")
    perimeter.ensure(org, "write", ctx.p)
    db.session.add(org)
    ctx.organismes[siren] = org
    return org


def create(ctx: Context, values: dict, nom_fichier: str):
    if not values.get("siren"):
        raise RuleViolation("Le SIREN de l'organisme est obligatoire.", field="siren")
    if not values.get("siret"):
        raise RuleViolation("Le SIRET de l'établissement est obligatoire.", field="siret")
    # R-FMT-1: the models' validators check the digits and the Luhn key.
    Etablissement(siret=values["siret"])
    Organisme(siren=values["siren"])
    if not values["siret"].startswith(values["siren"]):
        raise RuleViolation("Le SIRET ne commence pas par le SIREN de l'organisme.", field="siret")
    if values["siret"] in ctx.etablissements:
        raise RuleViolation("Un établissement existe déjà avec ce SIRET.", field="siret")
    region = by_label(values.get("region"), [(r, r) for r in REGIONS])
    if region not in REGIONS:
        raise RuleViolation("Région inconnue.", field="region")
    if not values.get("libelle"):
        raise RuleViolation("Le libellé de l'établissement est obligatoire.", field="libelle")
    org = _organisme(ctx, values)
    etab = Etablissement(organisme=org, libelle=values["libelle"], siret=values["siret"],
                         adresse=values.get("adresse"), code_postal=values.get("code_postal"),
                         ville=values.get("ville"), region=region,
                         contact_nom=values.get("contact_nom"),
                         contact_email=values.get("contact_email"),
                         contact_telephone=values.get("contact_telephone"))
    perimeter.ensure(etab, "write", ctx.p)
    db.session.add(etab)
    db.session.flush()
    return None, f"Établissement {etab.nom}"[:120]


def codes(dispositif, p: Perimetre):
    reseaux = perimeter.scoped_query(Reseau, p).order_by(Reseau.nom).all()
    return [("Réseau", [(r.nom, "") for r in reseaux]), ("Région", [(r, "") for r in REGIONS])]
