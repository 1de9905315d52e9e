"""What each document template expects, checked and completed before anything is numbered.

The jury code builds these dicts from real juries; every date may be a `date` or an ISO string.

certificat (certificat_cqpm|certificat_bloc|certificat_cqpi|certificat_ccpm|certificat_ccpi|
            parchemin_cqp|certificat_clea):
    titulaire {prenom, nom, date_naissance, ville_naissance, departement_naissance?, pays_naissance?,
               civilite? M|MME, civilite_label?, adresse_lignes? [str]}
    certification {type, code, intitule, niveau?, rncp_code?, date_enregistrement_rncp?, rs_code?}
    jury {date, lieu, president}
    bloc {code, intitule}                 (certificat_bloc only)
    domaines [{code, intitule}]           (certificat_clea)
    passerelles [{certification_autre, autre_branche, nature}]   (parchemin_cqp, R-DEC-5)
    signataire_branche? (the dispositif's signataire_certificats), branche?,
    emetteur? {nom, dispositif, adresse?}
lettre_decision (lettre_non_admission|lettre_validation_partielle), R-DEC-4:
    titulaire (as above, with adresse_lignes), certification, jury,
    acquis [{code, intitule}]             blocs if the certification is in the RNCP, else competences
    acquis_nature? "blocs"|"competences", duree_acquis_mois?   (completed from the dispositif)
pv (R-DOC-1): jury {date, lieu, president}, modele_pv? (the dispositif's), sections
    [{certification {code, intitule},
      candidats [{nom, prenom, date_naissance, ville_naissance, departement_naissance, pays_naissance,
                  decision, commentaire, and the keys of the model's columns: metallurgie
                  origine SL|DE, financement, raison_sociale, adresse_entreprise, code_nace,
                  secteur M|HM, branche, decision A|NA; chimie parcours, evaluateur,
                  competences; clea numero, etablissement, socle}]}]
emargement (R-DOC-2): jury {date, lieu?, president, qualite_president}, organisateur?,
    certifications [{code, intitule, nombre_candidats}], membres [{nom?, prenom?, organisation, qualite?}]
lettre_gtp (R-DOC-3): jury {date, lieu}, certifications [{code, intitule}],
    pieces? {cprefp?, emargements [numero], pv [numero]} (found from the jury's documents if absent)
"""
from datetime import date

from dateutil.relativedelta import relativedelta

from app.errors import RuleViolation
from app.reports.pv_models import DEFAUT as PV_DEFAUT
from app.reports.pv_models import modele_pv
from app.seed_data.referentiels import FINANCEMENTS

MODELES = {
    "pv": ("pv",),
    "emargement": ("emargement",),
    "lettre_gtp": ("lettre_gtp",),
    "certificat": ("certificat_cqpm", "certificat_bloc", "certificat_cqpi", "certificat_ccpm",
                   "certificat_ccpi", "parchemin_cqp", "certificat_clea"),
    "lettre_decision": ("lettre_non_admission", "lettre_validation_partielle"),
}
CERTIFICATE_TEMPLATES = {"CQPM": "certificat_cqpm", "CCPM": "certificat_ccpm",
                         "CQPI": "certificat_cqpi", "CCPI": "certificat_ccpi",
                         "CQP": "parchemin_cqp", "CLEA": "certificat_clea"}
FINANCEMENT_CODES = {code for code, _ in FINANCEMENTS}
COMPANY_COLUMNS = ("raison_sociale", "adresse_entreprise", "code_nace", "secteur", "branche")
PV_COLUMNS = ("nom", "prenom", "date_naissance", "ville_naissance", "departement_naissance",
              "pays_naissance", "origine", "financement") + COMPANY_COLUMNS + ("decision", "commentaire")
GTP_ADRESSE = ["Secrétariat du GTP « Certifications »",
               "de la commission paritaire nationale de l'emploi et de la formation",
               "professionnelle de la métallurgie", "56, avenue de Wagram", "75854 Paris Cedex 17"]
GTP_DELAI_MOIS = 2  # R-DOC-3
LIEN_PASSEPORT = "https://www.moncompteformation.gouv.fr"


def certificate_template(certification_type: str, bloc: bool = False) -> str:
    """The certificate model of a certification type (R-DOC-4, R-DEC-3)."""
    return "certificat_bloc" if bloc else CERTIFICATE_TEMPLATES[certification_type]


def as_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def add_months(day, months: int) -> date:
    return as_date(day) + relativedelta(months=months)


def _require(data: dict, path: str, rule: str):
    value = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value in (None, "", []):
        raise RuleViolation(f"Donnée manquante pour le document : {path}.", rule)
    return value


def duree_texte(months: int | None) -> str:
    if months is None:
        return "sans limite de durée, tant que le référentiel n'est pas modifié"
    if months % 12 == 0 and months >= 36:
        return f"{months // 12} ans"
    return f"{months} mois"


def normalise(type_: str, modele: str, data: dict, dispositif, jury_id=None) -> dict:
    """Check the data a template needs (RuleViolation otherwise) and complete the defaults."""
    out = dict(data)
    out.setdefault("emetteur", {"nom": dispositif.certificateur, "dispositif": dispositif.nom})
    if type_ == "certificat":
        for path in ("titulaire.prenom", "titulaire.nom", "titulaire.date_naissance",
                     "certification.code", "certification.intitule", "jury.date", "jury.lieu",
                     "jury.president"):
            _require(out, path, "R-DOC-4")
        if modele == "certificat_bloc":
            _require(out, "bloc.code", "R-DOC-4")
        out.setdefault("signataire_branche", getattr(dispositif, "signataire_certificats", None) or "")
        out["titulaire"] = {"ville_naissance": "", **out["titulaire"]}
    elif type_ == "lettre_decision":
        _letter(out, dispositif)
    elif type_ == "pv":
        _pv(out, dispositif)
    elif type_ == "emargement":
        for path in ("jury.date", "jury.president", "certifications"):
            _require(out, path, "R-DOC-2")
        if not out.get("membres"):
            raise RuleViolation("La feuille d'émargement liste toutes les personnes désignées.",
                                "R-DOC-2")
    elif type_ == "lettre_gtp":
        _gtp(out, dispositif, jury_id)
    return out


def _letter(out: dict, dispositif):
    """R-DEC-4: dated the jury day, signed by the president, the four items completed here."""
    for path in ("titulaire.prenom", "titulaire.nom", "certification.code",
                 "certification.intitule", "jury.date", "jury.lieu", "jury.president"):
        _require(out, path, "R-DEC-4")
    cert = out["certification"]
    rncp = bool(cert.get("rncp_code"))
    out.setdefault("acquis", [])
    out.setdefault("acquis_nature", "blocs" if rncp else "competences")
    if "duree_acquis_mois" not in out:
        out["duree_acquis_mois"] = (dispositif.duree_acquis_rncp_mois if rncp and
                                    dispositif.duree_acquis_rncp_mois else dispositif.duree_acquis_mois)
    months = out["duree_acquis_mois"]
    out["duree_texte"] = duree_texte(months)
    out["date_limite"] = add_months(out["jury"]["date"], months) if months else None
    out.setdefault("lien_passeport", LIEN_PASSEPORT)


def _pv(out: dict, dispositif):
    """R-DOC-1 for the metallurgy (decision A or NA only, no company for a job seeker), and each
    dispositif's own PV model (app/reports/pv_models.py), whose code is frozen with the data."""
    if "sections" not in out and "candidats" in out:
        out["sections"] = [{"certification": out.pop("certification"),
                            "candidats": out.pop("candidats")}]
    for path in ("jury.date", "jury.lieu", "jury.president", "sections"):
        _require(out, path, "R-DOC-1")
    modele = modele_pv(out.setdefault("modele_pv", getattr(dispositif, "modele_pv", None)
                                      or PV_DEFAUT))
    keys = set(PV_COLUMNS) | set(modele.cles())
    sections = []
    for section in out["sections"]:
        _require(section, "certification.code", "R-DOC-1")
        rows = []
        for c in section.get("candidats") or []:
            row = {key: ("" if c.get(key) is None else c.get(key)) for key in keys | set(c)}
            rows.append(_pv_row(modele, row))
        sections.append({"certification": section["certification"], "candidats": rows})
    out["sections"] = sections
    out["financements"] = [list(pair) for pair in FINANCEMENTS]


def _pv_row(modele, row: dict) -> dict:
    who = f"{row['nom']} {row['prenom']}".strip()
    if modele.decisions and row["decision"] not in modele.decisions:
        raise RuleViolation(f"Décision « {row['decision']} » pour {who} : le procès-verbal "
                            f"n'admet que {' ou '.join(modele.decisions)}.", "R-DOC-1")
    if not row["decision"]:
        raise RuleViolation(f"Décision manquante pour {who}.", "R-DOC-1")
    if "origine" in modele.cles() and row["origine"] not in ("SL", "DE"):
        raise RuleViolation(f"Origine du candidat {who} : SL ou DE.", "R-DOC-1")
    if row["financement"] and row["financement"] not in FINANCEMENT_CODES:
        raise RuleViolation(f"Dispositif de financement inconnu pour {who}.", "R-DOC-1")
    if modele.sans_entreprise_pour_de and row["origine"] == "DE":
        row.update({key: "" for key in COMPANY_COLUMNS})
    return row


def _gtp(out: dict, dispositif, jury_id):
    for path in ("jury.date", "certifications"):
        _require(out, path, "R-DOC-3")
    out.setdefault("lieu", out["jury"].get("lieu") or "")
    out.setdefault("date", date.today())
    out["echeance"] = add_months(out["jury"]["date"], GTP_DELAI_MOIS)
    out.setdefault("destinataire_lignes", GTP_ADRESSE)
    if "pieces" not in out:
        out["pieces"] = jury_pieces(dispositif.id, jury_id) if jury_id else {}


def jury_pieces(dispositif_id: int, jury_id: int) -> dict:
    """Numbers of the valid PV and attendance sheets already issued for the jury (R-DOC-3)."""
    from app.extensions import db
    from app.models.document import DocumentEmis
    rows = db.session.query(DocumentEmis.type, DocumentEmis.numero).filter(
        DocumentEmis.dispositif_id == dispositif_id, DocumentEmis.jury_id == jury_id,
        DocumentEmis.type.in_(("pv", "emargement")), DocumentEmis.statut == "valide"
    ).order_by(DocumentEmis.id).all()
    return {"pv": [n for t, n in rows if t == "pv"],
            "emargements": [n for t, n in rows if t == "emargement"]}
