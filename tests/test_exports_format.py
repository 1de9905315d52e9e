"""Issue 16 item 5: xlsx with real dates, Paris date-times and fitted columns; a csv for French
Excel (';', UTF-8 BOM, decimal comma, dd/mm/yyyy) and a plain csv for machines (',', no BOM, '.',
ISO 8601, UTC with its offset). Small exports (Python, tablib for ods), large ones streamed, and
on PostgreSQL the large ones written by COPY: every path gives the same cells."""
import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa
import tablib

from app.reports import sql_cells as cells
from app.reports.exports import Export, render, send_export
from tests.test_candidatures import ident

WINTER = dt.datetime(2025, 1, 14, 8, 29, 5)  # stored UTC: 09:29 in Paris
SUMMER = dt.datetime(2025, 7, 14, 8, 29, 5)  # 10:29 in Paris
DAY = dt.date(2025, 3, 14)
LONG = "Certificat de qualification professionnelle — conduite d'équipements " * 3
HEADER = ["Libellé", "Jour", "Créé le", "Modifié le", "Note", "Nombre", "Intitulé", "Vide"]


class Sample(Export):
    """Two lines of every kind of cell; `cell_statement` gives the same ones from SQL."""

    name = title = "essai"

    def __init__(self, large=False):
        self.large = large

    def header(self):
        return HEADER

    def rows(self):
        yield ["=formule", DAY, WINTER, SUMMER, 14.5, 3, LONG, None]
        yield ["b", DAY, WINTER, SUMMER, 14.5, 3, "court", None]

    def cell_statement(self):
        if not self.large:
            return None
        lines = [sa.select(*[e.label(f"c{i}") for i, e in enumerate([
            cells.text(sa.literal(first)), cells.date(sa.literal(DAY, sa.Date)),
            cells.datetime(sa.literal(WINTER, sa.DateTime)),
            cells.datetime(sa.literal(SUMMER, sa.DateTime)),
            cells.number(sa.literal(14.5, sa.Numeric(4, 1))), cells.code(sa.literal("3")),
            cells.text(sa.literal(label)), cells.date(sa.cast(sa.null(), sa.Date)), sa.literal(n)])])
                 for n, (first, label) in enumerate([("=formule", LONG), ("b", "court")])]
        union = sa.union_all(*lines).subquery()
        return sa.select(*list(union.c)[:-1]).order_by(union.c.c8)

    def cells(self):
        statement = self.cell_statement()
        if statement is None:
            return super().cells()
        from app.extensions import db
        return db.session.execute(statement)


def _file(export, fmt) -> bytes:
    if not export.large:
        return render(export, fmt)
    response = send_export(export, fmt)
    response.direct_passthrough = False
    return response.get_data()


def _sheet(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def check_xlsx(data: bytes, count=3):
    sheet = _sheet(data)
    rows = list(sheet.iter_rows())
    assert len(rows) == count and [c.value for c in rows[0]] == HEADER
    text, day, winter, summer, note, number = rows[1][:6]
    assert text.value == "'=formule"
    assert day.is_date and day.number_format == "dd/mm/yyyy" and day.value == dt.datetime(2025, 3, 14)
    # date-times in Paris time, summer and winter
    assert winter.is_date and winter.number_format == "dd/mm/yyyy hh:mm"
    assert winter.value.replace(microsecond=0) == dt.datetime(2025, 1, 14, 9, 29, 5)
    assert summer.value.replace(microsecond=0) == dt.datetime(2025, 7, 14, 10, 29, 5)
    assert note.value == 14.5 and not note.is_date
    assert number.value in (3, "3") and rows[1][7].value is None
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFGH"}
    for letter, head in zip("ABCDEFGH", HEADER):
        assert 8 <= widths[letter] <= 60 and widths[letter] > len(head), (letter, widths)
    assert widths["C"] >= 16 and widths["G"] == 60  # a date-time shown whole; a long text capped
    return rows


def check_csv(data: bytes):
    assert data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert lines[0] == HEADER
    assert lines[1][:6] == ["'=formule", "14/03/2025", "14/01/2025 09:29", "14/07/2025 10:29",
                            "14,5", "3"]
    assert lines[1][7] == "" and len(lines) == 3
    assert ";14,5;" in data.decode("utf-8")


def check_plain_csv(data: bytes):
    assert not data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert lines[0] == HEADER
    assert lines[1][:6] == ["'=formule", "2025-03-14", "2025-01-14T08:29:05+00:00",
                            "2025-07-14T08:29:05+00:00", "14.5", "3"]
    assert dt.datetime.fromisoformat(lines[1][2]) == WINTER.replace(tzinfo=dt.UTC)
    assert lines[1][7] == "" and len(lines) == 3


@pytest.mark.parametrize("large", [False, True])
def test_every_format_of_an_export(db, app, large):
    # small: Python in memory; large: streamed, and on PostgreSQL written by COPY from SQL cells
    export = Sample(large)
    with app.test_request_context():
        check_xlsx(_file(export, "xlsx"))
        check_csv(_file(export, "csv"))
        check_plain_csv(_file(export, "csv-brut"))
        data = _file(export, "ods")
    ods = tablib.Dataset().load(data, format="ods")
    with zipfile.ZipFile(io.BytesIO(data)) as book:  # dd/mm/yyyy, fitted columns
        styles, content = (book.read(part).decode() for part in ("styles.xml", "content.xml"))
    assert styles.index("<number:day") < styles.index("<number:year")
    assert 'table:style-name="date-fr-cellule"' in content and "14/03/2025" in content
    assert "14/01/2025 09:29" in content and 'style:column-width="12.60cm"' in content
    assert ods.headers == HEADER
    line = ods[0]
    assert line[1] == dt.datetime(2025, 3, 14) or line[1] == DAY  # a real date
    assert line[2] == dt.datetime(2025, 1, 14, 9, 29, 5) and line[4] == 14.5


def test_sql_cells_and_python_cells_give_the_same_files(db, app):
    # the large path (COPY on PostgreSQL, SQL cells written by Python on SQLite) and the small
    # Python path write the same file, numbers as the French csv writes them aside
    with app.test_request_context():
        for fmt in ("csv", "csv-brut"):
            small, large = _file(Sample(), fmt), _file(Sample(True), fmt)
            assert small.replace(b"14,5", b"14.5") == large.replace(b"14,5", b"14.5"), fmt
        small = [[c.value for c in row] for row in _sheet(_file(Sample(), "xlsx")).iter_rows()]
        large = [[c.value for c in row] for row in _sheet(_file(Sample(True), "xlsx")).iter_rows()]
    assert [row[:5] + row[6:] for row in small] == [row[:5] + row[6:] for row in large]


def test_list_exports_through_the_routes(make, db, ref, login_as):
    # The dossiers' list (a large export: COPY on PostgreSQL): birth date a real date, creation
    # date-time in Paris time; the French and the plain csv; the buttons on the list.
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("admin_etablissement", etablissement=etab)
    c = make.candidature("CLEA", etablissement=etab, by=user,
                         identite=ident(make, date_naissance=dt.date(1990, 1, 12)))
    c.created_on = SUMMER
    db.session.commit()
    client = login_as(user)
    page = client.get("/candidatures/list/").get_data(as_text=True)
    for fmt, label in (("xlsx", "Excel (xlsx)"), ("csv", "CSV pour Excel"),
                       ("csv-brut", "CSV brut (machines)"), ("ods", "ODS (LibreOffice)")):
        assert f'/candidatures/export/{fmt}/"' in page and label in page
    r = client.get("/candidatures/export/xlsx/")
    assert r.status_code == 200
    sheet = _sheet(r.data)
    head = [c.value for c in sheet[1]]
    born, created = sheet.cell(2, head.index("Date de naissance") + 1), sheet.cell(
        2, head.index("Créée le") + 1)
    assert born.value == dt.datetime(1990, 1, 12) and born.number_format == "dd/mm/yyyy"
    assert created.value.replace(microsecond=0) == dt.datetime(2025, 7, 14, 10, 29, 5)
    assert created.number_format == "dd/mm/yyyy hh:mm"
    for n, title in enumerate(head, start=1):
        width = sheet.column_dimensions[openpyxl.utils.get_column_letter(n)].width
        assert len(title) < width <= 60
    r = client.get("/candidatures/export/csv/")
    disposition = r.headers["Content-Disposition"]
    assert r.data.startswith("\ufeff".encode()) and disposition.endswith('.csv"')
    assert "-brut" not in disposition
    french = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig")), delimiter=";"))
    assert french[1][head.index("Date de naissance")] == "12/01/1990"
    assert french[1][head.index("Créée le")] == "14/07/2025 10:29"
    r = client.get("/candidatures/export/csv-brut/")
    assert r.status_code == 200 and '-brut.csv"' in r.headers["Content-Disposition"]
    plain = list(csv.reader(io.StringIO(r.data.decode("utf-8"))))
    assert plain[0] == head and plain[1][head.index("Date de naissance")] == "1990-01-12"
    assert plain[1][head.index("Créée le")] == "2025-07-14T08:29:05+00:00"
    assert client.get("/candidatures/export/pdf/").status_code == 404


def test_report_offers_both_csv(make, db, ref, login_as):
    # R-STA-3 reports: a rate with decimals has a comma in the French csv, a point in the plain
    # one; the report's buttons offer both
    from app.reports.exports import csv_text
    assert csv_text(100 / 3) == "33,333333333333336" and csv_text(100 / 3, "csv-brut") == (
        "33.333333333333336")
    manager = make.user("manager", dispositif=ref["CLEA"])
    client = login_as(manager)
    page = client.get("/rapports/").get_data(as_text=True)
    assert 'id="oc-export-csv-brut"' in page and "CSV pour Excel" in page
    r = client.get("/rapports/export/csv-brut/")
    assert r.status_code == 200 and not r.data.startswith("\ufeff".encode())
    assert next(csv.reader(io.StringIO(r.data.decode())))[0] == "Dispositif"


def test_a_workbook_of_several_sheets():
    # the statistics' workbook (R-STA-2): one sheet per view, names a spreadsheet accepts, once
    from app.reports.xlsx_stream import write_sheets
    out = io.BytesIO()
    write_sheets(out, [("Par statut", ["Statut", "Dossiers"], [["Admis", 3]]),
                       ("Par statut", ["Mois"], [[DAY]]), ("a/b:c", ["x"], [])])
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["Par statut", "Par statut (2)", "abc"]
    assert [c.value for c in book["Par statut"][2]] == ["Admis", 3]
    assert book["Par statut (2)"]["A2"].number_format == "dd/mm/yyyy"
    assert book["Par statut"].column_dimensions["B"].width > len("Dossiers")
