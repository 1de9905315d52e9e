"""E-mails (issue 2 §7, R-ACC-2): the local outbox (.eml) without MAIL_SERVER, real SMTP through
an aiosmtpd server on loopback, and a failing SMTP that never undoes the work that queued it."""
import email
import socket
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask_appbuilder.security.sqla.models import User

from app.models.notification import MailMessage
from app.workflow.mail import dispatch_pending, send_mail
from tests.conftest import link_in, outbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server on 127.0.0.1 and the app pointed at it."""
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    _point_mail_at(app, monkeypatch, port)
    yield collector
    controller.stop()


def _point_mail_at(app, monkeypatch, port):
    # Flask-Mail reads its settings once, in init_app, and suppresses sending under TESTING.
    state = app.extensions["mail"]
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setattr(state, "server", "127.0.0.1")
    monkeypatch.setattr(state, "port", port)
    monkeypatch.setattr(state, "suppress", False)
    monkeypatch.setattr(state, "use_tls", False)
    monkeypatch.setattr(state, "use_ssl", False)


@pytest.fixture
def admin_org(make):
    organisme = make.organisme()
    etab = make.etablissement(organisme)
    return make.user("admin_organisme", organisme=organisme), etab


def _invite(c, etab, email_address):
    return c.post("/utilisateurview/add", data={
        "prenom": "Mila", "nom": "Messagerie", "email": email_address,
        "role": "utilisateur_etablissement", "etablissement_id": str(etab.id)})


def test_without_mail_server_an_eml_lands_in_the_instance_outbox(app, db, admin_org, login_as):
    # R-ACC-2: a newcomer reads the invitation in instance/outbox/
    admin, etab = admin_org
    folder = Path(app.config["INSTANCE_DIR"]) / "outbox"
    before = set(folder.glob("*.eml")) if folder.exists() else set()
    r = _invite(login_as(admin), etab, "mila@example.org")
    assert r.status_code == 302
    [msg] = outbox(db, "mila@example.org")
    db.session.refresh(msg)
    assert msg.statut == "depose" and msg.sent_on is not None and msg.essais == 1
    [path] = set(folder.glob("*.eml")) - before
    assert path.name.endswith(f"-{msg.id}.eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["To"] == "mila@example.org"
    assert parsed["Subject"] == "Votre compte OpenCertif"
    assert "OpenCertif" in parsed["From"]
    body = parsed.get_body(preferencelist=("plain",)).get_content()
    assert link_in(msg) in body and "Bonjour Mila Messagerie" in body


def test_real_smtp_server_receives_the_message(app, db, admin_org, login_as, smtp):  # R-ACC-2
    admin, etab = admin_org
    r = _invite(login_as(admin), etab, "smtp@example.org")
    assert r.status_code == 302
    [msg] = outbox(db, "smtp@example.org")
    db.session.refresh(msg)
    assert msg.statut == "envoye", msg.erreur
    [envelope] = smtp.messages
    assert envelope.rcpt_tos == ["smtp@example.org"]
    received = email.message_from_bytes(envelope.content, policy=policy.default)
    assert received["Subject"] == "Votre compte OpenCertif"
    assert link_in(msg) in received.get_body(preferencelist=("plain",)).get_content()


def test_failing_smtp_marks_echec_and_keeps_the_user(app, db, admin_org, login_as, monkeypatch):
    # R-ACC-2 / DESIGN practice 8: a delivery failure never undoes the transition.
    admin, etab = admin_org
    port = free_port()  # nothing listens there: connection refused
    _point_mail_at(app, monkeypatch, port)
    r = _invite(login_as(admin), etab, "echec@example.org")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.query(User).filter_by(email="echec@example.org").one().profil is not None
    [msg] = outbox(db, "echec@example.org")
    assert msg.statut == "echec" and msg.essais == 1 and msg.erreur
    assert msg.statut_label.startswith("Échec")

    # Once the server answers, `flask mail retry` sends it.
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = app.test_cli_runner().invoke(args=["mail", "retry"])
        assert result.exit_code == 0, result.output
        assert "1 message(s) traité(s)" in result.output
    finally:
        controller.stop()
    db.session.expire_all()
    msg = db.session.get(MailMessage, msg.id)
    assert msg.statut == "envoye" and msg.essais == 2 and msg.erreur is None
    assert [e.rcpt_tos for e in collector.messages] == [["echec@example.org"]]


def test_rolled_back_work_sends_nothing(app, db, make):  # R-ACC-2 (DESIGN practice 8)
    user = make.user("jury")
    send_mail("annule@example.org", "invitation", user=user, link="/compte/x", days=7)
    db.session.rollback()
    dispatch_pending()
    assert outbox(db, "annule@example.org") == []


def test_outbox_screen_is_for_technical_administrators(db, make, admin_org, login_as):  # R-ACC-5
    admin, etab = admin_org
    _invite(login_as(admin), etab, "lecture@example.org")
    assert login_as(admin).get("/outboxview/list/").status_code == 403
    assert login_as(make.user("secretariat")).get("/outboxview/list/").status_code == 403
    page = login_as(make.user("admin")).get("/outboxview/list/").get_data(as_text=True)
    assert "lecture@example.org" in page and "Votre compte OpenCertif" in page
