"""Issue 16 item 11: after `flask demo`, each demo account with dossiers lands on work to do, and
every count of its home equals the list it opens; the manager reads key figures."""
import re
from html import unescape

import pytest

from app.seed_data.demo import DEMO_PASSWORD
from tests.journeys.forms import open_page
from tests.test_ux_home import assert_counts_equal_lists

# Their home is a to-do list of dossiers (README's demo accounts).
# Not here: superviseur.reseau (habilitations, no dossier), jury and manager (see below).
WITH_DOSSIERS = ["admin", "secretariat.chimie", "secretariat.clea", "secretariat.metallurgie",
                 "admin.reseau",
                 "admin.organisme", "utilisateur.organisme",
                 "admin.etablissement", "utilisateur.etablissement", "utilisateur.nantes",
                 "employeur", "evaluateur"]


@pytest.fixture
def demo(app, db):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return app


def demo_client(app, login):
    client = app.test_client()
    form = open_page(client, "/login/").form(has="username")
    r = form.fill(username=login, password=DEMO_PASSWORD).submit()
    assert r.status_code == 302 and "/login" not in r.headers["Location"], login
    return client


def test_each_demo_account_lands_on_work_to_do(demo):  # R-STA-1
    for login in WITH_DOSSIERS:
        counts = assert_counts_equal_lists(demo_client(demo, login))
        assert any(counts.values()), (login, counts)


def test_demo_chemistry_has_every_stage_and_the_manager_key_figures(demo):
    counts = assert_counts_equal_lists(demo_client(demo, "secretariat.chimie"))
    assert counts["pret_jury"] >= 1 and counts["evaluation_initiale"] >= 1
    page = open_page(demo_client(demo, "manager"), "/")
    assert 'id="oc-chiffres"' in page.html


def test_the_jury_member_lands_on_todays_jury_to_deliberate(demo):
    client = demo_client(demo, "jury")
    page = open_page(client, "/")
    assert 'id="oc-mes-jurys"' in page.html and "Jury de démonstration du jour" in page.html
    assert "2</strong> dossiers inscrits" in page.html
    link = re.search(r'href="(/jurys/deliberation/\d+)">délibérer', page.html)
    assert link, "no deliberation link on the jury member's home"
    deliberation = client.get(link.group(1))
    assert deliberation.status_code == 200
    assert "FAURE" in deliberation.get_data(as_text=True).upper()


@pytest.mark.parametrize("login, libelle, nom, decisions, complement", [
    ("jury.clea", "Jury CléA de démonstration du jour", "FONTAINE",
     {"certifiee", "non_certifiee"}, True),
    ("jury.metallurgie", "Jury paritaire de démonstration du jour", "MERCIER",
     {"admis", "non_admis"}, False),
])
def test_the_clea_and_metallurgy_jurors_deliberate_today(demo, login, libelle, nom, decisions,
                                                         complement):
    """The README's CléA and CQPM journeys are played from the deliberation on: each juror
    lands on a jury of today whose deliberation page offers the decision form."""
    client = demo_client(demo, login)
    page = open_page(client, "/")
    assert 'id="oc-mes-jurys"' in page.html and libelle in page.html
    assert "2</strong> dossiers inscrits" in page.html
    link = re.search(r'href="(/jurys/deliberation/\d+)">délibérer', page.html)
    assert link, f"no deliberation link on {login}'s home"
    deliberation = open_page(client, link.group(1))
    assert "deliberation-fermee" not in deliberation.html
    assert nom in deliberation.html.upper()
    forms = [f for f in deliberation.forms() if "decision" in f.names()]
    assert len(forms) == 2, "one decision form per registered dossier"
    assert {value for value, _ in forms[0].options("decision")} >= decisions
    # CléA: « Demander un complément » beside each decision form.
    assert bool([f for f in deliberation.forms() if "/jurys/complement/" in f.action]) is complement


def test_the_network_supervisor_follows_a_pending_habilitation_request(demo):
    client = demo_client(demo, "superviseur.reseau")
    html = open_page(client, "/").html
    found = re.search(r'id="oc-habilitations".*?<a href="([^"]+)"[^>]*>(\d+)<', html, re.DOTALL)
    assert found and int(found.group(2)) == 1, "no pending habilitation on the supervisor's home"
    listed = client.get(unescape(found.group(1))).get_data(as_text=True)
    assert "Grenoble" in listed and listed.count("En attente") >= 1


def test_the_metallurgy_secretariat_has_dossiers_and_a_request_to_decide(demo):
    counts = assert_counts_equal_lists(demo_client(demo, "secretariat.metallurgie"))
    assert counts["pret_jury"] == 1 and counts["evaluation_initiale"] == 1
    client = demo_client(demo, "secretariat.metallurgie")
    html = open_page(client, "/").html
    found = re.search(r'id="oc-habilitations".*?<a href="([^"]+)"[^>]*>(\d+)<', html, re.DOTALL)
    assert found and int(found.group(2)) == 1, "no request to decide on the secretariat's home"
    listed = client.get(unescape(found.group(1))).get_data(as_text=True)
    assert "Grenoble" in listed and "Demande d'habilitation en attente" in html
