"""Copy the seeded PostgreSQL bench database into an SQLite file (bench option --sqlite).

The seed's set-based SQL is PostgreSQL's (generate_series, arrays, regexp_replace); the SQLite
default gets the very same rows by bulk copy: schema by `flask db upgrade`, then every table in
foreign-key order, 10,000 rows per executemany (Core, never the ORM row by row).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa

from bench.seed import DEFAULT_URL, flask

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "instance" / "bench.db"
BATCH = 10_000


def sqlite_url(path: Path = DEFAULT_PATH) -> str:
    return f"sqlite:///{path}"


def copy_to_sqlite(pg_url: str = DEFAULT_URL, path: Path = DEFAULT_PATH) -> None:
    t0 = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    url = sqlite_url(path)
    flask(url, "db", "upgrade")
    source, target = sa.create_engine(pg_url), sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(target)
    with source.connect() as src, target.begin() as dst:
        dst.exec_driver_sql("PRAGMA foreign_keys = OFF")
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            t = time.perf_counter()
            dst.execute(table.delete())
            columns = [c.name for c in table.columns]
            rows = src.execution_options(yield_per=BATCH).execute(
                sa.text(f'SELECT {", ".join(columns)} FROM "{table.name}"'))
            count = 0
            for batch in rows.partitions(BATCH):
                dst.execute(table.insert(), [dict(zip(columns, r)) for r in batch])
                count += len(batch)
            if count:
                print(f"  sqlite {table.name:<28} {count:>9} lignes {time.perf_counter() - t:6.1f} s",
                      flush=True)
    with target.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"Copie SQLite {path} terminée en {time.perf_counter() - t0:.1f} s "
          f"({os.path.getsize(path) / 2**20:.0f} Mo)")
