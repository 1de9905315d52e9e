"""The candidature lists' data access at national scale (issue 9).

FAB counts every list page with `SELECT count(*)` over the filtered dossiers and pages with
OFFSET, which at a million dossiers scans the perimeter on each page (100 ms and more) and, deep
in the list, reads and throws away every skipped row. This interface keeps FAB's filters and
ordering but:
- answers the count from the status counters (app/reports/counts.py) when the only filters are
  the perimeter and the status — the list as it opens, and the status links of the dashboard;
- reads deep pages by "deferred join": the ids of the page first (from the perimeter's
  (column, created_on, id) index alone), then those 25 dossiers;
- reads the dossier's jury and « Courrier envoyé » (R-ENV-2) in that same statement.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterIn, SQLAFilterConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import orm

from app.models.suivi import LIST_UNDEFER
from app.reports.counts import status_counts
from app.security.perimeter import PerimeterFilter, current_perimetre

UNCOUNTABLE = object()


def status_filter_values(filters):
    """The statuses the filters allow (None: any) when they are only the perimeter and status
    equal / in filters; UNCOUNTABLE when any other filter applies."""
    allowed = None
    for flt, value in zip(getattr(filters, "filters", []) or [], getattr(filters, "values", []) or []):
        if isinstance(flt, PerimeterFilter) and value in (None, "", "read"):
            continue
        if flt.column_name != "statut" or type(flt) not in (FilterEqual, FilterIn):
            return UNCOUNTABLE
        values = set(value if isinstance(value, (list, tuple, set)) else [value])
        allowed = values if allowed is None else allowed & values
    return allowed


class CachedFilterConverter(SQLAFilterConverter):
    """FAB builds a `Filters` three times per list request (the view's, the joined ones, the
    inner ones), each converting every column of the model into its filter objects: ≈ 130
    conversions, a fifth of a list page's Python time (issue 17). A column's filters depend only
    on the model, so they are converted once per interface. The filter objects hold no request
    state (column, interface, model); each Filters gets its own list of them."""

    def convert(self, col_name):
        cache = self.datamodel.__dict__.setdefault("_filters_by_column", {})
        if col_name not in cache:
            cache[col_name] = super().convert(col_name)
        found = cache[col_name]
        return list(found) if found is not None else None


class CandidatureInterface(SQLAInterface):
    DEFERRED_FROM = 500  # rows skipped before a page reads its ids first
    NOT_LISTED = ("dispositif", "evaluateur")
    filter_converter_class = CachedFilterConverter

    def __init__(self, obj, session=None):
        super().__init__(obj, session)
        # Read-only figures of the list, not columns: no form, filter or API field is built
        # for them (FAB would ask a subquery whether it is nullable).
        for name in LIST_UNDEFER:
            self.list_properties.pop(name, None)
            self.list_columns.pop(name, None)
        self._related = {}

    def get_related_interface(self, col_name):
        """Related models (the search form's certification select) get FAB's plain interface,
        built once per column (FAB built one per call: 32 per list page)."""
        if col_name not in self._related:
            self._related[col_name] = ChoicesInterface(self.get_related_model(col_name),
                                                       self.session)
        return self._related[col_name]

    def query_count(self, query, filters=None, select_columns=None) -> int:
        statuts = status_filter_values(filters)
        if statuts is UNCOUNTABLE:
            return super().query_count(query, filters, select_columns)
        return sum(status_counts(current_perimetre(), statuts).values())

    def query(self, filters=None, order_column="", order_direction="", page=None,
              page_size=None, select_columns=None, outer_default_load=False):
        if not page_size or select_columns:  # REST (select_columns) and others: FAB's own path
            return super().query(filters, order_column, order_direction, page, page_size,
                                 select_columns, outer_default_load)
        model = self.obj
        count = self.query_count(self.session.query(model), filters)
        # The list shows neither the dispositif nor the evaluator: not loaded (one round trip
        # each with their default "selectin").
        rows = self.session.query(model).options(
            *[orm.lazyload(getattr(model, name)) for name in self.NOT_LISTED],
            *[orm.undefer(getattr(model, name)) for name in LIST_UNDEFER])
        if (page or 0) * page_size < self.DEFERRED_FROM:
            rows = self.apply_all(rows, filters, order_column, order_direction, page, page_size)
        else:
            ids = self._apply_inner_all(self.session.query(model.id), filters, order_column,
                                        order_direction, page, page_size, aliases_mapping={})
            page_ids = ids.subquery()
            rows = rows.filter(model.id.in_(sa.select(page_ids.c.id)))
            rows = self.apply_order_by(rows, order_column, order_direction, add_pk=True)
        return count, rows.all()


class ChoicesInterface(SQLAInterface):
    """The search form's related selects (certifications): the rows, without FAB's count."""

    def query(self, filters=None, order_column="", order_direction="", page=None,
              page_size=None, select_columns=None, outer_default_load=False):
        if filters or page or page_size or select_columns:
            return super().query(filters, order_column, order_direction, page, page_size,
                                 select_columns, outer_default_load)
        rows = self.session.query(self.obj).all()
        return len(rows), rows
