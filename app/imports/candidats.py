"""Candidates and their dossiers: the columns, the referentials loaded once per file, and each row
created by create_candidature — the verb of the creation form, with all its checks (R-CAN-1…5,
R-DIS-2, perimeter, habilitation of the établissement R-HAB-2)."""
import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.imports.columns import Column, by_label
from app.imports.known import Known
from app.models import Certification, Entreprise, Etablissement
from app.models.base import today
from app.models.candidature import (
    CIVILITES,
    PARCOURS,
    STATUTS_INSCRIPTION,
    Historique,
    cle,
)
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.seed_data.referentiels import FINANCEMENTS
from app.workflow.dossier.candidats import IDENTITY_FIELDS
from app.workflow.dossier.candidatures import (
    CREATOR_KIND,
    create_candidature,
    save_candidatures,
)
from app.workflow.dossier.creation import fields_applying
from app.workflow.engine import author_name

KIND = "candidats"
PER_DISPOSITIF = True
IDENTITY = ("civilite", "nom_naissance", "nom_usage", "prenom", "date_naissance", "ne_etranger",
            "ne_outre_mer", "ville_naissance", "code_postal_naissance", "pays_naissance", "email",
            "telephone", "adresse", "code_postal", "ville")
DOSSIER = ("statut_inscription", "financement", "type_public", "niveau_formation",
           "objectifs_professionnels", "socle_contextualise", "branche_delegataire",
           "cqpi_demande")

COLUMNS = [
    Column("certification", "Code de la certification", True,
           ("certification", "code certification", "code cqp"), "CLEA-SOCLE"),
    Column("etablissement", "SIRET de l'établissement", False,
           ("siret etablissement", "etablissement", "siret de l etablissement d evaluation"),
           None, "digits", 14),
    Column("entreprise", "SIRET de l'entreprise", False,
           ("siret entreprise", "entreprise", "siret employeur"), None, "digits", 14),
    Column("civilite", "Civilité", True, ("civ",), "Madame"),
    Column("nom_naissance", "Nom de naissance", True, ("nom", "nom de famille"), "Martin"),
    Column("nom_usage", "Nom d'usage", False, ("nom marital",), None),
    Column("prenom", "Prénom", True, ("prenoms",), "Claire"),
    Column("date_naissance", "Date de naissance (jj/mm/aaaa)", True, ("ne le", "date naissance"),
           "14/03/1990", "date"),
    Column("ne_etranger", "Né(e) à l'étranger (oui/non)", False, ("ne a l etranger",), "non",
           "bool"),
    Column("ne_outre_mer", "Né(e) dans une collectivité d'outre-mer (oui/non)", False,
           ("ne outre mer",), "non", "bool"),
    Column("ville_naissance", "Ville de naissance", False, ("lieu de naissance",), "Lyon"),
    Column("code_postal_naissance", "Code postal de naissance", False, ("cp naissance",),
           "69003", "digits", 5),
    Column("pays_naissance", "Pays de naissance", False, (), None),
    Column("email", "E-mail", False, ("courriel", "mail", "adresse e mail", "adresse mail"),
           "claire.martin@exemple.fr"),
    Column("telephone", "Téléphone", False, ("tel", "portable"), "06 12 34 56 78"),
    Column("adresse", "Adresse postale", False, ("adresse",), "1 rue de la Paix"),
    Column("code_postal", "Code postal", False, ("cp",), "75002", "digits", 5),
    Column("ville", "Ville", False, ("commune",), "Paris"),
    Column("statut_inscription", "Statut à l'inscription", True, ("statut",), "Salarié"),
    Column("financement", "Financement", False, ("dispositif de financement",), "CPF"),
    Column("type_public", "Type de public", False, (), None),
    Column("niveau_formation", "Niveau de formation (1 à 8)", False, ("niveau",), "3", "digits"),
    Column("objectifs_professionnels", "Objectifs du projet professionnel", False,
           ("objectifs",), "Obtenir un emploi stable dans la logistique."),
]
# Columns a dispositif uses only when its dossiers do (as the creation form fits itself to the
# dispositif: app/workflow/dossier/creation.fields_applying): key -> (column, applies?).
PARCOURS_COLUMN = Column("parcours", "Parcours (1, 2 ou 3)", False, (), "1", "digits")
OPTIONAL_COLUMNS = {
    "parcours": PARCOURS_COLUMN,
    "socle_contextualise": Column("socle_contextualise", "Socle contextualisé (oui/non)", False,
                                  ("socle contextualise",), "non", "bool"),
    "branche_delegataire": Column("branche_delegataire", "Branche délégataire", False, (), None),
    "vae": Column("vae", "Candidature par la VAE (oui/non)", False, ("vae",), "non", "bool"),
    "recevabilite_recue_le": Column("recevabilite_recue_le",
                                    "Dossier de recevabilité reçu le (VAE, jj/mm/aaaa)", False,
                                    ("recevabilite recue le", "recevabilite"), None, "date"),
    "cqpi_demande": Column("cqpi_demande", "Demande du CQPI par équivalence (oui/non)", False,
                           ("demande cqpi", "cqpi demande"), "non", "bool"),
    "cqpi_detenu": Column("cqpi_detenu", "Code du CQPI détenu", False, ("cqpi detenu",), None),
}
# A rule without a field of its own is shown on the column the user corrects.
RULE_COLUMN = {"R-HAB-2": "etablissement", "R-ACC-3": "etablissement", "R-ACC-4": "etablissement",
               "R-ACC-5": "etablissement", "R-CAN-2": "nom_naissance", "R-REF-5": "certification",
               "R-CAN-8": "parcours", "R-CAN-9": "cqpi_detenu", "R-REF-2": "cqpi_demande"}
DUPLICATE_COLUMN = "nom_naissance"


def columns(dispositif) -> list[Column]:
    applies = fields_applying(dispositif)
    cols = list(COLUMNS) + [col for key, col in OPTIONAL_COLUMNS.items() if key in applies]
    example = db.session.query(Certification.code).filter(  # the template's example row
        Certification.dispositif_id == dispositif.id, Certification.date_suppression.is_(None)
    ).order_by(Certification.code).limit(1).scalar() if dispositif is not None else None
    if example:
        cols[0] = Column("certification", COLUMNS[0].header, True, COLUMNS[0].synonyms, example)
    return cols


def may_import(p: Perimetre, dispositif) -> bool:
    """Those who may create this dispositif's dossiers (R-DIS-2), the secretariat included."""
    kind = CREATOR_KIND.get(p.role)
    if kind is None or dispositif is None:
        return False
    if kind == "secretariat":  # as create_candidature allows it (R-DIS-2)
        return perimeter.is_secretariat_of(p, dispositif) and (dispositif.allows_creator("secretariat")
                                              or dispositif.allows_creator("candidat"))
    return dispositif.allows_creator(kind)


@dataclass
class Context:
    p: Perimetre
    dispositif: object
    certifications: dict = field(default_factory=dict)  # cle(code) -> Certification
    etablissements: dict = field(default_factory=dict)  # SIRET -> Etablissement
    entreprises: dict = field(default_factory=dict)     # SIRET -> Entreprise
    auteur: str = ""
    known: Known | None = None                          # the domain's lookups, prefetched


def load(p: Perimetre, dispositif, rows: list[dict]) -> Context:
    """The referentials the rows name and the answers the domain checks need (known.py), in a
    few statements whatever the number of rows."""
    ctx = Context(p, dispositif, auteur=author_name(p))
    certs = db.session.query(Certification).filter(
        Certification.dispositif_id == dispositif.id).all()
    ctx.certifications = {cle(c.code): c for c in certs}
    sirets = {r.get("etablissement") for r in rows} - {None}
    for chunk in _chunks(sorted(sirets)):
        for e in (db.session.query(Etablissement)
                  .options(joinedload(Etablissement.organisme))  # R-ACC-3, réseau of the dossier
                  .filter(Etablissement.siret.in_(chunk))):
            ctx.etablissements[e.siret] = e
    sirets = {r.get("entreprise") for r in rows} - {None}
    for chunk in _chunks(sorted(sirets)):
        for e in db.session.query(Entreprise).filter(Entreprise.siret.in_(chunk)):
            ctx.entreprises[e.siret] = e
    ctx.known = Known(p, dispositif, today()).load(
        [e.id for e in ctx.etablissements.values()], rows)
    return ctx


def _chunks(items, size=1000):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def identity_key(ctx: Context, values: dict) -> str | None:
    """The same person for the same certification: created once, whatever the file (R-CAN-2)."""
    cert = ctx.certifications.get(cle(values.get("certification")))
    if cert is None or not values.get("nom_naissance") or not values.get("prenom") \
            or not values.get("date_naissance"):
        return None
    raw = "|".join([KIND, str(cert.id), cle(values["nom_naissance"]), cle(values["prenom"]),
                    str(values["date_naissance"])])
    return hashlib.sha256(raw.encode()).hexdigest()


def duplicate_message(line: int) -> str:
    return (f"Ce candidat figure déjà à la ligne {line} du fichier pour la même certification : "
            "un candidat ne peut pas avoir deux dossiers pour une certification.")


def prepare(ctx: Context, values: dict, known=True, dry_run=False):
    """One row checked by the form's verb, create_candidature, with every rule it applies;
    returns the dossier unsaved (save() stores a batch of them). `known=False`: the verb looks
    everything up itself (the row-by-row path after a conflict). A preview (`dry_run`) creates
    nobody, so it remembers nobody: a later row of the same person finds no one either way."""
    cert = ctx.certifications.get(cle(values.get("certification")))
    if cert is None:
        raise RuleViolation(f"Certification inconnue dans le dispositif {ctx.dispositif.nom} : "
                            "voyez l'onglet « Codes acceptés » du modèle.", field="certification")
    etablissement = entreprise = cqpi = None
    if values.get("etablissement"):
        etablissement = ctx.etablissements.get(values["etablissement"])
        if etablissement is None:
            raise RuleViolation("Établissement inconnu ou hors de votre périmètre.",
                                field="etablissement")
    if values.get("entreprise"):
        entreprise = ctx.entreprises.get(values["entreprise"])
        if entreprise is None:
            raise RuleViolation("Entreprise inconnue : elle doit être inscrite avant l'import.",
                                field="entreprise")
    if values.get("cqpi_detenu"):
        cqpi = ctx.certifications.get(cle(values["cqpi_detenu"]))
        if cqpi is None:
            raise RuleViolation("CQPI inconnu : voyez l'onglet « Codes acceptés » du modèle.",
                                field="cqpi_detenu")
    identite = {k: values.get(k) for k in IDENTITY}
    identite["civilite"] = by_label(identite["civilite"], CIVILITES) or ""
    fields = {k: values.get(k) for k in DOSSIER if k in values}
    fields["statut_inscription"] = by_label(values.get("statut_inscription"), STATUTS_INSCRIPTION)
    if fields.get("financement"):
        fields["financement"] = by_label(fields["financement"], FINANCEMENTS)
    parcours = by_label(values.get("parcours"), PARCOURS) if values.get("parcours") else None
    # The verb completes an existing candidate's missing details before its last checks; a
    # refused row of a batch (no savepoint of its own) must leave that candidate as it was.
    person = ctx.known.same_person(values) if known else None
    kept = {k: getattr(person, k) for k in IDENTITY_FIELDS} \
        if person is not None and sa.inspect(person).persistent else None
    try:
        c = create_candidature(ctx.p, certification=cert, identite=identite,
                               etablissement=etablissement, entreprise=entreprise,
                               parcours=parcours, vae=bool(values.get("vae")), cqpi_detenu=cqpi,
                               recevabilite_recue_le=values.get("recevabilite_recue_le"),
                               known=ctx.known if known else None, save=False, **fields)
    except RuleViolation as exc:
        for k, v in (kept or {}).items():
            if getattr(person, k) != v:
                setattr(person, k, v)
        if isinstance(exc, PerimeterViolation):
            # Unknown and outside the perimeter read alike: nothing is learnt about others.
            raise RuleViolation("Établissement inconnu ou hors de votre périmètre.",
                                field="etablissement")
        raise
    if known and not dry_run:
        ctx.known.remember(c.candidat)
    return c


def save(ctx: Context, dossiers: list, nom_fichier: str) -> list[tuple]:
    """Store prepared dossiers in a few statements (save_candidatures: numbers, one flush,
    creation history) plus this import's history line; returns (id, label) per dossier."""
    save_candidatures(ctx.p, dossiers)
    libelle = f"Importé du fichier « {nom_fichier[:120]} » par {ctx.auteur}"[:200]
    db.session.execute(sa.insert(Historique), [
        {"candidature_id": c.id, "statut_avant": None, "statut_apres": c.statut,
         "action": "import", "libelle": libelle, "user_id": ctx.p.user_id,
         "auteur": ctx.auteur} for c in dossiers])
    return [(c.id, f"Dossier {c.numero}") for c in dossiers]


def create(ctx: Context, values: dict, nom_fichier: str):
    """One dossier alone, every lookup by the verb itself (after a batch met a conflict)."""
    c = prepare(ctx, values, known=False)
    return save(ctx, [c], nom_fichier)[0]


def codes(ctx_dispositif, p: Perimetre) -> list[tuple[str, list[tuple]]]:
    """The « Codes acceptés » sheet of the template: what each coded column takes."""
    from app.security import perimeter
    certs = (db.session.query(Certification)
             .filter(Certification.dispositif_id == ctx_dispositif.id,
                     Certification.date_suppression.is_(None))
             .order_by(Certification.code).all())
    etabs = (perimeter.scoped_query(Etablissement, p).filter(Etablissement.actif.is_(True))
             .order_by(Etablissement.nom).limit(1000).all()) if p.role != "employeur" else []
    out = [("Code de la certification", [(c.code, c.intitule) for c in certs]),
           ("Civilité", [(label, "") for _, label in CIVILITES]),
           ("Statut à l'inscription", [(label, "") for _, label in STATUTS_INSCRIPTION]),
           ("Financement", list(FINANCEMENTS)),
           ("SIRET de l'établissement", [(e.siret, e.nom) for e in etabs])]
    applies = fields_applying(ctx_dispositif)
    if "parcours" in applies:
        out.append(("Parcours", list(PARCOURS)))
    if "cqpi_detenu" in applies:
        out.append(("Code du CQPI détenu", [(c.code, c.intitule) for c in certs
                                            if c.type == "CQPI" and c.membre_branche]))
    return out
