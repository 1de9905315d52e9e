"""The Caisse des Dépôts' processing report of a holders' file (R-ARC-4): parsed from XML or CSV,
each line marks its holder accepted or rejected; rejected holders are offered again in the next
file (app/workflow/cdc.py).

Accepted formats (documented in the README):
- XML: any element carrying an `idTechnique` (attribute or child element) with a `statut`
  (OK / KO) and, when rejected, an `erreur` (or `libelleErreur`, `motif`, `message`), e.g.
  <compteRendu idFlux="…"><passage idTechnique="CHIMIE-2026-000001" statut="OK"/>
  <passage idTechnique="CHIMIE-2026-000002" statut="KO" erreur="Nom absent"/></compteRendu>
- CSV (`;`, `,` or tab, UTF-8 or Windows-1252, optional header): idTechnique;statut;erreur
"""
import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from app.errors import RuleViolation
from app.extensions import db
from app.models.base import utcnow
from app.models.conformite import DeclarationCDC

RULE = "R-ARC-4"


@dataclass
class ReportResult:
    acceptes: int = 0
    rejetes: int = 0
    inconnus: list = field(default_factory=list)
    deja_traites: list = field(default_factory=list)
    en_attente: int = 0

    def message(self) -> str:
        parts = [f"{self.acceptes} titulaire(s) accepté(s)", f"{self.rejetes} rejeté(s)"]
        if self.en_attente:
            parts.append(f"{self.en_attente} sans réponse dans ce compte rendu")
        if self.inconnus:
            parts.append("identifiants absents de ce fichier : " + ", ".join(self.inconnus[:10]))
        if self.deja_traites:
            parts.append(f"{len(self.deja_traites)} déjà traité(s), inchangé(s)")
        return "Compte rendu intégré : " + " ; ".join(parts) + "."


OK_WORDS = {"OK", "ACCEPTE", "ACCEPTÉ", "ACCEPTED", "VALIDE", "VALIDÉ", "INTEGRE", "INTÉGRÉ"}
KO_WORDS = {"KO", "REJETE", "REJETÉ", "REJECTED", "REJET", "ERREUR", "ANOMALIE"}


def _status(value: str, where: str) -> bool:
    word = (value or "").strip().upper()
    if word in OK_WORDS:
        return True
    if word in KO_WORDS:
        return False
    raise RuleViolation(f"Statut « {value} » inconnu {where} : attendu OK ou KO.", RULE, "fichier")


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse_xml(data: bytes) -> list[tuple[str, bool, str]]:
    # No DTD at all: refusing it rules out entity expansion and external entities.
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise RuleViolation("Compte rendu refusé : les déclarations DOCTYPE/ENTITY ne sont pas "
                            "acceptées.", RULE, "fichier")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise RuleViolation(f"Compte rendu XML illisible : {exc}.", RULE, "fichier")
    records = []
    for el in root.iter():
        children = {_local(ch.tag): (ch.text or "").strip() for ch in el}
        attrs = {_local(k): v for k, v in el.attrib.items()}
        id_technique = (attrs.get("idTechnique") or children.get("idTechnique") or "").strip()
        if not id_technique:
            continue
        statut = attrs.get("statut") or children.get("statut") or ""
        erreur = next((v for k in ("erreur", "libelleErreur", "motif", "message")
                       for v in (attrs.get(k), children.get(k)) if v), "")
        records.append((id_technique, _status(statut, f"pour {id_technique}"), erreur.strip()))
    return records


def _parse_csv(data: bytes) -> list[tuple[str, bool, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    sample = text[:2048]
    delimiter = ";" if ";" in sample else ("\t" if "\t" in sample else ",")
    records = []
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower().replace("_", "") in ("idtechnique", "identifiant"):
            continue  # header line
        if len(cells) < 2:
            raise RuleViolation(f"Ligne {number} du compte rendu incomplète : attendu "
                                "idTechnique;statut;erreur.", RULE, "fichier")
        erreur = cells[2] if len(cells) > 2 else ""
        records.append((cells[0], _status(cells[1], f"ligne {number}"), erreur))
    return records


def parse_processing_report(data: bytes) -> list[tuple[str, bool, str]]:
    """(idTechnique, accepted, error label) per line of an XML or CSV processing report."""
    head = (data or b"").lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise RuleViolation("Le compte rendu est vide.", RULE, "fichier")
    records = _parse_xml(head) if head.startswith(b"<") else _parse_csv(head)
    if not records:
        raise RuleViolation("Aucune ligne idTechnique / statut trouvée dans le compte rendu.",
                            RULE, "fichier")
    return records


def import_processing_report(declaration: DeclarationCDC, data: bytes,
                             filename: str | None = None) -> ReportResult:
    """Mark each holder of the file accepted or rejected from the Caisse des Dépôts' report;
    rejected holders are offered again in the next file. The caller commits."""
    records = parse_processing_report(data)
    lines = {line.id_technique: line for line in declaration.titulaires}
    result = ReportResult()
    now = utcnow()
    matched = False
    for id_technique, accepted, erreur in records:
        line = lines.get(id_technique)
        if line is None:
            result.inconnus.append(id_technique)
            continue
        matched = True
        if line.statut != "declared":
            result.deja_traites.append(id_technique)
            continue
        line.statut = "accepted" if accepted else "rejected"
        line.erreur = None if accepted else (erreur or "Rejet sans motif indiqué")[:2000]
        line.traite_le = now
        if accepted:
            result.acceptes += 1
        else:
            result.rejetes += 1
    if not matched:
        raise RuleViolation("Aucune ligne de ce compte rendu ne correspond à la déclaration "
                            f"{declaration.id_flux} : vérifiez le fichier.", RULE, "fichier")
    statuses = [line.statut for line in declaration.titulaires]
    result.en_attente = statuses.count("declared")
    declaration.nb_acceptes = statuses.count("accepted")
    declaration.nb_rejetes = statuses.count("rejected")
    declaration.compte_rendu_nom = (filename or "")[:255] or None
    if declaration.statut == "generated":
        declaration.deposee_le = declaration.deposee_le or now
    declaration.statut = "sent" if result.en_attente else "processed"
    if not result.en_attente:
        declaration.traitee_le = now
    db.session.flush()
    return result
