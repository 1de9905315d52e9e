"""Exports: one class per export, a header and rows; the base builds the file (DESIGN practice 10).

Cells that a spreadsheet would run as formulas are neutralised. Ordinary exports go through
tablib; `stream_csv` serves large ones row by row.
"""
import csv
from abc import ABC, abstractmethod
import io
from collections.abc import Iterable

import tablib
from flask import Response

from app.formats import format_date_fr, format_datetime_fr, neutralise_formula

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}


def cell(value):
    import datetime as dt
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, dt.datetime):
        return format_datetime_fr(value)
    if isinstance(value, dt.date):
        return format_date_fr(value)
    if isinstance(value, (int, float)):
        return value
    return neutralise_formula(str(value))


class Export(ABC):
    """Subclasses set `name` and implement header() and rows()."""

    name = "export"
    title = "Export"

    @abstractmethod
    def header(self) -> list[str]:
        """Column titles."""

    @abstractmethod
    def rows(self) -> Iterable[list]:
        """One list of cell values per row."""

    def dataset(self) -> tablib.Dataset:
        data = tablib.Dataset(headers=[neutralise_formula(h) for h in self.header()],
                              title=self.title[:31])
        for row in self.rows():
            data.append([cell(v) for v in row])
        return data


class ListExport(Export):
    """The rows of a list screen, with its columns, labels and formatters."""

    def __init__(self, name, columns, labels, items, formatters=None):
        self.name = name
        self.title = name
        self.columns = columns
        self.labels = labels
        self.items = items
        self.formatters = formatters or {}

    def header(self):
        return [str(self.labels.get(c, c)) for c in self.columns]

    def _value(self, item, column):
        value = item
        for part in column.split("."):
            value = getattr(value, part, None) if value is not None else None
        if callable(value):
            value = value()
        fmt = self.formatters.get(column)
        if fmt is not None and value is not None:
            value = fmt(value)
        return value

    def rows(self):
        for item in self.items:
            yield [self._value(item, c) for c in self.columns]


def render(export: Export, fmt: str) -> bytes:
    data = export.dataset()
    if fmt == "csv":
        return ("\ufeff" + data.export("csv", delimiter=";")).encode("utf-8")
    return data.export(fmt)


def send_dataset(export: Export, fmt: str) -> Response:
    body = render(export, fmt)
    filename = f"{export.name}.{fmt}"
    return Response(body, mimetype=MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def stream_csv(export: Export, filename: str) -> Response:
    """Large exports: the csv module row by row, never the whole file in memory."""
    def generate():
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";")
        buf.write("\ufeff")
        writer.writerow([neutralise_formula(h) for h in export.header()])
        for row in export.rows():
            writer.writerow([cell(v) for v in row])
            if buf.tell() > 65536:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
    return Response(generate(), mimetype=MIMETYPES["csv"],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
