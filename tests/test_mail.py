"""E-mails (issue 2 §7, R-ACC-2): the local outbox (.eml) without MAIL_SERVER, real SMTP through
an aiosmtpd server on loopback, and a failing SMTP that never undoes the work that queued it."""
import email
import socket
import time
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask_appbuilder.security.sqla.models import User

from app.models.notification import MailMessage
from app.workflow.mail import dispatch_pending, send_mail
from tests.conftest import REDIS_TEST_URL, link_in, outbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    def __init__(self):
        self.messages = []
        self.connections = set()  # the client (address, port) of each SMTP connection used
        self.refuse = set()  # recipients answered « 550 » (a mailbox that does not exist)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.connections.add(session.peer)
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def recipients(self):
        return [r for e in self.messages for r in e.rcpt_tos]


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
    started = time.time() - 1  # file times may be rounded to the second
    r = _invite(login_as(admin), etab, "mila@example.org")
    assert r.status_code == 302
    [msg] = outbox(db, "mila@example.org")
    db.session.refresh(msg)
    assert msg.statut == "depose" and msg.sent_on is not None and msg.essais == 1
    # The file of this message, written now: other tests, other workers or an earlier run that
    # gave out the same ids may have left files in the folder, even one of the same name.
    [path] = [f for f in folder.glob(f"*-{msg.id}.eml")
              if f.stat().st_mtime >= started and b"mila@example.org" in f.read_bytes()]
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
    msg_id = msg.id  # the CLI closes the session this row belongs to

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
    msg = db.session.get(MailMessage, msg_id)
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


def _queue_mails(make, db, count, prefix="lot"):
    """`count` mails of one transaction, committed: their ids, in order."""
    user = make.user("jury")
    ids = [send_mail(f"{prefix}{n}@example.org", "invitation", user=user, link="/compte/x", days=7).id
           for n in range(count)]
    db.session.commit()
    return ids


def test_200_mails_of_one_transaction_leave_over_few_connections(app, db, make, smtp):
    # Issue 17 item 2: one SMTP connection per batch, not one per message.
    from app.workflow.mail import BATCH
    ids = _queue_mails(make, db, 200)
    dispatch_pending()
    expected = [f"lot{n}@example.org" for n in range(200)]
    assert sorted(smtp.recipients()) == sorted(expected)  # every one arrived, exactly once
    assert len(smtp.connections) == -(-200 // BATCH) <= 2
    db.session.expire_all()
    rows = db.session.query(MailMessage).filter(MailMessage.id.in_(ids)).all()
    assert {(m.statut, m.essais) for m in rows} == {("envoye", 1)}


def test_a_refused_recipient_is_retried_alone(app, db, make, smtp):
    # Issue 17 item 2 / DESIGN practice 8: a message that fails does not stop the others and is
    # tried again later without sending the others twice.
    smtp.refuse.add("lot7@example.org")
    ids = _queue_mails(make, db, 20)
    dispatch_pending()
    assert sorted(smtp.recipients()) == sorted(f"lot{n}@example.org" for n in range(20) if n != 7)
    assert len(smtp.connections) == 1  # the refusal did not cost a new connection
    db.session.expire_all()
    failed = db.session.get(MailMessage, ids[7])
    assert failed.statut == "echec" and failed.essais == 1 and "550" in failed.erreur

    smtp.refuse.clear()
    from app.workflow.mail import retry_failed
    assert retry_failed() == 1
    assert sorted(smtp.recipients()) == sorted(f"lot{n}@example.org" for n in range(20))
    db.session.expire_all()
    failed = db.session.get(MailMessage, ids[7])
    assert failed.statut == "envoye" and failed.essais == 2 and failed.erreur is None
    assert {m.essais for m in db.session.query(MailMessage) if m.id != ids[7]} == {1}


def test_a_server_that_refuses_connections_is_tried_once_per_batch(app, db, make, monkeypatch):
    # Nothing listens: each message fails without a new connection attempt per message.
    _point_mail_at(app, monkeypatch, free_port())
    import app.workflow.mail as mail_module
    attempts = []
    real_connect = mail_module.mail.connect
    monkeypatch.setattr(mail_module.mail, "connect", lambda: attempts.append(1) or real_connect())
    _queue_mails(make, db, 30)
    dispatch_pending()
    assert len(attempts) == 1
    db.session.expire_all()
    assert {(m.statut, m.essais) for m in db.session.query(MailMessage)} == {("echec", 1)}


def test_two_workers_sending_the_same_batch_send_each_mail_once(app, db, make, smtp):
    # Idempotent under concurrency: rows are claimed with FOR UPDATE SKIP LOCKED.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("verrous de ligne : PostgreSQL seulement (SQLite sérialise les écritures)")
    import threading

    from app.workflow.mail import deliver_many
    ids = _queue_mails(make, db, 120)
    db.session.info.pop("mails_pending_dispatch", None)  # sent by the two threads below instead
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                deliver_many(ids)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(smtp.recipients()) == sorted(f"lot{n}@example.org" for n in range(120))
    db.session.expire_all()
    assert {(m.statut, m.essais) for m in db.session.query(MailMessage)} == {("envoye", 1)}


def test_through_the_worker_mail_goes_to_its_queue_and_a_failure_is_rescheduled(
        app, db, make, smtp, monkeypatch):
    # Issue 17 items 1-2: the mails of one transaction are one job on the « mail » queue; the
    # worker sends them over one connection; the refused one is scheduled alone for later.
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis ne répond pas sur 127.0.0.1:6379")
    conn.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    from rq import Queue
    from rq.registry import ScheduledJobRegistry
    smtp.refuse.add("lot3@example.org")
    try:
        ids = _queue_mails(make, db, 50)
        dispatch_pending()
        queue = Queue("mail", connection=conn)
        assert queue.count == 1 and smtp.messages == []  # one job, nothing sent by the request
        result = app.test_cli_runner().invoke(args=["worker", "--burst", "mail"])
        assert result.exit_code == 0, result.output
        assert sorted(smtp.recipients()) == sorted(f"lot{n}@example.org" for n in range(50) if n != 3)
        assert len(smtp.connections) == 1
        [job_id] = ScheduledJobRegistry(queue=queue).get_job_ids()
        assert queue.fetch_job(job_id).args == ("app.workflow.mail.deliver_many", [ids[3]])
    finally:
        conn.flushdb()
