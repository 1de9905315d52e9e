"""Read what users have: xlsx, xls, ods, csv (`;` or `,`, UTF-8 or Windows-1252).

A table is the header row and the data rows as lists of Python values; dates stay dates where
the format keeps them, everything else is text or a number the columns module reads."""
import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass

from app.errors import RuleViolation

log = logging.getLogger(__name__)
MAX_ROWS = 20_000
FORMATS = ("xlsx", "xls", "ods", "csv")


@dataclass
class Table:
    headers: list[str]
    rows: list[list]  # data rows only, blank rows dropped; row i is line i + 2 of the file


def extension(filename: str) -> str:
    return (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""


def read_table(content: bytes, filename: str) -> Table:
    ext = extension(filename)
    if ext not in FORMATS:
        raise RuleViolation("Format non reconnu : déposez un fichier Excel (.xlsx, .xls), "
                            "OpenDocument (.ods) ou CSV (.csv).", field="fichier")
    if not content:
        raise RuleViolation("Le fichier est vide.", field="fichier")
    try:
        raw = {"xlsx": _xlsx, "xls": _xls, "ods": _ods, "csv": _csv}[ext](content)
    except RuleViolation:
        raise
    except Exception:  # noqa: BLE001 - every reader raises its own kinds on a damaged file
        raise RuleViolation(f"Le fichier n'a pas pu être lu comme un fichier .{ext} : "
                            "vérifiez son format.", field="fichier")
    raw = [[_clean(v) for v in row] for row in raw]
    raw = [row for row in raw if any(v not in (None, "") for v in row)]
    if not raw:
        raise RuleViolation("Le fichier ne contient aucune ligne.", field="fichier")
    headers = [str(h).strip() if h is not None else "" for h in raw[0]]
    while headers and not headers[-1]:
        headers.pop()
    rows = [(row + [None] * len(headers))[:len(headers)] for row in raw[1:]]
    if len(rows) > MAX_ROWS:
        raise RuleViolation(f"Le fichier compte {len(rows)} lignes : {MAX_ROWS} au plus par "
                            "import. Découpez-le.", field="fichier")
    return Table(headers, rows)


def _clean(value):
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _xlsx(content):
    try:
        from app.imports.xlsx_fast import rows
        return rows(content)
    except Exception:  # an unusual workbook: openpyxl reads it, or says why not
        log.info("Classeur lu par openpyxl (lecture directe impossible)", exc_info=True)
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        return [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()


def _xls(content):
    import xlrd
    book = xlrd.open_workbook(file_contents=content)
    sheet = book.sheet_by_index(0)
    out = []
    for r in range(sheet.nrows):
        row = []
        for cell in sheet.row(r):
            if cell.ctype == xlrd.XL_CELL_DATE:
                row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
            elif cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
                row.append(int(cell.value))
            else:
                row.append(cell.value)
        out.append(row)
    return out


def _ods(content):
    import tablib
    data = tablib.Dataset().load(io.BytesIO(content), format="ods", headers=False)
    return [list(row) for row in data]


def _csv(content):
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
