"""Exports: one class per export, a header and rows; the base builds the file (DESIGN practice 10).

Cells that a spreadsheet would run as formulas are neutralised. `send_export` is the one place
that chooses how a file is written: tablib for ordinary exports (a few hundred lines: a jury, a
report); for a `large` export (a list of dossiers, up to 100,000 lines) the csv module row by row,
streamed, and a sheet of inline strings written row by row (xlsx_stream.py) — tablib holds the
whole sheet in memory (474 MB and 14 s for 100,000 lines × 10 columns, issue 9) where these stay
flat.
"""
import csv
import datetime as dt
import io
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable

import tablib
from flask import Response, send_file, stream_with_context

from app.formats import (
    _FORMULA_STARTS,
    format_date_fr,
    format_datetime_fr,
    neutralise_formula,
)
from app.reports import sql_cells
from app.reports.xlsx_stream import write_xlsx, write_xlsx_xml

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}


def cell(value):
    """The value as a spreadsheet cell: texts neutralised, dates in French, booleans Oui/Non.
    Called for every cell of 100,000-line exports: the common types are tested first."""
    kind = type(value)
    if kind is str:
        return "'" + value if value[:1] in _FORMULA_FIRST else value
    if value is None:
        return ""
    if kind is int or kind is float:
        return value
    if kind is bool:
        return "Oui" if value else "Non"
    if kind is dt.datetime:
        return format_datetime_fr(value)  # Paris time (R-FMT-4)
    if kind is dt.date:
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    if isinstance(value, dt.datetime):
        return format_datetime_fr(value)
    if isinstance(value, dt.date):
        return format_date_fr(value)
    if isinstance(value, (int, float)):
        return value
    return neutralise_formula(str(value))


_FORMULA_FIRST = frozenset(_FORMULA_STARTS)


class Export(ABC):
    """Subclasses set `name` and implement header() and rows()."""

    name = "export"
    title = "Export"
    large = False  # rows read from the database as they are written (see send_export)

    @abstractmethod
    def header(self) -> list[str]:
        """Column titles."""

    @abstractmethod
    def rows(self) -> Iterable[list]:
        """One list of cell values per row."""

    def cells(self) -> Iterable[list]:
        """The rows as spreadsheet cells (see cell())."""
        for row in self.rows():
            yield [cell(v) for v in row]

    def dataset(self) -> tablib.Dataset:
        data = tablib.Dataset(headers=[neutralise_formula(h) for h in self.header()],
                              title=self.title[:31])
        for row in self.cells():
            data.append(list(row))
        return data


class ListExport(Export):
    """The rows of a list screen, with its columns, labels and formatters. `items` may be a
    query read in batches (yield_per): then the export is large and streamed."""

    def __init__(self, name, columns, labels, items, formatters=None, large=False):
        self.large = large
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


def send_export(export: Export, fmt: str) -> Response:
    """The file of an export in `fmt` (xlsx, csv, ods), written the way its size calls for."""
    if not export.large or fmt == "ods":
        return send_dataset(export, fmt)
    filename = f"{export.name}.{fmt}"
    if fmt == "xlsx":
        return send_xlsx(export, filename)
    response = stream_csv(export, filename)
    response.response = stream_with_context(response.response)  # rows read while sending
    return response


def send_xlsx(export: Export, filename: str) -> Response:
    """An .xlsx written row by row (app/reports/xlsx_stream.py) into a temporary file, then
    sent: memory stays flat for a hundred thousand lines."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (send_file closes it after the response)
    header = [neutralise_formula(h) for h in export.header()]
    copy = _postgres_copy(export, xml=True)
    if copy is not None:  # the sheet's rows written by PostgreSQL, compressed here
        write_xlsx_xml(out, export.title, header, copy())
    else:
        write_xlsx(out, export.title, header, export.cells())
    out.seek(0)
    return send_file(out, mimetype=MIMETYPES["xlsx"], as_attachment=True, download_name=filename)


def stream_csv(export: Export, filename: str) -> Response:
    """Large exports: the csv module row by row, never the whole file in memory; on PostgreSQL,
    an export whose cells are one SQL statement is written by the server itself (COPY)."""
    copy = _postgres_copy(export)

    def generate():
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";")
        buf.write("\ufeff")
        writer.writerow([neutralise_formula(h) for h in export.header()])
        if copy is not None:
            yield buf.getvalue()
            yield from copy()
            return
        for row in export.cells():
            writer.writerow(row)
            if buf.tell() > 65536:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
    return Response(generate(), mimetype=MIMETYPES["csv"],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _postgres_copy(export: Export, xml: bool = False):
    """A generator of the csv lines of `export.cell_statement()` written by PostgreSQL's COPY
    (100,000 lines in about the time of the query), or with xml=True of its rows as xlsx sheet
    XML (sql_cells.xml_row: one line each, nothing for COPY to quote); None where that does not
    apply. Values reach COPY through psycopg's client-side binding, never pasted into the SQL."""
    statement = getattr(export, "cell_statement", lambda: None)()
    if statement is None:
        return None
    from app.extensions import db
    dialect = db.session.get_bind().dialect
    if dialect.name != "postgresql":
        return None
    if xml:
        statement = sql_cells.xml_rows(statement)
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    # xml: csv format with a quote and a delimiter xml_row never leaves in a row (control
    # characters), so each row comes out as it is (text format would double its backslashes)
    options = (r"FORMAT csv, DELIMITER E'\002', QUOTE E'\001'" if xml
               else "FORMAT csv, DELIMITER ';'")
    sql = f"COPY ({compiled}) TO STDOUT WITH ({options})"

    def lines():
        # The connection is taken when the response is sent: the request may have committed
        # (and released its connection) after the view returned.
        raw = db.session.connection().connection.driver_connection
        chunk = bytearray()  # COPY hands one line at a time: sent in 64 KB pieces
        with raw.cursor() as cursor, cursor.copy(sql, compiled.params) as copy:
            for data in copy:
                chunk += data
                if len(chunk) > 65536:
                    yield bytes(chunk)
                    chunk.clear()
        yield bytes(chunk)
    return lines
