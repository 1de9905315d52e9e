"""Shared column helpers and choice lists for the models."""
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_appbuilder import Model  # noqa: F401  (re-exported for the model modules)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    return date.today()


class Choices:
    """An ordered set of (code, French label) stored as short strings, checked by the database."""

    def __init__(self, *pairs):
        self.pairs = list(pairs)
        self.codes = [code for code, _ in pairs]
        self.labels = dict(pairs)

    def label(self, code):
        return self.labels.get(code, code or "")

    def check(self, column: str, name: str) -> sa.CheckConstraint:
        allowed = ", ".join(f"'{c}'" for c in self.codes)
        # info: the screens find a column's labels here (app/views/french.py), no DDL change.
        return sa.CheckConstraint(f"{column} IN ({allowed})", name=name,
                                  info={"choices": self, "column": column})

    def column(self, default=None, nullable=False, **kw):
        return sa.Column(sa.String(32), default=default, nullable=nullable, **kw)

    def __iter__(self):
        return iter(self.pairs)
