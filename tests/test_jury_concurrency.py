"""R-JUR-3 / R-JUR-4 under real concurrency (PostgreSQL only): 50 threads, each with its own
connection and session, register different dossiers to a jury of capacity 10 at the same time.
The jury row is locked (SELECT … FOR UPDATE) before its dossiers are counted, so exactly 10 get
in and the 40 others land in the next jury of the same certificateur."""
import datetime as dt
import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

THREADS = 50
CAPACITY = 10


@contextmanager
def engine_with_room(app, db, size):
    """The app's engine swapped for one whose pool holds `size` connections (the default pool of
    15 would queue the threads instead of letting them collide)."""
    engines = db._app_engines[app]
    original = engines[None]
    engines[None] = sa.create_engine(original.url, pool_size=size, max_overflow=0, pool_timeout=60)
    try:
        yield engines[None]
    finally:
        engines[None].dispose()
        engines[None] = original


def test_fifty_concurrent_registrations_never_exceed_the_capacity(app, make, db):  # R-JUR-3 R-JUR-4
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is checked on PostgreSQL (SQLite serialises every writer).")
    from flask_appbuilder.security.sqla.models import User

    from app.models.candidature import Candidature
    from app.models.jury import InscriptionJury
    from app.security.perimeter import perimetre_of
    from app.workflow.jury import registration as registration_wf

    today = dt.date.today()
    full = make.jury("CLEA", capacite=CAPACITY, lieu="Paris")
    nxt = make.jury("CLEA", date=today + dt.timedelta(days=45), capacite=100, lieu="Lyon")
    sec_id = make.user("secretariat", dispositif=make.ref["CLEA"]).id
    etab = make.etablissement()
    by = make.user("utilisateur_etablissement", etablissement=etab)
    ids = [make.candidature("CLEA", etablissement=etab, by=by).id for _ in range(THREADS)]
    # Sent to certification while no jury was open: they wait for an assignment (setup shortcut).
    db.session.query(Candidature).filter(Candidature.id.in_(ids)).update(
        {"statut": "en_attente_jury"}, synchronize_session=False)
    db.session.commit()
    full_id, nxt_id = full.id, nxt.id
    db.session.remove()

    barrier = threading.Barrier(THREADS, timeout=60)
    results, errors = {}, []

    def worker(cid):
        from app.extensions import db as tdb
        with app.app_context():
            try:
                p = perimetre_of(tdb.session.get(User, sec_id))
                c = tdb.session.get(Candidature, cid)
                barrier.wait()  # every thread holds its own connection: go together
                reg = registration_wf.register_to_jury(p, c, full_id)
                tdb.session.commit()
                results[cid] = (reg.jury.id, reg.reported)
            except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                tdb.session.rollback()
                errors.append(repr(exc))
            finally:
                tdb.session.remove()

    with engine_with_room(app, db, THREADS + 5):
        threads = [threading.Thread(target=worker, args=(cid,)) for cid in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

    assert errors == []
    assert len(results) == THREADS
    count = {jid: db.session.query(InscriptionJury).filter_by(jury_id=jid, active=True).count()
             for jid in (full_id, nxt_id)}
    assert count == {full_id: CAPACITY, nxt_id: THREADS - CAPACITY}
    moved = [cid for cid, (jid, reported) in results.items() if reported]
    assert len(moved) == THREADS - CAPACITY
    assert all(results[cid][0] == nxt_id for cid in moved)
    # Every dossier got exactly one registration and its own anonymous number per jury.
    rows = db.session.query(InscriptionJury).all()
    assert sorted(r.candidature_id for r in rows) == sorted(ids)
    for jid in (full_id, nxt_id):
        numbers = [r.numero_anonyme for r in rows if r.jury_id == jid]
        ranks = sorted(r.rang for r in rows if r.jury_id == jid)
        assert len(set(numbers)) == len(numbers) and ranks == list(range(1, len(ranks) + 1))


def test_p2_close_twice_at_once_publishes_once(app, make, db):  # R-JUR-9
    """Two « Clore le jury » at the same moment: the jury row is locked and its state read again,
    so one close publishes and the other answers that the jury is already closed."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is checked on PostgreSQL (SQLite serialises every writer).")
    from flask_appbuilder.security.sqla.models import User

    from app.models.jury import Jury
    from app.security.perimeter import perimetre_of
    from app.workflow.jury import deliberation
    from app.workflow.jury.composition import AlreadyDone
    from tests.test_jury_closing import _closed_world, published_once
    from tests.test_jurys import secretariat

    j, _members, dossiers = _closed_world(make, db, n=3)
    sec_ids = [secretariat(make).id, secretariat(make).id]
    db.session.commit()
    jury_id, dossier_ids = j.id, [c.id for c in dossiers]
    db.session.remove()

    barrier = threading.Barrier(2, timeout=60)
    outcomes, errors = [], []

    def worker(user_id):
        from app.extensions import db as tdb
        with app.app_context():
            try:
                p = perimetre_of(tdb.session.get(User, user_id))
                jury = tdb.session.get(Jury, jury_id)
                barrier.wait()
                outcomes.append(deliberation.close_jury(p, jury))
                tdb.session.commit()
            except AlreadyDone as exc:
                tdb.session.rollback()
                outcomes.append(exc.message)
            except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                tdb.session.rollback()
                errors.append(repr(exc))
            finally:
                tdb.session.remove()

    with engine_with_room(app, db, 6):
        threads = [threading.Thread(target=worker, args=(uid,)) for uid in sec_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

    assert errors == []
    assert min(outcomes, key=str) == 3  # one close published the three decisions
    assert "déjà clos" in sorted(outcomes, key=str)[1]
    published_once(db, dossier_ids)
