"""The home page's dashboard (R-STA-1): what waits in the user's perimeter, the last changes, the
last certified dossiers and the "Proposer une candidature" button.

A constant handful of statements whatever the number of dossiers: one grouped count, one query
per list of eight lines, one look at the dispositifs for the button.
"""
from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from urllib.parse import urlencode

from flask import abort, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from werkzeug.routing import BuildError

from app.models.statuts import SUCCESS
from app.reports import counts
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


def statistics_url(statuts=()) -> str | None:
    """The statistics page filtered on these statuses: its total is the figure."""
    base = _url("StatistiquesView.index")
    args = [("statut", s) for s in statuts]
    return f"{base}?{urlencode(args)}" if base and args else base


def key_figures(p: Perimetre) -> list[tuple[str, int, str | None]]:
    """The manager's figures of the perimeter (label, number, where it opens), from the status
    counters: one statement whatever the number of dossiers. Each opens the dossier list, or for
    a role that reads no dossier (the manager) the statistics filtered the same way."""
    from app.models.statuts import ENDED_WITHOUT_TITLE
    by_status = counts.status_counts(p)
    total = sum(by_status.values())
    success = sum(n for s, n in by_status.items() if s in SUCCESS)
    abandoned = by_status.get("abandonnee", 0)
    ended = sum(n for s, n in by_status.items() if s in ENDED_WITHOUT_TITLE)
    if reads_dossiers(p):
        everything, opens = _url("CandidatureView.list"), list_url
    else:
        everything, opens = statistics_url(), statistics_url
    ongoing = [s for s, n in by_status.items() if n and s not in SUCCESS
               and s not in ENDED_WITHOUT_TITLE]
    return [("Dossiers", total, everything),
            ("En cours", total - success - ended, opens(ongoing) if ongoing else None),
            ("Certifiés", success, opens(SUCCESS)),
            ("Abandonnés", abandoned, opens(["abandonnee"]))]


def reads_dossiers(p: Perimetre) -> bool:
    return p.unrestricted or roles.allowed(p.role, "Candidatures", "read")


def dashboard(p: Perimetre) -> dict:
    """Everything the dashboard cards need, for this user's role and perimeter."""
    out = {"dossiers": reads_dossiers(p), "may_propose": False,
           "statistiques_url": _url("StatistiquesView.index")
           if p.unrestricted or roles.allowed(p.role, "Statistiques", "read") else None,
           "rapports_url": _url("RapportsView.index")
           if p.unrestricted or roles.allowed(p.role, "Rapports", "read") else None}
    if out["statistiques_url"]:
        out["chiffres"] = key_figures(p)
    if not out["dossiers"]:
        return out
    todo = counts.todo_counts(p)
    buckets = [SimpleNamespace(code=code, label=label, total=todo[code], parts=[], part_urls={},
                               url=_url("AFaireView.liste", code=code))
               for code, label in counts.A_FAIRE]
    if p.role == "jury" and p.user_id:  # issue 19 item 3: the jury's PV waits for this member
        from app.workflow.jury.approval import pending_count
        buckets.append(SimpleNamespace(code="pv_a_approuver", label="PV à approuver",
                                       total=pending_count(p.user_id), parts=[], part_urls={},
                                       url=_url("ApprobationPVView.liste")))
    modified, certified = stats.last_modified(p), stats.last_certified(p)
    for line in modified + certified:
        line["url"] = dossier_url(line["id"])
    out.update(buckets=buckets, last_modified=modified, last_certified=certified,
               all_url=_url("CandidatureView.list"), certified_url=list_url(SUCCESS),
               may_propose=stats.may_propose(p))
    if out["may_propose"]:
        out["propose_url"] = _url("CandidatureView.add")
        out["may_propose"] = out["propose_url"] is not None
    return out


class AFaireView(BaseView):
    """The list behind each count of the home page: the same criterion (app/reports/counts.py),
    so the count and the rows agree (issue 16 item 2)."""

    route_base = "/a-faire"
    default_view = "liste"
    class_permission_name = "Candidatures"
    method_permission_name = {"liste": "read"}
    LIMIT = 500

    @expose("/<string:code>")
    @has_access
    def liste(self, code):
        labels = dict(counts.A_FAIRE)
        if code not in labels:
            abort(404)
        from app.security.perimeter import current_perimetre
        # The dossier's candidate, certification and holders load by batch (selectin).
        rows = counts.todo_query(current_perimetre(), code).limit(self.LIMIT + 1).all()
        return self.render_template("opencertif/a_faire.html", rows=rows[:self.LIMIT],
                                    more=len(rows) > self.LIMIT, label=labels[code], code=code,
                                    title=labels[code])


def register(appbuilder):
    appbuilder.add_view_no_menu(AFaireView)
