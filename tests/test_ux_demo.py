"""Issue 16 item 11: after `flask demo`, each demo account with dossiers lands on work to do, and
every count of its home equals the list it opens; the manager reads key figures."""
import pytest

from app.seed_data.demo import DEMO_PASSWORD
from tests.journeys.forms import open_page
from tests.test_ux_home import assert_counts_equal_lists

# Their home is a to-do list of dossiers (README's demo accounts).
# Not here: superviseur.reseau (habilitations, no dossier), jury and manager (see below),
# secretariat.metallurgie (no metallurgy dossier in the demo yet).
WITH_DOSSIERS = ["admin", "secretariat.chimie", "secretariat.clea", "admin.reseau",
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
