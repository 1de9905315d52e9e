"""A one-sheet .xlsx written row by row, for every export (issue 9, issue 16).

XlsxWriter in constant-memory mode spends about 15 µs per cell in Python (17 s for 100,000
dossiers × 16 columns here); a sheet of inline strings needs only the cell XML, built with
C-level string operations, and a zip stream: about 3 s, in flat memory. The package holds the
five parts a spreadsheet needs (content types, relations, workbook, styles, the sheet). Numbers
are numbers; dates and date-times are real ones (a serial number and the style dd/mm/yyyy or
dd/mm/yyyy hh:mm, date-times in Paris time); every other value is text (exports.cell(): already
in French and neutralised). The columns are fitted to the header and the first rows.
"""
from __future__ import annotations

import datetime as dt
import html
import itertools
import re
import zipfile
from collections.abc import Iterable
from typing import IO

from app.formats import to_paris

_CONTROL = {c: None for c in range(32) if c not in (9, 10, 13)}
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", **_CONTROL})

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
{sheets}<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets>{sheets}</sheets>
</workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId0" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
{sheets}
</Relationships>"""
STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="dd/mm/yyyy hh:mm"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
SHEET_START = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
               'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
               'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>')
SHEET_END = "</sheetData></worksheet>"
SHEET_TYPE = ('<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
              'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\n')
SHEET_ENTRY = '<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
SHEET_REL = ('<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/'
             '2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>\n')
# Styles of STYLES' cellXfs: a date, a date-time (sql_cells.xml_row writes the same numbers).
DATE_STYLE, DATETIME_STYLE = "2", "3"
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 0 (1900 date system, its leap-year bug included)
# Column widths in characters: from the header and the first rows, within these bounds.
SAMPLE_ROWS, MIN_WIDTH, MAX_WIDTH = 100, 8, 60
SHOWN_WIDTH = {DATE_STYLE: 10, DATETIME_STYLE: 16}  # dd/mm/yyyy, dd/mm/yyyy hh:mm


def _xml_text(value: str) -> str:
    return value.translate(_ESCAPE)


def _sheet_names(titles: list[str]) -> list[str]:
    """Names a spreadsheet accepts: no []:*?/\\, at most 31 characters, each once."""
    names = []
    for n, title in enumerate(titles, start=1):
        name = "".join(ch for ch in title if ch not in '[]:*?/\\')[:31] or f"Feuille{n}"
        if name.lower() in (x.lower() for x in names):
            name = f"{name[:27]} ({n})"
        names.append(name)
    return [_xml_text(name).replace('"', "&quot;") for name in names]


def write_xlsx(out: IO[bytes], title: str, header: list, rows: Iterable) -> None:
    """Write the workbook into the binary file `out` (left open)."""
    write_sheets(out, [(title, header, rows)])


def write_sheets(out: IO[bytes], sheets: list[tuple[str, list, Iterable]]) -> None:
    """A workbook of several sheets, each (title, header, rows of cells)."""
    write_workbook(out, [(title, header, _body(rows)) for title, header, rows in sheets])


def write_xlsx_xml(out: IO[bytes], title: str, header: list, body: Iterable[bytes]) -> None:
    """Write the workbook whose data rows are given as ready `<row>` XML (UTF-8 pieces, written
    by PostgreSQL for the largest exports: app/reports/sql_cells.xml_row), after the header."""
    write_workbook(out, [(title, header, body)])


def _body(rows: Iterable) -> Iterable[bytes]:
    parts, size = [], 0
    for row in rows:
        line = _row(row)
        parts.append(line)
        size += len(line)
        # the first rows alone first, so that the columns are fitted without waiting
        if size > 1 << 20 or len(parts) == SAMPLE_ROWS:
            yield "".join(parts).encode("utf-8")
            parts, size = [], 0
    yield "".join(parts).encode("utf-8")


def write_workbook(out: IO[bytes], sheets: list[tuple[str, list, Iterable[bytes]]]) -> None:
    """The package: each sheet (title, header, its `<row>` XML pieces) written as it comes."""
    numbers = range(1, len(sheets) + 1)
    names = _sheet_names([title for title, _, _ in sheets])
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES.format(
            sheets="".join(SHEET_TYPE.format(n=n) for n in numbers)))
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK.format(sheets="".join(
            SHEET_ENTRY.format(name=name, n=n) for n, name in zip(numbers, names))))
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(
            sheets="".join(SHEET_REL.format(n=n) for n in numbers)))
        book.writestr("xl/styles.xml", STYLES)
        for n, (_, header, body) in zip(numbers, sheets):
            sample, body = _sample(body)
            with book.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as sheet:
                head = _row(header).replace("<c ", '<c s="1" ', len(header))
                sheet.write((SHEET_START + _cols(header, sample) + "<sheetData>"
                             + head).encode("utf-8"))
                for piece in body:
                    sheet.write(piece)
                sheet.write(SHEET_END.encode("utf-8"))


def _row(values) -> str:
    """One `<row>` as sql_cells.xml_row writes it: no references (readers count the cells),
    `<c/>` for an empty cell."""
    cells = []
    for value in values:
        kind = type(value)
        if kind is str:
            cells.append('<c t="inlineStr"><is><t xml:space="preserve">'
                         f'{value.translate(_ESCAPE)}</t></is></c>' if value else "<c/>")
        elif kind is int or kind is float:
            cells.append(f"<c><v>{value!r}</v></c>")
        elif value is None:
            cells.append("<c/>")
        elif isinstance(value, dt.datetime):
            cells.append(f'<c s="{DATETIME_STYLE}"><v>{serial(value)!r}</v></c>')
        elif isinstance(value, dt.date):
            cells.append(f'<c s="{DATE_STYLE}"><v>{(value - EXCEL_EPOCH).days}</v></c>')
        elif isinstance(value, (int, float)):
            cells.append(f"<c><v>{value!r}</v></c>")
        else:
            cells.append('<c t="inlineStr"><is><t xml:space="preserve">'
                         f'{str(value).translate(_ESCAPE)}</t></is></c>')
    return f'<row>{"".join(cells)}</row>'


def serial(value: dt.datetime) -> float:
    """A stored (UTC) date-time as Excel's serial number of its Paris wall-clock time."""
    local = to_paris(value)
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    return round((local.date() - EXCEL_EPOCH).days + seconds / 86400, 10)  # as sql_cells


def _sample(body: Iterable[bytes]) -> tuple[bytes, Iterable[bytes]]:
    """The first SAMPLE_ROWS rows of `body` (complete rows) and the whole body again."""
    body = iter(body)
    head, rows = [], 0
    for piece in body:
        head.append(piece)
        rows += piece.count(b"</row>")
        if rows >= SAMPLE_ROWS:
            break
    data = b"".join(head)
    end, count = 0, 0
    while count < SAMPLE_ROWS:
        found = data.find(b"</row>", end)
        if found < 0:
            break
        end, count = found + 6, count + 1
    return data[:end], itertools.chain(head, body)


_CELL = re.compile(r'<c(?: s="(\d+)")?(?: t="inlineStr")?(?:/>|><v>([^<]*)</v></c>|'
                   r'><is><t xml:space="preserve">([^<]*)</t></is></c>)')


def _cols(header: list, sample: bytes) -> str:
    """`<cols>`: each column as wide as its header or its longest value among the sampled rows
    (the longest line of a text), within MIN_WIDTH and MAX_WIDTH characters."""
    widths = [len(str(h)) + 2 for h in header]  # the header is bold
    for row in sample.decode("utf-8").split("</row>"):
        for i, (style, number, text) in enumerate(_CELL.findall(row)[:len(widths)]):
            if style in SHOWN_WIDTH:
                width = SHOWN_WIDTH[style]
            elif text:
                width = max(len(line) for line in html.unescape(text).splitlines() or [""])
            else:
                width = len(number)
            widths[i] = max(widths[i], width + 1)
    return "<cols>" + "".join(
        f'<col min="{n}" max="{n}" width="{min(MAX_WIDTH, max(MIN_WIDTH, w))}" customWidth="1"/>'
        for n, w in enumerate(widths, start=1)) + "</cols>"
