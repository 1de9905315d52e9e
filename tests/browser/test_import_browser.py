"""Issue 18 acceptance, in Chromium: a 50-row file with 3 errors is uploaded through « Importer »,
the preview shows the 3 errors on their cells, the 47 valid rows are imported, the error report is
downloaded, fixed and uploaded again: the 3 rows are created, the 47 others recognised."""
import io
import re

from openpyxl import load_workbook

from app.models.candidature import Candidature
from tests.browser.conftest import sign_in
from tests.test_imports import HEADERS, row, xlsx


def _upload(page, base, content, name):
    page.goto(f"{base}/imports/")
    page.select_option("select[name=kind]", label="Candidats et dossiers")
    page.select_option("select[name=dispositif]", label="CléA")
    page.set_input_files("input[name=fichier]", files=[{
        "name": name, "buffer": content,
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    with page.expect_navigation():
        page.click("button[name=envoyer]")


def test_fifty_rows_three_errors_fixed_from_the_report(make, ref, db, live_server, page):
    base = live_server
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("utilisateur_etablissement", etablissement=etab)
    rows = [row(make, etab) for _ in range(50)]
    rows[4]["email"] = "pas-une-adresse"
    rows[20]["date_naissance"] = "31/02/1990"
    rows[41]["civilite"] = "Docteur"
    db.session.commit()

    sign_in(page, base, user)
    _upload(page, base, xlsx(rows), "session-mars.xlsx")
    assert "47 ligne(s) valide(s)" in page.content()
    assert "3 ligne(s) en erreur" in page.content()
    with page.expect_navigation():
        page.click("text=Lignes en erreur seulement")
    cells = page.locator("td.erreur")
    assert cells.count() == 3
    assert sorted(cells.nth(i).get_attribute("data-colonne") for i in range(3)) == [
        "civilite", "date_naissance", "email"]
    assert "Adresse e-mail invalide." in page.content()

    with page.expect_navigation():
        page.click("button[name=importer]")
    page.wait_for_selector("text=Import terminé : 47 ligne(s) créée(s).")
    assert db.session.query(Candidature).count() == 47

    with page.expect_download() as download:
        page.click("#rapport")
    with open(download.value.path(), "rb") as report:
        wb = load_workbook(io.BytesIO(report.read()))
    ws = wb.active
    errors_col = len(HEADERS) + 1
    assert ws.cell(1, errors_col).value == "Erreurs"
    flagged = {r: ws.cell(r, errors_col).value for r in range(2, 52)
               if ws.cell(r, errors_col).value and not ws.cell(r, errors_col).value.startswith("Déjà")}
    assert sorted(flagged) == [6, 22, 43]
    assert flagged[6] == "E-mail : Adresse e-mail invalide."
    ws.cell(6, HEADERS.index("E-mail") + 1).value = "corrige@exemple.fr"
    ws.cell(22, HEADERS.index("Date de naissance (jj/mm/aaaa)") + 1).value = "28/02/1990"
    ws.cell(43, HEADERS.index("Civilité") + 1).value = "Monsieur"
    fixed = io.BytesIO()
    wb.save(fixed)

    _upload(page, base, fixed.getvalue(), "session-mars-erreurs.xlsx")
    text = page.content()
    assert "3 ligne(s) valide(s)" in text and "47 ligne(s) déjà importée(s)" in text
    assert "0 ligne(s) en erreur" in text
    with page.expect_navigation():
        page.click("button[name=importer]")
    page.wait_for_selector("text=Import terminé : 3 ligne(s) créée(s).")
    db.session.expire_all()
    assert db.session.query(Candidature).count() == 50
    page.goto(f"{base}/imports/")
    assert len(re.findall("session-mars", page.content())) >= 2
