"""One app per test session on SQLite (default) or PostgreSQL (DATABASE_URL_TEST); every table
but the role rows is emptied after each test, so tests never see each other's rows."""
import os
import re
import tempfile
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.factories import Factories

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/opencertif_test"


def _database_url(worker: str) -> str:
    url = os.environ.get("DATABASE_URL_TEST", "")
    if url.startswith("postgresql"):
        suffix = f"_{worker}" if worker else ""
        base, _, name = url.rpartition("/")
        name = (name or "opencertif_test") + suffix
        admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{base}/{name}"
    folder = tempfile.mkdtemp(prefix="opencertif-test-")
    return f"sqlite:///{folder}/test{worker}.db"


@pytest.fixture(scope="session")
def app(worker_id="master"):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    os.environ["DATABASE_URL_TEST_EFFECTIVE"] = _database_url(worker)
    os.environ["OPENCERTIF_INSTANCE"] = tempfile.mkdtemp(prefix="opencertif-instance-")
    from config import TestConfig
    TestConfig.SQLALCHEMY_DATABASE_URI = os.environ["DATABASE_URL_TEST_EFFECTIVE"]
    TestConfig.INSTANCE_DIR = os.environ["OPENCERTIF_INSTANCE"]
    from app import create_app
    from app.extensions import db
    application = create_app(TestConfig)
    with application.app_context():
        db.create_all()
        application.appbuilder.sm.create_role_rows()
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


KEEP = {"ab_role", "ab_permission", "ab_view_menu", "ab_permission_view", "alembic_version"}


@pytest.fixture(autouse=True)
def _clean_tables(request):
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from app.extensions import db
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for t in tables:
                    conn.execute(t.delete())


@pytest.fixture
def ctx(app):
    """An application context for tests that call the domain directly."""
    with app.test_request_context():
        yield app


@pytest.fixture
def db(ctx):
    from app.extensions import db as _db
    return _db


@pytest.fixture
def ref(db):
    """The referentials (dispositifs, certifications): {code: Dispositif}."""
    from app.seed_data.load import seed_referentiels
    return seed_referentiels()


@pytest.fixture
def make(db, ref):
    return Factories(db, ref)


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, user_or_name, password=Factories.PASSWORD):
    username = getattr(user_or_name, "username", user_or_name)
    client.get("/logout/")
    r = client.post("/login/", data={"username": username, "password": password})
    assert r.status_code == 302, f"login failed for {username}"
    return client


@pytest.fixture
def login_as(app):
    """login_as(user) -> a test client signed in as that user."""
    def _login(user):
        return login(app.test_client(), user)
    return _login


@contextmanager
def count_queries(engine):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def queries(app):
    from app.extensions import db
    with app.app_context():
        engine = db.engine
    return lambda: count_queries(engine)


def outbox(db, to=None):
    from app.models.notification import MailMessage
    q = db.session.query(MailMessage).order_by(MailMessage.id)
    if to:
        q = q.filter(MailMessage.destinataire == to)
    return q.all()


def link_in(message) -> str:
    match = re.search(r"(/compte/[^\s]+)", message.corps_texte)
    assert match, message.corps_texte
    return match.group(1)
