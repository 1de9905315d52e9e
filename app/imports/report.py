"""Spreadsheets given back to the user: the template of an import (French headers, an example
row, the accepted codes) and the error report — the file as sent, with an « Erreurs » column and
the faulty cells coloured, to fix and upload again."""
import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from app.imports.columns import ERRORS_HEADER

RED = PatternFill("solid", fgColor="F8D7DA")
BOLD = Font(bold=True)


def _save(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template(columns, codes) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Import"
    ws.append([c.header for c in columns])
    ws.append([c.example for c in columns])
    for cell in ws[1]:
        cell.font = BOLD
    for index, col in enumerate(columns, start=1):
        ws.column_dimensions[ws.cell(1, index).column_letter].width = max(14, len(col.header) + 2)
        if col.required:
            ws.cell(1, index).comment = Comment("Colonne obligatoire.", "OpenCertif")
        if col.kind in ("digits", "date"):  # kept as typed: no lost leading zero, no US date
            for row in (1, 2):
                ws.cell(row, index).number_format = "@"
    sheet = wb.create_sheet("Codes acceptés")
    for title, pairs in codes:
        sheet.append([title])
        sheet.cell(sheet.max_row, 1).font = BOLD
        for pair in pairs:
            sheet.append(list(pair))
        sheet.append([])
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 70
    return _save(wb)


def error_report(sheet, results, labels: dict) -> bytes:
    """`sheet`: the file as read (app/imports/process.Sheet); `results`: per row, its errors."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Import"
    kept = [i for i, h in enumerate(sheet.headers) if h != ERRORS_HEADER]
    ws.append([sheet.headers[i] for i in kept] + [ERRORS_HEADER])
    for cell in ws[1]:
        cell.font = BOLD
    column_of = {key: kept.index(index) + 1 for key, index in sheet.matching.by_key.items()
                 if index in kept}
    for row, result in zip(sheet.rows, results):
        ws.append([row[i] for i in kept] + [message_of(result, labels)])
        for key, message in result["erreurs"].items():
            if key in column_of:
                cell = ws.cell(ws.max_row, column_of[key])
                cell.fill = RED
                cell.comment = Comment(message, "OpenCertif")
    ws.column_dimensions[ws.cell(1, len(kept) + 1).column_letter].width = 80
    return _save(wb)


def message_of(result, labels: dict) -> str:
    """The « Erreurs » cell: each error after the header of its column."""
    parts = [f"{labels[key]} : {message}" if key in labels else message
             for key, message in result["erreurs"].items()]
    if not parts and result.get("deja"):
        return f"Déjà importée ({result['deja']})."
    return " ; ".join(parts)
