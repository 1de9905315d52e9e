"""What FAB shows, in French: « — » for empty values, labels instead of codes, dates typed and
shown dd/mm/yyyy, times in Paris time, French column labels, no rule id in a help text.

Applied once to every ScopedModelView / ScopedApi (app/views/base.py), so a screen written
tomorrow gets it without thinking about it.
"""
import datetime as dt
import re

import sqlalchemy as sa
from flask import request
from markupsafe import Markup
from werkzeug.datastructures import ImmutableMultiDict
from wtforms.fields import DateField, DateTimeField
from wtforms.widgets import html_params

from app.formats import EMPTY, format_date_fr, format_datetime_fr, paris_to_utc

RULE_ID = re.compile(r"\s*\(?\bR-[A-Z]+-\d+(?:\s*(?:,|/|et)\s*R-[A-Z]+-\d+)*\)?\s*:?")
DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y"]
DATETIME_FORMATS = ["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S",
                    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def without_rule_ids(text):
    """A user's text without « (R-CAN-2) »: rule ids belong to logs and history."""
    if not text or "R-" not in str(text):
        return text
    return RULE_ID.sub(" ", str(text)).strip().replace(" .", ".")


def display(value):
    """One value as a person reads it: « — » when empty, lists joined, booleans Oui/Non."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, dt.datetime):
        return format_datetime_fr(value)
    if isinstance(value, dt.date):
        return format_date_fr(value)
    if isinstance(value, (list, tuple, set)) or type(value).__name__ == "InstrumentedList":
        return ", ".join(str(v) for v in value) or EMPTY
    return value


def _or_dash(formatter):
    def formatted(value):
        if value is None or value == "" or value == []:
            return EMPTY
        result = formatter(value)
        return EMPTY if result is None or result == "" else result
    formatted.__wrapped__ = formatter
    return formatted


def export_formatters(formatters: dict) -> dict:
    """The screen's formatters for a spreadsheet: an empty cell stays empty (no « — »), dates
    and times stay dates and times (each format writes them: app/reports/exports.py)."""
    unwrapped = {name: getattr(f, "__wrapped__", f) for name, f in formatters.items()
                 if f is not display}
    return {name: f for name, f in unwrapped.items()
            if f not in (format_date_fr, format_datetime_fr)}


def choices_of(model) -> dict:
    """{column: Choices} from the models' CHECK … IN constraints (app/models/base.py)."""
    table = getattr(model, "__table__", None)
    if table is None:
        return {}
    return {c.info["column"]: c.info["choices"] for c in table.constraints
            if isinstance(c, sa.CheckConstraint) and "choices" in c.info}


def _labeller(choices):
    return lambda code: choices.label(code) if code else EMPTY


# -- form fields: dates typed dd/mm/yyyy, times in Paris time ---------------------------------
class FrenchDatePickerWidget:
    """FAB's DatePickerWidget shows `field.data` (ISO); this one shows what the field formats
    (dd/mm/yyyy), and the French datepicker (static/opencertif-fr.js) writes the same."""

    css = "appbuilder_date"

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        kwargs.setdefault("placeholder", "jj/mm/aaaa" if self.css == "appbuilder_date"
                          else "jj/mm/aaaa hh:mm")
        kwargs.setdefault("autocomplete", "off")
        value = field._value() if field.raw_data or field.data else ""
        return Markup(
            f'<div class="input-group date {self.css}" data-date-format="dd/mm/yyyy">'
            '<span class="input-group-addon"><i class="fa fa-calendar cursor-hand"></i></span>'
            f'<input class="form-control" {html_params(type="text", value=value, **kwargs)} />'
            "</div>")


class FrenchDateTimePickerWidget(FrenchDatePickerWidget):
    css = "appbuilder_datetime"


class FrenchDateField(DateField):
    """Accepts 12/01/2027 as typed by hand (and ISO, as the API and old links send it)."""

    def __init__(self, label=None, validators=None, format=None, **kwargs):
        kwargs["widget"] = FrenchDatePickerWidget()
        super().__init__(label, validators, format=DATE_FORMATS, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata([(v or "").strip() for v in valuelist])
        if self.process_errors:
            self.process_errors = ["Date non valide : saisissez-la au format jj/mm/aaaa."]


class ParisDateTimeField(DateTimeField):
    """Shown and typed in Paris time, stored in UTC like every datetime (models.base.utcnow)."""

    def __init__(self, label=None, validators=None, format=None, **kwargs):
        kwargs["widget"] = FrenchDateTimePickerWidget()
        super().__init__(label, validators, format=DATETIME_FORMATS, **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return format_datetime_fr(self.data) if self.data else ""

    def process_formdata(self, valuelist):
        super().process_formdata([(v or "").strip() for v in valuelist])
        if self.process_errors:
            self.process_errors = [
                "Date non valide : saisissez-la au format jj/mm/aaaa hh:mm (heure de Paris)."]
        elif self.data is not None:
            self.data = paris_to_utc(self.data)


def _frenchify_form(form_class):
    if form_class is None:
        return
    from flask_appbuilder.fields import QuerySelectField, QuerySelectMultipleField
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        field_class = getattr(unbound, "field_class", None)
        if field_class is None or not isinstance(field_class, type):
            continue
        # DateField is a DateTimeField in WTForms: tested first.
        if issubclass(field_class, DateField):
            unbound.field_class = FrenchDateField
            unbound.kwargs.pop("widget", None)
        elif issubclass(field_class, DateTimeField):
            unbound.field_class = ParisDateTimeField
            unbound.kwargs.pop("widget", None)
        elif issubclass(field_class, (QuerySelectField, QuerySelectMultipleField)):
            # WTForms 3.3 shows an empty option's value: FAB's blank choice read « __None ».
            unbound.kwargs.setdefault("blank_text", EMPTY)
        if unbound.kwargs.get("description"):
            unbound.kwargs["description"] = without_rule_ids(unbound.kwargs["description"])


def frenchify_view(view):
    """Formatters, labels and forms of a ModelView, after FAB built them."""
    from app.views.labels import LABELS
    model = view.datamodel.obj
    codes = choices_of(model)
    for name in set(view.list_columns) | set(view.show_columns):
        formatter = view.formatters_columns.get(name)
        if formatter is None and name in codes:
            formatter = _labeller(codes[name])
        view.formatters_columns[name] = _or_dash(formatter) if formatter else display
    _french_labels(view, LABELS)
    view.description_columns = {k: without_rule_ids(v)
                                for k, v in (view.description_columns or {}).items()}
    for attr in ("add_form", "edit_form"):
        _frenchify_form(getattr(view, attr, None))


def frenchify_api(api):
    from app.views.labels import LABELS
    _french_labels(api, LABELS)


def _french_labels(view, labels):
    """FAB makes « Created On » of created_on for a column a view does not label."""
    for name, label in list((view.label_columns or {}).items()):
        if str(label) == view._prettify_column(name) and name in labels:
            view.label_columns[name] = labels[name]


_TYPED_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2}))?\s*$")


def iso_filter_dates():
    """FAB reads a filter's date with dateutil, month first (12/01/2027 = 1 December): a date
    typed dd/mm/yyyy in a search filter is turned into ISO, a time from Paris to UTC."""
    if not any(k.startswith("_flt_") and "/" in v for k, v in request.args.items(multi=True)):
        return
    fixed = []
    for key, value in request.args.items(multi=True):
        match = _TYPED_DATE.match(value) if key.startswith("_flt_") else None
        if match:
            d, m, y, hh, mm = match.groups()
            try:
                if hh is None:
                    value = dt.date(int(y), int(m), int(d)).isoformat()
                else:
                    value = paris_to_utc(dt.datetime(int(y), int(m), int(d), int(hh), int(mm))
                                         ).isoformat(sep=" ")
            except ValueError:
                pass  # not a date after all (31/02): FAB treats it as it would
        fixed.append((key, value))
    request.args = ImmutableMultiDict(fixed)
