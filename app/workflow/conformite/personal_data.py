"""A person's data on request (right of access, RGPD art. 15): everything the platform holds about
a candidate, as a zip of JSON files and the documents.

The secretariat exports what its dispositif holds: the identity (shared by the person's
dossiers) and the dossiers of its perimeter, never another certifier's. Rows are dumped column by
column (binary content apart), so a column added later is exported without touching this file.
"""
import datetime as dt
import decimal
import io
import json
import re
import zipfile

import sqlalchemy as sa
from sqlalchemy.orm import undefer

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models.candidature import STATUTS, TYPES_PIECE, Candidat, Candidature, Document, cle
from app.models.conformite import DeclarationTitulaire, PurgeTrace
from app.models.document import DocumentEmis, Envoi
from app.models.evaluation import Amenagement, Evaluation, Formation
from app.reports.qr import verification_url
from app.security import perimeter, roles
from app.security.perimeter import Perimetre, current_perimetre
from app.workflow.engine import record

AREA = "DonneesPersonnelles"
# Search keys and technical columns say nothing about the person.
SKIP = {"cle_nom", "cle_nom_usage", "cle_prenom", "sha256", "nonce"}
PERSONAL_ISSUED = ("certificat", "lettre_decision")  # a PV names other candidates: never exported
SEARCH_LIMIT = 50


def _value(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def dump(obj, skip=()) -> dict:
    """Every non-binary column of a row."""
    out = {}
    for col in sa.inspect(type(obj)).columns:
        if col.key in SKIP or col.key in skip or isinstance(col.type, sa.LargeBinary):
            continue
        out[col.key] = _value(getattr(obj, col.key))
    return out


def _safe_name(name: str) -> str:
    name = re.sub(r"[\\/\x00-\x1f:*?\"<>|]", "_", name or "document").strip(". ") or "document"
    return name[-120:]


def _may_export(p: Perimetre) -> bool:
    return p.unrestricted or roles.allowed(p.role or "", AREA, "read")


def dossiers_of(candidat_id: int, p: Perimetre) -> list[Candidature]:
    return (perimeter.scoped_query(Candidature, p).filter(Candidature.candidat_id == candidat_id)
            .order_by(Candidature.created_on, Candidature.id).all())


def search_candidates(p: Perimetre, text: str = "", naissance: dt.date | None = None):
    """Candidates with a dossier in the perimeter, by name (birth or usage), first name or dossier
    number, and/or birth date."""
    if not _may_export(p):
        raise PerimeterViolation()
    words = cle(text).split()
    if not words and naissance is None:
        raise RuleViolation("Indiquez un nom, un numéro de dossier ou une date de naissance.",
                            None, "q")
    q = db.session.query(Candidat).filter(perimeter.criterion(Candidat, p))
    if naissance is not None:
        q = q.filter(Candidat.date_naissance == naissance)
    if words:
        numero = text.strip()
        by_number = Candidat.candidatures.any(Candidature.numero == numero)
        name = sa.and_(*[sa.or_(Candidat.cle_nom.startswith(w),
                                Candidat.cle_nom_usage.startswith(w),
                                Candidat.cle_prenom.startswith(w)) for w in words])
        q = q.filter(sa.or_(by_number, name))
    return q.order_by(Candidat.cle_nom, Candidat.cle_prenom).limit(SEARCH_LIMIT).all()


def _evaluation(e: Evaluation) -> dict:
    data = dump(e, skip={"statut_dossier_avant"})
    data["type_label"], data["resultat_label"] = e.type_label, e.resultat_label
    data["resultats"] = [{**dump(r, skip={"evaluation_id"}), "competence_code": r.competence.code,
                          "competence_intitule": r.competence.intitule} for r in e.resultats]
    return data


def _dossier(c: Candidature, extra: dict) -> dict:
    data = dump(c)
    data.update({
        "statut_label": STATUTS.label(c.statut),
        "decision_label": STATUTS.label(c.decision) if c.decision else None,
        "dispositif": c.dispositif.nom, "certificateur": c.dispositif.certificateur,
        "certification": {"code": c.certification.code, "intitule": c.certification.intitule,
                          "rncp_code": c.certification.rncp_code,
                          "rs_code": c.certification.rs_code},
        "etablissement": c.etablissement.nom if c.etablissement else None,
        "entreprise": c.entreprise.raison_sociale if c.entreprise else None,
    })
    data.update(extra)
    return data


def _by_dossier(model, ids, order):
    rows = db.session.query(model).filter(model.candidature_id.in_(ids)).order_by(*order).all()
    out: dict[int, list] = {}
    for row in rows:
        out.setdefault(row.candidature_id, []).append(row)
    return out


def _jury_rows(ids) -> dict[int, list]:
    """Jury registrations and decisions, when the jury feature provides them."""
    try:
        from app.models.jury import InscriptionJury
    except ImportError:
        return {}
    if not hasattr(InscriptionJury, "candidature_id"):
        return {}
    return {k: [dump(r) for r in v] for k, v in _by_dossier(
        InscriptionJury, ids, [InscriptionJury.id]).items()}


def export_person(candidat_id: int, p: Perimetre | None = None, log: bool = True) -> bytes:
    """The zip answering an access request for one candidate, within the perimeter of `p`."""
    p = p or current_perimetre()
    if not _may_export(p):
        raise PerimeterViolation()
    person = db.session.get(Candidat, candidat_id)
    dossiers = dossiers_of(candidat_id, p) if person is not None else []
    if not dossiers:
        raise PerimeterViolation()
    ids = [c.id for c in dossiers]
    numero = {c.id: c.numero for c in dossiers}
    evaluations = _by_dossier(Evaluation, ids, [Evaluation.id])
    formations = _by_dossier(Formation, ids, [Formation.date_debut])
    amenagements = _by_dossier(Amenagement, ids, [Amenagement.id])
    traces = _by_dossier(PurgeTrace, ids, [PurgeTrace.id])
    declarations = _by_dossier(DeclarationTitulaire, ids, [DeclarationTitulaire.id])
    jury = _jury_rows(ids)
    documents = _by_dossier(Document, ids, [Document.id])
    issued = (db.session.query(DocumentEmis).filter(DocumentEmis.candidature_id.in_(ids))
              .order_by(DocumentEmis.id).all())
    envois = {}
    for e in db.session.query(Envoi).filter(Envoi.document_id.in_([d.id for d in issued] or [0])):
        envois.setdefault(e.document_id, []).append(dump(e, skip={"document_id"}))

    def doc_path(d):
        return f"documents/{numero[d.candidature_id]}/{d.id}-{_safe_name(d.nom_fichier)}"

    def issued_path(d):
        return f"documents_emis/{d.type}-{_safe_name(d.numero)}.pdf"

    with_file = {d.id for d in issued if d.type in PERSONAL_ISSUED and d.taille}
    result = []
    for c in dossiers:
        result.append(_dossier(c, {
            "historique": [dump(h) for h in c.historique],
            "evaluations": [_evaluation(e) for e in evaluations.get(c.id, [])],
            "formations": [dump(f) for f in formations.get(c.id, [])],
            "amenagements": [dump(a) for a in amenagements.get(c.id, [])],
            "jury": jury.get(c.id, []),
            "documents": [{**dump(d), "type_label": TYPES_PIECE.label(d.type_piece),
                           "fichier": doc_path(d)} for d in documents.get(c.id, [])],
            "documents_supprimes": [{**dump(t), "element_label": t.element_label}
                                    for t in traces.get(c.id, [])],
            "declarations_caisse_des_depots": [
                {**dump(t), "id_flux": t.declaration.id_flux, "statut_label": t.statut_label}
                for t in declarations.get(c.id, [])],
        }))
    certificats = [{**dump(d), "type_label": d.type_label,
                    "verification_url": verification_url(d.code_verification),
                    "envois": envois.get(d.id, []),
                    "fichier": issued_path(d) if d.id in with_file else None} for d in issued]
    now = dt.datetime.now().replace(microsecond=0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name, obj):
            z.writestr(name, json.dumps(obj, ensure_ascii=False, indent=2, default=_value))
        z.writestr("LISEZMOI.txt", _readme(person, dossiers, now))
        put("identite.json", dump(person))
        put("dossiers.json", result)
        put("documents_emis.json", certificats)
        rows = (db.session.query(Document.id, Document.candidature_id, Document.nom_fichier,
                                 Document.contenu)
                .filter(Document.candidature_id.in_(ids)).order_by(Document.id)
                .execution_options(yield_per=20))
        for row in rows:
            z.writestr(doc_path(row), row.contenu)
        for d in (db.session.query(DocumentEmis).options(undefer(DocumentEmis.pdf))
                  .filter(DocumentEmis.id.in_(with_file or {0}))):
            if d.pdf:
                z.writestr(issued_path(d), d.pdf)
    if log:
        for c in dossiers:
            record(p, c, "export_donnees_personnelles",
                   "Export des données personnelles (demande d'accès)")
        db.session.flush()
    return buffer.getvalue()


def _readme(person: Candidat, dossiers, now) -> str:
    return (
        f"Données personnelles de {person.nom_complet}\n"
        f"Export du {now:%d/%m/%Y à %H:%M} — dossiers : "
        f"{', '.join(c.numero for c in dossiers)}\n\n"
        "identite.json          identité telle que sur la pièce d'identité, coordonnées\n"
        "dossiers.json          dossiers de candidature : parcours, évaluations et résultats,\n"
        "                       formations, aménagements, passages en jury, décision,\n"
        "                       historique, pièces jointes, pièces supprimées à l'échéance de\n"
        "                       leur durée de conservation, déclarations à la Caisse des Dépôts\n"
        "documents_emis.json    certificats et lettres émis, historique des envois\n"
        "documents/             pièces jointes des dossiers\n"
        "documents_emis/        certificats et lettres de décision (PDF)\n\n"
        "Seules les données détenues par le certificateur qui a réalisé l'export figurent ici.\n")
