"""E-mails: rendered from templates, stored in the outbox, delivered after the commit.

Without MAIL_SERVER (embedded default) a message is written as an .eml file under
instance/outbox/ and stays readable in the outbox screen; a delivery failure is logged and
retried, and never undoes the transition that queued the message (DESIGN practice 8).
"""
import logging
from email.message import EmailMessage
from pathlib import Path

from flask import current_app, render_template
from flask_mail import Message

from app.extensions import db, mail
from app.models.base import utcnow
from app.models.notification import MailMessage

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
    except Exception:  # the HTML part is optional
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
    from app.workflow.transitions import workflow_for
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


def deliver(message_id: int) -> str:
    """Send one stored message (job); returns its new status."""
    msg = db.session.get(MailMessage, message_id)
    if msg is None or msg.statut in ("envoye", "depose"):
        return msg.statut if msg else "absent"
    msg.essais += 1
    try:
        if current_app.config.get("MAIL_SERVER"):
            mail.send(Message(subject=msg.sujet, recipients=[msg.destinataire],
                              cc=[msg.copie] if msg.copie else None,
                              body=msg.corps_texte, html=msg.corps_html))
            msg.statut = "envoye"
        else:
            _write_eml(msg)
            msg.statut = "depose"
        msg.sent_on = utcnow()
        msg.erreur = None
    except Exception as exc:  # kept for retry; the transition that queued it stays done
        log.exception("Échec d'envoi du message %s", message_id)
        msg.statut = "echec"
        msg.erreur = str(exc)[:1000]
    db.session.commit()
    return msg.statut


def retry_failed() -> int:
    """Send again the messages that failed (CLI / periodic job)."""
    ids = [m.id for m in db.session.query(MailMessage.id).filter(
        MailMessage.statut.in_(["echec", "en_attente"]), MailMessage.essais < MAX_ATTEMPTS)]
    for message_id in ids:
        deliver(message_id)
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
    for message_id in ids:
        try:
            enqueue("app.workflow.mail.deliver", message_id)
        except Exception:
            log.exception("Impossible de mettre le message %s en file d'envoi", message_id)
