"""Candidates: identity as on the ID document (R-CAN-1) and the duplicate search (R-CAN-2)."""
import logging
import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from app.errors import RuleViolation
from app.extensions import db
from app.formats import FormatError, check_code_postal
from app.models.base import today
from app.models.candidature import CIVILITES, CP_OUTRE_MER, Candidat, Candidature, cle

log = logging.getLogger(__name__)

IDENTITY_FIELDS = ("civilite", "nom_naissance", "nom_usage", "prenom", "date_naissance",
                   "ne_etranger", "ne_outre_mer", "ville_naissance", "code_postal_naissance",
                   "pays_naissance", "email", "telephone", "adresse", "code_postal", "ville", "pays")
_NAME = re.compile(r"^[^\W\d_]+(?:[ '’\-][^\W\d_]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
AGE_MIN, AGE_MAX = 14, 100
SEARCH_LIMIT = 50


def _text(data, key, maxlen=120):
    value = data.get(key)
    value = " ".join(str(value).split()) if value not in (None, "") else None
    if value and len(value) > maxlen:
        raise RuleViolation(f"{maxlen} caractères au plus.", "R-CAN-1", field=key)
    return value


def parse_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "oui", "on", "y", "yes")
    return bool(value)


def parse_date(value, field):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        if "/" in str(value):
            d, m, y = str(value).split("/")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(str(value))
    except (ValueError, TypeError):
        raise RuleViolation("Date invalide (jj/mm/aaaa).", "R-CAN-1", field=field)


def validate_identity(data: dict) -> dict:
    """R-CAN-1: the identity as on the ID document, normalised; RuleViolation on the field."""
    out = {}
    civilite = (data.get("civilite") or "").strip().upper()
    if civilite not in CIVILITES.codes:
        raise RuleViolation("Choisissez la civilité.", "R-CAN-1", field="civilite")
    out["civilite"] = civilite
    for key, label in (("nom_naissance", "Le nom de naissance"), ("prenom", "Le prénom")):
        value = _text(data, key, 100)
        if not value:
            raise RuleViolation(f"{label} est obligatoire.", "R-CAN-1", field=key)
        if not _NAME.match(value):
            raise RuleViolation(f"{label} ne doit contenir que des lettres, espaces, tirets ou "
                                "apostrophes.", "R-CAN-1", field=key)
        out[key] = value
    usage = _text(data, "nom_usage", 100)
    if usage and not _NAME.match(usage):
        raise RuleViolation("Le nom d'usage ne doit contenir que des lettres.", "R-CAN-1",
                            field="nom_usage")
    out["nom_usage"] = usage
    born = parse_date(data.get("date_naissance"), "date_naissance")
    if born is None:
        raise RuleViolation("La date de naissance est obligatoire.", "R-CAN-1", field="date_naissance")
    now = today()
    age = now.year - born.year - ((now.month, now.day) < (born.month, born.day))
    if born >= now or not AGE_MIN <= age <= AGE_MAX:
        raise RuleViolation(f"Date de naissance invraisemblable (le candidat doit avoir entre "
                            f"{AGE_MIN} et {AGE_MAX} ans).", "R-CAN-1", field="date_naissance")
    out["date_naissance"] = born
    etranger, outre_mer = parse_bool(data.get("ne_etranger")), parse_bool(data.get("ne_outre_mer"))
    if etranger and outre_mer:
        raise RuleViolation("Un candidat né à l'étranger n'est pas né dans une collectivité "
                            "d'outre-mer.", "R-CAN-1", field="ne_outre_mer")
    out["ne_etranger"], out["ne_outre_mer"] = etranger, outre_mer
    out["ville_naissance"] = _text(data, "ville_naissance")
    if etranger:
        out["pays_naissance"] = _text(data, "pays_naissance", 80)
        if not out["pays_naissance"] or cle(out["pays_naissance"]) == "FRANCE":
            raise RuleViolation("Indiquez le pays de naissance.", "R-CAN-1", field="pays_naissance")
        out["code_postal_naissance"] = None
    else:
        out["pays_naissance"] = None
        if not out["ville_naissance"]:
            raise RuleViolation("Indiquez la ville de naissance.", "R-CAN-1", field="ville_naissance")
        try:
            cp = check_code_postal(data.get("code_postal_naissance") or "")
        except FormatError as exc:
            raise RuleViolation(str(exc), "R-CAN-1", field="code_postal_naissance")
        if outre_mer != cp.startswith(CP_OUTRE_MER):
            raise RuleViolation(
                "Ce code postal est celui d'une collectivité d'outre-mer : cochez « né dans une "
                "collectivité d'outre-mer »." if not outre_mer else
                "Le code postal d'une collectivité d'outre-mer commence par 975, 977, 978, 986, "
                "987 ou 988.", "R-CAN-1", field="code_postal_naissance")
        out["code_postal_naissance"] = cp
    email = _text(data, "email", 200)
    if email and not _EMAIL.match(email):
        raise RuleViolation("Adresse e-mail invalide.", "R-CAN-1", field="email")
    out["email"] = email.lower() if email else None
    out["telephone"] = _text(data, "telephone", 30)
    out["adresse"] = _text(data, "adresse", 250)
    out["ville"] = _text(data, "ville")
    out["pays"] = _text(data, "pays", 80) or "France"
    cp = _text(data, "code_postal", 10)
    if cp and out["pays"] == "France":
        try:
            cp = check_code_postal(cp)
        except FormatError as exc:
            raise RuleViolation(str(exc), "R-CAN-1", field="code_postal")
    out["code_postal"] = cp
    return out


def missing_for_certificate(candidat: Candidat) -> list[str]:
    """What the certificate needs besides the birth identity: e-mail and postal address (R-CAN-1)."""
    labels = {"email": "e-mail", "adresse": "adresse postale", "code_postal": "code postal",
              "ville": "ville"}
    return [label for key, label in labels.items() if not getattr(candidat, key)]


def find_same_person(identity: dict, known=None) -> Candidat | None:
    """The existing candidate with the same birth name, first name and birth date (R-CAN-2).
    `known`: a bulk caller's answers prefetched for all its rows (app/imports/known.py)."""
    if known is not None:
        return known.same_person(identity)
    return (db.session.query(Candidat)
            .filter(Candidat.cle_nom == cle(identity["nom_naissance"]),
                    Candidat.cle_prenom == cle(identity["prenom"]),
                    Candidat.date_naissance == identity["date_naissance"])
            .order_by(Candidat.id).first())


def _prefix(column, key: str):
    """`column` starts with `key`, as an index range (C collation on PostgreSQL)."""
    upper = key[:-1] + chr(ord(key[-1]) + 1)
    return sa.and_(column >= key, column < upper)


class SearchTooBroad(RuleViolation):
    pass


def search(numero=None, nom=None, prenom=None, date_naissance=None, ville_naissance=None,
           code_postal_naissance=None, pays_naissance=None, limit=SEARCH_LIMIT, perimetre=None):
    """R-CAN-2: dossiers whose candidate matches; refuses a search too broad to be useful.

    Names match the start of the birth or usage name, accents and case ignored. Returns
    (Candidature, Candidat) rows of `perimetre` — of every perimeter when None, for internal
    checks only: users search through `duplicate_search`, which never lists another perimeter.
    """
    numero = (numero or "").strip().upper()
    k_nom, k_prenom = cle(nom), cle(prenom)
    born = parse_date(date_naissance, "date_naissance")
    k_ville, cp, k_pays = cle(ville_naissance), (code_postal_naissance or "").strip(), cle(pays_naissance)
    criteria = [bool(k_nom), bool(k_prenom), born is not None, bool(k_ville), bool(cp), bool(k_pays)]
    if not numero:
        if sum(criteria) < 2:
            raise SearchTooBroad("La recherche est trop large : renseignez au moins deux critères "
                                 "(par exemple nom et date de naissance).", "R-CAN-2")
        if (k_nom and len(k_nom.replace(" ", "")) < 2 and born is None) or \
                (k_prenom and len(k_prenom.replace(" ", "")) < 2 and born is None):
            raise SearchTooBroad("La recherche n'est pas assez précise : saisissez au moins deux "
                                 "lettres du nom ou la date de naissance.", "R-CAN-2")
        if not (k_nom or born):
            raise SearchTooBroad("Renseignez le nom ou la date de naissance.", "R-CAN-2")
    common = []
    if perimetre is not None:
        from app.security import perimeter
        common.append(perimeter.criterion(Candidature, perimetre))
    if numero:
        common.append(Candidature.numero == numero)
    if k_prenom:
        common.append(_prefix(Candidat.cle_prenom, k_prenom))
    if born is not None:
        common.append(Candidat.date_naissance == born)
    if cp:
        common.append(Candidat.code_postal_naissance == cp)
    # The name is the birth name or the usage name: one ordered, limited branch per name column
    # (each walks its own index), united — an OR of the two would scan every candidate whose
    # first name matches (1.9 s for "Martin Jean" among a million candidates, 2 ms this way).
    names = [[_prefix(Candidat.cle_nom, k_nom)], [_prefix(Candidat.cle_nom_usage, k_nom)]] \
        if k_nom else [[]]
    branches = [sa.select(Candidature.id.label("cid"), Candidat.cle_nom, Candidat.cle_prenom)
                .join(Candidat, Candidat.id == Candidature.candidat_id)
                .where(*common, *name)
                .order_by(Candidat.cle_nom, Candidat.cle_prenom, Candidature.id)
                .limit(limit + 1).subquery() for name in names]
    found = (sa.union(*[sa.select(b) for b in branches]) if len(branches) > 1
             else sa.select(branches[0])).subquery("found")
    rows = (db.session.query(Candidature, Candidat)
            .join(found, found.c.cid == Candidature.id)
            .join(Candidat, Candidat.id == Candidature.candidat_id)
            .order_by(found.c.cle_nom, found.c.cle_prenom, Candidature.id)
            .limit(limit + 1).all())
    # Town and country are free text: filtered on the few rows left, accents ignored.
    if k_ville:
        rows = [r for r in rows if cle(r[1].ville_naissance).startswith(k_ville)]
    if k_pays:
        rows = [r for r in rows if cle(r[1].pays_naissance).startswith(k_pays)]
    if len(rows) > limit:
        raise SearchTooBroad(f"Plus de {limit} dossiers correspondent : précisez la recherche.",
                             "R-CAN-2")
    return rows


@dataclass
class DuplicateSearch:
    """What a user may learn from the duplicate search (R-CAN-2, issue 14): the dossiers of
    their perimeter, and — for the exact identity only — whether the person has dossiers
    elsewhere (`elsewhere`: to offer a rattachement, R-CAN-6; never listed)."""
    rows: list = field(default_factory=list)
    elsewhere: list = field(default_factory=list)
    exact: bool = False  # the full identity was given: « nothing » then means nowhere


def same_person_elsewhere(p, nom, prenom, date_naissance) -> list[Candidature]:
    """Dossiers outside `p` of the person with exactly this birth name, first name and birth date.

    Partial names, a usage name, a birth date alone or a dossier number find nothing here: the
    rule needs to know that the person exists, not who else is a candidate (issue 14)."""
    from app.security import perimeter
    k_nom, k_prenom = cle(nom), cle(prenom)
    born = parse_date(date_naissance, "date_naissance") if date_naissance else None
    if not (k_nom and k_prenom and born):
        return []
    return (db.session.query(Candidature)
            .join(Candidat, Candidat.id == Candidature.candidat_id)
            .filter(Candidat.cle_nom == k_nom, Candidat.cle_prenom == k_prenom,
                    Candidat.date_naissance == born,
                    sa.not_(perimeter.criterion(Candidature, p)))
            .order_by(Candidature.id).all())


def duplicate_search(p, **criteria) -> DuplicateSearch:
    """R-CAN-2 as a user runs it: limited per account, logged, scoped to the perimeter."""
    from app.security.account_limits import hit
    hit("recherche-doublons", "DUPLICATE_SEARCH_RATE_LIMIT", p.user_id)
    used = sorted(k for k, v in criteria.items() if v not in (None, ""))
    try:
        rows = search(**criteria, perimetre=p)
    except RuleViolation:
        log.info("Recherche de doublons refusée (trop large) : compte %s, critères %s",
                 p.user_id, used)
        raise
    elsewhere = same_person_elsewhere(p, criteria.get("nom"), criteria.get("prenom"),
                                      criteria.get("date_naissance"))
    # No names or birth dates in the log: who searched, with which criteria, what was revealed.
    log.info("Recherche de doublons : compte %s, critères %s, %d dossier(s) du périmètre, "
             "%d dossier(s) hors périmètre signalé(s)%s", p.user_id, used, len(rows),
             len(elsewhere), f" (dossiers {[c.id for c in elsewhere]})" if elsewhere else "")
    exact = all(criteria.get(k) not in (None, "") for k in ("nom", "prenom", "date_naissance"))
    return DuplicateSearch(rows=rows, elsewhere=elsewhere, exact=exact)
