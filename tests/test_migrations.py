"""`flask db upgrade` from empty builds exactly the schema of the models, on SQLite and PostgreSQL."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

ROOT = Path(__file__).resolve().parent.parent


def _target_url():
    url = os.environ.get("DATABASE_URL_TEST", "")
    if url.startswith("postgresql"):
        base = url.rsplit("/", 1)[0]
        name = "opencertif_migrations_" + (os.environ.get("PYTEST_XDIST_WORKER") or "main")
        admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{base}/{name}"
    return f"sqlite:///{tempfile.mkdtemp()}/migrations.db"


def _meaningful(diffs):
    """Ignore differences SQLite cannot represent faithfully."""
    return [d for d in diffs if not (isinstance(d, tuple) and d[0] in ("add_fk", "remove_fk"))]


def test_upgrade_from_empty_matches_models():
    url = _target_url()
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "run.py",
           "OPENCERTIF_INSTANCE": tempfile.mkdtemp()}
    result = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]

    from flask_appbuilder import Model

    import app.models  # noqa: F401
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = _meaningful(compare_metadata(ctx, Model.metadata))
    engine.dispose()
    assert diffs == [], "models and migrations disagree; run `make migrate m=...`:\n" + "\n".join(map(str, diffs))
