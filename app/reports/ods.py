"""An .ods of one sheet (odfpy, installed with tablib[ods]): tablib's own writer shows dates as
yyyy-mm-dd and leaves columns at their default width; here dates read dd/mm/yyyy and
date-times dd/mm/yyyy hh:mm in Paris time, as in the xlsx (app/reports/xlsx_stream.py), and the
columns are fitted the same way (header and first rows, 8 to 60 characters).
"""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

from odf import number, style, table, text
from odf.opendocument import OpenDocumentSpreadsheet

from app.formats import to_paris
from app.reports.xlsx_stream import (
    DATE_STYLE,
    DATETIME_STYLE,
    MAX_WIDTH,
    MIN_WIDTH,
    SAMPLE_ROWS,
    SHOWN_WIDTH,
)

CM_PER_CHARACTER = 0.21  # a character of the default 10-point font, and a margin


def _date_style(name: str, with_time: bool):
    data = number.DateStyle(name=name)
    for part in (number.Day(style="long"), number.Text(text="/"), number.Month(style="long"),
                 number.Text(text="/"), number.Year(style="long")):
        data.addElement(part)
    if with_time:
        for part in (number.Text(text=" "), number.Hours(style="long"), number.Text(text=":"),
                     number.Minutes(style="long")):
            data.addElement(part)
    return data


def write_ods(title: str, header: list, rows: Iterable) -> bytes:
    """The sheet of `header` and `rows` (exports.cell() cells) as .ods bytes."""
    book = OpenDocumentSpreadsheet()
    bold = style.Style(name="entete", family="table-cell")
    bold.addElement(style.TextProperties(fontweight="bold"))
    book.automaticstyles.addElement(bold)
    styles = {}
    for key, name, with_time in (("date", "date-fr", False), ("datetime", "datetime-fr", True)):
        book.styles.addElement(_date_style(name, with_time))
        styles[key] = style.Style(name=f"{name}-cellule", family="table-cell",
                                  datastylename=name)
        book.automaticstyles.addElement(styles[key])
    rows = [list(row) for row in rows]
    sheet = table.Table(name=title[:31] or "Feuille1")
    for n, width in enumerate(_widths(header, rows[:SAMPLE_ROWS])):
        column = style.Style(name=f"colonne{n}", family="table-column")
        column.addElement(style.TableColumnProperties(
            columnwidth=f"{width * CM_PER_CHARACTER:.2f}cm"))
        book.automaticstyles.addElement(column)
        sheet.addElement(table.TableColumn(stylename=column))
    line = table.TableRow()
    for value in header:
        cell = table.TableCell(valuetype="string", stylename=bold)
        cell.addElement(text.P(text=str(value)))
        line.addElement(cell)
    sheet.addElement(line)
    for row in rows:
        line = table.TableRow()
        for value in row:
            line.addElement(_cell(value, styles))
        sheet.addElement(line)
    book.spreadsheet.addElement(sheet)
    out = io.BytesIO()
    book.write(out)
    return out.getvalue()


def _cell(value, styles):
    if value is None or value == "":
        return table.TableCell()
    if isinstance(value, dt.datetime):
        local = to_paris(value)
        cell = table.TableCell(valuetype="date", datevalue=local.strftime("%Y-%m-%dT%H:%M:%S"),
                               stylename=styles["datetime"])
        shown = local.strftime("%d/%m/%Y %H:%M")
    elif isinstance(value, dt.date):
        cell = table.TableCell(valuetype="date", datevalue=value.isoformat(),
                               stylename=styles["date"])
        shown = value.strftime("%d/%m/%Y")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        cell = table.TableCell(valuetype="float", value=value)
        shown = repr(value)  # the value; the display follows the reader's locale
    else:
        cell = table.TableCell(valuetype="string")
        shown = str(value)
    cell.addElement(text.P(text=shown))
    return cell


def _widths(header: list, sample: list[list]) -> list[int]:
    widths = [len(str(h)) + 2 for h in header]
    for row in sample:
        for i, value in enumerate(row[:len(widths)]):
            if isinstance(value, dt.datetime):
                width = SHOWN_WIDTH[DATETIME_STYLE]
            elif isinstance(value, dt.date):
                width = SHOWN_WIDTH[DATE_STYLE]
            else:
                width = max((len(part) for part in str(value).splitlines()), default=0)
            widths[i] = max(widths[i], width + 1)
    return [min(MAX_WIDTH, max(MIN_WIDTH, w)) for w in widths]
