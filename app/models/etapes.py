"""The step dates of a dossier, kept on its row for the managers' reports (R-STA-3, issue 9).

A report's delays need, per dossier, the first evaluation actually held, the jury that decided and
the first certificate. Computed from their tables at each report, these dates cost 2 s and more
over a national certifier's dossiers whatever the query shape; kept on `candidature`, a report
reads one row per dossier (one index).

The definitions below are the only ones (app/reports/reports.py reads the columns). The columns are
recomputed from them, for the dossiers concerned, at each flush that touches an evaluation, a
jury registration, a jury's date or an issued document — so they cannot drift from their
sources, whatever screen or job made the change. `flask candidatures recompter` rebuilds them all
(after changes made in raw SQL).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event, orm


def first_evaluation():
    """Evaluations actually held (finalised or with results entered): the first one counts."""
    from .evaluation import Evaluation
    return (sa.select(Evaluation.candidature_id.label("cid"), Evaluation.date_evaluation.label("d"))
            .where(Evaluation.date_evaluation.isnot(None),
                   sa.or_(Evaluation.statut == "finalisee",
                          Evaluation.resultats_saisis_le.isnot(None))))


def jury_held():
    """The date of the jury that decided on the dossier (the last one)."""
    from .jury import InscriptionJury, Jury
    return (sa.select(InscriptionJury.candidature_id.label("cid"), Jury.date.label("d"))
            .join(Jury, Jury.id == InscriptionJury.jury_id)
            .where(InscriptionJury.decision.isnot(None)))


def first_certificate():
    """The first certificate issued for the dossier (duplicates do not count)."""
    from .document import DocumentEmis
    return (sa.select(DocumentEmis.candidature_id.label("cid"), DocumentEmis.emis_le.label("d"))
            .where(DocumentEmis.type == "certificat", DocumentEmis.duplicata.is_(False),
                   DocumentEmis.candidature_id.isnot(None)))


# column of candidature -> (source of (cid, d) rows, aggregate)
STEPS = {"etape_evaluation_le": (first_evaluation, sa.func.min),
         "etape_jury_le": (jury_held, sa.func.max),
         "etape_certificat_le": (first_certificate, sa.func.min)}


def refresh(connection, ids=None) -> None:
    """Recompute the step dates of the dossiers `ids` (every dossier when None)."""
    from .candidature import Candidature
    table = Candidature.__table__
    values = {}
    for column, (source, aggregate) in STEPS.items():
        rows = source().subquery()
        values[column] = (sa.select(aggregate(rows.c.d)).where(rows.c.cid == table.c.id)
                          .scalar_subquery())
    # Not a modification of the dossier by someone: its "last modified" date stays.
    stmt = sa.update(table).values(**values, updated_on=table.c.updated_on)
    if ids is None:  # every dossier that has a step date, or a source of one
        sourced = sa.union(*[sa.select(source().subquery().c.cid) for source, _ in STEPS.values()])
        stmt = stmt.where(sa.or_(table.c.id.in_(sourced),
                                 *[table.c[column].isnot(None) for column in STEPS]))
    else:
        ids = sorted(i for i in ids if i is not None)
        if not ids:
            return
        stmt = stmt.where(table.c.id.in_(ids))
    connection.execute(stmt)


def _touched(session) -> set[int]:
    from .document import DocumentEmis
    from .evaluation import Evaluation
    from .jury import InscriptionJury, Jury
    ids, juries = set(), set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, (Evaluation, InscriptionJury, DocumentEmis)):
            state = sa.inspect(obj)
            ids.add(state.dict.get("candidature_id"))
            history = state.attrs.candidature_id.history
            ids.update(history.deleted or ())
        elif isinstance(obj, Jury) and sa.inspect(obj).attrs.date.history.has_changes():
            juries.add(obj.id)
    if juries:
        ids.update(session.connection().execute(sa.select(InscriptionJury.candidature_id).where(
            InscriptionJury.jury_id.in_(juries), InscriptionJury.decision.isnot(None))).scalars())
    ids.discard(None)
    return ids


@event.listens_for(orm.Session, "after_flush")
def _keep_step_dates(session, flush_context):
    ids = _touched(session)
    if ids:
        refresh(session.connection(), ids)
        session.info.setdefault("_etapes_refreshed", set()).update(ids)


@event.listens_for(orm.Session, "after_flush_postexec")
def _reload_step_dates(session, flush_context):
    """The dossiers already loaded read their new step dates from the database next time."""
    from .candidature import Candidature
    for pk in session.info.pop("_etapes_refreshed", ()):
        obj = session.identity_map.get(orm.util.identity_key(Candidature, pk))
        if obj is not None:
            session.expire(obj, list(STEPS))
