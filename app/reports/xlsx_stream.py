"""A one-sheet .xlsx written row by row, for exports of a hundred thousand lines (issue 9).

XlsxWriter in constant-memory mode spends about 15 µs per cell in Python (17 s for 100,000
dossiers × 16 columns here); a sheet of inline strings needs only the cell XML, built with
C-level string operations, and a zip stream: about 3 s, in flat memory. The package holds the
five parts a spreadsheet needs (content types, relations, workbook, styles, the sheet); numbers
are numbers, every other value is text (the cells come from exports.cell(), already in French
and neutralised).
"""
from __future__ import annotations

import zipfile
from collections.abc import Iterable
from typing import IO

_CONTROL = {c: None for c in range(32) if c not in (9, 10, 13)}
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", **_CONTROL})

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""
STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>
</styleSheet>"""
SHEET_START = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
               'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
               'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>')
SHEET_END = "</sheetData></worksheet>"


def column_letters(count: int) -> list[str]:
    out = []
    for i in range(count):
        name, n = "", i + 1
        while n:
            n, rest = divmod(n - 1, 26)
            name = chr(65 + rest) + name
        out.append(name)
    return out


def _xml_text(value: str) -> str:
    return value.translate(_ESCAPE)


def _sheet_name(title: str) -> str:
    name = "".join(ch for ch in title if ch not in '[]:*?/\\')[:31] or "Feuille1"
    return _xml_text(name).replace('"', "&quot;")


def write_xlsx(out: IO[bytes], title: str, header: list, rows: Iterable) -> None:
    """Write the workbook into the binary file `out` (left open)."""
    letters = column_letters(len(header))

    def body():
        parts, size = [], 0
        for n, row in enumerate(rows, start=2):
            line = _row(n, letters, row, "")
            parts.append(line)
            size += len(line)
            if size > 1 << 20:
                yield "".join(parts).encode("utf-8")
                parts, size = [], 0
        yield "".join(parts).encode("utf-8")
    write_xlsx_xml(out, title, header, body())


def write_xlsx_xml(out: IO[bytes], title: str, header: list, body: Iterable[bytes]) -> None:
    """Write the workbook whose data rows are given as ready `<row>` XML (UTF-8 pieces, written
    by PostgreSQL for the largest exports: app/reports/sql_cells.xml_row), after the header."""
    letters = column_letters(len(header))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK.format(name=_sheet_name(title)))
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/styles.xml", STYLES)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((SHEET_START + _row(1, letters, header, ' s="1"')).encode("utf-8"))
            for piece in body:
                sheet.write(piece)
            sheet.write(SHEET_END.encode("utf-8"))


def _row(n: int, letters: list[str], values, style: str) -> str:
    cells = []
    for letter, value in zip(letters, values):
        if value is None or value == "":
            continue
        kind = type(value)
        if kind is int or kind is float:
            cells.append(f'<c r="{letter}{n}"{style}><v>{value!r}</v></c>')
        else:
            cells.append(f'<c r="{letter}{n}"{style} t="inlineStr"><is><t xml:space="preserve">'
                         f'{str(value).translate(_ESCAPE)}</t></is></c>')
    return f'<row r="{n}">{"".join(cells)}</row>'
