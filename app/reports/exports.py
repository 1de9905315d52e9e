"""Exports: one class per export, a header and rows; the base builds the file (DESIGN practice 10).

Four formats (FORMATS): « xlsx » (real dates and date-times in Paris time, numbers as numbers,
columns fitted: app/reports/xlsx_stream.py), « csv » for French Excel (';', UTF-8 BOM, decimal
comma, dates dd/mm/yyyy and Paris times), « csv-brut » for machines (',', no BOM, '.' decimals,
ISO 8601 dates and UTC date-times written with their offset, 2025-03-14T08:29:00+00:00) and « ods »
(app/reports/ods.py, as the xlsx). A row's values become typed cells (cell()): texts neutralised,
dates and date-times kept; each format then writes them its way (csv_text, xlsx_stream, ods).

`send_export` chooses how a file is written: a `large` export (a list of dossiers, up to 100,000
lines) is streamed, the csv row by row and the sheet row by row — tablib held the whole sheet in
memory (474 MB and 14 s for 100,000 lines × 10 columns, issue 9) where these stay flat (the ods
alone is built in memory); on PostgreSQL an export whose cells are one SQL statement is written
by the server itself (COPY).
"""
import csv
import datetime as dt
import io
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable
from decimal import Decimal

from flask import Response, send_file, stream_with_context

from app.formats import _FORMULA_STARTS, format_datetime_fr, neutralise_formula
from app.reports import sql_cells
from app.reports.ods import write_ods
from app.reports.xlsx_stream import write_xlsx, write_xlsx_xml

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "csv-brut": "text/csv; charset=utf-8",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
FORMATS = tuple(MIMETYPES)
EXTENSIONS = {"csv-brut": "csv"}
# csv: the separator and the first characters of the file
CSV_DIALECTS = {"csv": (";", "\ufeff"), "csv-brut": (",", "")}


def filename(export, fmt: str) -> str:
    suffix = "-brut" if fmt == "csv-brut" else ""
    return f"{export.name}{suffix}.{EXTENSIONS.get(fmt, fmt)}"


def cell(value):
    """The value as a typed spreadsheet cell: texts neutralised, booleans Oui/Non, numbers,
    dates and date-times (stored UTC) kept for the format to write. Called for every cell of
    100,000-line exports: the common types are tested first."""
    kind = type(value)
    if kind is str:
        return "'" + value if value[:1] in _FORMULA_FIRST else value
    if value is None:
        return ""
    if kind is int or kind is float or kind is dt.date or kind is dt.datetime:
        return value
    if kind is bool:
        return "Oui" if value else "Non"
    if kind is Decimal:
        return float(value)
    if isinstance(value, (int, float, dt.date)):
        return value
    return neutralise_formula(str(value))


_FORMULA_FIRST = frozenset(_FORMULA_STARTS)


def _utc_iso(value: dt.datetime) -> str:
    value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="seconds")


def csv_text(value, fmt: str = "csv"):
    """A cell (cell()) as the text of a csv: French (« csv ») or for machines (« csv-brut »).
    Called for every cell that is not a text: the common types are tested first."""
    kind = type(value)
    if kind is str or kind is int:
        return value
    if value is None:
        return ""
    french = fmt == "csv"
    if kind is dt.datetime or isinstance(value, dt.datetime):
        return format_datetime_fr(value) if french else _utc_iso(value)
    if kind is dt.date or isinstance(value, dt.date):
        return (f"{value.day:02d}/{value.month:02d}/{value.year:04d}" if french
                else value.isoformat())
    if kind is float or isinstance(value, float):
        return repr(value).replace(".", ",") if french else repr(value)
    return value


def text(value) -> str:
    """A value as a person reads it in a document (the French csv's text)."""
    return str(csv_text(cell(value)))


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
        """The rows as typed spreadsheet cells (see cell())."""
        for row in self.rows():
            yield [cell(v) for v in row]

    def heading(self) -> list[str]:
        return [neutralise_formula(h) for h in self.header()]


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


def _csv_lines(export: Export, fmt: str, rows: Iterable) -> Iterable[str]:
    """The csv text in pieces of about 64 KB, header first."""
    delimiter, start = CSV_DIALECTS[fmt]
    buf = io.StringIO()
    # lines end with '\n' as COPY's do (Excel reads both), one way in a file
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    buf.write(start)
    writer.writerow(export.heading())
    for row in rows:
        # texts (most cells) as they are, without a call
        writer.writerow([v if type(v) is str else csv_text(v, fmt) for v in row])
        if buf.tell() > 65536:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def render(export: Export, fmt: str) -> bytes:
    """The whole file in memory (small exports)."""
    if fmt in CSV_DIALECTS:
        return "".join(_csv_lines(export, fmt, export.cells())).encode("utf-8")
    if fmt == "xlsx":
        out = io.BytesIO()
        write_xlsx(out, export.title, export.heading(), export.cells())
        return out.getvalue()
    return write_ods(export.title, export.heading(), export.cells())


def send_dataset(export: Export, fmt: str) -> Response:
    body = render(export, fmt)
    return Response(body, mimetype=MIMETYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename(export, fmt)}"'})


def send_export(export: Export, fmt: str) -> Response:
    """The file of an export in `fmt` (FORMATS), written the way its size calls for."""
    if not export.large or fmt == "ods":
        return send_dataset(export, fmt)
    if fmt == "xlsx":
        return send_xlsx(export, filename(export, fmt))
    response = stream_csv(export, fmt)
    response.response = stream_with_context(response.response)  # rows read while sending
    return response


def send_xlsx(export: Export, name: str) -> Response:
    """An .xlsx written row by row (app/reports/xlsx_stream.py) into a temporary file, then
    sent: memory stays flat for a hundred thousand lines."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (send_file closes it after the response)
    copy = _postgres_copy(export, "xlsx")
    if copy is not None:  # the sheet's rows written by PostgreSQL, compressed here
        write_xlsx_xml(out, export.title, export.heading(), copy())
    else:
        write_xlsx(out, export.title, export.heading(), export.cells())
    out.seek(0)
    return send_file(out, mimetype=MIMETYPES["xlsx"], as_attachment=True, download_name=name)


def stream_csv(export: Export, fmt: str = "csv") -> Response:
    """Large exports: the csv module row by row, never the whole file in memory; on PostgreSQL,
    an export whose cells are one SQL statement is written by the server itself (COPY)."""
    copy = _postgres_copy(export, fmt)

    def generate():
        if copy is None:
            yield from _csv_lines(export, fmt, export.cells())
            return
        yield from _csv_lines(export, fmt, ())
        yield from copy()
    return Response(generate(), mimetype=MIMETYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename(export, fmt)}"'})


def _postgres_copy(export: Export, fmt: str):
    """A generator of the lines of `export.cell_statement()` in `fmt` written by PostgreSQL's
    COPY (100,000 lines in about the time of the query): the csv lines, or for xlsx the rows
    of the sheet's XML (sql_cells.xml_row: one line each, nothing for COPY to quote); None
    where that does not apply. Values reach COPY through psycopg's client-side binding, never
    pasted into the SQL."""
    statement = getattr(export, "cell_statement", lambda: None)()
    if statement is None:
        return None
    from app.extensions import db
    dialect = db.session.get_bind().dialect
    if dialect.name != "postgresql":
        return None
    if fmt == "xlsx":
        statement = sql_cells.xml_rows(statement)
        # csv format with a quote and a delimiter xml_row never leaves in a row (control
        # characters), so each row comes out as it is (text format would double its backslashes)
        options = r"FORMAT csv, DELIMITER E'\002', QUOTE E'\001'"
    else:
        statement = sql_cells.csv_cells(statement, french=fmt == "csv")
        options = f"FORMAT csv, DELIMITER '{CSV_DIALECTS[fmt][0]}'"
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
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
