"""How many dossiers of the perimeter hold each status, without rescanning the dossiers (issue 9).

Read from the counters of app/models/compteur.py when the user's perimeter is one column of the
dossier (dispositif, réseau, organisme, établissement, entreprise) or everything; the perimeters
that are not one column (an evaluator's dossiers, a jury member's) are small and counted directly.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy import event, orm

from app.extensions import db
from app.models.candidature import Candidature
from app.models.compteur import LEVELS, CompteurStatut
from app.security import perimeter
from app.security.perimeter import ALL, NONE, Perimetre


def counter_column(p: Perimetre):
    """The counter column selecting this perimeter, True for every row, None when the counters
    cannot answer for it."""
    path, value = perimeter.scope_of(Candidature).path_for(p, "read")
    if path == ALL:
        return True
    if path is NONE or value is None:
        return False
    if isinstance(path, str) and path in LEVELS:
        return getattr(CompteurStatut, path) == value
    return None


def status_counts(p: Perimetre, statuts=None) -> dict[str, int]:
    """{statut: number of dossiers} in the perimeter (statuses with no dossier left out).

    Read once per request and perimeter (the list's total, its status counts and the dashboard
    ask for the same figures); a flush in the request forgets them."""
    cache = g.setdefault("_status_counts", {}) if has_app_context() else {}
    if p not in cache:
        cache[p] = _read(p)
    counts = cache[p]
    if statuts is None:
        return dict(counts)
    wanted = set(statuts)
    return {s: n for s, n in counts.items() if s in wanted}


@event.listens_for(orm.Session, "after_flush")
def _forget(session, flush_context):
    if has_app_context():
        g.pop("_status_counts", None)


def _read(p: Perimetre) -> dict[str, int]:
    where = counter_column(p)
    if where is False:
        return {}
    if where is None:
        stmt = (sa.select(Candidature.statut, sa.func.count(Candidature.id))
                .where(perimeter.criterion(Candidature, p)).group_by(Candidature.statut))
    else:
        stmt = sa.select(CompteurStatut.statut, sa.func.sum(CompteurStatut.n)) \
            .group_by(CompteurStatut.statut)
        if where is not True:
            stmt = stmt.where(where)
    return {statut: int(n) for statut, n in db.session.execute(stmt) if n}
