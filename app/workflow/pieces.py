"""Attachments (R-CAN-4): PDF, Excel, Word or Zip recognised by content, 4 Mo (4,000,000 bytes) at most, the same file
not twice on a dossier; stored in the database and served only after a scoped get."""
import hashlib
import io
import os
import re
import zipfile

from app.errors import RuleViolation
from app.extensions import db
from app.models.candidature import TYPES_PIECE, Candidature, Document
from app.models.evaluation import Evaluation, Formation
from app.security.perimeter import Perimetre
from app.workflow.engine import EV, SEC, check, record

MAX_SIZE = 4_000_000  # « 4 Mo », decimal like every size shown (app.errors.format_size)
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "zip": "application/zip",
}
# Pieces an évaluateur habilité may upload (outil n°4, R-EVA-3).
EVALUATOR_PIECES = ("guide_evaluation", "guide_evaluation_vae", "matrice_evaluation")
# The pieces each dispositif asks for (its own tools), by workflow; a VAE dossier adds the
# recevabilité file (R-CAN-8); « Autre document » everywhere.
_COMMON = ("piece_identite", "diplome", "attestation_formation")
_VAE = ("cerfa_12818", "dossier_vae", "guide_evaluation_vae")
PIECES = {
    "competences": _COMMON + ("dossier_candidat", "guide_evaluation"),           # e-Certif tools
    "domaines_clea": _COMMON + ("matrice_evaluation", "preuve_formation",        # 003
                                "complement"),
    "blocs": _COMMON + ("dossier_candidat", "guide_evaluation"),
}
# The chemical tools' numbers mean nothing to the metallurgy: its own words for the same pieces.
LABELS = {"blocs": {"dossier_candidat": "Dossier candidat",
                    "guide_evaluation": "Grille d'évaluation de la commission complétée"}}


def pieces_for(c: Candidature) -> list[tuple[str, str]]:
    """(code, label) of the pieces that may be added to `c`, in the order of TYPES_PIECE."""
    from app.workflow.engine import workflow_of
    key = workflow_of(c).key
    codes = set(PIECES.get(key, TYPES_PIECE.codes)) | ({*_VAE} if c.vae else set()) | {"autre"}
    own = LABELS.get(key, {})
    return [(code, own.get(code, label)) for code, label in TYPES_PIECE if code in codes]


def piece_label(c: Candidature, code: str) -> str:
    return dict(pieces_for(c)).get(code) or TYPES_PIECE.label(code)
ACCEPTED = "Fichiers acceptés : PDF, Excel, Word, Zip. Taille maximum : 4 Mo."


def sniff(data: bytes) -> str:
    """The format of `data` by its content, not its name: pdf, docx, xlsx, doc, xls or zip. The
    whole file must be what its first bytes announce: `%PDF-` followed by a program is no PDF."""
    if data.startswith(b"%PDF-"):
        _check_pdf(data)
        return "pdf"
    if data.startswith(OLE_MAGIC):
        _check_ole(data)
        # Legacy Office: the compound file's directory names its main stream (UTF-16LE).
        if "WordDocument".encode("utf-16-le") in data:
            return "doc"
        if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
            return "xls"
        raise RuleViolation("Ce document Office n'est ni un fichier Word ni un fichier Excel. "
                            + ACCEPTED, "R-CAN-4", field="fichier")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise RuleViolation("Archive Zip illisible. " + ACCEPTED, "R-CAN-4", field="fichier")
        if any(n.endswith("vbaProject.bin") for n in names):
            raise RuleViolation("Les documents contenant des macros sont refusés.", "R-CAN-4",
                                field="fichier")
        office = "[Content_Types].xml" in names
        if office and "word/document.xml" in names:
            return "docx"
        if office and "xl/workbook.xml" in names:
            return "xlsx"
        return "zip"
    raise RuleViolation("Format de fichier non accepté. " + ACCEPTED, "R-CAN-4", field="fichier")


def _check_pdf(data: bytes) -> None:
    """A PDF that pypdf reads, with at least one page, and nothing after its last %%EOF (where a
    program would be appended to make a PDF/executable polyglot)."""
    refused = RuleViolation("Ce fichier commence comme un PDF mais n'en est pas un (fichier "
                            "illisible ou contenu ajouté après la fin du document). " + ACCEPTED,
                            "R-CAN-4", field="fichier")
    end = data.rfind(b"%%EOF")
    if end < 0 or data[end + 5:].strip(b"\r\n\t \x00"):
        raise refused
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) < 1:
            raise refused
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OSError, AssertionError):
        raise refused from None


def _check_ole(data: bytes) -> None:
    """OLE2 compound file header: little-endian mark, 512- or 4096-byte sectors, whole sectors."""
    ok = (len(data) >= 1024 and data[28:30] == b"\xfe\xff"
          and data[30:32] in (b"\x09\x00", b"\x0c\x00"))
    if not ok:
        raise RuleViolation("Document Word ou Excel illisible. " + ACCEPTED, "R-CAN-4",
                            field="fichier")


def clean_filename(name: str, fmt: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/"))
    base = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", base).strip() or "document"
    stem, _, ext = base.rpartition(".")
    if not stem or ext.lower() != fmt:
        base = f"{base}.{fmt}"  # the extension tells the truth about the content
    return base[-255:]


def _verb_for(p: Perimetre, evaluation, formation) -> str:
    if formation is not None:
        return "add_formation"
    if evaluation is not None or p.role == EV:
        return "upload_evaluation_document"
    return "upload_document"


def add_document(p: Perimetre, c: Candidature, filename: str | None = None, data: bytes | None = None,
                 type_piece: str = "autre", evaluation=None, formation=None, **_) -> Document:
    """R-CAN-4 then the dossier's guard (R-WF-3: nothing is added once locked)."""
    if isinstance(evaluation, (int, str)) and str(evaluation).strip():
        evaluation = db.session.get(Evaluation, int(evaluation)) if str(evaluation).isdigit() else None
    if isinstance(formation, (int, str)) and str(formation).strip():
        formation = db.session.get(Formation, int(formation)) if str(formation).isdigit() else None
    evaluation = evaluation or None
    formation = formation or None
    check(p, c, _verb_for(p, evaluation, formation))
    for owner in (evaluation, formation):
        if owner is not None and owner.candidature_id != c.id:
            raise RuleViolation("Ce document ne peut être rattaché qu'à ce dossier.", "R-CAN-4")
    if evaluation is not None and evaluation.finalisee:
        raise RuleViolation("L'évaluation est finalisée.", "R-EVA-5")
    if type_piece not in TYPES_PIECE.codes:
        raise RuleViolation("Type de pièce inconnu.", "R-CAN-4", field="type_piece")
    if p.role == EV and type_piece not in EVALUATOR_PIECES:
        raise RuleViolation("L'évaluateur habilité dépose le guide d'évaluation (outil n°4).",
                            "R-EVA-3", field="type_piece")
    if formation is not None and type_piece not in ("attestation_formation", "preuve_formation"):
        type_piece = "attestation_formation"
    if type_piece not in dict(pieces_for(c)):
        raise RuleViolation("Ce type de pièce ne fait pas partie du dossier de ce dispositif.",
                            "R-CAN-4", field="type_piece")
    data = data or b""
    if not data:
        raise RuleViolation("Le fichier est vide.", "R-CAN-4", field="fichier")
    if len(data) > MAX_SIZE:
        raise RuleViolation("Le fichier dépasse 4 Mo.", "R-CAN-4", field="fichier")
    fmt = sniff(data)
    digest = hashlib.sha256(data).hexdigest()
    same = db.session.query(Document.nom_fichier).filter(
        Document.candidature_id == c.id, Document.sha256 == digest).first()
    if same:
        raise RuleViolation(f"Ce fichier est déjà joint au dossier (« {same.nom_fichier} ») : "
                            "chaque document ne se téléverse qu'une fois.", "R-CAN-4", field="fichier")
    doc = Document(candidature=c, evaluation_id=evaluation.id if evaluation else None,
                   formation_id=formation.id if formation else None, type_piece=type_piece,
                   nom_fichier=clean_filename(filename, fmt), mimetype=MIMETYPES[fmt], format=fmt,
                   taille=len(data), sha256=digest, contenu=data, created_by_id=p.user_id)
    db.session.add(doc)
    db.session.flush()
    if evaluation is not None and doc not in evaluation.documents:
        evaluation.documents.append(doc)
    if formation is not None and doc not in formation.documents:
        formation.documents.append(doc)
    record(p, c, "upload_document", f"Document ajouté : {doc.nom_fichier}", doc.type_label)
    return doc


def evaluators_among(user_ids) -> set:
    """Which of these accounts are évaluateurs habilités (one query for a dossier's pieces)."""
    from app.models import Profil
    ids = {u for u in user_ids if u}
    if not ids:
        return set()
    return {u for (u,) in db.session.query(Profil.user_id).filter(Profil.user_id.in_(ids),
                                                                   Profil.role == EV)}


def may_remove(p: Perimetre, doc: Document, evaluators: set | None = None) -> bool:
    """An évaluateur habilité's pieces (his evaluation guide, R-EVA-3) are his: only he or the
    secretariat removes them; an evaluator removes only what he added."""
    if p.role == EV:
        return doc.created_by_id == p.user_id
    if evaluators is None:
        evaluators = evaluators_among([doc.created_by_id])
    return p.role == SEC or doc.created_by_id not in evaluators


def delete_document(p: Perimetre, doc: Document):
    """Remove an attachment while the dossier is still open (never once locked, R-WF-3)."""
    c = doc.candidature
    check(p, c, _verb_for(p, doc.evaluation_id, doc.formation_id))
    if not may_remove(p, doc):
        raise RuleViolation("Vous ne pouvez retirer que vos propres documents.", "R-EVA-3")
    record(p, c, "delete_document", f"Document retiré : {doc.nom_fichier}")
    db.session.delete(doc)
