"""The breadcrumb « Accueil › section › dossier or jury › page » of every page under the main
layout (issue 16 item 8, RGAA 12.2), built once here at render time rather than written in each
template:

- the section is the menu entry of the page, or of the list the page's row belongs to;
- the row is the one the request reached through the perimeter (`load_scoped()` hands it here with
  `through()`), when it has a page of its own (a dossier, a jury): its link is then inside the
  user's perimeter by construction;
- the current page is named by its h1, up to its first « — » (« Évaluation — Dupont (CQP-…) »
  reads « Évaluation »).

A view that loads its row otherwise says so with `through(row)`.
"""
import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, g, has_request_context, request, url_for
from flask_login import current_user

H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str | None = None


def through(row) -> None:
    """The request reached `row` through the perimeter: its page may be a parent of this one."""
    if has_request_context():
        g.setdefault("oc_fil_rows", []).append(row)


def _row_crumbs(row) -> list[Crumb]:
    """The page of a row, and of the rows above it; [] for a row without a page of its own."""
    from app.models.candidature import Candidature
    from app.models.jury import InscriptionJury, Jury, JuryMembre
    if isinstance(row, Candidature):
        return [Crumb(f"Dossier {row.numero}", _url("DossierView.dossier", pk=row.id))]
    if isinstance(row, Jury):
        return [Crumb(f"Jury du {row.date:%d/%m/%Y}", _url("JuryView.show", pk=row.id))]
    if isinstance(row, (InscriptionJury, JuryMembre)):
        return _row_crumbs(row.jury)
    return []


def _root_model(row):
    from app.models.jury import InscriptionJury, JuryMembre
    return type(row.jury) if isinstance(row, (InscriptionJury, JuryMembre)) else type(row)


def _view_of(endpoint: str):
    name = endpoint.split(".", 1)[0]
    return next((v for v in current_app.appbuilder.baseviews
                 if v.blueprint is not None and v.blueprint.name == name), None)


def _url(endpoint: str, **values) -> str | None:
    """The address of `endpoint`, or None when the user may not open it (the crumb is then text)."""
    view = _view_of(endpoint)
    method = endpoint.split(".", 1)[1]
    if view is None:
        return None
    permission = view.method_permission_name.get(method, method) if \
        view.method_permission_name else method
    if not current_app.appbuilder.sm.has_access(f"can_{permission}", view.class_permission_name):
        return None
    return url_for(endpoint, **values)


def _menu_items():
    menu = current_app.appbuilder.menu
    for item in menu.get_list():
        for child in item.childs or [item]:
            if child.name != "-" and getattr(child, "baseview", None) is not None:
                yield child


def _visible(item) -> bool:
    return current_app.appbuilder.sm.has_access("menu_access", item.name) and item.should_render()


def _section(rows):
    """The menu entry the page belongs to: the list of its row's model, else the entry opening this
    address, else one opening the page's view."""
    items = [i for i in _menu_items() if _visible(i)]
    if rows:
        model = _root_model(rows[0])
        return next((i for i in items if getattr(i.baseview, "datamodel", None) is not None
                     and i.baseview.datamodel.obj is model), None)
    here = request.full_path.rstrip("?")
    exact = next((i for i in items if i.get_url() in (request.path, here)), None)
    if exact is not None:
        return exact
    view = _view_of(request.endpoint or "")
    return next((i for i in items if i.baseview is view), None)


def heading(content: str) -> str:
    found = H1.search(content or "")
    if not found:
        return ""
    return " ".join(html.unescape(TAG.sub("", found.group(1))).split())


def trail(content: str = "", title: str | None = None) -> list[Crumb]:
    """The crumbs of the page being rendered, the last one being the page itself; [] on the home
    page and for a visitor who is not signed in."""
    if not has_request_context() or not current_user.is_authenticated or request.endpoint in (
            None, "HomeView.index", "static"):
        return []
    crumbs = [Crumb("Accueil", url_for("HomeView.index"))]
    rows = [r for r in g.get("oc_fil_rows", []) if _row_crumbs(r)]
    section = _section(rows)
    if section is not None:
        crumbs.append(Crumb(str(section.label), section.get_url()))
    if rows:
        crumbs += _row_crumbs(rows[0])
    if len(crumbs) > 1 and urlsplit(crumbs[-1].url or "").path == request.path:
        return crumbs  # the page of the section or of the row itself
    name = heading(content).split(" — ")[0].strip() or (title or "")
    if name and name == crumbs[-1].label:
        crumbs.pop()
    return crumbs + [Crumb(name or str(current_app.appbuilder.app_name))]
