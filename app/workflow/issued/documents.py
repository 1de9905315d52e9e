"""Issuing documents (R-DOC-1…6, R-DEC-4): numbers, frozen data, PDF, verification, corrections,
duplicates, revocation and mailing history (R-ENV-1/2). Print batches and the reminders of the
letter to the GTP are in documents_lots.py.

The jury code builds the data dict of each document (see app/workflow/issued/data.py for
what each template expects) and calls issue_document() or issue_many(); nothing here reads a
jury or a candidature to render, so a document can always be rendered again from its frozen
copy. The functions flush but do not commit: the caller commits with its own changes.
"""
import hashlib
import secrets
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import load_only

from app.errors import RuleViolation
from app.extensions import db
from app.models.base import utcnow
from app.models.document import (
    CANAUX_ENVOI,
    STATUTS_ENVOI,
    TYPES_DOCUMENT,
    DocumentEmis,
    Envoi,
)
from app.reports import pdf as renderer
from app.reports.qr import verification_url
from app.workflow.issued.data import MODELES, normalise
from app.workflow.notifications import notify

# Printed on paper and typed back: no 0/O, 1/I/L. 12 characters of 31 = 59 bits, drawn by
# `secrets`: nobody can walk the codes of the public page.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
# R-DOC-4: a certificate's number is <dispositif prefix><year><6 digits> (MC2026000001 for the
# metallurgy); the other documents add their type before it (PV-MC2026000001). Prefixes are
# letters only and unique per dispositif, and a certificate's number has no dash: two different
# dispositifs or types can never produce the same number.
TYPE_PREFIXES = {"pv": "PV", "emargement": "EM", "lettre_gtp": "GTP", "lettre_decision": "LD"}
# Numbers issued before prefixes per dispositif were <type prefix><year><digits> (PV2026000001):
# a dispositif prefix equal to one of them could meet one of those numbers again.
RESERVED_PREFIXES = {"PV", "EM", "GTP", "LD"}
DUPLICABLES = ("certificat", "lettre_decision")
# Keys this module adds to the data: recomputed for a duplicate or a correction.
SYSTEM_KEYS = ("numero", "numero_certificat", "numero_origine", "code_verification",
               "verification_url", "emis_le", "duplicata", "original", "correction_de")


# -- numbers and codes -------------------------------------------------------------------------
def _bump(key: str, count: int = 1) -> int:
    """Add `count` to the counter `key` and return its new value, atomically.

    One INSERT … ON CONFLICT DO UPDATE … RETURNING: on PostgreSQL the counter row stays locked
    until the transaction ends, so concurrent issuers wait and never share a number; SQLite
    serialises writers. The counter table is shared with the dossier numbers (other keys)."""
    from app.models.candidature import NumeroSequence
    table = NumeroSequence.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(cle=key, dernier=count)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.cle],
                                      set_={"dernier": table.c.dernier + count})
    return db.session.execute(stmt.returning(table.c.dernier)).scalar_one()


def number_head(dispositif, type_: str, year: int) -> str:
    """What every number of this dispositif, type and year starts with (R-DOC-4)."""
    prefix = dispositif.prefixe_numero
    if not prefix:
        raise RuleViolation(f"Le dispositif « {dispositif.nom} » n'a pas de préfixe de numérotation "
                            "des documents : renseignez-le dans ses paramètres.", "R-DOC-4")
    if type_ == "certificat":
        return f"{prefix}{year}"
    return f"{TYPE_PREFIXES[type_]}-{prefix}{year}"


def allocate_numbers(dispositif, type_: str, count: int = 1, year: int | None = None) -> list[str]:
    """R-DOC-4: `count` new numbers, unique across the platform: one counter per number head
    (prefix, type and year), whatever dispositif used that prefix before."""
    head = number_head(dispositif, type_, year or date.today().year)
    last = _bump(f"num:{head}", count)
    return [f"{head}{n:06d}" for n in range(last - count + 1, last + 1)]


def check_prefix(value: str, dispositif_id: int | None = None) -> str:
    """The dispositif's number prefix as stored: 2 to 8 capital letters, not used by another
    dispositif nor by the numbers of the other documents (R-DOC-4)."""
    from app.models import Dispositif
    prefix = (value or "").strip().upper()
    if not (2 <= len(prefix) <= 8 and prefix.isascii() and prefix.isalpha()):
        raise RuleViolation("Le préfixe des numéros de certificat se compose de 2 à 8 lettres "
                            "sans accent (par exemple MC, CQP, CLEA).", "R-DOC-4",
                            field="prefixe_numero")
    if prefix in RESERVED_PREFIXES:
        raise RuleViolation(f"Le préfixe « {prefix} » est réservé à la numérotation des "
                            "procès-verbaux, feuilles d'émargement et lettres.", "R-DOC-4",
                            field="prefixe_numero")
    with db.session.no_autoflush:  # the edited row, not yet checked, must not be flushed first
        taken = db.session.query(Dispositif.nom).filter(
            Dispositif.prefixe_numero == prefix, Dispositif.id != (dispositif_id or 0)).first()
    if taken:
        raise RuleViolation(f"Le préfixe « {prefix} » est déjà celui du dispositif « {taken.nom} » : "
                            "les numéros de certificat doivent rester uniques.", "R-DOC-4",
                            field="prefixe_numero")
    return prefix


def original_key(type_: str, modele: str, data: dict, candidature_id=None, jury_id=None):
    """What an original is the original of, or None when nothing says (a document issued outside
    a jury or a dossier). One valid original per key (unique index uq_document_original): a
    dossier's certificate of one certification or bloc (a CQP and its CQPI are two), its decision
    letter of one jury, a jury's PV, attendance sheet and letter to the GTP."""
    if type_ == "certificat" and candidature_id:
        cert, bloc = data.get("certification") or {}, data.get("bloc") or {}
        return f"certificat:{candidature_id}:{modele}:{cert.get('code', '')}:{bloc.get('code', '')}"[:200]
    if type_ == "lettre_decision" and candidature_id and jury_id:
        return f"lettre_decision:{candidature_id}:{jury_id}"
    if type_ in ("pv", "emargement", "lettre_gtp") and jury_id:
        return f"{type_}:{jury_id}"
    return None


def existing_originals(keys) -> set[str]:
    """The keys among `keys` that already have their valid original."""
    keys = [k for k in keys if k]
    if not keys:
        return set()
    return {k for (k,) in db.session.query(DocumentEmis.cle_original).filter(
        DocumentEmis.cle_original.in_(keys), DocumentEmis.statut == "valide")}


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in str(code or "").upper() if ch.isalnum())[:CODE_LENGTH + 4]


# -- issuing -------------------------------------------------------------------------------------
def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL", "") if has_app_context() else ""


def _template_for(type_: str, template: str | None, data: dict) -> str:
    modele = (template or "").removesuffix(".html")
    if type_ not in MODELES:
        raise RuleViolation(f"Type de document inconnu : {type_}.")
    if not modele:
        if type_ == "lettre_decision":
            modele = "lettre_validation_partielle" if data.get("acquis") else "lettre_non_admission"
        elif len(MODELES[type_]) == 1:
            modele = MODELES[type_][0]
        else:
            raise RuleViolation("Précisez le modèle du certificat.", "R-DOC-4")
    if modele not in MODELES[type_]:
        raise RuleViolation(f"Le modèle « {modele} » ne convient pas à ce type de document.",
                            "R-DOC-4")
    return modele


def _context(data: dict, numero: str, code: str, emis_le: datetime, **extra) -> dict:
    ctx = {**data, **extra, "numero": numero, "code_verification": code,
           "verification_url": verification_url(code, _base_url()),
           "emis_le": emis_le.isoformat(timespec="seconds")}
    ctx.setdefault("duplicata", False)
    ctx["numero_certificat"] = ctx["original"]["numero"] if ctx["duplicata"] else numero
    return ctx


def _render(modele: str, context: dict) -> bytes:
    """One document's PDF. The PV, one row per candidate, is drawn by ReportLab directly, in one
    process, with its pages numbered (issue 9: see app/reports/pv_pdf.py for why it departs from
    render_pdf)."""
    if modele == "pv":
        from app.reports.pv_pdf import render_pv
        return render_pv(context)
    return renderer.render_pdf(f"{modele}.html", context)


def _summary(type_: str, ctx: dict) -> dict:
    """Columns shown by lists without opening the JSON."""
    t = ctx.get("titulaire") or {}
    titulaire = f"{t.get('prenom', '')} {str(t.get('nom', '')).upper()}".strip() or None
    cert = ctx.get("certification") or {}
    if cert:
        intitule = f"{cert.get('code', '')} — {cert.get('intitule', '')}"
        if ctx.get("bloc"):
            intitule = f"{ctx['bloc'].get('code', '')} {ctx['bloc'].get('intitule', '')} ({intitule})"
    else:
        sections = ctx.get("sections") or []
        n = len(sections or ctx.get("certifications") or [])
        people = sum(len(s.get("candidats") or []) for s in sections)
        intitule = f"{TYPES_DOCUMENT.label(type_)} — " + (
            f"{people} candidat{'s' if people > 1 else ''}, " if people else "") + (
            f"{n} certification{'s' if n > 1 else ''}")
    jury_date = (ctx.get("jury") or {}).get("date")
    return {"titulaire": titulaire, "intitule": intitule[:300],
            "date_reference": date.fromisoformat(jury_date[:10]) if jury_date else None}


def _row(type_, modele, dispositif, ctx, pdf, *, candidature_id=None, jury_id=None, emis_par=None,
         envoi_papier=False, remplace=None, duplicata=False, cle=None) -> DocumentEmis:
    from app.reports.seal import seal
    pdf = seal(pdf, dispositif)  # issue 19: sealed as issued, so the stored SHA-256 is the seal's
    doc = DocumentEmis(cle_original=cle,
        type=type_, modele=modele, dispositif_id=dispositif.id, numero=ctx["numero"],
        donnees=ctx, pdf=pdf, taille=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(),
        code_verification=ctx["code_verification"], statut="valide",
        remplace_id=getattr(remplace, "id", None), duplicata=duplicata,
        emis_le=datetime.fromisoformat(ctx["emis_le"]), emis_par_id=getattr(emis_par, "id", emis_par),
        candidature_id=candidature_id, jury_id=jury_id, envoi_papier=bool(envoi_papier),
        **_summary(type_, ctx))
    db.session.add(doc)
    return doc


def issue_document(type_: str, dispositif, data: dict, template: str | None = None, *,
                   candidature_id: int | None = None, jury_id: int | None = None, emis_par=None,
                   envoi_papier: bool = False) -> DocumentEmis:
    """Number, render and store one document; returns the flushed row (the caller commits)."""
    item = {"data": data, "template": template, "candidature_id": candidature_id,
            "envoi_papier": envoi_papier}
    return issue_many(type_, dispositif, [item], jury_id=jury_id, emis_par=emis_par)[0]


def issue_many(type_: str, dispositif, items: list[dict], *, jury_id: int | None = None,
               emis_par=None) -> list[DocumentEmis]:
    """Issue several documents of one type at once (all certificates of a jury): one number
    allocation, renders side by side, one flush. items: [{data, template, candidature_id,
    envoi_papier}, …]."""
    if not items:
        return []
    prepared = []
    for item in items:
        modele = _template_for(type_, item.get("template"), item["data"])
        data = _jsonable(normalise(type_, modele, item["data"], dispositif, jury_id=jury_id))
        item = {**item, "cle": original_key(type_, modele, data, item.get("candidature_id"), jury_id)}
        prepared.append((modele, data, item))
    keys = [item["cle"] for _, _, item in prepared]
    if existing_originals(keys) or len(set(filter(None, keys))) < len(list(filter(None, keys))):
        raise RuleViolation("Ce document a déjà son original valide : émettez un duplicata "
                            "(R-DOC-5) ou révoquez-le avant d'en émettre un nouveau.", "R-DOC-4")
    numeros = allocate_numbers(dispositif, type_, len(prepared))
    emis_le = utcnow().replace(microsecond=0)
    contexts = [_context(data, numero, new_code(), emis_le)
                for (modele, data, item), numero in zip(prepared, numeros)]
    if type_ == "pv" or len(prepared) == 1:
        pdfs = [_render(modele, ctx) for (modele, _, _), ctx in zip(prepared, contexts)]
    else:
        pdfs = renderer.render_many([(f"{modele}.html", ctx)
                                     for (modele, _, _), ctx in zip(prepared, contexts)])
    docs = [_row(type_, modele, dispositif, ctx, pdf, candidature_id=item.get("candidature_id"),
                 jury_id=jury_id, emis_par=emis_par, envoi_papier=item.get("envoi_papier"),
                 cle=item["cle"])
            for (modele, _, item), ctx, pdf in zip(prepared, contexts, pdfs)]
    db.session.flush()
    return docs


def _business_data(doc: DocumentEmis) -> dict:
    return {k: v for k, v in (doc.donnees or {}).items() if k not in SYSTEM_KEYS}


def issue_duplicate(doc: DocumentEmis, emis_par=None) -> DocumentEmis:
    """R-DOC-5: a certified duplicate of a lost original — a new document marked DUPLICATA that
    shows the original's number and points to it; the original stays valid."""
    if doc.type not in DUPLICABLES:
        raise RuleViolation("Seuls les certificats et les lettres ont des duplicatas.", "R-DOC-5")
    original = doc.remplace if doc.duplicata else doc
    if not doc.valide or not original.valide:
        raise RuleViolation("Un document révoqué ne peut pas être dupliqué.", "R-DOC-5")
    k = _bump(f"doc:{original.id}:duplicata")
    numero = f"{original.numero}-D{k}"
    ctx = _context(_business_data(original), numero, new_code(), utcnow().replace(microsecond=0),
                   duplicata=True,
                   original={"numero": original.numero, "emis_le": original.donnees["emis_le"]})
    new = _row(original.type, original.modele, original.dispositif, ctx, _render(original.modele, ctx),
               candidature_id=original.candidature_id, jury_id=original.jury_id,
               emis_par=emis_par, envoi_papier=original.envoi_papier, remplace=original,
               duplicata=True)
    db.session.flush()
    return new


def correct(doc: DocumentEmis, new_data: dict, motif: str = "Correction", emis_par=None) -> DocumentEmis:
    """A corrected document: a new number `<original>-C<k>`, the old one revoked and pointed to.
    new_data replaces the top-level keys it names (e.g. {"titulaire": {...}}).
    The old one is revoked first: the corrected one takes over its original key, and only one
    original of a thing may be valid at a time (uq_document_original)."""
    if not doc.valide:
        raise RuleViolation("Ce document est révoqué : corrigez le document qui le remplace.",
                            "R-DOC-4")
    root = doc.donnees.get("numero_origine") or doc.numero
    data = _jsonable(normalise(doc.type, doc.modele, {**_business_data(doc), **new_data},
                               doc.dispositif, jury_id=doc.jury_id))
    k = _bump(f"doc:{doc.dispositif_id}:C:{root}")
    numero = f"{root}-C{k}"
    revoke(doc, f"Remplacé par le document n° {numero} ({motif}).", par=emis_par)
    ctx = _context(data, numero, new_code(), utcnow().replace(microsecond=0),
                   correction_de=doc.numero, numero_origine=root)
    new = _row(doc.type, doc.modele, doc.dispositif, ctx, _render(doc.modele, ctx),
               candidature_id=doc.candidature_id, jury_id=doc.jury_id, emis_par=emis_par,
               envoi_papier=doc.envoi_papier, remplace=doc, cle=doc.cle_original)
    db.session.flush()
    return new


def revoke(doc: DocumentEmis, motif: str, par=None) -> DocumentEmis:
    """Mark a document revoked (it stays stored and verifiable as revoked); its duplicates too."""
    if not (motif or "").strip():
        raise RuleViolation("Indiquez le motif de la révocation.", field="motif")
    if not doc.valide:
        raise RuleViolation("Ce document est déjà révoqué.")
    now = utcnow()
    targets = [doc] + db.session.query(DocumentEmis).filter(
        DocumentEmis.remplace_id == doc.id, DocumentEmis.duplicata.is_(True),
        DocumentEmis.statut == "valide").all()
    for target in targets:
        target.statut = "revoque"
        target.motif_revocation = motif.strip() if target is doc else \
            f"Original n° {doc.numero} révoqué : {motif.strip()}"
        target.revoque_le = now
        target.revoque_par_id = getattr(par, "id", par)
    db.session.flush()
    return doc


# -- verification --------------------------------------------------------------------------------
def find_by_code(code: str) -> DocumentEmis | None:
    code = normalise_code(code)
    if len(code) != CODE_LENGTH:
        return None
    return db.session.query(DocumentEmis).options(load_only(*LIGHT_COLUMNS)).filter(
        DocumentEmis.code_verification == code).one_or_none()


def verify_upload(data: bytes) -> DocumentEmis | None:
    """The document whose stored PDF has exactly these bytes (SHA-256), or None."""
    digest = hashlib.sha256(data or b"").hexdigest()
    return db.session.query(DocumentEmis).options(load_only(*LIGHT_COLUMNS)).filter(
        DocumentEmis.sha256 == digest).order_by(DocumentEmis.id).first()


# The columns a list of issued documents shows: the frozen data and the PDF are left unloaded.
LIGHT_COLUMNS = [DocumentEmis.id, DocumentEmis.type, DocumentEmis.numero, DocumentEmis.statut,
                 DocumentEmis.titulaire, DocumentEmis.intitule, DocumentEmis.date_reference,
                 DocumentEmis.emis_le, DocumentEmis.duplicata, DocumentEmis.remplace_id,
                 DocumentEmis.dispositif_id, DocumentEmis.revoque_le, DocumentEmis.code_verification]


def public_summary(doc: DocumentEmis) -> dict:
    """What the public page may show: status, what it certifies, date, holder partly masked."""
    replaced = db.session.query(sa.exists().where(
        DocumentEmis.remplace_id == doc.id, DocumentEmis.duplicata.is_(False))).scalar()
    return {
        "valide": doc.statut == "valide", "statut": doc.statut_label, "type": doc.type_label,
        "numero": doc.numero, "intitule": doc.intitule, "date": doc.date_reference,
        "emis_le": doc.emis_le, "titulaire": renderer.masque(doc.titulaire),
        "duplicata": doc.duplicata, "remplace": replaced, "revoque_le": doc.revoque_le,
        "certificateur": doc.dispositif.certificateur,
    }


# -- mailing (R-ENV-1/2) -------------------------------------------------------------------------
def record_envoi(doc: DocumentEmis, statut: str, canal: str, suivi: str | None = None,
                 commentaire: str = "", date_traitement: date | None = None,
                 adresse: str | None = None, par=None, notifier=None) -> Envoi:
    """One line of the mailing history; an undelivered letter notifies (rubric Pli non distribué)
    those who can correct the address: the dossier's établissement/company users, else the
    secretariat."""
    if doc.type not in DUPLICABLES:
        raise RuleViolation("Seuls les certificats et les lettres sont envoyés aux candidats.",
                            "R-ENV-2")
    if statut not in STATUTS_ENVOI.codes:
        raise RuleViolation("Statut d'envoi inconnu.", "R-ENV-2", field="statut")
    if canal not in CANAUX_ENVOI.codes:
        raise RuleViolation("Canal de distribution inconnu.", "R-ENV-2", field="canal")
    day = date_traitement or date.today()
    suivi = (suivi or "").strip() or None
    if not commentaire and statut == "envoye":
        commentaire = f"Déposé à La Poste le {renderer.date_fr(day)}"
    if suivi and suivi not in commentaire:
        commentaire = f"{commentaire} — N° suivi {suivi}".lstrip(" —")
    if adresse is None:  # R-ENV-1: posted to the address of the dossier, frozen at issue
        adresse = "\n".join((doc.donnees.get("titulaire") or {}).get("adresse_lignes") or []) or None
    envoi = Envoi(document_id=doc.id, statut=statut, canal=canal, numero_suivi=suivi,
                  commentaire=commentaire, date_traitement=day, adresse=adresse,
                  enregistre_par_id=getattr(par, "id", par))
    db.session.add(envoi)
    if statut == "pli_non_distribue":
        users = notifier if notifier is not None else _pli_recipients(doc)
        notify(users, "pli_non_distribue", f"Pli non distribué : {doc.type_label.lower()} n° {doc.numero}",
               f"Le courrier adressé à {doc.titulaire or 'le candidat'} ({doc.intitule}) est revenu "
               f"non distribué le {renderer.date_fr(day)}. Vérifiez l'adresse du dossier."
               + (f" N° de suivi : {suivi}." if suivi else ""),
               lien=f"/documents/show/{doc.id}")
    db.session.flush()
    return envoi


def _pli_recipients(doc: DocumentEmis) -> list[int]:
    from app.models.comptes import Profil
    conditions = []
    if doc.candidature_id:
        from app.models.candidature import Candidature
        cand = db.session.query(Candidature.etablissement_id, Candidature.entreprise_id).filter(
            Candidature.id == doc.candidature_id).one_or_none()
        if cand and cand.etablissement_id:
            conditions.append(Profil.etablissement_id == cand.etablissement_id)
        if cand and cand.entreprise_id:
            conditions.append(Profil.entreprise_id == cand.entreprise_id)
    ids = []
    if conditions:
        ids = [r[0] for r in db.session.query(Profil.user_id).filter(sa.or_(*conditions))]
    if not ids:
        ids = [r[0] for r in db.session.query(Profil.user_id).filter(
            Profil.role == "secretariat", Profil.dispositif_id == doc.dispositif_id)]
    return ids


def certificates_to_post(dispositif_id: int):
    """R-ENV-1: valid certificates whose holder asked for paper and that were not posted yet."""
    posted = sa.exists().where(Envoi.document_id == DocumentEmis.id,
                               Envoi.statut.in_(("envoye", "remis")))
    return db.session.query(DocumentEmis).options(load_only(*LIGHT_COLUMNS)).filter(
        DocumentEmis.dispositif_id == dispositif_id, DocumentEmis.type == "certificat",
        DocumentEmis.statut == "valide", DocumentEmis.envoi_papier.is_(True),
        ~posted).order_by(DocumentEmis.date_reference, DocumentEmis.id)


# -- the jury workspace (issue 16 item 3) ----------------------------------------------------------
def letters_to_post(jury_id: int):
    """R-ENV-1: the jury's valid letters and paper certificates with no mailing recorded yet (a
    returned letter has its line, « Pli non distribué », and is resent one by one, to a corrected
    address)."""
    recorded = sa.exists().where(Envoi.document_id == DocumentEmis.id)
    return db.session.query(DocumentEmis).filter(
        DocumentEmis.jury_id == jury_id, DocumentEmis.statut == "valide",
        sa.or_(DocumentEmis.type == "lettre_decision",
               sa.and_(DocumentEmis.type == "certificat", DocumentEmis.envoi_papier.is_(True))),
        ~recorded).order_by(DocumentEmis.type, DocumentEmis.id)


def record_jury_mailing(p, jury, canal: str = "courrier", date_traitement: date | None = None,
                        par=None) -> list[Envoi]:
    """« Enregistrer l'envoi des courriers » of a closed jury: one « Envoyé » line (R-ENV-2) for
    each of its letters not recorded yet, in one action. Idempotent: the jury row is held first
    (lock_jury), so a second click — even at the same moment — finds them recorded and records
    nothing twice. Returns the lines recorded (possibly none)."""
    from app.workflow.jury.sessions import ensure_organiser, lock_jury
    ensure_organiser(p, jury.dispositif_id)
    if jury.etat != "clos":
        raise RuleViolation("Les courriers s'envoient une fois le jury clos et ses documents "
                            "émis.", "R-ENV-1")
    lock_jury(jury.id)
    return [record_envoi(doc, "envoye", canal, date_traitement=date_traitement, par=par)
            for doc in letters_to_post(jury.id).all()]
