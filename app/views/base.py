"""Base views every screen and API uses: perimeter on every way in, French, exports.

FAB's base_filters cover list/show/edit/delete but not actions, downloads, REST POST/PUT targets
or our own routes (FAB-NOTES.md): they are closed here, once.
"""
import logging

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request
from flask_appbuilder import ModelView, expose
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_filter_args, get_order_args
from werkzeug.datastructures import ImmutableMultiDict

from app.formats import format_date_fr, format_datetime_fr
from app.reports.exports import ListExport, send_export
from app.security import perimeter
from app.security.perimeter import PerimeterFilter
from app.views.french import (
    export_formatters,
    frenchify_api,
    frenchify_view,
    iso_filter_dates,
)
from app.workflow import PerimeterViolation, RuleViolation

READ_WRITE = {
    "list": "read", "show": "read", "export": "read", "download": "read",
    "add": "write", "edit": "write", "delete": "write",
    "get_list": "read", "get": "read", "info": "read", "post": "write", "put": "write",
}
EXPORT_MAX_ROWS = 100_000
log = logging.getLogger(__name__)


def _date_formatters(model, columns):
    formatters = {}
    for name in columns:
        col = getattr(model, name, None)
        try:
            ctype = col.property.columns[0].type
        except AttributeError:
            continue
        if isinstance(ctype, sa.DateTime):
            formatters[name] = format_datetime_fr  # Paris time (R-FMT-4)
        elif isinstance(ctype, sa.Date):
            formatters[name] = format_date_fr
        elif isinstance(ctype, sa.Boolean):
            formatters[name] = lambda v: "Oui" if v else "Non"
    return formatters


def _checkboxes(view) -> dict:
    """FAB turns a NOT NULL boolean into a *required* checkbox, which can then never be
    unticked (e.g. a réseau could not stop its R-NOT-2 notifications): plain checkboxes."""
    from wtforms import BooleanField
    labels = view.label_columns or {}
    out = {}
    for col in sa.inspect(view.datamodel.obj).columns:
        if isinstance(col.type, sa.Boolean) and not col.nullable:
            default = col.default.arg if col.default is not None and not callable(
                col.default.arg) else False
            out[col.key] = BooleanField(str(labels.get(col.key, col.key)), default=default)
    return out


def _clean_page_args():
    """FAB turns `page_<view>` into an int unchecked: garbage made a 500, and a negative or huge
    page an SQL error on PostgreSQL (negative or out-of-range OFFSET)."""
    if any(k.startswith("page_") for k in request.args):
        request.args = ImmutableMultiDict([
            (k, str(min(int(v), 1_000_000)) if v.isdigit() else "0") if k.startswith("page_")
            else (k, v) for k, v in request.args.items(multi=True)])


class ScopedModelView(ModelView):
    """ModelView whose rows are always those of the user's perimeter (R-ACC-5)."""

    list_template = "opencertif/list.html"
    show_template = "opencertif/show.html"
    method_permission_name = READ_WRITE
    page_size = 25
    export_columns: list[str] | None = None
    export_name = "export"
    perimeter_filters = [["id", PerimeterFilter, "read"]]

    def __init__(self, **kwargs):
        self.base_filters = list(self.perimeter_filters) + list(self.base_filters or [])
        boxes = _checkboxes(self)
        self.add_form_extra_fields = {**boxes, **(self.add_form_extra_fields or {})}
        self.edit_form_extra_fields = {**boxes, **(self.edit_form_extra_fields or {})}
        super().__init__(**kwargs)
        cols = set(self.list_columns) | set(self.show_columns)
        for name, fmt in _date_formatters(self.datamodel.obj, cols).items():
            self.formatters_columns.setdefault(name, fmt)
        frenchify_view(self)  # « — », labels of codes, dd/mm/yyyy fields (app/views/french.py)

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(_clean_page_args)
        blueprint.before_request(iso_filter_dates)
        return blueprint

    # -- perimeter on the ways FAB leaves open ------------------------------------------------
    def _scoped_item(self, pk, mode="read"):
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
        if item is None or (mode == "write" and not perimeter.contains(item, mode="write")):
            abort(404)
        return item

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name, pk):
        if name not in self.actions:
            abort(404)
        if not self.appbuilder.sm.has_access(self.get_action_permission_name(name),
                                             self.class_permission_name):
            abort(403)
        item = self._scoped_item(pk)
        return self._run_action(name, item)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        name = request.form.get("action", "")
        if name not in self.actions:
            abort(404)
        if not self.appbuilder.sm.has_access(self.get_action_permission_name(name),
                                             self.class_permission_name):
            abort(403)
        pks = request.form.getlist("rowid")
        items = [self._scoped_item(pk) for pk in pks]
        return self._run_action(name, items)

    def _run_action(self, name, target):
        try:
            return self.actions[name].func(target)
        except RuleViolation as exc:
            self.datamodel.session.rollback()
            log.info("Action %s refusée (%s) : %s", name, exc.rule, exc.message)
            flash(exc.message, "danger")
            return redirect(self.get_redirect())

    @expose("/download/<string:filename>")
    def download(self, filename):
        abort(404)  # documents are served by primary key after a scoped get, never by file name

    # -- rules raised by pre_add/pre_update keep the form and its data ---------------------------
    def pre_add(self, item):
        self._check_write(item)

    def pre_update(self, item):
        self._check_write(item)

    def _check_write(self, item):
        try:
            perimeter.ensure(item, "write")
            self.check_rules(item)
        except RuleViolation as exc:
            g._violation = exc
            raise

    def check_rules(self, item):
        """Domain rules a subclass enforces on writes (raise RuleViolation)."""

    def _add(self):
        return self._keep_form_on_violation(super()._add, self.add_form, self._get_add_widget)

    def _edit(self, pk):
        self._scoped_item(pk, "write")  # a row one may read but not change has no edit form either
        return self._keep_form_on_violation(super()._edit, self.edit_form, self._get_edit_widget,
                                            pk)

    def _delete(self, pk):
        self._scoped_item(pk, "write")
        return super()._delete(pk)

    def _keep_form_on_violation(self, method, form_class, widget, *args):
        """FAB flashes a pre_add/pre_update error and redirects, losing what was typed: instead the
        form is shown again with the message on its field (or as a flash)."""
        g.pop("_violation", None)
        result = method(*args)
        violation = g.pop("_violation", None)
        if violation is None:
            return result
        self.datamodel.session.rollback()
        log.info("Enregistrement refusé (%s) : %s", violation.rule, violation.message)
        form = form_class.refresh(request.form)
        form.validate()
        field = getattr(form, violation.field or "", None)
        if field is not None:
            field.errors = list(field.errors or []) + [violation.message]
        return widget(form=form)

    # -- exports (R-DOC-6) -----------------------------------------------------------------------
    @expose("/export/<string:fmt>/")
    @has_access
    def export(self, fmt):
        if fmt not in ("xlsx", "csv", "ods"):
            abort(404)
        filters = self.datamodel.get_filters(self.search_columns)
        get_filter_args(filters)
        order = get_order_args().get(self.__class__.__name__) or self.base_order or ("", "")
        dm = self.datamodel
        # FAB's filters (perimeter included) and order, no page: rows are read in batches while
        # the file is written (app/reports/exports.py send_export).
        query = dm.apply_all(dm.session.query(dm.obj),
                             filters.get_joined_filters(self._base_filters), *order)
        return send_export(self.make_export(query), fmt)

    def make_export(self, query):
        """The export of this list's rows (a subclass may select columns instead of objects)."""
        return ListExport(self.export_name, self.export_columns or self.list_columns,
                          self.label_columns, query.limit(EXPORT_MAX_ROWS).yield_per(1000),
                          export_formatters(self.formatters_columns), large=True)


class ScopedApi(ModelRestApi):
    """REST API scoped like the screens; POST/PUT cannot create or move rows out of scope."""

    method_permission_name = READ_WRITE
    allow_browser_login = True
    base_filters = []
    perimeter_filters = [["id", PerimeterFilter, "read"]]
    page_size = 25
    max_page_size = 100

    def __init__(self):
        self.base_filters = list(self.perimeter_filters) + list(self.base_filters or [])
        super().__init__()
        frenchify_api(self)  # « Créé le », not FAB's « Created On »

    def pre_add(self, item):
        perimeter.ensure(item, "write")
        self._check_relations(item, self.add_query_rel_fields)
        self.check_rules(item)

    def pre_update(self, item):
        perimeter.ensure(item, "write")
        self._check_relations(item, self.edit_query_rel_fields)
        self.check_rules(item)

    def _check_relations(self, item, rel_fields):
        """REST accepts any related id (`*_query_rel_fields` only filter `_info`, FAB-NOTES.md):
        a relation set by this request must point to a row its perimeter filter allows."""
        import sqlalchemy as sa
        state = sa.inspect(item)
        for field, filters in (rel_fields or {}).items():
            if field not in state.attrs or not state.attrs[field].history.has_changes():
                continue
            target = getattr(item, field, None)
            if target is None:
                continue
            # Checked on the stored rows: in memory the change being made already shows (an
            # organisme moved to a réseau appears in that réseau's organismes).
            with self.datamodel.session.no_autoflush:
                for _col, flt, mode in filters:
                    if flt is PerimeterFilter and perimeter.scoped_get(
                            type(target), target.id, mode=mode or "read") is None:
                        raise PerimeterViolation()

    def post_headless(self):
        return self._guarded(super().post_headless)

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        if not perimeter.contains(item, mode="write"):
            return self.response(403, message="Hors de votre périmètre.")
        return self._guarded(super().put_headless, pk)

    def delete_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        if not perimeter.contains(item, mode="write"):
            return self.response(403, message="Hors de votre périmètre.")
        return super().delete_headless(pk)

    def _guarded(self, method, *args):
        """pre_add/pre_update raise RuleViolation; FAB's @safe would make it a 500, so answer here."""
        try:
            return method(*args)
        except RuleViolation as exc:
            self.datamodel.session.rollback()
            status = 403 if isinstance(exc, PerimeterViolation) else 422
            log.info("API : enregistrement refusé (%s) : %s", exc.rule, exc.message)
            return self.response(status, message=exc.message)

    def check_rules(self, item):
        """Domain rules a subclass enforces on writes (raise RuleViolation)."""
