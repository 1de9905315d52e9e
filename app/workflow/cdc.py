"""Holders' declaration to the Caisse des Dépôts (R-ARC-4, "accrochage", Code du travail L6113-8).

generate_declaration() builds the XML flux (namespace urn:cdc:cpf:pc5:schema:1.0.0, XSD 1.1.2 in
app/reports/schemas/) from the certified dossiers of RNCP/RS certifications not declared yet (or
rejected last time), validates it against the XSD and stores it with one DeclarationTitulaire per
holder; import_processing_report() reads the Caisse des Dépôts' answer and marks each holder
accepted or rejected. A holder is never in two files unless the first one rejected it (partial
unique index on declaration_titulaire).
"""
import datetime as dt
import io
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.errors import RuleViolation
from app.extensions import db
from app.models.base import utcnow
from app.models.candidature import Candidature
from app.models.conformite import DeclarationCDC, DeclarationTitulaire
from app.models.document import DocumentEmis
from app.models.referentiel import Certification, Dispositif
from app.models.statuts import SUCCESS
from app.reports.qr import verification_url
from app.workflow.conformite.retention import add_months

RULE = "R-ARC-4"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "reports" / "schemas" / "cpf-1.1.2.xsd"
NS = "urn:cdc:cpf:pc5:schema:1.0.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PARIS = ZoneInfo("Europe/Paris")
DELAI_ALERTE_MOIS = 3
# Financing codes (004 Annexe 14) -> modaliteAcces of the flux.
CONTRAT_PRO = ("CP", "CPE")
APPRENTISSAGE = ("CPFCA",)
CONGE_VAE = ("CVAE",)
# Who created the dossier -> initiativeInscription.
INITIATIVE = {"employeur": "EMPLOYEUR", "etablissement": "OF", "candidat": "CERTIFIE",
              "secretariat": "AUTRE"}

ET.register_namespace("cpf", NS)
ET.register_namespace("xsi", XSI)


# -- schema ----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _schema():
    import xmlschema
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def validate(xml: bytes) -> None:
    """Raise RuleViolation with the first schema error (message and path) when `xml` is invalid."""
    errors = list(_schema().iter_errors(io.BytesIO(xml)))
    if errors:
        first = errors[0]
        where = f" (élément {first.path})" if getattr(first, "path", None) else ""
        raise RuleViolation(
            "Le fichier généré ne respecte pas le schéma de la Caisse des Dépôts : "
            f"{first.reason or first.message}{where}. {len(errors)} erreur(s).", RULE)


# -- what is declared ------------------------------------------------------------------------------
def certification_ref(cert: Certification) -> tuple[str, str] | None:
    """("RNCP", "RNCP12345") or ("RS", "RS1234") — the RNCP code first — or None."""
    for kind, value in (("RNCP", cert.rncp_code), ("RS", cert.rs_code)):
        code = re.sub(r"\s+", "", value or "").upper()
        if code:
            return kind, code if code.startswith(kind) else f"{kind}{code}"
    return None


def jury_date_column():
    """The jury's date: from the dossier's jury registration when the jury model provides it,
    else the decision date (set by apply_decision on the jury day)."""
    try:
        from app.models.jury import InscriptionJury, Jury
    except ImportError:
        return Candidature.decide_le
    if not all(hasattr(InscriptionJury, a) for a in ("candidature_id", "jury_id")) or \
            not hasattr(Jury, "date"):
        return Candidature.decide_le
    date_col = Jury.date
    if isinstance(Jury.__table__.c.date.type, sa.DateTime):
        date_col = sa.func.date(Jury.date)
    sub = (sa.select(sa.func.max(date_col)).select_from(InscriptionJury)
           .join(Jury, Jury.id == InscriptionJury.jury_id)
           .where(InscriptionJury.candidature_id == Candidature.id))
    if hasattr(InscriptionJury, "decision"):
        sub = sub.where(InscriptionJury.decision.isnot(None))
    return sa.func.coalesce(sub.correlate(Candidature).scalar_subquery(), Candidature.decide_le)


def _as_date(value):
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _declared_or_pending():
    line = sa.orm.aliased(DeclarationTitulaire)
    return sa.exists().where(line.candidature_id == Candidature.id,
                             line.statut != "rejected").correlate(Candidature)


def holders_query(dispositif_id: int):
    """(Candidature, jury date) of the dispositif's holders of a registered certification not
    declared yet, or whose last declaration was rejected."""
    registered = sa.or_(sa.func.coalesce(Certification.rncp_code, "") != "",
                        sa.func.coalesce(Certification.rs_code, "") != "")
    return (db.session.query(Candidature, jury_date_column().label("date_jury"))
            .join(Certification, Certification.id == Candidature.certification_id)
            .filter(Candidature.dispositif_id == dispositif_id,
                    Candidature.decision.in_(SUCCESS), registered,
                    ~_declared_or_pending())
            .order_by(Certification.code, Candidature.numero))


def _certificate_codes(candidature_ids) -> dict[int, str]:
    """Verification code of each holder's current certificate (the last valid one)."""
    if not candidature_ids:
        return {}
    rows = (db.session.query(DocumentEmis.candidature_id, DocumentEmis.code_verification)
            .filter(DocumentEmis.candidature_id.in_(candidature_ids),
                    DocumentEmis.type == "certificat", DocumentEmis.statut == "valide")
            .order_by(DocumentEmis.id))
    return {cid: code for cid, code in rows}


def modalite_acces(c: Candidature) -> str:
    """modaliteAcces from the dossier: VAE, contract of professionalisation, apprenticeship or
    continuing training."""
    financement = (c.financement or "").upper()
    if _is_vae(c):
        return "VAE"
    if financement in CONTRAT_PRO:
        return "FORMATION_CONTINUE_CONTRAT_DE_PROFESSIONNALISATION"
    if financement in APPRENTISSAGE:
        return "FORMATION_INITIALE_APPRENTISSAGE"
    return "FORMATION_CONTINUE_HORS_CONTRAT_DE_PROFESSIONNALISATION"


def _is_vae(c: Candidature) -> bool:
    # Metallurgy parcours 2 and 3 are VAE (simplifiée / de droit commun).
    return bool(c.vae) or c.parcours in ("2", "3") or (c.financement or "").upper() in CONGE_VAE


# -- building the XML ------------------------------------------------------------------------------
def _q(tag):
    return f"{{{NS}}}{tag}"


def _sub(parent, tag, text=None):
    el = ET.SubElement(parent, _q(tag))
    if text is not None:
        el.text = str(text)
    return el


def _nil(parent, tag):
    _sub(parent, tag).set(f"{{{XSI}}}nil", "true")


def _opt(parent, tag, text, max_len=None):
    """Optional element: left out when there is nothing to say (never an empty element)."""
    text = (str(text).strip() if text is not None else "")
    if text:
        _sub(parent, tag, text[:max_len] if max_len else text)


def _titulaire(parent, c: Candidature):
    person = c.candidat
    t = _sub(_sub(parent, "identificationTitulaire"), "titulaire")
    _sub(t, "nomNaissance", person.nom_naissance.strip()[:60])
    if (person.nom_usage or "").strip():
        _sub(t, "nomUsage", person.nom_usage.strip()[:60])
    else:
        _nil(t, "nomUsage")
    _sub(t, "prenom1", person.prenom.strip()[:60])
    _sub(t, "anneeNaissance", person.date_naissance.year)
    _sub(t, "moisNaissance", person.date_naissance.month)
    _sub(t, "jourNaissance", person.date_naissance.day)
    _sub(t, "sexe", "F" if person.civilite == "MME" else "M")
    commune = _sub(_sub(t, "codeCommuneNaissance"), "codePostalNaissance")
    code_postal = (person.code_postal_naissance or "").strip()
    if code_postal and not person.ne_etranger:
        _sub(commune, "codePostal", code_postal[:9])
    else:  # born abroad: no French postal code; the city and the country are named below
        _nil(commune, "codePostal")
    _opt(t, "libelleCommuneNaissance", person.ville_naissance, 60)
    if person.ne_etranger:
        _opt(t, "libellePaysNaissance", person.pays_naissance, 60)


def _passage(parent, c: Candidature, date_jury: dt.date, code: str | None):
    p = _sub(parent, "passageCertification")
    _sub(p, "idTechnique", c.numero)
    if code:
        _sub(p, "urlPreuve", verification_url(code)[:255])
    _sub(p, "obtentionCertification", "PAR_ADMISSION")
    _sub(p, "donneeCertifiee", "true")
    _sub(p, "dateDebutValidite", date_jury.isoformat())
    _nil(p, "dateFinValidite")  # professional certifications do not expire
    _sub(p, "presenceNiveauLangueEuro", "false")
    _sub(p, "presenceNiveauNumeriqueEuro", "false")
    _nil(p, "scoring")
    _nil(p, "mentionValidee")
    m = _sub(p, "modalitesInscription")
    _sub(m, "modaliteAcces", modalite_acces(c))
    if _is_vae(c):
        _sub(m, "voieAccessVAE",
             "CONGES_VAE" if (c.financement or "").upper() in CONGE_VAE else "VAE_CLASSIQUE")
    _opt(m, "initiativeInscription", INITIATIVE.get(c.createur_type))
    if c.created_on and c.created_on.date() <= date_jury:  # a later date would be incoherent
        _sub(m, "dateInscription", c.created_on.date().isoformat())
    _titulaire(p, c)


def _now(today: dt.date) -> dt.datetime:
    now = dt.datetime.now(PARIS).replace(microsecond=0)
    if now.date() != today:  # replayed or frozen date: noon of that day, Paris time
        now = dt.datetime.combine(today, dt.time(12, 0), PARIS)
    return now


def build_xml(dispositif, id_flux: str, horodatage: dt.datetime, groups) -> bytes:
    """The flux: groups = [((type, code), [(Candidature, jury date, certificate code)])]."""
    root = ET.Element(_q("flux"))
    _sub(root, "idFlux", id_flux)
    _sub(root, "horodatage", horodatage.isoformat(timespec="seconds"))
    emetteur = _sub(root, "emetteur")
    _sub(emetteur, "idClient", dispositif.id_client_cdc.strip())
    certificateur = _sub(_sub(emetteur, "certificateurs"), "certificateur")
    _sub(certificateur, "idClient", dispositif.id_client_cdc.strip())
    _sub(certificateur, "idContrat", dispositif.id_contrat_cdc.strip())
    certifications = _sub(certificateur, "certifications")
    for (kind, code), holders in groups:
        cert = _sub(certifications, "certification")
        _sub(cert, "type", kind)
        _sub(cert, "code", code)
        passages = _sub(cert, "passageCertifications")
        for c, date_jury, proof in holders:
            _passage(passages, c, date_jury, proof)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _check_settings(dispositif):
    client = (dispositif.id_client_cdc or "").strip()
    contrat = (dispositif.id_contrat_cdc or "").strip()
    if not client or not contrat:
        raise RuleViolation(
            "Renseignez l'identifiant client et l'identifiant contrat de la Caisse des Dépôts "
            "dans les paramètres du dispositif avant de générer une déclaration.", RULE,
            "id_client_cdc" if not client else "id_contrat_cdc")
    if len(client) != 8:
        raise RuleViolation("L'identifiant client de la Caisse des Dépôts compte 8 caractères.",
                            RULE, "id_client_cdc")
    if len(contrat) > 20:
        raise RuleViolation("L'identifiant contrat de la Caisse des Dépôts compte au plus 20 "
                            "caractères.", RULE, "id_contrat_cdc")


def generate_declaration(dispositif, today: dt.date | None = None, par=None) -> DeclarationCDC:
    """Build, validate and store the next file of holders (R-ARC-4); the caller commits."""
    today = today or dt.date.today()
    _check_settings(dispositif)
    rows = holders_query(dispositif.id).all()
    if not rows:
        raise RuleViolation("Aucun titulaire à déclarer : tous les titulaires d'une certification "
                            "inscrite au RNCP ou au répertoire spécifique sont déjà déclarés.",
                            RULE)
    proofs = _certificate_codes([c.id for c, _ in rows])
    groups: dict[tuple, list] = {}
    for c, date_jury in rows:
        ref = certification_ref(c.certification)
        groups.setdefault(ref, []).append((c, _as_date(date_jury) or c.decide_le,
                                           proofs.get(c.id)))
    horodatage = _now(today)
    suffix = secrets.token_hex(2).upper()  # two files in the same second stay distinct
    id_flux = f"OC-{dispositif.code[:14]}-{horodatage:%Y%m%d-%H%M%S}-{suffix}"
    xml = build_xml(dispositif, id_flux, horodatage, sorted(groups.items()))
    validate(xml)  # never store nor offer a file the Caisse des Dépôts would refuse
    declaration = DeclarationCDC(
        dispositif_id=dispositif.id, id_flux=id_flux, date_reference=today, xml=xml,
        generee_par_id=getattr(par, "id", par), statut="generated",
        nb_certifications=len(groups), nb_titulaires=len(rows))
    try:
        with db.session.begin_nested():
            db.session.add(declaration)
            db.session.flush()
            db.session.add_all([
                DeclarationTitulaire(declaration_id=declaration.id, candidature_id=c.id,
                                     id_technique=c.numero, certification_code=ref[1],
                                     date_jury=date_jury, statut="declared")
                for ref, holders in groups.items() for c, date_jury, _ in holders])
            db.session.flush()
    except sa.exc.IntegrityError:
        # Another file was generated at the same moment: its holders are taken.
        raise RuleViolation("Une autre déclaration vient d'être générée pour ces titulaires ; "
                            "rechargez la page.", RULE)
    return declaration


# -- follow-up -------------------------------------------------------------------------------------
def mark_sent(declaration: DeclarationCDC) -> DeclarationCDC:
    """The secretariat uploaded the file on the Caisse des Dépôts' portal."""
    if declaration.statut != "generated":
        raise RuleViolation("Cette déclaration est déjà déposée.", RULE)
    declaration.statut, declaration.deposee_le = "sent", utcnow()
    return declaration


def cancel_declaration(declaration: DeclarationCDC) -> None:
    """Drop a file never sent: its holders are offered again in the next one."""
    if declaration.statut != "generated":
        raise RuleViolation("Une déclaration déposée ne peut plus être annulée : intégrez son "
                            "compte rendu de traitement.", RULE)
    db.session.execute(sa.delete(DeclarationTitulaire.__table__).where(
        DeclarationTitulaire.__table__.c.declaration_id == declaration.id))
    db.session.delete(declaration)
    db.session.flush()


# -- what the secretariat is shown -----------------------------------------------------------------
def rejected_holders(dispositif_id: int) -> list[DeclarationTitulaire]:
    """Rejected lines whose dossier is not declared again yet: shown with their error."""
    return (db.session.query(DeclarationTitulaire)
            .join(DeclarationCDC, DeclarationCDC.id == DeclarationTitulaire.declaration_id)
            .join(Candidature, Candidature.id == DeclarationTitulaire.candidature_id)
            .filter(DeclarationCDC.dispositif_id == dispositif_id,
                    DeclarationTitulaire.statut == "rejected", ~_declared_or_pending())
            .order_by(DeclarationTitulaire.traite_le.desc(), DeclarationTitulaire.id.desc())
            .all())


@dataclass
class AlerteDeclaration:
    candidature: Candidature
    date_jury: dt.date
    erreur: str | None  # last rejection, when the holder was rejected


def undeclared_warnings(today: dt.date | None = None, dispositif_id: int | None = None) -> list:
    """Holders still not declared (or rejected) 3 months after their jury (R-ARC-4)."""
    today = today or dt.date.today()
    limit = add_months(today, -DELAI_ALERTE_MOIS)
    ids = [dispositif_id] if dispositif_id else [
        i for (i,) in db.session.query(Dispositif.id).order_by(Dispositif.id)]
    warnings = []
    for did in ids:
        q = holders_query(did)
        jury = jury_date_column()
        rows = q.filter(jury <= limit).all()
        if not rows:
            continue
        rejected = {line.candidature_id: line.erreur for line in rejected_holders(did)}
        warnings += [AlerteDeclaration(c, _as_date(d), rejected.get(c.id)) for c, d in rows]
    return warnings


# The processing report lives in its own module; reachable from here like the rest of the flux.
from app.workflow.cdc_report import (  # noqa: F401
    ReportResult,
    import_processing_report,
    parse_processing_report,
)
