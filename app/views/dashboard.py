"""The home page's dashboard (R-STA-1): what waits in the user's perimeter, the last changes, the
last certified dossiers and the "Proposer une candidature" button.

A constant handful of statements whatever the number of dossiers: one grouped count, one query
per list of eight lines, one look at the dispositifs for the button.
"""
from __future__ import annotations

from functools import cache
from urllib.parse import urlencode

from flask import url_for
from werkzeug.routing import BuildError

from app.reports import statistics as stats
from app.security import roles
from app.security.perimeter import Perimetre


def _url(endpoint, **values):
    """url_for, or None while the target screen is not registered (feature not installed)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@cache
def _filter_index(kind: str) -> int:
    """Position of FAB's "equal" / "in" filter for a string column: the N of `_flt_N_statut`."""
    from flask_appbuilder.models.sqla.filters import (
        FilterEqual,
        FilterIn,
        SQLAFilterConverter,
    )
    wanted = FilterEqual if kind == "equal" else FilterIn
    for test, classes in SQLAFilterConverter.conversion_table:
        if test == "is_string":
            return list(classes).index(wanted)
    raise LookupError("FAB string filters not found")


def list_url(statuts) -> str | None:
    """The candidature list filtered on these statuses (FAB filter arguments)."""
    base = _url("CandidatureView.list")
    statuts = list(statuts)
    if base is None or not statuts:
        return base
    if len(statuts) == 1:
        args = [(f"_flt_{_filter_index('equal')}_statut", statuts[0])]
    else:
        args = [(f"_flt_{_filter_index('in')}_statut", s) for s in statuts]
    return f"{base}?{urlencode(args)}"


def dossier_url(pk) -> str:
    return _url("DossierView.dossier", pk=pk) or f"/dossier/{pk}"


def reads_dossiers(p: Perimetre) -> bool:
    return p.unrestricted or roles.allowed(p.role, "Candidatures", "read")


def dashboard(p: Perimetre) -> dict:
    """Everything the dashboard cards need, for this user's role and perimeter."""
    out = {"dossiers": reads_dossiers(p), "may_propose": False,
           "statistiques_url": _url("StatistiquesView.index")
           if p.unrestricted or roles.allowed(p.role, "Statistiques", "read") else None,
           "rapports_url": _url("RapportsView.index")
           if p.unrestricted or roles.allowed(p.role, "Rapports", "read") else None}
    if not out["dossiers"]:
        return out
    buckets = stats.dashboard_counts(p)
    for bucket in buckets:
        every = next(ss for code, _, ss in stats.DASHBOARD_BUCKETS if code == bucket.code)
        bucket.url = list_url(bucket.statuts or every)
        bucket.part_urls = {code: list_url([code]) for code in bucket.statuts}
    modified, certified = stats.last_modified(p), stats.last_certified(p)
    for line in modified + certified:
        line["url"] = dossier_url(line["id"])
    out.update(buckets=buckets, last_modified=modified, last_certified=certified,
               all_url=_url("CandidatureView.list"), certified_url=list_url(stats.SUCCESS),
               may_propose=stats.may_propose(p))
    if out["may_propose"]:
        out["propose_url"] = _url("CandidatureView.add")
        out["may_propose"] = out["propose_url"] is not None
    return out
