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
from app.models.candidature import STATUTS, Candidature
from app.models.compteur import LEVELS, CompteurStatut
from app.models.statuts import WAITING_JURY
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


# --- dashboard buckets (R-STA-1), mapped onto each dispositif's own statuses ---------------------
# CléA: évaluation préalable → finale → envoi → jury (R-WF-2). Chimie has one evaluation (R-WF-1):
# a dossier waiting for it waits for its first evaluation. Metallurgy: "Inscription" waits for the
# evaluation to open, "Évaluation" is the commission's work that precedes the jury.
DASHBOARD_BUCKETS = [
    ("evaluation_initiale", "En attente d'une première évaluation",
     ("en_attente_evaluation_prealable", "en_attente_evaluation", "inscription")),
    ("evaluation_finale", "En attente d'évaluation finale",
     ("en_attente_evaluation_finale", "evaluation")),
    ("affectation_jury", "En attente d'affectation à un jury",
     WAITING_JURY),
]
assert all(s in STATUTS.codes for _, _, ss in DASHBOARD_BUCKETS for s in ss)


# --- the home page's to-do lists (issue 16 item 2) -----------------------------------------------
# Each to-do is one criterion on the dossier: its count and the list it opens are the same
# statement, so they cannot disagree. Statuses come from the dashboard's groups (above).
def _statuses(code):
    return next(ss for c, _, ss in DASHBOARD_BUCKETS if c == code)


def ready_for_jury():
    """« Prêt pour le jury »: the workflow's criterion (evaluated, not sent yet)."""
    from app.workflow.jury.sessions import evaluated_to_send
    return evaluated_to_send()


def _taken_by_a_jury():
    from app.models.jury import InscriptionJury
    return sa.exists().where(InscriptionJury.candidature_id == Candidature.id,
                             InscriptionJury.active.is_(True), InscriptionJury.etat == "inscrit")


A_FAIRE = [  # (code, label)
    ("evaluation_initiale", "En attente d'une première évaluation"),
    ("evaluation_finale", "En attente d'évaluation finale"),
    ("pret_jury", "Prêts pour le jury (à inscrire ou envoyer)"),
    ("affectation_jury", "En attente d'affectation à un jury"),
    ("complement", "Compléments demandés par le jury"),
]


def todo_criterion(code):
    ready = ready_for_jury()
    return {
        "evaluation_initiale": sa.and_(Candidature.statut.in_(_statuses("evaluation_initiale")),
                                       sa.not_(ready)),
        "evaluation_finale": sa.and_(Candidature.statut.in_(_statuses("evaluation_finale")),
                                     sa.not_(ready)),
        "pret_jury": ready,
        "affectation_jury": sa.and_(Candidature.statut.in_(_statuses("affectation_jury")),
                                    sa.not_(_taken_by_a_jury())),
        "complement": Candidature.statut == "en_attente_complement",
    }[code]


def todo_counts(p: Perimetre) -> dict[str, int]:
    """{to-do code: number of dossiers} of the perimeter, without reading every dossier of it
    (issue 17: one statement over an établissement's 20,000 dossiers took 180-400 ms). Each to-do
    is its statuses' number, read from the status counters, less the dossiers of those statuses
    that another to-do takes or that a jury already holds; only those few are counted in SQL:
    - « prêts pour le jury »: the dossiers of the statuses that go to the jury next which have a
      finalised evaluation, per status (they leave « évaluation initiale / finale »);
    - « affectation »: the dossiers already registered to a jury, found from the registrations
      waiting for their jury (a partial index), not from the dossiers.
    The sums are the very criterion of todo_criterion(), so each count still equals its list."""
    from app.models.jury import InscriptionJury
    by_status = status_counts(p)
    ready = dict(db.session.execute(
        sa.select(Candidature.statut, sa.func.count(Candidature.id))
        .where(perimeter.criterion(Candidature, p), ready_for_jury())
        .group_by(Candidature.statut)).all())
    affectation = _statuses("affectation_jury")
    taken = db.session.execute(
        sa.select(sa.func.count(sa.distinct(Candidature.id)))
        .select_from(InscriptionJury)
        .join(Candidature, Candidature.id == InscriptionJury.candidature_id)
        .where(InscriptionJury.active.is_(True), InscriptionJury.etat == "inscrit",
               Candidature.statut.in_(affectation), perimeter.criterion(Candidature, p))
    ).scalar() or 0

    def waiting(code):
        return sum(by_status.get(s, 0) - ready.get(s, 0) for s in _statuses(code))
    return {"evaluation_initiale": waiting("evaluation_initiale"),
            "evaluation_finale": waiting("evaluation_finale"),
            "pret_jury": sum(ready.values()),
            "affectation_jury": sum(by_status.get(s, 0) for s in affectation) - taken,
            "complement": by_status.get("en_attente_complement", 0)}


def todo_query(p: Perimetre, code: str):
    """The dossiers of one to-do, in the perimeter (the list the count opens)."""
    return (db.session.query(Candidature)
            .filter(perimeter.criterion(Candidature, p), todo_criterion(code))
            .order_by(Candidature.updated_on.desc(), Candidature.id.desc()))
