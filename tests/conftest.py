"""One app per test session on SQLite (default) or PostgreSQL (DATABASE_URL_TEST); every table
but the role rows is emptied after each test, so tests never see each other's rows."""
import os
import re
import tempfile
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.factories import Factories

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/opencertif_test"
# One Redis database per xdist worker for the tests that run jobs (RQ queues are per database:
# a worker of gw0 must not take gw1's jobs); 13 is tests/test_workers.py's.
_XDIST = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
REDIS_TEST_URL = f"redis://127.0.0.1:6379/{11 + int(_XDIST[2:] or 0) % 2}"


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


class IsolatedClient(FlaskClient):
    """A test client whose every request starts with an empty `g`, as in production.

    While a test holds an application context (the `ctx`/`db` fixtures), Flask reuses it for the
    client's requests, so `g` — Flask-Login's user, the cached perimeter — would leak from one
    client's request into another's: two clients signed in as different users would act as the
    last one to log in."""

    def open(self, *args, **kwargs):
        from flask import g, has_app_context
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(worker_id="master"):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    os.environ["DATABASE_URL_TEST_EFFECTIVE"] = _database_url(worker)
    os.environ["OPENCERTIF_INSTANCE"] = tempfile.mkdtemp(prefix="opencertif-instance-")
    from config import TestConfig
    TestConfig.SQLALCHEMY_DATABASE_URI = os.environ["DATABASE_URL_TEST_EFFECTIVE"]
    TestConfig.INSTANCE_DIR = os.environ["OPENCERTIF_INSTANCE"]
    # Issue 19: every issued document is sealed, as in production, with a test seal made once.
    from app.reports.seal import self_signed_p12
    seal_file = os.path.join(TestConfig.INSTANCE_DIR, "sceau-test.p12")
    with open(seal_file, "wb") as f:
        f.write(self_signed_p12("Certificateur de test", "sceau-test"))
    TestConfig.SEAL_P12, TestConfig.SEAL_PASSWORD = seal_file, "sceau-test"
    from app import create_app
    from app.extensions import db
    application = create_app(TestConfig)
    application.test_client_class = IsolatedClient
    with application.app_context():
        if db.engine.dialect.name == "sqlite":
            # A throw-away database: no fsync on every commit (tests commit a lot).
            sa.event.listen(db.engine, "connect", lambda conn, _: conn.execute(
                "PRAGMA synchronous=OFF"))
            db.engine.dispose()
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
        if db.engine.dialect.name == "postgresql" and _pg_fast_clean(db, tables):
            return
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for t in tables:
                    conn.execute(t.delete())


_PG_SEQUENCES: list[str] | None = None


def _pg_fast_clean(db, tables) -> bool:
    """TRUNCATE of every table costs 0.3-1 s per test (new files for each table and index);
    DELETE of small tables with the foreign-key triggers off (session_replication_role, superuser
    only) takes a few ms. The sequences restart as with TRUNCATE … RESTART IDENTITY. False when
    not allowed: the caller truncates."""
    global _PG_SEQUENCES
    try:
        with db.engine.begin() as conn:
            if _PG_SEQUENCES is None:
                _PG_SEQUENCES = [seq for t in tables for col in t.primary_key.columns
                                 if (seq := conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                                         {"t": f'"{t.name}"', "c": col.name}).scalar())]
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for t in tables:
                conn.execute(t.delete())
            if _PG_SEQUENCES:
                conn.execute(sa.text("SELECT setval(s::regclass, 1, false) FROM unnest(CAST(:seqs AS text[])) AS s"),
                             {"seqs": _PG_SEQUENCES})
        return True
    except sa.exc.DBAPIError:
        return False


@pytest.fixture
def ctx(app):
    """An application context for tests that call the domain directly."""
    with app.test_request_context():
        yield app


@pytest.fixture
def db(ctx):
    from app.extensions import db as _db
    return _db


_REF_ROWS: dict[str, list[dict]] = {}  # table -> rows flask seed inserted (first use, this process)


def _row_counts(db) -> dict[str, int]:
    return {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in db.metadata.sorted_tables if t.name not in KEEP}


@pytest.fixture
def ref(db):
    """The referentials (dispositifs, certifications): {code: Dispositif}.

    seed_referentiels() runs one query per row (~0.4 s); the rows it inserted into an empty
    database are kept from its first run and inserted again in bulk by the next tests."""
    from app.models import Dispositif
    from app.seed_data.load import seed_referentiels
    if not _REF_ROWS or any(_row_counts(db)[name] for name in _REF_ROWS):
        before = _row_counts(db) if not _REF_ROWS else None
        result = seed_referentiels()
        if before is not None and not any(before.values()):
            for name, count in _row_counts(db).items():
                if count:
                    table = db.metadata.tables[name]
                    _REF_ROWS[name] = [dict(r._mapping) for r in db.session.execute(table.select())]
        return result
    for table in db.metadata.sorted_tables:
        if table.name in _REF_ROWS:
            db.session.execute(table.insert(), _REF_ROWS[table.name])
            if db.engine.dialect.name == "postgresql" and "id" in table.c:
                db.session.execute(sa.text(  # explicit ids do not move the sequence
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"(SELECT MAX(id) FROM \"{table.name}\"))"))
    db.session.commit()
    return {d.code: d for d in db.session.query(Dispositif)}


@pytest.fixture
def make(db, ref):
    return Factories(db, ref)


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, user_or_name, password=Factories.PASSWORD):
    username = getattr(user_or_name, "username", user_or_name)
    client.post("/logout/")  # logout is POST only (issue 14)
    r = client.post("/login/", data={"username": username, "password": password})
    # FAB answers a failed login with a redirect too, back to the login page.
    assert r.status_code == 302 and "/login" not in r.headers.get("Location", ""), \
        f"login failed for {username}"
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
