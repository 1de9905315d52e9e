"""Dossiers per status and perimeter, kept up to date with every flush (issue 9).

Lists and the dashboard show how many dossiers each status holds in the user's perimeter. Counting
them on each page scans the perimeter's dossiers (100–125 ms for a dispositif of 330,000 dossiers
at national scale); these counters are read in well under a millisecond instead.

One row per combination of the perimeter columns of a dossier (the same denormalised columns the
perimeter filters on, app/security/perimeter.py) and its status. A perimeter level reads the sum of
the rows whose column equals its value. Rows are fine-grained on purpose: an update only touches the
row of its own établissement, so concurrent transactions of different établissements never wait on
a shared counter row.

Maintained in `after_flush` from the ORM's attribute history, so every way a dossier is created,
moved or deleted through the ORM counts. Core `UPDATE`/`DELETE` statements on `candidature` bypass
it: after such a bulk change (or a bulk load such as `make bench`), run `flask candidatures
recompter` (`recount()`), which rebuilds the table from the dossiers in one statement.
"""
from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy import event, orm

from .base import Model

# The perimeter columns of Candidature that a counter row is keyed on (same names).
LEVELS = ("dispositif_id", "reseau_id", "organisme_id", "etablissement_id", "entreprise_id")
KEY = LEVELS + ("statut",)


class CompteurStatut(Model):
    __tablename__ = "compteur_statut"
    __table_args__ = (
        sa.Index("ix_compteur_statut_dispositif", "dispositif_id", "statut", "n"),
        sa.Index("ix_compteur_statut_reseau", "reseau_id", "statut", "n"),
        sa.Index("ix_compteur_statut_organisme", "organisme_id", "statut", "n"),
        sa.Index("ix_compteur_statut_etablissement", "etablissement_id", "statut", "n"),
        sa.Index("ix_compteur_statut_entreprise", "entreprise_id", "statut", "n"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    # The key as text (NULLs included): one unique column that ON CONFLICT can target on both
    # PostgreSQL and SQLite, where a unique constraint over nullable columns would not match NULLs.
    cle = sa.Column(sa.String(120), nullable=False, unique=True)
    dispositif_id = sa.Column(sa.Integer, nullable=False)
    reseau_id = sa.Column(sa.Integer)
    organisme_id = sa.Column(sa.Integer)
    etablissement_id = sa.Column(sa.Integer)
    entreprise_id = sa.Column(sa.Integer)
    statut = sa.Column(sa.String(40), nullable=False)
    n = sa.Column(sa.Integer, nullable=False, default=0)


def key_text(key: tuple) -> str:
    return ":".join("" if v is None else str(v) for v in key)


def _old_and_new(obj, deleted: bool) -> tuple[tuple | None, tuple | None]:
    """The dossier's counter key before and after this flush (None: not counted then)."""
    state = sa.inspect(obj)
    if deleted:  # in after_flush the state does not say so yet: the caller knows
        return tuple(_committed(state, c) for c in KEY), None
    new = tuple(getattr(obj, c) for c in KEY)
    if not state.has_identity or _inserted_now(obj):
        return None, new
    if not any(state.attrs[c].history.has_changes() for c in KEY):
        return new, new
    return tuple(_committed(state, c) for c in KEY), new


def _inserted_now(obj) -> bool:
    session = orm.object_session(obj)
    return session is not None and id(obj) in session.info.get("_oc_inserted", ())


def _committed(state, column):
    history = state.attrs[column].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return state.committed_state.get(column, state.dict.get(column))


def _apply(connection, deltas: Counter) -> None:
    deltas = {k: n for k, n in deltas.items() if n}
    if not deltas:
        return
    table = CompteurStatut.__table__
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # Sorted keys: two transactions touching the same rows lock them in the same order.
    rows = [{"cle": key_text(k), **dict(zip(KEY, k)), "n": n} for k, n in sorted(
        deltas.items(), key=lambda kv: key_text(kv[0]))]
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.cle],
                                      set_={"n": table.c.n + stmt.excluded.n})
    connection.execute(stmt, rows)


def _is_dossier(obj) -> bool:
    from .candidature import Candidature
    return isinstance(obj, Candidature)


@event.listens_for(orm.Session, "before_flush")
def _remember(session, flush_context, instances):
    """Before the rows change: note which dossiers are inserted now, and load what a deleted
    dossier's key needs while its row still exists."""
    session.info["_oc_inserted"] = {id(obj) for obj in session.new if _is_dossier(obj)}
    for obj in session.deleted:
        if _is_dossier(obj):
            for column in KEY:
                getattr(obj, column)


@event.listens_for(orm.Session, "after_flush")
def _count(session, flush_context):
    deltas: Counter = Counter()
    deleted = set(session.deleted)
    for obj in list(session.new) + list(session.dirty) + list(deleted):
        if not _is_dossier(obj):
            continue
        old, new = _old_and_new(obj, obj in deleted)
        if old == new:
            continue
        if old is not None:
            deltas[old] -= 1
        if new is not None:
            deltas[new] += 1
    session.info.pop("_oc_inserted", None)
    if deltas:
        _apply(session.connection(), deltas)


def _active_history():
    """Setting a key column on an expired dossier loads its old value first: the counter must
    know which row to decrement."""
    from .candidature import Candidature
    for column in KEY:
        event.listen(getattr(Candidature, column), "set", lambda *args: None,
                     active_history=True)


_active_history()


def recount(connection) -> int:
    """Rebuild every counter from the dossiers (one grouped statement); returns the row count."""
    from .candidature import Candidature
    table = CompteurStatut.__table__
    connection.execute(table.delete())
    c = Candidature.__table__.c
    cols = [c[k] for k in KEY]
    parts = [sa.func.coalesce(sa.cast(col, sa.Text), "") for col in cols]
    cle = parts[0]
    for part in parts[1:]:
        cle = cle + ":" + part  # the same text as key_text()
    select = sa.select(cle, *cols, sa.func.count()).group_by(*cols)
    result = connection.execute(table.insert().from_select(["cle", *KEY, "n"], select))
    return result.rowcount
