"""Every add_view is here (through each area module's register()), then roles are installed."""
import importlib

from flask import current_app

# One module per area, in menu order; each exposes register(appbuilder).
AREAS = [
    "app.views.referentiel",
    "app.views.structures",
    "app.views.comptes",
    "app.views.double_facteur",
    "app.views.notifications",
    "app.views.habilitations",
    "app.views.candidatures",
    "app.views.jurys",
    "app.views.jurys_api",
    "app.views.approbation_pv",  # issue 19 item 3: the jury approves its PV
    "app.views.rattachements_api",
    "app.views.documents",
    "app.views.reports",
    "app.views.conformite",
    "app.views.imports",
]


def _menu_areas(appbuilder):
    """Menu item name -> permission area of its view; category -> item names."""
    items, categories = {}, {}

    def walk(menu_items, category=None):
        for item in menu_items:
            if item.childs:
                walk(item.childs, item.name)
                continue
            view = getattr(item, "baseview", None)
            if view is None:
                continue
            items[item.name] = view.class_permission_name
            if category:
                categories.setdefault(category, []).append(item.name)

    walk(appbuilder.menu.get_list())
    return items, categories


def register_views(appbuilder):
    from app.security.roles import builtin_roles
    from app.views.actions import register_handlers
    # The answers to the domain's refusals (403, 404, 422…): app/views/actions.py.
    register_handlers(current_app._get_current_object())
    for path in AREAS:
        importlib.import_module(path).register(appbuilder)
    items, categories = _menu_areas(appbuilder)
    appbuilder.sm.install_roles(builtin_roles(items, categories))
    appbuilder.sm.limit_api_login()
