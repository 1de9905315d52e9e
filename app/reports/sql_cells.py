"""SQL twins of app/reports/exports.py `cell()`: the database writes the cells of very large
exports as text, so that Python only copies rows into the file (issue 9: 100,000 dossiers in
about a second instead of several). tests/test_scale.py checks they give the same text as cell().
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.formats import _FORMULA_STARTS


class _date_text(FunctionElement):
    """dd/mm/yyyy of a date or datetime (PostgreSQL's and SQLite's own formatting)."""
    type = sa.String()
    name = "date_text"
    inherit_cache = True
    formats = ("DD/MM/YYYY", "%d/%m/%Y")


class _datetime_text(_date_text):
    name = "datetime_text"
    inherit_cache = True
    formats = ("DD/MM/YYYY HH24:MI", "%d/%m/%Y %H:%M")


@compiles(_date_text, "postgresql")
def _format_pg(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, '{element.formats[0]}')"


@compiles(_date_text)
def _format_default(element, compiler, **kw):  # SQLite
    return f"strftime('{element.formats[1]}', {compiler.process(element.clauses, **kw)})"


# Stored in UTC, written in Paris time like app.formats.format_datetime_fr.
@compiles(_datetime_text, "postgresql")
def _format_pg_paris(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return (f"to_char(({value}) AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Paris', "
            f"'{element.formats[0]}')")


@compiles(_datetime_text)
def _format_default_paris(element, compiler, **kw):
    # SQLite has no time zones: the EU rule (summer time from the last Sunday of March to the
    # last Sunday of October, 01:00 UTC) written out.
    value = compiler.process(element.clauses, **kw)
    year = f"strftime('%Y', {value})"
    march = f"datetime(date({year} || '-04-01', 'weekday 0', '-7 days'), '+1 hour')"
    october = f"datetime(date({year} || '-11-01', 'weekday 0', '-7 days'), '+1 hour')"
    offset = (f"CASE WHEN datetime({value}) >= {march} AND datetime({value}) < {october} "
              "THEN '+2 hours' ELSE '+1 hour' END")
    return f"strftime('{element.formats[1]}', {value}, {offset})"


def text(expr):
    """A text cell: '' for NULL, a leading quote before what a spreadsheet would run."""
    return sa.case((sa.func.substr(expr, 1, 1).in_(list(_FORMULA_STARTS)), "'" + expr),
                   else_=sa.func.coalesce(expr, ""))


def code(expr):
    """A value the application itself writes (numbers, codes, labels of a Choices list): never a
    formula, only NULL to ''."""
    return sa.func.coalesce(expr, "")


def date(expr):
    """dd/mm/yyyy, '' for NULL (R-FMT-4)."""
    return sa.func.coalesce(_date_text(expr), "")


def datetime(expr):
    """dd/mm/yyyy HH:MM, '' for NULL (R-FMT-4)."""
    return sa.func.coalesce(_datetime_text(expr), "")


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


# Characters XML 1.0 cannot hold (C0 controls but tab, newline and carriage return): dropped,
# as xlsx_stream._ESCAPE drops them.
_XML_DROP = "".join(chr(c) for c in range(1, 32) if c not in (9, 10, 13))


def xml_row(exprs):
    """PostgreSQL: one `<row>` of an xlsx sheet (inline strings) from text cells, so that a large
    export's sheet is written by the database and Python only compresses it (issue 17: 17 s for
    333,334 lines when Python built each cell's XML). Cells carry no `r` reference (optional in
    SpreadsheetML: readers count the cells), an empty cell is `<c/>`. Newlines and carriage
    returns become character references: a row is then one line of COPY's output with nothing
    for COPY to quote."""
    # the cells are texts, '' for nothing; a NULL would blank the whole row's concatenation
    exprs = [sa.func.coalesce(expr, "") for expr in exprs]

    def row(escape):
        out = _pg("<row>")
        for expr in exprs:
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
    # cells chooses between the row as it is and the row escaped cell by cell (six functions a
    # cell: twice the time of the whole statement when applied to every cell).
    whole = exprs[0]
    for expr in exprs[1:]:
        whole = whole + expr
    return sa.case((whole.op("~")(_pg(f"[&<>\r\n{_XML_DROP}]")), row(True)), else_=row(False))


def xml_rows(statement):
    """The statement of text cells `statement` as one xlsx `<row>` per line (xml_row), its cells
    computed once in a subquery (xml_row reads each cell several times), in its order (a plain
    projection over an ordered subquery keeps its order in PostgreSQL)."""
    cells = statement.subquery("cellules")
    return sa.select(xml_row([cells.c[i] for i in range(len(cells.c))]))


def _pg(value: str):
    """A constant PostgreSQL text (E'…' literal, control characters as octal escapes so that the
    statement stays printable); only for the constants above, never user data."""
    body = "".join(f"\\{ord(ch):03o}" if ord(ch) < 32 or ch in "'\\" else ch for ch in value)
    return sa.literal_column(f"E'{body}'", sa.String())
