"""The first sheet of an .xlsx read straight from its XML with lxml: the values openpyxl's
read-only mode gives (numbers, text, booleans, dates where the cell's format is a date), at about
a fifth of its cost — openpyxl builds an object per cell, ≈ 1 ms a row of 25 cells, which was
half of a 10,000-row preview. Anything unusual (no lxml, a part missing) is left to openpyxl."""
import posixpath
import zipfile
from datetime import datetime
from io import BytesIO

from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _column(ref: str) -> int:
    index = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            index = index * 26 + ord(ch) - 64
        else:
            break
    return index - 1


def _text(element) -> str:
    """A string item: its runs' text, without the phonetic guides (rPh)."""
    return "".join(t.text or "" for t in element.iter(f"{NS}t")
                   if t.getparent().tag != f"{NS}rPh")


def _first_sheet(z) -> str:
    book = etree.fromstring(z.read("xl/workbook.xml"))
    rid = book.find(f"{NS}sheets/{NS}sheet").get(REL)
    rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
        posixpath.join("xl", target))


def _date_styles(z) -> set:
    """Indexes of the cell formats that show a date (as openpyxl decides it)."""
    if "xl/styles.xml" not in z.namelist():
        return set()
    styles = etree.fromstring(z.read("xl/styles.xml"))
    codes = dict(BUILTIN_FORMATS)
    for fmt in styles.iterfind(f"{NS}numFmts/{NS}numFmt"):
        codes[int(fmt.get("numFmtId"))] = fmt.get("formatCode")
    xfs = styles.find(f"{NS}cellXfs")
    return {i for i, xf in enumerate(xfs if xfs is not None else [])
            if is_date_format(codes.get(int(xf.get("numFmtId", 0)), "General"))}


def rows(content: bytes) -> list[list]:
    with zipfile.ZipFile(BytesIO(content)) as z:
        book = etree.fromstring(z.read("xl/workbook.xml"))
        pr = book.find(f"{NS}workbookPr")
        epoch = CALENDAR_MAC_1904 if pr is not None and pr.get("date1904") in ("1", "true") \
            else CALENDAR_WINDOWS_1900
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            for _, si in etree.iterparse(z.open("xl/sharedStrings.xml"), tag=f"{NS}si"):
                shared.append(_text(si))
                si.clear()
        dates = _date_styles(z)
        out = []
        for _, row in etree.iterparse(z.open(_first_sheet(z)), tag=f"{NS}row"):
            number = int(row.get("r") or len(out) + 1)
            out.extend([] for _ in range(number - 1 - len(out)))  # rows the file leaves out
            values = []
            for position, c in enumerate(row.iterfind(f"{NS}c")):
                ref = c.get("r")
                index = _column(ref) if ref else position
                kind, v = c.get("t", "n"), c.findtext(f"{NS}v")
                if kind == "inlineStr":
                    inline = c.find(f"{NS}is")
                    value = _text(inline) if inline is not None else None
                elif not v:  # no value, or a formula never computed
                    value = None
                elif kind == "s":
                    value = shared[int(v)]
                elif kind == "b":
                    value = v == "1"
                elif kind == "d":
                    value = datetime.fromisoformat(v.rstrip("Z"))
                elif kind in ("str", "e"):
                    value = v
                else:
                    value = float(v) if any(ch in v for ch in ".eE") else int(v)
                    if int(c.get("s", 0)) in dates:
                        value = from_excel(value, epoch)
                values.extend([None] * (index - len(values)))
                values.append(value)
            out.append(values)
            row.clear()
        return out
