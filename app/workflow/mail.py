"""E-mails: rendered from templates, stored in the outbox, delivered after the commit.

Without MAIL_SERVER (embedded default) a message is written as an .eml file under
instance/outbox/ and stays readable in the outbox screen; a delivery failure is logged and
retried, and never undoes the transition that queued the message (DESIGN practice 8).

At volume: the messages of one transaction leave as one job per BATCH, each over one SMTP
connection; a failed message is retried later on its own (its row holds the state).
"""
import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app, render_template
from flask_mail import Message
from jinja2 import TemplateNotFound

from app.extensions import db, mail
from app.models.base import utcnow
from app.models.notification import MailMessage
from app.workflow.engine import workflow_for

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def send_mail(to: str, template: str, cc: str | None = None, **context) -> MailMessage:
    """Queue the mail `templates/mail/<template>.txt|.html`; it leaves once the transaction commits."""
    context.setdefault("base_url", current_app.config["PUBLIC_BASE_URL"])
    context.setdefault("vocab", vocabulary(context))
    text = render_template(f"mail/{template}.txt", **context)
    subject, _, body = text.partition("\n")
    try:
        html = render_template(f"mail/{template}.html", **context)
    except TemplateNotFound:  # the HTML part is optional
        html = None
    msg = MailMessage(destinataire=to, copie=cc, sujet=subject.strip(), corps_texte=body.strip(),
                      corps_html=html, statut="en_attente")
    db.session.add(msg)
    db.session.flush()
    db.session.info.setdefault("mails_to_send", []).append(msg.id)
    return msg


def vocabulary(context: dict) -> dict:
    """The words of the dispositif the mail is about (R-DIS-2): a CléA jury is no « jury
    paritaire », a chemical dossier is « inscrit au jury », a CléA one « envoyé en certification »."""
    subject = context.get("c") or context.get("jury")
    dispositif = getattr(subject, "dispositif", None)
    if dispositif is None:
        return {"jury": "jury", "envoye": "envoyé au jury"}
    wf = workflow_for(dispositif)
    return {"jury": wf.jury, "envoye": wf.sent}


def _write_eml(msg: MailMessage) -> Path:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = msg.destinataire
    if msg.copie:
        email["Cc"] = msg.copie
    email["Subject"] = msg.sujet
    email.set_content(msg.corps_texte)
    if msg.corps_html:
        email.add_alternative(msg.corps_html, subtype="html")
    folder = Path(current_app.config["INSTANCE_DIR"]) / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{msg.created_on:%Y%m%d-%H%M%S}-{msg.id}.eml"
    path.write_bytes(bytes(email))
    return path


# Messages are claimed by slices: each slice is one transaction whose rows stay locked while
# they are sent, so two workers (a retry and a scheduled job) never send the same message twice.
SLICE = 50
BATCH = 200  # messages per job: one SMTP connection each
RETRY_DELAYS = (60, 300, 900, 3600)  # seconds before the 2nd, 3rd… attempt of a failed message
# The server refused this message (recipient, sender, content): the connection stays usable.
# smtplib's errors are OSErrors: any other one means the connection is gone.
_MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException)


def _as_flask_message(msg: MailMessage) -> Message:
    return Message(subject=msg.sujet, recipients=[msg.destinataire],
                   cc=[msg.copie] if msg.copie else None,
                   body=msg.corps_texte, html=msg.corps_html)


class _Smtp:
    """One SMTP connection for a whole batch, opened on first use and opened again once if the
    server drops it; without MAIL_SERVER, messages are written as .eml files."""

    def __init__(self):
        self.real = bool(current_app.config.get("MAIL_SERVER"))
        self.conn = None
        self.opened = 0
        self.down: Exception | None = None  # the server refused a connection: stop trying

    def send(self, msg: MailMessage) -> str:
        if not self.real:
            _write_eml(msg)
            return "depose"
        if self.down is not None:
            raise self.down
        if self.conn is None:
            try:
                self.conn = mail.connect().__enter__()
            except Exception as exc:  # every later message fails the same way
                self.down = exc
                raise
            self.opened += 1
        try:
            self.conn.send(_as_flask_message(msg))
        except _MESSAGE_ERRORS:
            raise
        except OSError:
            self.close(quietly=True)  # the next message opens a new connection
            raise
        return "envoye"

    def close(self, quietly: bool = False):
        conn, self.conn = self.conn, None
        if conn is not None and conn.host is not None:
            try:
                conn.host.quit()
            except (smtplib.SMTPException, OSError):
                if not quietly:
                    log.warning("Fermeture SMTP impossible", exc_info=True)
                conn.host.close()


def _claim(ids: list[int]) -> list[MailMessage]:
    """The messages of `ids` still to send, locked for this transaction (PostgreSQL: those another
    worker holds are skipped; it sends them)."""
    return db.session.query(MailMessage).filter(
        MailMessage.id.in_(ids), MailMessage.statut.in_(["en_attente", "echec"])
    ).order_by(MailMessage.id).with_for_update(skip_locked=True).all()


def deliver_many(ids: list[int]) -> dict[str, int]:
    """Send stored messages (job): one SMTP connection for all, committed by slices; a message
    that fails is marked « échec » and tried again later, alone. Returns the count per status."""
    counts: dict[str, int] = {}
    failed: list[int] = []
    smtp = _Smtp()
    try:
        for start in range(0, len(ids), SLICE):
            for msg in _claim(ids[start:start + SLICE]):
                msg.essais += 1
                try:
                    msg.statut = smtp.send(msg)
                    msg.sent_on = utcnow()
                    msg.erreur = None
                except Exception as exc:  # noqa: BLE001 - kept for retry; the work that queued it stays
                    log.warning("Échec d'envoi du message %s : %s", msg.id, exc)
                    msg.statut = "echec"
                    msg.erreur = str(exc)[:1000]
                    failed.append(msg.id)
                counts[msg.statut] = counts.get(msg.statut, 0) + 1
            db.session.commit()
    finally:
        db.session.rollback()
        smtp.close()
    _schedule_retry(failed)
    return counts


def deliver(message_id: int) -> str:
    """Send one stored message; returns its status."""
    deliver_many([message_id])
    msg = db.session.get(MailMessage, message_id)
    return msg.statut if msg else "absent"


def _schedule_retry(ids: list[int]) -> None:
    """With a job queue, the failed messages are tried again after a delay growing with their
    attempts (RQ's scheduler runs in `flask worker`); without one, `flask mail retry` does it."""
    from app.jobs import queue
    q = queue("mail") if ids else None
    if q is None:
        return
    import datetime as dt
    by_attempt: dict[int, list[int]] = {}
    for msg_id, essais in db.session.query(MailMessage.id, MailMessage.essais).filter(
            MailMessage.id.in_(ids), MailMessage.essais < MAX_ATTEMPTS):
        by_attempt.setdefault(essais, []).append(msg_id)
    from app.jobs import execute
    for essais, group in by_attempt.items():
        delay = RETRY_DELAYS[min(essais, len(RETRY_DELAYS)) - 1]
        q.enqueue_in(dt.timedelta(seconds=delay), execute, "app.workflow.mail.deliver_many", group,
                     job_timeout=1800)


def retry_failed() -> int:
    """Send again the messages that failed or were never handed over (CLI / periodic job)."""
    ids = [m.id for m in db.session.query(MailMessage.id).filter(
        MailMessage.statut.in_(["echec", "en_attente"]), MailMessage.essais < MAX_ATTEMPTS
    ).order_by(MailMessage.id)]
    for start in range(0, len(ids), BATCH):
        deliver_many(ids[start:start + BATCH])
    return len(ids)


def install_after_commit_hook():
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_commit")
    def _after_commit(session):
        ids = session.info.pop("mails_to_send", None)
        if ids:
            session.info.setdefault("mails_pending_dispatch", []).extend(ids)

    @event.listens_for(Session, "after_rollback")
    def _after_rollback(session):
        session.info.pop("mails_to_send", None)


def dispatch_pending():
    """Called after a request or command: hands committed messages to the job queue."""
    ids = db.session.info.pop("mails_pending_dispatch", None)
    if not ids:
        return
    from app.jobs import enqueue
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        try:
            enqueue("app.workflow.mail.deliver_many", batch)
        except Exception:  # left « en attente »: `flask mail retry` sends them
            log.exception("Impossible de mettre les messages %s… en file d'envoi", batch[0])
