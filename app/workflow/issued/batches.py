"""Print batches of certificates (one PDF, background job with progress) and the reminders of
the letter to the GTP (R-DOC-3)."""
import io
from datetime import date, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy.orm import load_only

from app.errors import RuleViolation
from app.extensions import db
from app.models.base import utcnow
from app.models.document import BatchJob, DocumentEmis
from app.reports import pdf as renderer
from app.workflow.issued.data import GTP_DELAI_MOIS, add_months
from app.workflow.issued.documents import LIGHT_COLUMNS
from app.workflow.notifications import notify

PRINT_CHUNK = 50  # progress is stored every PRINT_CHUNK certificates


def _printable(doc_ids: list[int], with_pdf: bool = False) -> list:
    """The documents, in the order given, in one query; only valid certificates print."""
    ids = [int(i) for i in doc_ids]
    columns = [DocumentEmis.id, DocumentEmis.type, DocumentEmis.statut, DocumentEmis.numero,
               DocumentEmis.dispositif_id] + ([DocumentEmis.pdf] if with_pdf else [])
    rows = db.session.query(DocumentEmis).options(load_only(*columns)).filter(
        DocumentEmis.id.in_(ids)).all()
    by_id = {r.id: r for r in rows}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise RuleViolation(f"Documents introuvables : {missing[:10]}.")
    bad = [r.numero for r in rows if r.type != "certificat" or r.statut != "valide"]
    if bad:
        raise RuleViolation("Seuls des certificats valides s'impriment en lot (" +
                            ", ".join(bad[:10]) + ").", "R-DOC-4")
    return [by_id[i] for i in ids]


def print_certificates(doc_ids: list[int], on_progress=None) -> bytes:
    """Many certificates as one PDF: the issued PDFs themselves, joined in order (what is printed
    is exactly what was issued and what the SHA-256 check knows). One query loads them all;
    on_progress(done) is called every PRINT_CHUNK documents."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, NameObject
    docs = _printable(doc_ids, with_pdf=True)
    writer = PdfWriter()
    for done, doc in enumerate(docs, start=1):
        writer.append(PdfReader(io.BytesIO(doc.pdf)))
        if on_progress and (done % PRINT_CHUNK == 0 or done == len(docs)):
            on_progress(done)
    # The seals of the issued documents cover each file, not the batch: copied into it they would
    # only show as broken signatures. Each document keeps its seal; the batch is for printing.
    for page in writer.pages:
        annots = page.get("/Annots")
        if annots is not None:
            kept = [a for a in annots.get_object() if a.get_object().get("/FT") != "/Sig"]
            page[NameObject("/Annots")] = ArrayObject(kept)
    if "/AcroForm" in writer.root_object:
        del writer.root_object["/AcroForm"]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def start_print_batch(doc_ids: list[int], dispositif_id: int, par=None) -> BatchJob:
    """Create the batch row, commit, and run it in the background (RQ) or now (no REDIS_URL)."""
    docs = _printable(doc_ids)
    if any(d.dispositif_id != dispositif_id for d in docs):
        raise RuleViolation("Un lot d'impression ne contient que les certificats d'un dispositif.")
    job = BatchJob(kind="impression_certificats", dispositif_id=dispositif_id,
                   params={"document_ids": [d.id for d in docs]}, total=len(docs), done=0,
                   statut="en_attente", created_by_id=getattr(par, "id", par))
    db.session.add(job)
    db.session.commit()
    from app.jobs import enqueue
    enqueue("app.workflow.issued.batches.run_print_batch", job.id)
    return job


def run_print_batch(job_id: int) -> None:
    """The background job: renders the batch, storing progress as it goes. A job is claimed by
    one conditional UPDATE: a second worker, or a retry of a job already taken, does nothing."""
    claimed = db.session.execute(
        sa.update(BatchJob).where(BatchJob.id == job_id, BatchJob.statut == "en_attente")
        .values(statut="en_cours")).rowcount
    db.session.commit()
    if not claimed:
        return
    job = db.session.get(BatchJob, job_id)

    def progress(done):
        job.done = done
        db.session.commit()
    try:
        result = print_certificates(job.params["document_ids"], on_progress=progress)
    except Exception as exc:  # the page shows the failure instead of a bar stuck forever
        db.session.rollback()
        job = db.session.get(BatchJob, job_id)
        job.statut, job.error, job.finished_on = "echec", str(exc)[:2000], utcnow()
        db.session.commit()
        current_app.logger.exception("Lot d'impression %s en échec", job_id)
        return
    job.result, job.done, job.statut, job.finished_on = result, job.total, "termine", utcnow()
    db.session.commit()


# -- R-DOC-3: the letter to the GTP within two months of the jury ---------------------------------
GTP_RAPPEL_JOURS = 15  # reminder this many days before the deadline, and again once overdue


def gtp_reminders(today: date | None = None) -> int:
    """Notify the secretariat of each jury whose PV is issued but whose letter to the GTP is not,
    when the 2-month deadline is near (R-DOC-3), in the dispositifs that send one; once per PV
    and per stage. The notification leads to the jury page, where « Émettre : Lettre au GTP »
    is. Returns how many juries were reminded (flask documents rappels-gtp, daily)."""
    from app.models import Dispositif
    from app.models.comptes import Profil
    from app.models.notification import Notification
    today = today or date.today()
    letter = sa.orm.aliased(DocumentEmis)
    sent = sa.exists().where(letter.type == "lettre_gtp", letter.statut == "valide",
                             letter.dispositif_id == DocumentEmis.dispositif_id,
                             sa.or_(letter.jury_id == DocumentEmis.jury_id,
                                    sa.and_(DocumentEmis.jury_id.is_(None),
                                            letter.date_reference == DocumentEmis.date_reference)))
    horizon = today - relativedelta(months=GTP_DELAI_MOIS) + timedelta(days=GTP_RAPPEL_JOURS)
    pvs = db.session.query(DocumentEmis).options(load_only(*LIGHT_COLUMNS, DocumentEmis.jury_id)).filter(
        DocumentEmis.type == "pv", DocumentEmis.statut == "valide",
        DocumentEmis.date_reference <= horizon, ~sent,
        DocumentEmis.dispositif_id.in_(sa.select(Dispositif.id).where(
            Dispositif.lettre_gtp.is_(True)))).all()
    reminded = 0
    for pv in pvs:
        deadline = add_months(pv.date_reference, GTP_DELAI_MOIS)
        stage = "depassee" if today > deadline else "proche"
        # Before the button existed the reminder led to the PV: a PV reminded that way is not
        # reminded again for the same stage.
        former = f"/documents/show/{pv.id}?rappel_gtp={stage}"
        lien = (f"/jurys/show/{pv.jury_id}?rappel_gtp={stage}&pv={pv.id}#documents-jury"
                if pv.jury_id else former)
        if db.session.query(sa.exists().where(Notification.lien.in_((lien, former)))).scalar():
            continue
        users = [r[0] for r in db.session.query(Profil.user_id).filter(
            Profil.role == "secretariat", Profil.dispositif_id == pv.dispositif_id)]
        titre = ("Lettre au GTP Certifications en retard" if stage == "depassee"
                 else "Lettre au GTP Certifications à envoyer")
        notify(users, "jury", f"{titre} — jury du {renderer.date_fr(pv.date_reference)}",
               f"La lettre au GTP « Certifications » (procès-verbal n° {pv.numero}, feuilles "
               f"d'émargement, extrait CPREFP) doit être envoyée au plus tard le "
               f"{renderer.date_fr(deadline)}. Émettez-la depuis la page du jury : « Émettre : "
               f"Lettre au GTP Certifications ».", lien=lien)
        reminded += 1
    db.session.flush()
    return reminded



# -- the jury workspace (issue 16 item 3) ----------------------------------------------------------
def start_jury_print_batch(p, jury, par=None) -> BatchJob:
    """« Imprimer les certificats » of a jury: its valid certificates, in issue order, as one
    print batch (start_print_batch)."""
    from app.workflow.jury.sessions import ensure_organiser
    ensure_organiser(p, jury.dispositif_id)
    ids = [i for (i,) in db.session.query(DocumentEmis.id).filter(
        DocumentEmis.jury_id == jury.id, DocumentEmis.type == "certificat",
        DocumentEmis.statut == "valide").order_by(DocumentEmis.id)]
    if not ids:
        raise RuleViolation("Aucun certificat valide n'est émis pour ce jury.", "R-DOC-4")
    return start_print_batch(ids, jury.dispositif_id, par=par)
