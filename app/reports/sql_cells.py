"""SQL twins of app/reports/exports.py `cell()`: the database writes the cells of very large
exports, so that Python only copies rows into the file (issue 9: 100,000 dossiers in about a
second instead of several). A cell statement's columns are typed cells like cell()'s: texts
('' for nothing), dates (date()), date-times stored in UTC (datetime()) and numbers (number());
on PostgreSQL, csv_cells() and xml_rows() then write them in the format asked (French csv, plain
csv, xlsx sheet rows) as exports.csv_text() and xlsx_stream do; elsewhere Python writes them.
tests/test_scale.py and tests/test_exports_format.py check both give the same file.
"""
from __future__ import annotations

import sqlalchemy as sa

from app.formats import _FORMULA_STARTS
from app.reports.xlsx_stream import DATE_STYLE, DATETIME_STYLE, EXCEL_EPOCH

UNIX_EPOCH = EXCEL_EPOCH.replace(year=1970, month=1, day=1)
_EPOCH = sa.literal_column(f"DATE '{EXCEL_EPOCH.isoformat()}'", sa.Date)


def text(expr):
    """A text cell: '' for NULL, a leading quote before what a spreadsheet would run."""
    return sa.case((sa.func.substr(expr, 1, 1).in_(list(_FORMULA_STARTS)), "'" + expr),
                   else_=sa.func.coalesce(expr, ""))


def code(expr):
    """A value the application itself writes (numbers, codes, labels of a Choices list): never a
    formula, only NULL to ''."""
    return sa.func.coalesce(expr, "")


def date(expr):
    """A date cell (NULL: empty), R-FMT-4 (dd/mm/yyyy in the French csv and the sheet)."""
    return sa.type_coerce(expr, sa.Date)


def datetime(expr):
    """A date-time cell stored in UTC (NULL: empty), shown in Paris time (R-FMT-4)."""
    return sa.type_coerce(expr, sa.DateTime)


def number(expr):
    """A number cell (NULL: empty); a decimal comma in the French csv. Read as a float, as
    exports.cell() gives a Decimal."""
    return sa.type_coerce(expr, sa.Float)


def label(expr, choices):
    """The French label of a code column (Choices), the code itself when unknown."""
    return sa.func.coalesce(sa.case(*[(expr == code, lbl) for code, lbl in choices],
                                    else_=expr), "")


def joined(separator: str, *exprs):
    """The non-empty values joined by `separator` (Python's separator.join(x for x in … if x))."""
    parts = [sa.func.nullif(e, "") for e in exprs]
    out = parts[0]
    for part in parts[1:]:
        out = sa.case((out.is_(None), part), (part.is_(None), out), else_=out + separator + part)
    return sa.func.coalesce(out, "")


def _kind(expr) -> str:
    kind = expr.type
    if isinstance(kind, sa.DateTime):
        return "datetime"
    if isinstance(kind, sa.Date):
        return "date"
    if isinstance(kind, sa.Integer):
        return "integer"
    if isinstance(kind, (sa.Numeric, sa.Float)):  # two classes in SQLAlchemy 2.1
        return "decimal"
    return "text"


def _paris(expr):
    """A stored UTC time as the Paris wall-clock time (app.formats.to_paris)."""
    return sa.func.timezone("Europe/Paris", sa.func.timezone("UTC", expr))


# PostgreSQL: each typed cell as the text of a csv (exports.csv_text)
_FRENCH = {
    "date": lambda e: sa.func.to_char(e, "DD/MM/YYYY"),
    "datetime": lambda e: sa.func.to_char(_paris(e), "DD/MM/YYYY HH24:MI"),
    "decimal": lambda e: sa.func.replace(sa.cast(e, sa.Text), ".", ","),
}
_PLAIN = {  # ISO 8601, UTC with its offset (Python's isoformat)
    "date": lambda e: sa.func.to_char(e, "YYYY-MM-DD"),
    "datetime": lambda e: sa.func.to_char(e, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
}


def csv_cells(statement, french: bool = True):
    """PostgreSQL: the statement of typed cells as the texts of the French csv (dd/mm/yyyy,
    Paris times, decimal comma) or of the plain one (ISO 8601, UTC, '.')."""
    writers = _FRENCH if french else _PLAIN
    cells = statement.subquery("cellules")
    out = []
    for column in cells.c:
        write = writers.get(_kind(column))
        out.append(write(column) if write else column)
    return sa.select(*out)


# Characters XML 1.0 cannot hold (C0 controls but tab, newline and carriage return): dropped,
# as xlsx_stream._ESCAPE drops them.
_XML_DROP = "".join(chr(c) for c in range(1, 32) if c not in (9, 10, 13))


def xml_row(exprs):
    """PostgreSQL: one `<row>` of an xlsx sheet from typed cells, as xlsx_stream._row writes it,
    so that a large export's sheet is written by the database and Python only compresses it
    (issue 17: 17 s for 333,334 lines when Python built each cell's XML). Cells carry no `r`
    reference (optional in SpreadsheetML: readers count the cells), an empty cell is `<c/>`;
    texts are inline strings, numbers numbers, dates and date-times (in Paris time) serial
    numbers with their style. Newlines and carriage returns become character references: a row
    is then one line of COPY's output with nothing for COPY to quote."""
    kinds = [_kind(expr) for expr in exprs]
    # the text cells are texts, '' for nothing; a NULL would blank the whole row's concatenation
    exprs = [sa.func.coalesce(expr, "") if kind == "text" else expr
             for expr, kind in zip(exprs, kinds)]

    def row(escape):
        out = _pg("<row>")
        for expr, kind in zip(exprs, kinds):
            if kind != "text":
                out = out + _xml_value(expr, kind)
                continue
            value = expr
            if escape:
                value = sa.func.translate(value, _pg(_XML_DROP), "")
                for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"),
                                     ("\n", "&#10;"), ("\r", "&#13;")):
                    value = sa.func.replace(value, _pg(char), _pg(entity))
            out = out + sa.case((expr == "", _pg("<c/>")),
                                else_=_pg('<c t="inlineStr"><is><t xml:space="preserve">')
                                + value + _pg("</t></is></c>"))
        return out + _pg("</row>")
    # Most rows hold none of the characters to escape: one regular expression over the row's
    # text cells chooses between the row as it is and the row escaped cell by cell (six
    # functions a cell: twice the time of the whole statement when applied to every cell).
    texts = [expr for expr, kind in zip(exprs, kinds) if kind == "text"]
    if not texts:
        return row(False)
    whole = texts[0]
    for expr in texts[1:]:
        whole = whole + expr
    return sa.case((whole.op("~")(_pg(f"[&<>\r\n{_XML_DROP}]")), row(True)), else_=row(False))


def _xml_value(expr, kind):
    """`<c>` of a number, a date or a date-time: the serial number of its (Paris) day and time,
    rounded to 1e-10 day (9 µs), in the date styles of xlsx_stream."""
    if kind == "date":
        value, style = expr - _EPOCH, f' s="{DATE_STYLE}"'
    elif kind == "datetime":  # seconds since 1970-01-01 (a Paris wall-clock time read as UTC)
        days = sa.extract("epoch", _paris(expr)) / 86400 + (UNIX_EPOCH - EXCEL_EPOCH).days
        value, style = sa.func.round(days, 10), f' s="{DATETIME_STYLE}"'
    else:
        value, style = expr, ""
    return sa.case((expr.is_(None), _pg("<c/>")),
                   else_=_pg(f"<c{style}><v>") + sa.cast(value, sa.Text) + _pg("</v></c>"))


def xml_rows(statement):
    """The statement of typed cells `statement` as one xlsx `<row>` per line (xml_row), its cells
    computed once in a subquery (xml_row reads each cell several times), in its order (a plain
    projection over an ordered subquery keeps its order in PostgreSQL)."""
    cells = statement.subquery("cellules")
    return sa.select(xml_row([cells.c[i] for i in range(len(cells.c))]))


def _pg(value: str):
    """A constant PostgreSQL text (E'…' literal, control characters as octal escapes so that the
    statement stays printable); only for the constants above, never user data."""
    body = "".join(f"\\{ord(ch):03o}" if ord(ch) < 32 or ch in "'\\" else ch for ch in value)
    return sa.literal_column(f"E'{body}'", sa.String())
