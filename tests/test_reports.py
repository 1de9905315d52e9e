"""Managers' tabular reports (R-STA-3, issue 7): groupings, totals, success rate, mean and median
delays between steps, filters, perimeter, exports and the server-side charts.

Every figure is compared with the same figure computed here in Python over the created dossiers
(tests/test_statistics.py builds the world)."""
import csv
import datetime as dt
import io
import statistics as pystats

import openpyxl
import pytest
import tablib

from app.reports import charts
from app.reports import statistics as stats
from app.reports import statistics_downloads as downloads
from app.reports.reports import STEPS, run_report
from app.security.perimeter import perimetre_of
from tests.test_statistics import (
    SUCCESS,
    _fast_password_hash,  # noqa: F401  (autouse fixture)
    build_world,
    expected_summary,
    mine,
)


@pytest.fixture
def w(db, make, ref):
    return build_world(db, make, ref)


def step_delays(r):
    """The four step delays of one dossier, from the dates the test chose."""
    def days(a, b):
        return (b - a).days if a is not None and b is not None else None
    return {"evaluation": days(r["created"], r["eval"]), "jury": days(r["eval"], r["jury"]),
            "certificat": days(r["jury"], r["cert_date"]), "total": days(r["created"], r["cert_date"])}


def expected_line(rows):
    decided = [r for r in rows if r["decision"]]
    out = {"total": len(rows), "counts": expected_summary(rows), "decided": len(decided),
           "certified": sum(1 for r in decided if r["decision"] in SUCCESS), "delays": {}}
    for step, _ in STEPS:
        values = [d[step] for d in map(step_delays, rows) if d[step] is not None]
        out["delays"][step] = (pystats.mean(values) if values else None,
                               pystats.median(values) if values else None, len(values))
    return out


def assert_line(line, rows, where=""):
    exp = expected_line(rows)
    assert line.total == exp["total"], where
    assert line.counts == exp["counts"], where
    assert (line.decided, line.certified) == (exp["decided"], exp["certified"]), where
    rate = round(100 * exp["certified"] / exp["decided"], 1) if exp["decided"] else None
    assert line.success_rate == rate, where
    for step, _ in STEPS:
        mean, median, n = line.delays[step]
        e_mean, e_median, e_n = exp["delays"][step]
        assert n == e_n, (where, step)
        if e_n:
            assert mean == pytest.approx(e_mean, abs=0.051), (where, step)
            assert median == pytest.approx(e_median, abs=0.001), (where, step)
        else:
            assert mean is None and median is None


def test_report_by_dispositif_matches_independent_counts(w, make):  # R-STA-3
    report = run_report(perimetre_of(make.user("admin")), group_by=("dispositif",))
    assert [line.labels[0] for line in report.lines] == sorted(
        (w.ref[d].nom for d in ("CLEA", "CHIMIE", "METALLURGIE")), key=str.lower)
    for line in report.lines:
        code = next(c for c in ("CLEA", "CHIMIE", "METALLURGIE") if w.ref[c].id == line.keys[0])
        assert_line(line, mine(w.rows, disp=code), code)
    assert_line(report.totals, w.rows, "totals")
    # the world has every step, and an even and an odd number of values somewhere
    assert all(report.totals.delays[s][2] > 0 for s, _ in STEPS)


def test_report_with_two_groupings_and_every_dimension(w, make):  # R-STA-3
    p = perimetre_of(make.user("admin"))
    keyers = {
        "region": lambda r: r["region"],
        "etablissement": lambda r: r["etab"],
        "mois": lambda r: r["created"].strftime("%Y-%m"),
        "statut": lambda r: r["statut"],
        "certification": lambda r: r["cert"],
        "dispositif": lambda r: w.ref[r["disp"]].id,
    }
    for g1, g2 in [("region", "mois"), ("etablissement", None), ("statut", None),
                   ("certification", "region"), ("mois", None)]:
        groups = (g1, g2) if g2 else (g1,)
        report = run_report(p, group_by=groups)
        expected = {}
        for r in w.rows:
            expected.setdefault(tuple(keyers[g](r) for g in groups), []).append(r)
        assert {line.keys for line in report.lines} == set(expected), groups
        for line in report.lines:
            assert_line(line, expected[line.keys], (groups, line.keys))
        assert_line(report.totals, w.rows, groups)
    months = run_report(p, group_by=("mois",)).lines
    assert [m.keys[0] for m in months] == sorted(m.keys[0] for m in months)
    assert "Région non renseignée" not in [x.labels[0] for x in run_report(p, group_by=("region",)).lines]
    etabs = [x.labels[0] for x in run_report(p, group_by=("etablissement",)).lines]
    assert etabs[-1] == "Sans établissement (dossier d'entreprise)"


def test_report_filters_and_perimeter(w, make):  # R-STA-3, R-ACC-5
    manager = make.user("manager", dispositif=w.ref["CLEA"])
    p = perimetre_of(manager)
    report = run_report(p, group_by=("etablissement",))
    clea = mine(w.rows, disp="CLEA")
    assert {line.keys[0] for line in report.lines} == {r["etab"] for r in clea}
    assert_line(report.totals, clea, "manager")
    since = dt.date.today() - dt.timedelta(days=250)
    f = stats.Filters(region="Île-de-France", debut=since, statut=["certifiee", "non_certifiee"])
    report = run_report(p, f, group_by=("mois",))
    rows = [r for r in clea if r["region"] == "Île-de-France" and r["created"] >= since
            and r["statut"] in ("certifiee", "non_certifiee")]
    assert_line(report.totals, rows, "filtered")
    assert sum(line.total for line in report.lines) == len(rows)
    # another dispositif asked for explicitly: nothing leaks out of the perimeter
    other = run_report(p, stats.Filters(dispositif=w.ref["CHIMIE"].id))
    assert other.totals.total == 0 and other.lines == []


def test_report_is_one_statement_whatever_the_rows(w, make, queries, db):  # R-STA-3
    """Lines and totals come from one statement, one pass over the dossiers (issue 9)."""
    p = perimetre_of(make.user("admin"))
    for groups in [("dispositif",), ("region", "mois"), ("etablissement", "statut"), ()]:
        with queries() as statements:
            run_report(p, group_by=groups)
        selects = [s for s in statements if "set_config" not in s]
        assert len(selects) == 1 and len(statements) <= 2, (groups, statements)
        assert selects[0].count("FROM candidature") == 1, groups
    with queries() as book_queries:
        downloads.statistics_workbook(p)
    assert len(book_queries) <= 16


def test_median_even_and_odd_groups(db, make, ref):  # R-STA-3
    """Exact medians on both databases: middle value (odd) and mean of the two middles (even)."""
    world = build_world(db, make, ref, count=0)
    day = dt.date.today() - dt.timedelta(days=200)
    for after in (1, 2, 10, 40):      # CléA: 4 values -> (2 + 10) / 2 = 6
        world.dossier("CLEA", "en_attente_evaluation_finale", day, etab=world.A1, eval_after=after)
    for after in (7, 3, 5):                          # metallurgy: 3 values -> 5
        world.dossier("METALLURGIE", "en_attente_jury", day, etab=world.B1, eval_after=after,
                      sent_after=1)
    world.dossier.commit()
    report = run_report(perimetre_of(make.user("admin")), group_by=("dispositif",))
    medians = {line.labels[0]: line.delays["evaluation"] for line in report.lines}
    assert medians[ref["CLEA"].nom] == (13.2, 6.0, 4)
    assert medians[ref["METALLURGIE"].nom] == (5.0, 5.0, 3)
    assert report.totals.delays["evaluation"] == (9.7, 5.0, 7)


def test_median_with_repeated_values_and_empty_keys(db, make, ref):  # R-STA-3
    """Medians counted from repeated delay values (issue 9: no per-dossier sort), in a group whose
    key is NULL (company dossiers, no établissement) and in the totals, on both databases."""
    world = build_world(db, make, ref, count=0)
    day = dt.date.today() - dt.timedelta(days=300)
    for after in (3, 3, 3, 8):                   # with an établissement: median 3, mean 4.25
        world.dossier("CLEA", "en_attente_evaluation_finale", day, etab=world.A1, eval_after=after)
    for after in (1, 5, 5, 9, 9, 9):             # company dossiers: (5 + 9) / 2 = 7
        world.dossier("CLEA", "en_attente_evaluation_finale", day, entreprise=world.E,
                      eval_after=after)
    world.dossier("CLEA", "en_attente_evaluation_finale", day, etab=world.A1)  # no evaluation
    world.dossier.commit()
    report = run_report(perimetre_of(make.user("admin")), group_by=("etablissement",))
    by_key = {line.keys[0]: line for line in report.lines}
    assert set(by_key) == {world.A1.id, None}
    assert by_key[world.A1.id].delays["evaluation"] == (4.2, 3.0, 4)  # 4.25 rounded half-even
    assert by_key[world.A1.id].total == 5
    assert by_key[None].delays["evaluation"] == (6.3, 7.0, 6)
    assert by_key[None].labels == ("Sans établissement (dossier d'entreprise)",)
    # all ten values: 1 3 3 3 5 | 5 8 9 9 9 -> 5; the totals are not a mix of the groups' medians
    assert report.totals.delays["evaluation"] == (5.5, 5.0, 10)
    assert report.totals.total == 11 and report.totals.counts["en_cours"] == 11
    for rows, line in ((world.rows, report.totals),
                       ([r for r in world.rows if r["etab"] is None], by_key[None])):
        assert_line(line, rows)
    # without delays, the same statement shape gives the same counts
    plain = run_report(perimetre_of(make.user("admin")), group_by=("etablissement",),
                       with_delays=False)
    assert [(x.keys, x.total) for x in plain.lines] == [(x.keys, x.total) for x in report.lines]
    assert plain.totals.total == 11 and plain.totals.delays == {}


# --- the page, the chart and the exports ---------------------------------------------------------------
def test_reports_page_for_managers_and_certifier_only(w, make, login_as):  # R-STA-3
    for user in (make.user("manager", dispositif=w.ref["CLEA"]),
                 make.user("secretariat", dispositif=w.ref["CLEA"])):
        assert login_as(user).get("/rapports/").status_code == 200
    for user in (make.user("admin_reseau", reseau=w.r1),
                 make.user("admin_organisme", organisme=w.A),
                 make.user("utilisateur_etablissement", etablissement=w.A1)):
        c = login_as(user)
        assert c.get("/rapports/").status_code == 403
        assert c.get("/rapports/export/xlsx/").status_code == 403


def test_reports_page_shows_table_totals_and_chart(w, make, login_as):  # R-STA-3
    manager = make.user("manager", dispositif=w.ref["METALLURGIE"])
    c = login_as(manager)
    page = c.get("/rapports/?groupe1=region&groupe2=statut").get_data(as_text=True)
    rows = mine(w.rows, disp="METALLURGIE")
    assert '<svg' in page and 'class="oc-chart oc-chart-bar"' in page
    assert 'id="oc-rapport"' in page and "Total" in page
    assert f'<td class="text-right">{len(rows)}</td>' in page.split('class="oc-total"')[1]
    for region in {r["region"] for r in rows}:
        assert region in page
    page = c.get("/rapports/?groupe1=mois").get_data(as_text=True)
    assert 'class="oc-chart oc-chart-line"' in page and "<polyline" in page
    # filters from the form survive in the export links
    page = c.get("/rapports/?groupe1=certification&region=Occitanie&statut=admis").get_data(
        as_text=True)
    assert "/rapports/export/xlsx/?region=Occitanie&amp;statut=admis&amp;groupe1=certification" in page


def test_reports_page_table_is_capped_not_the_totals(w, make, login_as, monkeypatch):  # R-STA-3
    """Issue 9: a page never renders tens of thousands of lines; totals and exports stay whole."""
    from app.views import reports as view
    monkeypatch.setattr(view, "TABLE_MAX_LINES", 2)
    manager = make.user("manager", dispositif=w.ref["CLEA"])
    c = login_as(manager)
    rows = mine(w.rows, disp="CLEA")
    page = c.get("/rapports/?groupe1=etablissement&groupe2=statut").get_data(as_text=True)
    body = page.split('id="oc-rapport"')[1].split("<tfoot>")[0]
    assert body.count("<tr>") == 2 + 2  # two header rows, two lines
    assert "Le tableau montre les 2 premières lignes sur" in page
    assert f'<td class="text-right">{len(rows)}</td>' in page.split('class="oc-total"')[1]
    text = c.get("/rapports/export/csv/?groupe1=etablissement&groupe2=statut").get_data(
        as_text=True)
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))[1:-1]
    assert len(lines) > 2 and sum(int(x[2]) for x in lines) == len(rows)


def test_report_exports_read_back(w, make, login_as):  # R-STA-3
    manager = make.user("manager", dispositif=w.ref["CLEA"])
    c = login_as(manager)
    rows = mine(w.rows, disp="CLEA")
    exp = expected_line(rows)
    r = c.get("/rapports/export/xlsx/?groupe1=etablissement")
    assert r.status_code == 200 and "rapport-etablissement.xlsx" in r.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    lines = list(sheet.iter_rows(values_only=True))
    head = list(lines[0])
    assert head[:2] == ["Établissement", "Dossiers"] and "Taux de réussite (%)" in head
    total = lines[-1]
    assert total[0] == "Total" and total[1] == len(rows)
    assert total[head.index("Certificats délivrés")] == exp["counts"]["certifie"]
    median_col = head.index("Création → évaluation : délai médian (jours)")
    assert total[median_col] == pytest.approx(exp["delays"]["evaluation"][1], abs=0.001)
    by_etab = {line[0]: line[1] for line in lines[1:-1]}
    assert by_etab == {e.nom: len(mine(rows, etab=e.id)) for e in (w.A1, w.A2, w.B1)
                       if mine(rows, etab=e.id)}
    text = c.get("/rapports/export/csv/?groupe1=statut").get_data(as_text=True)
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert table[-1][0] == "Total" and int(table[-1][1]) == len(rows)
    assert sum(int(x[1]) for x in table[1:-1]) == len(rows)
    ods = c.get("/rapports/export/ods/?groupe1=dispositif").data
    data = tablib.Dataset().load(ods, format="ods")
    assert data[-1][0] == "Total" and int(data[-1][1]) == len(rows)
    assert c.get("/rapports/export/pdf/").status_code == 404


def test_charts_escape_labels_and_need_no_script():  # R-STA-3
    svg = charts.bar_chart(['<script>alert("x")</script>', "Île & Co"], [("Dossiers", [3, 0])],
                           "Titre <b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Île &amp; Co" in svg
    assert svg.startswith("<svg") and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    line = charts.line_chart(["2025-01", "2025-02", "2025-03"], [("A", [1, 5, 2]), ("B", [0, 1, 1])])
    assert line.count("<polyline") == 2 and line.count("<circle") == 6
    assert charts.bar_chart([], [], "vide").startswith("<svg")


def test_month_chart_has_a_regular_time_axis(db, make, ref):  # R-STA-3
    """Months without any dossier are drawn as zeros, not skipped."""
    from app.reports.reports import chart_series
    world = build_world(db, make, ref, count=0)
    for day in (dt.date(2025, 11, 3), dt.date(2026, 2, 10), dt.date(2026, 2, 11)):
        world.dossier("CLEA", "certifiee", day, etab=world.A1, eval_after=1, sent_after=1,
                      jury_after=1)
    world.dossier.commit()
    labels, series = chart_series(run_report(perimetre_of(make.user("admin")), group_by=("mois",)))
    assert labels == ["novembre 2025", "décembre 2025", "janvier 2026", "février 2026"]
    assert series[0] == ("Dossiers", [1, 0, 0, 2])
