"""The « Importer » screens through their rendered forms, CSRF on (issue 18): upload, preview
with each error on its cell, import of the valid rows, report, mapping of an unknown column."""
import io

import pytest
from openpyxl import load_workbook

from app.models.candidature import Candidature
from tests.journeys.forms import open_page
from tests.journeys.steps import signed_in
from tests.test_imports import HEADERS, row, xlsx


@pytest.fixture
def setup(app, make, ref):
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("utilisateur_etablissement", etablissement=etab)
    return etab, user, signed_in(app, user)


def _upload(client, content, name="inscrits.xlsx"):
    page = open_page(client, "/imports/")
    form = page.form(action="/imports/depot")
    form.fill(kind="Candidats et dossiers", dispositif="CléA")
    form.attach("fichier", content, name)
    return form.submit(button="envoyer", follow_redirects=True)


def test_menu_and_template_for_those_who_create_dossiers(app, db, make, ref, setup):
    _, _, client = setup
    assert 'href="/imports/"' in open_page(client, "/").html  # the « Importer » menu
    home = open_page(client, "/imports/")
    link = [u for u in home.links("/imports/modele/candidats/")]
    assert link
    r = client.get(link[0])
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    # CléA's template: the common columns, then CléA's own (as its creation form, ONLY_FOR).
    assert [c.value for c in wb["Import"][1]] == HEADERS + [
        "Socle contextualisé (oui/non)", "Branche délégataire"]
    assert wb["Import"].cell(2, 1).value == "CLEA-SOCLE"  # the example row
    codes = [c.value for c in wb["Codes acceptés"]["A"]]
    assert "CLEA-SOCLE" in codes and "Madame" in codes
    # An evaluator creates no dossier: no import for him.
    evaluator = signed_in(app, make.user("evaluateur"))
    assert 'href="/imports/"' not in open_page(evaluator, "/").html
    assert evaluator.get("/imports/").status_code in (302, 403)
    secretariat = signed_in(app, make.user("secretariat", dispositif=ref["CHIMIE"]))
    links = open_page(secretariat, "/imports/").links("/imports/modele/")
    assert sorted(u.split("/")[3] for u in links) == ["candidats", "etablissements",
                                                      "evaluateurs"]
    # CléA dossiers are created by the établissements only (R-DIS-2): no candidate import.
    secretariat = signed_in(app, make.user("secretariat", dispositif=ref["CLEA"]))
    links = open_page(secretariat, "/imports/").links("/imports/modele/")
    assert sorted(u.split("/")[3] for u in links) == ["etablissements", "evaluateurs"]


def test_upload_preview_import_and_report_through_the_screens(db, make, ref, setup):
    etab, _, client = setup
    content = xlsx([row(make, etab), row(make, etab, email="faux"), row(make, etab)])
    r = _upload(client, content)
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert "2 ligne(s) valide(s)" in text and "1 ligne(s) en erreur" in text
    assert 'data-colonne="email"' in text and "Adresse e-mail invalide." in text
    assert db.session.query(Candidature).count() == 0
    page = open_page(client, r.request.path)
    report = client.get(page.links("/rapport")[0])
    ws = load_workbook(io.BytesIO(report.data)).active
    assert ws.cell(3, len(HEADERS) + 1).value == "E-mail : Adresse e-mail invalide."
    r = page.form(action=f"{r.request.path}/importer").submit(button="importer",
                                                               follow_redirects=True)
    assert "Import terminé : 2 ligne(s) créée(s)." in r.get_data(as_text=True)
    assert db.session.query(Candidature).count() == 2
    listing = open_page(client, "/imports/")
    assert "inscrits.xlsx" in listing.text and "Terminé" in listing.text


def test_same_file_again_creates_nothing_through_the_screens(db, make, ref, setup):
    etab, _, client = setup
    content = xlsx([row(make, etab)])
    r = _upload(client, content)
    open_page(client, r.request.path).form(action=f"{r.request.path}/importer").submit(
        button="importer")
    r = _upload(client, content)
    text = r.get_data(as_text=True)
    assert "Ce fichier a déjà été importé le" in text
    assert "0 ligne(s) valide(s)" in text and "1 ligne(s) déjà importée(s)" in text
    assert db.session.query(Candidature).count() == 1


def test_unknown_column_is_mapped_on_its_screen(db, make, ref, setup):
    etab, _, client = setup
    headers = list(HEADERS)
    headers[HEADERS.index("E-mail")] = "Adresse électronique perso"
    r = _upload(client, xlsx([row(make, etab)], headers))
    assert "/correspondance" in r.request.path
    page = open_page(client, r.request.path)
    form = page.form(action=r.request.path)
    form.fill(colonne_0="E-mail")
    r = form.submit(button="valider", follow_redirects=True)
    assert "1 ligne(s) valide(s)" in r.get_data(as_text=True)


def test_another_users_import_is_not_found(app, db, make, ref, setup):
    etab, _, client = setup
    r = _upload(client, xlsx([row(make, etab)]))
    other = signed_in(app, make.user("utilisateur_etablissement", etablissement=etab))
    assert other.get(r.request.path).status_code == 404
    assert other.get(f"{r.request.path}/rapport").status_code == 404


def test_admin_reseau_imports_etablissements_through_the_screens(app, db, make, ref):
    from app.models import Etablissement
    from tests.test_imports import struct_row, struct_xlsx
    reseau = make.reseau()
    client = signed_in(app, make.user("admin_reseau", reseau=reseau))
    page = open_page(client, "/imports/")
    assert page.links("/imports/modele/etablissements/0")
    form = page.form(action="/imports/depot")
    form.fill(kind="Établissements et organismes")
    form.attach("fichier", struct_xlsx([struct_row(make), struct_row(make, region="Nulle part")]),
                "sites.xlsx")
    r = form.submit(button="envoyer", follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "1 ligne(s) valide(s)" in text and "Région inconnue." in text
    r = open_page(client, r.request.path).form(action=f"{r.request.path}/importer").submit(
        button="importer", follow_redirects=True)
    assert "Import terminé : 1 ligne(s) créée(s)." in r.get_data(as_text=True)
    assert db.session.query(Etablissement).count() == 1
