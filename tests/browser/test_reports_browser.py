"""Browser (Playwright + Debian's Chromium): a manager opens a report, filters it, sees the chart
(an inline <svg>, no script library) and downloads the xlsx, read back with openpyxl (R-STA-3,
issue 7 acceptance).

Served and driven by the shared fixtures of tests/browser/conftest.py."""
import io

from tests.browser.conftest import sign_in
from tests.test_statistics import _fast_password_hash, build_world, mine  # noqa: F401


def test_manager_filters_a_report_sees_the_chart_and_downloads_xlsx(  # R-STA-3
        db, make, ref, live_server, page):
    import openpyxl
    w = build_world(db, make, ref)
    manager = make.user("manager", dispositif=ref["CLEA"])
    base = live_server
    sign_in(page, base, manager)

    # The report menu leads to the page; the default grouping is by dispositif.
    page.goto(f"{base}/rapports/")
    assert page.locator("#oc-chart svg.oc-chart").count() == 1
    clea = mine(w.rows, disp="CLEA")
    assert page.locator("#oc-rapport tfoot tr.oc-total td").first.inner_text() == str(len(clea))

    # Filter: région Occitanie, grouped by établissement then status.
    page.select_option("#f-region", "Occitanie")
    page.select_option("#f-groupe1", "etablissement")
    page.select_option("#f-groupe2", "statut")
    page.click("#oc-appliquer")
    page.wait_for_load_state()
    assert "region=Occitanie" in page.url
    rows = [r for r in clea if r["region"] == "Occitanie"]
    assert page.locator("#oc-rapport tfoot tr.oc-total td").first.inner_text() == str(len(rows))
    chart = page.locator("#oc-chart svg.oc-chart-bar")
    assert chart.count() == 1 and chart.locator("rect.oc-bar").count() >= 2
    assert w.B1.nom in chart.inner_html()

    # Download the filtered report as xlsx and read it back.
    with page.expect_download() as info:
        page.click("#oc-export-xlsx")
    download = info.value
    assert download.suggested_filename == "rapport-etablissement-statut.xlsx"
    with open(download.path(), "rb") as f:
        sheet = openpyxl.load_workbook(io.BytesIO(f.read())).active
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][:3] == ("Établissement", "Statut", "Dossiers")
    assert lines[-1][0] == "Total" and lines[-1][2] == len(rows)
    assert sum(line[2] for line in lines[1:-1]) == len(rows)
    assert {line[0] for line in lines[1:-1]} == {w.B1.nom}
