"""Candidates and their dossiers: the columns, the referentials loaded once per file, and each row
created by create_candidature — the verb of the creation form, with all its checks (R-CAN-1…5,
R-DIS-2, perimeter, habilitation of the établissement R-HAB-2)."""
import hashlib
from dataclasses import dataclass, field

from app.extensions import db
from app.imports.columns import Column, by_label
from app.models import Certification, Entreprise, Etablissement
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
from app.errors import PerimeterViolation, RuleViolation
from app.workflow.dossier.candidatures import CREATOR_KIND, create_candidature
from app.workflow.engine import author_name

KIND = "candidats"
PER_DISPOSITIF = True
IDENTITY = ("civilite", "nom_naissance", "nom_usage", "prenom", "date_naissance", "ne_etranger",
            "ne_outre_mer", "ville_naissance", "code_postal_naissance", "pays_naissance", "email",
            "telephone", "adresse", "code_postal", "ville")
DOSSIER = ("statut_inscription", "financement", "type_public", "niveau_formation",
           "objectifs_professionnels")

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
PARCOURS_COLUMN = Column("parcours", "Parcours (1, 2 ou 3)", False, (), "1", "digits")
# A rule without a field of its own is shown on the column the user corrects.
RULE_COLUMN = {"R-HAB-2": "etablissement", "R-ACC-3": "etablissement", "R-ACC-4": "etablissement",
               "R-ACC-5": "etablissement", "R-CAN-2": "nom_naissance", "R-REF-5": "certification",
               "R-CAN-8": "parcours", "R-CAN-9": "certification"}
DUPLICATE_COLUMN = "nom_naissance"


def columns(dispositif) -> list[Column]:
    cols = list(COLUMNS)
    if dispositif is not None and dispositif.code == "CHIMIE":
        cols.append(PARCOURS_COLUMN)
    example = {"CHIMIE": "CQP-CHIMIE-01"}.get(getattr(dispositif, "code", None))
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


def load(p: Perimetre, dispositif, rows: list[dict]) -> Context:
    """The referentials the rows name, in three statements whatever the number of rows."""
    ctx = Context(p, dispositif, auteur=author_name(p))
    certs = db.session.query(Certification).filter(
        Certification.dispositif_id == dispositif.id).all()
    ctx.certifications = {cle(c.code): c for c in certs}
    sirets = {r.get("etablissement") for r in rows} - {None}
    for chunk in _chunks(sorted(sirets)):
        for e in db.session.query(Etablissement).filter(Etablissement.siret.in_(chunk)):
            ctx.etablissements[e.siret] = e
    sirets = {r.get("entreprise") for r in rows} - {None}
    for chunk in _chunks(sorted(sirets)):
        for e in db.session.query(Entreprise).filter(Entreprise.siret.in_(chunk)):
            ctx.entreprises[e.siret] = e
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


def create(ctx: Context, values: dict, nom_fichier: str):
    """One dossier, by the form's verb; returns (candidature id, what the user reads)."""
    cert = ctx.certifications.get(cle(values.get("certification")))
    if cert is None:
        raise RuleViolation(f"Certification inconnue dans le dispositif {ctx.dispositif.nom} : "
                            "voyez l'onglet « Codes acceptés » du modèle.", field="certification")
    etablissement = entreprise = None
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
    identite = {k: values.get(k) for k in IDENTITY}
    identite["civilite"] = by_label(identite["civilite"], CIVILITES) or ""
    fields = {k: values.get(k) for k in DOSSIER if k in values}
    fields["statut_inscription"] = by_label(values.get("statut_inscription"), STATUTS_INSCRIPTION)
    if fields.get("financement"):
        fields["financement"] = by_label(fields["financement"], FINANCEMENTS)
    parcours = by_label(values.get("parcours"), PARCOURS) if values.get("parcours") else None
    try:
        c = create_candidature(ctx.p, certification=cert, identite=identite,
                               etablissement=etablissement, entreprise=entreprise,
                               parcours=parcours, **fields)
    except PerimeterViolation:
        # Unknown and outside the perimeter read alike: nothing is learnt about other perimeters.
        raise RuleViolation("Établissement inconnu ou hors de votre périmètre.",
                            field="etablissement")
    db.session.add(Historique(candidature=c, statut_avant=None, statut_apres=c.statut,
                              action="import",
                              libelle=f"Importé du fichier « {nom_fichier[:120]} » par "
                                      f"{ctx.auteur}"[:200],
                              user_id=ctx.p.user_id, auteur=ctx.auteur))
    return c.id, f"Dossier {c.numero}"


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
    if ctx_dispositif.code == "CHIMIE":
        out.append(("Parcours", list(PARCOURS)))
    return out
