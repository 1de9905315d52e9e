"""Status counters and the candidature lists at scale (issue 9).

The counters (app/models/compteur.py) must equal a fresh count after every kind of change; the
lists read their totals from them and their deep pages by deferred join, and their SQL statement
count depends neither on the page size nor on the number of dossiers.
"""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from app.models.candidature import Candidature
from app.models.compteur import KEY, CompteurStatut, recount
from app.reports.counts import status_counts
from app.security import perimeter
from app.security.perimeter import perimetre_of
from app.views.candidatures_query import CandidatureInterface


def truth(db):
    c = Candidature.__table__.c
    cols = [c[k] for k in KEY]
    return {tuple(r[:-1]): r[-1] for r in db.session.execute(
        sa.select(*cols, sa.func.count()).group_by(*cols))}


def maintained(db):
    return {tuple(getattr(r, k) for k in KEY): r.n
            for r in db.session.query(CompteurStatut) if r.n}


@pytest.fixture
def dossiers(make, db, ref):
    etab_a, etab_b = make.etablissement(), make.etablissement()
    for e in (etab_a, etab_b):
        make.habilitation(e, ref["CLEA"])
    user_a = make.user("admin_etablissement", etablissement=etab_a)
    user_b = make.user("admin_etablissement", etablissement=etab_b)
    out = [make.candidature("CLEA", etablissement=etab_a, by=user_a) for _ in range(3)]
    out += [make.candidature("CLEA", etablissement=etab_b, by=user_b) for _ in range(2)]
    out.append(make.candidature("CHIMIE"))
    db.session.commit()
    return {"dossiers": out, "etab_a": etab_a, "etab_b": etab_b, "user_a": user_a,
            "user_b": user_b}


def test_counters_follow_creation_status_change_move_and_rollback(dossiers, db):
    assert maintained(db) == truth(db) and sum(truth(db).values()) == 6
    a, b, c = dossiers["dossiers"][:3]
    a.statut = "en_attente_jury"  # a loaded dossier
    db.session.commit()
    assert maintained(db) == truth(db)
    db.session.expire_all()  # an expired one: its old status must still be decremented
    b.statut = "en_attente_evaluation_finale"
    db.session.commit()
    assert maintained(db) == truth(db)
    etab_b = dossiers["etab_b"]  # moved to another établissement (and organisme / réseau)
    c.etablissement_id, c.organisme_id = etab_b.id, etab_b.organisme_id
    c.reseau_id = etab_b.organisme.reseau_id
    db.session.commit()
    assert maintained(db) == truth(db)
    before = maintained(db)
    a.statut = "certifiee"
    db.session.flush()
    assert maintained(db) != before  # counted in the flush ...
    db.session.rollback()
    assert maintained(db) == before == truth(db)  # ... and undone with it


def test_counters_follow_deletion(dossiers, db):
    doomed = dossiers["dossiers"][-1]
    db.session.expire_all()
    for table in ("historique", "evaluation", "document"):  # what the dossier owns, if any
        db.session.execute(sa.text(f"DELETE FROM {table} WHERE candidature_id = :i"),
                           {"i": doomed.id})
    db.session.delete(doomed)
    db.session.commit()
    assert maintained(db) == truth(db) and sum(truth(db).values()) == 5


def test_recount_rebuilds_the_same_counters(dossiers, db):
    expected = maintained(db)
    db.session.execute(sa.update(Candidature.__table__).values(statut="en_attente_jury"))
    assert maintained(db) == expected != truth(db)  # a Core UPDATE is not seen ...
    recount(db.session.connection())
    assert maintained(db) == truth(db)  # ... until the counters are rebuilt
    db.session.rollback()


@pytest.mark.parametrize("who", ["admin", "secretariat", "etablissement", "reseau", "autre"])
def test_status_counts_equal_a_count_of_the_perimeter(dossiers, make, ref, db, who):  # R-ACC-5
    etab = dossiers["etab_a"]
    user = {"admin": lambda: make.user("admin"),
            "secretariat": lambda: make.user("secretariat", dispositif=ref["CLEA"]),
            "etablissement": lambda: dossiers["user_a"],
            "reseau": lambda: make.user("admin_reseau", reseau=etab.organisme.reseau),
            "autre": lambda: make.user("admin_etablissement",
                                       etablissement=make.etablissement())}[who]()
    p = perimetre_of(user)
    expected = dict(db.session.execute(
        sa.select(Candidature.statut, sa.func.count()).where(
            perimeter.criterion(Candidature, p)).group_by(Candidature.statut)).all())
    assert status_counts(p) == expected
    if who == "autre":
        assert expected == {}


def _ids(html):
    return re.findall(r"/candidatures/show/(\d+)", html)


def test_deep_pages_read_by_deferred_join_match_offset_paging(make, db, ref, login_as, monkeypatch):
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("admin_etablissement", etablissement=etab)
    for _ in range(12):
        make.candidature("CLEA", etablissement=etab, by=user)
    client = login_as(user)
    url = "/candidatures/list/?psize_CandidatureView=5&page_CandidatureView=2"
    offset_ids = _ids(client.get(url).get_data(as_text=True))
    monkeypatch.setattr(CandidatureInterface, "DEFERRED_FROM", 1)
    deferred = client.get(url).get_data(as_text=True)
    assert _ids(deferred) == offset_ids and len(offset_ids) == 2
    assert "12" in deferred  # the total still comes from the counters


def _statements(queries, client, url):
    assert client.get(url).status_code == 200
    with queries() as statements:
        r = client.get(url)
    assert r.status_code == 200
    return statements


@pytest.mark.parametrize("who", ["secretariat", "etablissement"])
def test_list_statements_do_not_grow_with_page_size_rows_or_depth(make, db, ref, login_as,
                                                                   queries, who, monkeypatch):
    # Issue 9 acceptance: a main list's statement count is fixed (≤ 12), whatever the page
    # size, the number of dossiers, the status filter or the page depth.
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    creator = make.user("admin_etablissement", etablissement=etab)
    user = creator if who == "etablissement" else make.user("secretariat", dispositif=ref["CLEA"])
    client = login_as(user)
    monkeypatch.setattr(CandidatureInterface, "DEFERRED_FROM", 20)
    base = "/candidatures/list/?psize_CandidatureView={size}"
    figures = {}
    for total in (4, 30):
        while db.session.query(Candidature).count() < total:
            i = db.session.query(Candidature).count()
            make.candidature("CLEA", etablissement=etab, by=creator,
                             entreprise=make.entreprise() if i % 2 else None)
        for size in (10, 100):
            figures[(total, size)] = len(_statements(queries, client, base.format(size=size)))
    from app.views.dashboard import _filter_index
    equal = _filter_index("equal")  # the dashboard's status links
    figures["statut"] = len(_statements(
        queries, client, base.format(size=10) + f"&_flt_{equal}_statut=en_attente_evaluation_prealable"))
    deep = _statements(queries, client, base.format(size=10) + "&page_CandidatureView=2")
    figures["deep"] = len(deep)
    assert len(set(figures.values())) == 1, str(figures)
    assert max(figures.values()) <= 12, figures
    # The total is read from the counters: no count(*) over the dossiers.
    assert not any("count(" in s.lower() and "candidature" in s.lower()
                   and "compteur_statut" not in s.lower() for s in deep), deep


def test_candidature_export_columns_equal_the_objects_export(make, db, ref, login_as):
    # The column statement of the list export (issue 9) says what the objects would say.
    import csv
    import io

    from app.reports.exports import ListExport
    from app.views.candidatures import EXPORT_COLUMNS
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("admin_etablissement", etablissement=etab)
    make.candidature("CLEA", etablissement=etab, by=user, entreprise=make.entreprise())
    registered = make.candidature("CLEA", etablissement=etab, by=user)
    from tests.test_candidatures import ident
    moved = make.candidature("CLEA", etablissement=etab, by=user, identite=ident(
        make, ne_etranger=True, pays_naissance="Maroc", ville_naissance="Rabat",
        code_postal_naissance=""))
    # the « Jury » column is the active registration's jury (joined in the export, issue 17)
    from app.models.jury import InscriptionJury
    first, second = make.jury("CLEA"), make.jury("CLEA", date=dt.date.today() + dt.timedelta(60))
    db.session.add_all([
        InscriptionJury(jury_id=first.id, candidature_id=registered.id, numero_anonyme=1, rang=1),
        InscriptionJury(jury_id=first.id, candidature_id=moved.id, numero_anonyme=2, rang=2,
                        active=False, etat="retire"),
        InscriptionJury(jury_id=second.id, candidature_id=moved.id, numero_anonyme=1, rang=1)])
    db.session.commit()
    client = login_as(user)
    r = client.get("/candidatures/export/csv/")
    assert r.status_code == 200
    got = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    items = db.session.query(Candidature).order_by(Candidature.created_on.desc(),
                                                   Candidature.id.desc()).all()
    from app.reports.exports import cell, csv_text
    from app.views.candidatures import COLUMN_LABELS
    objects = ListExport("x", EXPORT_COLUMNS, COLUMN_LABELS, items)
    expected = [objects.header()] + [[str(csv_text(cell(v))) for v in row]
                                     for row in objects.rows()]
    assert got == expected and len(got) == 4
    assert {row[16] for row in got[1:]} == {"", first.date.strftime("%d/%m/%Y"),
                                            second.date.strftime("%d/%m/%Y")}


def test_large_exports_stream_with_a_fixed_number_of_statements(make, db, ref, login_as, queries):
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("admin_etablissement", etablissement=etab)
    client = login_as(user)
    figures = {"csv": [], "xlsx": []}
    for total in (2, 12):
        while db.session.query(Candidature).count() < total:
            make.candidature("CLEA", etablissement=etab, by=user)
        for fmt, counts in figures.items():
            statements = _statements(queries, client, f"/candidatures/export/{fmt}/")
            counts.append(len([s for s in statements if "candidature" in s.lower()]))
    # (on PostgreSQL the csv is written by COPY on the raw connection: no statement seen here)
    assert all(len(set(counts)) == 1 and counts[0] <= 1 for counts in figures.values()), figures


def test_streamed_xlsx_reads_back_as_the_tablib_workbook(tmp_path):
    # The row-by-row .xlsx writer (issue 9) gives openpyxl the cells tablib's ods holds.
    import io

    import tablib
    from openpyxl import load_workbook

    from app.reports.exports import ListExport, render
    from app.reports.xlsx_stream import write_xlsx
    items = [{"a": "=1+2", "b": 3, "c": "x < y & z", "d": None, "e": 1.5, "f": " espace "}
             for _ in range(3)] * 10
    export = ListExport("Liste : [x]", list("abcdef"), {k: k.upper() for k in "abcdef"},
                        [type("R", (), row)() for row in items])
    out = io.BytesIO()
    write_xlsx(out, export.title, export.header(), export.cells())
    streamed = list(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows(values_only=True))
    tabled = [tuple(None if v == "" else v for v in row) for row in
              [tablib.Dataset().load(render(export, "ods"), format="ods").headers]
              + list(tablib.Dataset().load(render(export, "ods"), format="ods"))]
    assert streamed == tabled and streamed[1] == ("'=1+2", 3, "x < y & z", None, 1.5, " espace ")
    assert len(streamed) == 31 and load_workbook(io.BytesIO(out.getvalue())).sheetnames == [
        "Liste  x"]
    out = io.BytesIO()  # characters XML cannot hold are dropped, not an error
    write_xlsx(out, "x", ["A"], [["a\x01b\x0bc"]])
    assert load_workbook(io.BytesIO(out.getvalue())).active["A2"].value == "abc"


@pytest.mark.parametrize("role", ["secretariat", "manager"])
def test_statistics_export_cells_written_by_the_database_equal_python_cells(make, db, ref, role):
    # R-STA-2: the dossier-level statistics export reads cells from SQL (issue 9); they must be
    # the very text the Python path (exports.cell) gives, identity columns included or not.
    from app.reports.exports import cell
    from app.reports.statistics_downloads import DossierExport
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("admin_etablissement", etablissement=etab)
    a = make.candidature("CLEA", etablissement=etab, by=user, entreprise=make.entreprise())
    make.candidature("CLEA", etablissement=etab, by=user)
    a.statut, a.decision, a.decide_le = "certifiee", "certifiee", a.created_on.date()
    db.session.commit()
    export = DossierExport(perimetre_of(make.user(role, dispositif=ref["CLEA"])))
    def text(v):  # an empty cell: '' or None
        return "" if v is None else str(v)
    python = [[text(cell(v)) for v in row] for row in export.rows()]
    sql = [[text(v) for v in row] for row in export.cells()]
    assert sql == python and len(sql) == 2


def test_report_step_dates_follow_their_sources(db, make, ref):
    # R-STA-3 (issue 9): the step dates kept on the dossier equal a recomputation from the
    # evaluations, jury decisions and certificates, after every kind of change.
    from app.models import etapes
    from app.models.jury import Jury
    from tests.test_statistics import build_world
    build_world(db, make, ref, count=30)
    cols = list(etapes.STEPS)

    def kept():
        db.session.expire_all()
        return {c.id: tuple(getattr(c, k) for k in cols) for c in db.session.query(Candidature)}

    before = kept()
    assert any(v[0] for v in before.values()) and any(v[1] for v in before.values())
    etapes.refresh(db.session.connection())
    assert kept() == before  # nothing to correct
    jury = db.session.query(Jury).filter(Jury.inscriptions.any()).first() \
        if hasattr(Jury, "inscriptions") else db.session.query(Jury).first()
    jury.date = jury.date.replace(year=jury.date.year + 1)  # a jury moved after its decisions
    db.session.commit()
    after = kept()
    etapes.refresh(db.session.connection())
    assert kept() == after and after != before


def test_xlsx_export_reads_back_as_its_csv(make, db, ref, login_as):
    # Issue 17: on PostgreSQL the sheet's rows of a large xlsx export are written by the database
    # (sql_cells.xml_row); on both databases the workbook holds the csv's very cells (markup,
    # backslashes, line breaks and quotes included), the characters XML cannot hold dropped.
    import csv
    import io

    from openpyxl import load_workbook

    from tests.test_candidatures import ident
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("admin_etablissement", etablissement=etab)
    make.candidature("CLEA", etablissement=etab, by=user, entreprise=make.entreprise())
    make.candidature("CLEA", etablissement=etab, by=user, identite=ident(
        make, ne_etranger=True, pays_naissance="Maroc",
        ville_naissance='R<a>b & "\\at"\x01\nx\r\ty', code_postal_naissance=""))
    db.session.commit()
    client = login_as(user)
    text = client.get("/candidatures/export/csv/").get_data(as_text=True).lstrip("\ufeff")
    drop = {c: None for c in range(32) if c not in (9, 10, 13)}
    expected = [[v.translate(drop) or None for v in row]
                for row in csv.reader(io.StringIO(text, newline=""), delimiter=";")]
    r = client.get("/candidatures/export/xlsx/")
    assert r.status_code == 200
    from app.formats import format_date_fr

    def shown(c):  # the sheet's dates and Paris times (real ones) as the csv writes them
        if c.is_date and c.number_format == "dd/mm/yyyy hh:mm":
            return f"{format_date_fr(c.value)} {c.value:%H:%M}"
        return format_date_fr(c.value) if c.is_date else c.value
    got = [[shown(c) for c in row] for row in load_workbook(
        io.BytesIO(r.get_data())).active.iter_rows()]
    assert got == expected and len(got) == 3
    assert 'R<a>b & "\\at" x y, Maroc' in got[1]
    if db.engine.dialect.name == "postgresql":  # texts the forms normalise, straight to SQL
        import sqlalchemy as sa

        from app.reports.sql_cells import xml_row
        row = db.session.execute(sa.select(xml_row(
            [sa.literal("a\nb\r\t<&>\x01\\'"), sa.literal(""),
             sa.cast(sa.null(), sa.String)]))).scalar()
        assert row == ('<row><c t="inlineStr"><is><t xml:space="preserve">a&#10;b&#13;\t&lt;'
                       "&amp;&gt;\\'</t></is></c><c/><c/></row>")
