"""Base views every screen and API uses: perimeter on every way in, French, exports.

FAB's base_filters cover list/show/edit/delete but not actions, downloads, REST POST/PUT targets
or our own routes (FAB-NOTES.md): they are closed here, once.
"""
import datetime as dt
import json
import logging
import re
import urllib.parse

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import (
    get_filter_args,
    get_order_args,
    get_page_args,
    get_page_size_args,
)
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import BuildError

from app.errors import MESSAGES, PerimeterViolation, RuleViolation, current_database_error, database_message
from app.formats import format_date_fr, format_datetime_fr
from app.reports.exports import FORMATS, ListExport, send_export
from app.security import perimeter
from app.security.perimeter import PerimeterFilter
from app.views.actions import AnswersRefusals, run_verb
from app.views.french import (
    export_formatters,
    frenchify_api,
    frenchify_view,
    iso_filter_dates,
)
from app.workflow.engine import NotAllowed

OUTSIDE = PerimeterViolation().message

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
            # ASCII digits only: "²".isdigit() is True and int("²") raises.
            (k, str(min(int(v), 1_000_000)) if re.fullmatch(r"[0-9]{1,9}", v) else "0")
            if k.startswith("page_")
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

    def _get_list_widget(self, *args, **kwargs):
        # « Ajouter », « Modifier », « Supprimer » follow the rule their route applies (write
        # perimeter of the row, app/templates/appbuilder/general/widgets/list.html): no button
        # that answers 404 or refuses on save.
        widgets = super()._get_list_widget(*args, **kwargs)
        args = widgets["list"].template_args
        model = self.datamodel.obj
        args["may_add"] = perimeter.may_create(model)
        if self.datamodel.get_pk_name() == "id":
            args["writable"] = perimeter.writable_ids(model, args["pks"])
        return widgets

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
        # An action is a verb: run at the seam, a refusal flashed on the list it came from.
        done = run_verb(self.actions[name].func, target)
        return done.result if done else redirect(self.get_redirect())

    # -- where a saved form goes: back where the user came from, never the home page -------------
    def post_add_redirect(self):
        return redirect(self._back_or_list())

    def post_edit_redirect(self):
        return redirect(self._back_or_list())

    def _back_or_list(self) -> str:
        """FAB's history falls back on the home page when the form was opened from a page it
        does not record (a custom page, a link): the list of these rows is the place to see the
        saved one."""
        target = self.get_redirect()
        if target and target != self.appbuilder.get_url_for_index:
            return target
        try:
            return url_for(f"{self.endpoint}.list")
        except BuildError:
            return target

    @expose("/download/<string:filename>")
    def download(self, filename):
        abort(404)  # documents are served by primary key after a scoped get, never by file name

    # -- rules raised by pre_add/pre_update keep the form and its data ---------------------------
    def pre_add(self, item):
        self._check_write(item)

    def pre_update(self, item):
        self._check_write(item)

    def _check_write(self, item):
        # The row typed into the form would be outside the perimeter: a refusal said on the form,
        # which keeps what was typed — not the 404 of an address naming someone else's row.
        if not perimeter.contains(item, mode="write"):
            raise RuleViolation(OUTSIDE, "R-ACC-5")
        self.check_rules(item)

    def check_rules(self, item):
        """Domain rules a subclass enforces on writes (raise RuleViolation)."""

    # FAB's _add/_edit catch pre_add's exception, flash it and redirect, losing what was typed:
    # the save goes through the seam instead, and a refused rule re-shows the form, its message
    # on its field (or as a flash). The rest is FAB's own code (flask_appbuilder/baseviews.py).
    def _save(self, item, form, check, after, message) -> bool:
        """The form's data (the models' validators check formats), pre_add/pre_update and the
        write in one transaction; False when refused. `message`: a text, or a function of the
        row saved (a message that names it)."""
        def write():
            form.populate_obj(item)
            check(item)
            self.datamodel.session.add(item)
        if not run_verb(write, form=form):
            return False
        after(item)
        flash(message(item) if callable(message) else message, "success")
        return True

    def _add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate():
                self.process_form(form, True)
                item = self.datamodel.obj()
                if self._save(item, form, self.pre_add, self.post_add, self.add_row_message):
                    return None
            return self._get_add_widget(form=form, exclude_cols=exclude_cols)
        self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        # A row one may read but not change has no edit form either.
        item = self._scoped_item(pk, "write")
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        pk = self.datamodel.get_pk_value(item)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk  # FAB's trick to pass its unique validator
            if form.validate():
                self.process_form(form, False)
                if self._save(item, form, self.pre_update, self.post_update,
                              self.edit_row_message):
                    return None
                item = self._scoped_item(pk, "write")  # rolled back: the stored row
            valid = False
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
            valid = True
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        widgets = self._get_related_views_widgets(
            item, filters={}, orders=get_order_args(), pages=get_page_args(),
            page_sizes=get_page_size_args(), widgets=widgets)
        if valid:
            self.update_redirect()
        return widgets

    def _delete(self, pk):
        # As FAB's own _delete, but pre_delete's refusal and the delete in one transaction at
        # the seam (FAB commits by itself and flashes any exception's text).
        item = self._scoped_item(pk, "write")

        def delete():
            self.pre_delete(item)
            self.datamodel.delete(item, commit=False)
        if run_verb(delete, success=self.delete_row_message):
            self.post_delete(item)
            self.update_redirect()

    # -- exports (R-DOC-6) -----------------------------------------------------------------------
    @expose("/export/<string:fmt>/")
    @has_access
    def export(self, fmt):
        if fmt not in FORMATS:
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


# -- API input hardening (issue 14): 4xx in French, never a 500 or a database message ----------
MARSHMALLOW_FR = {
    "Missing data for required field.": "Champ obligatoire.",
    "Field may not be null.": "Ce champ ne peut pas être vide.",
    "Not a valid string.": "Texte attendu.",
    "Not a valid integer.": "Nombre entier attendu.",
    "Not a valid number.": "Nombre attendu.",
    "Not a valid boolean.": "Valeur oui/non (true/false) attendue.",
    "Not a valid date.": "Date attendue (AAAA-MM-JJ).",
    "Not a valid datetime.": "Date et heure attendues (AAAA-MM-JJTHH:MM:SS).",
    "Not a valid email address.": "Adresse e-mail invalide.",
    "Not a valid list.": "Liste attendue.",
    "Not a valid mapping type.": "Objet JSON attendu.",
    "Unknown field.": "Champ inconnu.",
    "Invalid input type.": "Type de donnée invalide.",
    "Invalid value.": "Valeur invalide.",
    "Must be one of": "Valeur non permise.",
}
API_400_FR = {
    "Request is not JSON": "Le corps de la requête doit être un objet JSON "
                           "(Content-Type: application/json).",
}
PAGE_MAX = 1_000_000


def _fr(text) -> str:
    text = str(text)
    for english, french in MARSHMALLOW_FR.items():
        if text.startswith(english.rstrip(".")):
            return french
    found = re.match(r"(Longer|Shorter) than (maximum|minimum) length (\d+)", text)
    if found:
        return (f"{found.group(3)} caractères au plus." if found.group(1) == "Longer"
                else f"{found.group(3)} caractères au moins.")
    return "Valeur invalide."


def _fr_errors(messages):
    """marshmallow's {field: [English, …]} (nested for lists) as {field: French sentence}."""
    if isinstance(messages, dict):
        return {str(k): _fr_errors(v) for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return " ".join(_fr_errors(m) for m in messages)
    return _fr(messages)


def _parse_q(value: str):
    """FAB's `q`: Rison, or JSON (FAB_API_ALLOW_JSON_QS). Anything else, nesting deep enough to
    overflow the parser's recursion included, is None."""
    import prison
    if len(value) > 4000:
        return None
    try:
        return prison.loads(value)
    except RecursionError:
        return None
    except Exception:  # noqa: BLE001, S110 - prison raises several kinds on garbage; JSON next
        pass
    try:
        return json.loads(urllib.parse.parse_qs(f"q={value}").get("q", [""])[0])
    except (ValueError, RecursionError):
        return None


def check_api_input():
    """before_request of every API blueprint: the inputs FAB turns into a 500 are refused here."""
    if "q" in request.args:
        q = _parse_q(request.args["q"])
        if not isinstance(q, dict):
            return _api_error(400, "Paramètre q illisible : un objet Rison ou JSON est attendu.")
        for key, low in (("page", 0), ("page_size", 1)):
            value = q.get(key)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= PAGE_MAX:
                return _api_error(400, f"Paramètre {key} invalide : un nombre entier entre {low} "
                                       f"et {PAGE_MAX} est attendu.")
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _api_error(400, "Le corps de la requête doit être un objet JSON ({…}).")
    return None


def _api_error(status, message, **extra):
    from flask import jsonify
    response = jsonify(message=message, **extra)
    response.status_code = status
    return response


def _honest_output(schema):
    """What the API sends must match what its OpenAPI says: a relation may be empty (null) and a
    datetime, stored in UTC without zone, is sent with its offset (RFC 3339 `date-time`)."""
    from marshmallow import fields
    for field in schema.fields.values():
        if isinstance(field, fields.Nested):
            field.allow_none = True
            _honest_output(field.schema)
        elif isinstance(field, fields.DateTime) and not isinstance(field, fields.NaiveDateTime):
            field._serialize = _utc_serializer(field._serialize)


def _utc_serializer(serialize):
    def wrapped(value, attr, obj, **kwargs):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return serialize(value, attr, obj, **kwargs)
    return wrapped


def _is_key(value) -> bool:
    from app.errors import PK_MAX
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= PK_MAX


def _integer_ids(node):
    """FAB's own spec says the keys are strings (they are integers here) and that `_info`'s
    add_columns/edit_columns are an object (they are a list): the spec is made to say what is
    sent."""
    if isinstance(node, dict):
        ids = node.get("ids")
        if isinstance(ids, dict) and ids.get("items") == {"type": "string"}:
            ids["items"] = {"type": "integer"}
        key = node.get("id")
        if isinstance(key, dict) and key.get("type") == "string" and "item id" in str(
                key.get("description", "")):
            key["type"] = "integer"
        for name in ("add_columns", "edit_columns"):
            cols = node.get(name)
            if isinstance(cols, dict) and cols.get("type") == "object":
                node[name] = {"type": "array", "items": {"type": "object"},
                              "description": cols.get("description", "")}
        for value in node.values():
            _integer_ids(value)
    elif isinstance(node, list):
        for value in node:
            _integer_ids(value)


class FrenchApi(AnswersRefusals, ModelRestApi):
    """FAB's API answers in English and makes a 500 of what it does not expect (a key beyond the
    integer range, a negative page, a JSON body that is not an object, a NOT NULL column left
    empty) and a 422 carrying the database's own message: all of it is answered here, in French."""

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)  # builds the schemas
        for schema in (self.list_model_schema, self.show_model_schema):
            if schema is not None:
                _honest_output(schema)
        blueprint.before_request(check_api_input)
        blueprint.before_request(self._check_related_ids)
        return blueprint

    def _check_related_ids(self):
        """marshmallow-sqlalchemy builds a row from an object given for a relation (a 500 on its
        unknown keys) and sends any string to the database: a relation takes a row number."""
        if request.method not in ("POST", "PUT") or not request.is_json:
            return None
        from marshmallow_sqlalchemy.fields import Related, RelatedList
        body = request.get_json(silent=True)
        schema = self.add_model_schema if request.method == "POST" else self.edit_model_schema
        if not isinstance(body, dict) or schema is None:
            return None
        errors = {}
        for name, field in schema.fields.items():
            if name not in body or body[name] is None:
                continue
            values = body[name] if isinstance(field, RelatedList) else [body[name]]
            if isinstance(field, (Related, RelatedList)) and not (
                    isinstance(values, list) and all(_is_key(v) for v in values)):
                errors[name] = "Identifiant numérique attendu."
        if errors:
            return _api_error(422, "Données refusées : " + " ; ".join(
                f"{k} : {v}" for k, v in errors.items()), errors=errors)
        return None

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        # gettext("") is the catalog's header ("Project-Id-Version: …"), not an empty text.
        if not self.description_columns.get(field.name):
            info["description"] = ""
        return info

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs):
        super().operation_helper(path=path, operations=operations, methods=methods, func=func,
                                 **kwargs)
        _integer_ids(operations)

    def response_400(self, message=None):
        return self.response(400, message=API_400_FR.get(str(message), MESSAGES[400]))

    def response_401(self):
        return self.response(401, message=MESSAGES[401])

    def response_403(self):
        return self.response(403, message=MESSAGES[403])

    def response_404(self):
        return self.response(404, message="Introuvable ou hors de votre périmètre.")

    def response_422(self, message=None):
        exc = current_database_error()
        if exc is not None:  # FAB's "Database exception occurred: <SQL error>"
            self.datamodel.session.rollback()
            status, text = database_message(exc)
            return self.response(status, message=text)
        if isinstance(message, dict):
            errors = _fr_errors(message)
            return self.response(422, message="Données refusées : " + " ; ".join(
                f"{k} : {v}" for k, v in errors.items() if isinstance(v, str)), errors=errors)
        return self.response(422, message=str(message or "Données refusées."))

    def response_500(self, message=None):
        """Called by FAB's @safe inside its `except`: the exception is still current (a domain
        refusal is answered as one)."""
        refused = self.refusal_answer()
        if refused is not None:
            return refused
        self.datamodel.session.rollback()
        exc = current_database_error()
        if exc is not None:
            status, text = database_message(exc)
            if status < 500:
                return self.response(status, message=text)
        return self.response(500, message=MESSAGES[500])


class ScopedApi(FrenchApi):
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

    # A row sent by POST/PUT that is, or points, outside the perimeter is a refused write: 403
    # with the reason, as published — not the 404 of an address naming an unknown row.
    def pre_add(self, item):
        self._check_write(item, self.add_query_rel_fields)

    def pre_update(self, item):
        self._check_write(item, self.edit_query_rel_fields)

    def _check_write(self, item, rel_fields):
        if not perimeter.contains(item, mode="write"):
            raise NotAllowed(OUTSIDE, "R-ACC-5")
        self._check_relations(item, rel_fields)
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
                        raise NotAllowed(OUTSIDE, "R-ACC-5")

    def put_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        if not perimeter.contains(item, mode="write"):
            return self.response(403, message="Hors de votre périmètre.")
        return super().put_headless(pk)

    def delete_headless(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        if not perimeter.contains(item, mode="write"):
            return self.response(403, message="Hors de votre périmètre.")
        return super().delete_headless(pk)

    def check_rules(self, item):
        """Domain rules a subclass enforces on writes (raise RuleViolation)."""

