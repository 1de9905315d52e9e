"""Review of the structure, account and habilitation screens (issue 16, demo walk in Chromium):
what a menu or a list offers opens, forms fit the person filling them, no raw code or rule id."""
import re

import pytest

from tests.conftest import login
from tests.test_french import (
    DEMO_PASSWORD,
    demo,  # noqa: F401 - fixture
    read,
)


def _links(client, url):
    page = client.get(url)
    assert page.status_code == 200, url
    return read(page.get_data(as_text=True))[1]


@pytest.mark.parametrize("username", ["admin.etablissement", "utilisateur.organisme"])
def test_jurys_menu_only_for_those_who_read_juries(app, demo, username):  # noqa: F811
    """The item « Jurys » shared its name with its category, shown for the calendar: the OF roles
    saw it and got « Accès refusé ». They keep the calendar of the next juries."""
    client = login(app.test_client(), username, DEMO_PASSWORD)
    links = _links(client, "/")
    assert "/jurys/list/" not in links
    assert any(link.startswith("/jurys-calendrier/") for link in links), links
    assert client.get("/jurys/list/").status_code == 403
    secretariat = login(app.test_client(), "secretariat.chimie", DEMO_PASSWORD)
    assert "/jurys/list/" in _links(secretariat, "/")


def test_structure_lists_offer_only_what_opens(app, demo):  # noqa: F811
    """An établissement's administrator reads the réseau, the organisme and the companies but
    changes only his établissement: no « Modifier » (a 404) nor « Ajouter » (refused on save)
    elsewhere."""
    client = login(app.test_client(), "admin.etablissement", DEMO_PASSWORD)
    for name in ("reseau", "organisme", "entreprise", "etablissement"):
        links = _links(client, f"/{name}view/list/")
        assert f"/{name}view/add" not in [link.split("?")[0] for link in links], name
        edits = [link for link in links if f"/{name}view/edit/" in link]
        if name == "etablissement":
            assert edits and all(client.get(e).status_code == 200 for e in edits)
        else:
            assert not edits, (name, edits)
    # The certifier still adds and changes them all.
    secretariat = login(app.test_client(), "secretariat.chimie", DEMO_PASSWORD)
    links = _links(secretariat, "/reseauview/list/")
    assert "/reseauview/add" in [link.split("?")[0] for link in links]
    assert any("/reseauview/edit/" in link for link in links)


def test_refused_save_keeps_what_was_typed(app, demo):  # noqa: F811
    from tests.journeys.forms import open_page
    client = login(app.test_client(), "admin.etablissement", DEMO_PASSWORD)
    form = open_page(client, "/reseauview/add").form(has="nom")
    form.fill(nom="Réseau tapé à la main")
    r = form.submit()
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "hors de votre périmètre" in html
    assert 'value="Réseau tapé à la main"' in html


def test_habilitation_rows_offer_no_edit_even_to_the_technical_admin(app, demo):  # noqa: F811
    """Requests change only through the workflow: « Modifier » was a 404 on every row."""
    client = login(app.test_client(), "admin", DEMO_PASSWORD)
    links = _links(client, "/habilitationview/list/")
    assert any("/habilitationview/show/" in link for link in links)
    assert not [link for link in links if "/habilitationview/edit/" in link
                or "/habilitationview/delete/" in link]
    assert client.get("/habilitationview/edit/1").status_code == 404


def test_invite_form_fits_the_inviter(app, demo, db):  # noqa: F811
    """An établissement's administrator gives accounts of his établissement only: no empty
    Dispositif / Réseau / Organisme / Entreprise select, his établissement already chosen."""
    from app.models import Etablissement, Profil
    from tests.journeys.forms import open_page
    client = login(app.test_client(), "admin.etablissement", DEMO_PASSWORD)
    form = open_page(client, "/utilisateurview/add").form(has="email")
    assert not {"dispositif_id", "reseau_id", "organisme_id", "entreprise_id"} & form.names()
    etab = db.session.query(Etablissement).filter(Etablissement.nom.contains("Lyon")).one()
    assert form.options("etablissement_id")[1:] == [(str(etab.id), etab.nom)]
    assert form.get("etablissement_id") == str(etab.id)
    form.fill(prenom="Lina", nom="Martin", email="lina.martin@example.org",
              role="Utilisateur établissement")
    r = form.submit()
    assert r.status_code == 302, r.get_data(as_text=True)
    profil = db.session.query(Profil).join(Profil.user).filter_by(
        email="lina.martin@example.org").one()
    assert profil.etablissement_id == etab.id
    # The certifier, who gives accounts at every level, keeps every select.
    secretariat = login(app.test_client(), "secretariat.chimie", DEMO_PASSWORD)
    names = open_page(secretariat, "/utilisateurview/add").form(has="email").names()
    assert {"dispositif_id", "etablissement_id", "entreprise_id"} <= names


def test_employer_signup_says_every_error_at_once(app, db):
    """Bad SIRET, NAF and postcode: three messages, each under its field, what was typed kept
    (it took three submits to see them one after the other)."""
    from flask_appbuilder.security.sqla.models import User

    from tests.journeys.forms import open_page
    client = app.test_client()
    form = open_page(client, "/compte/employeur").form(has="siret")
    typed = {"siret": "123 456 789 00000", "raison_sociale": "Chaudronnerie Martin",
             "naf": "2562", "code_postal": "6900", "ville": "Lyon", "prenom": "Paul",
             "nom": "Martin", "email": "paul.martin@example.org"}
    form.fill(**typed)
    r = form.submit()
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    groups = {name: re.search(rf'id="{name}"(.*?)(?:form-group|</form>)', html, re.DOTALL).group(1)
              for name in typed}
    assert "SIRET" in groups["siret"] and "help-block" in groups["siret"]
    assert "25.62B" in groups["naf"]
    assert "5 chiffres" in groups["code_postal"]
    assert "help-block" not in groups["ville"]
    for name, value in typed.items():
        assert f'value="{value}"' in html, name
    assert db.session.query(User).filter_by(email="paul.martin@example.org").first() is None


def test_two_account_lists_two_names_and_the_gap_said(app, demo, db):  # noqa: F811
    """Sécurité › « Utilisateurs » (15 rows) beside Comptes › « Utilisateurs » (14 rows): the
    technical list has its own name and says it counts the administrator, who has no profile."""
    from flask_appbuilder.security.sqla.models import User

    from app.models import Profil
    client = login(app.test_client(), "admin", DEMO_PASSWORD)
    home = client.get("/").get_data(as_text=True)
    labels = re.findall(r'<a tabindex="-1" href="([^"]+)">(?:\s*<i[^>]*></i>&nbsp;)?\s*([^<]+?)\s*</a>',
                        home)
    by_label = {}
    for href, label in labels:
        by_label.setdefault(label, set()).add(href)
    assert by_label.get("Comptes (vue technique)") == {"/users/list/"}, labels
    assert by_label.get("Utilisateurs") == {"/utilisateurview/list/"}
    technical = client.get("/users/list/").get_data(as_text=True)
    comptes = client.get("/utilisateurview/list/").get_data(as_text=True)
    count = re.compile(r"Nombre de résultats\s*:\s*<strong>(\d+)</strong>")
    gap = int(count.search(technical).group(1)) - int(count.search(comptes).group(1))
    without_profile = db.session.query(User).filter(~User.id.in_(
        db.session.query(Profil.user_id))).count()
    assert gap == without_profile == 1
    assert "n'a pas de profil" in read(technical)[0]


def test_retention_screens_show_no_rule_id(app, demo):  # noqa: F811
    """The schedule had a « Règle » column reading « R-ARC-1 »: the other columns say it."""
    from tests.test_french import RULE_ID
    client = login(app.test_client(), "secretariat.chimie", DEMO_PASSWORD)
    for url in ("/retentionruleview/list/", "/purgelogview/list/"):
        html = client.get(url).get_data(as_text=True)
        text, links = read(html)
        assert not RULE_ID.search(text) and ">Règle<" not in html, url
        shows = [link for link in links if "/show/" in link and "view/show/" in link]
        for show in shows[:3]:
            assert not RULE_ID.search(read(client.get(show).get_data(as_text=True))[0]), show
    text = read(client.get("/retentionruleview/list/").get_data(as_text=True))[0]
    assert "Pièce d'identité du candidat" in text


def test_company_sector_read_as_its_label(app, demo, db):  # noqa: F811
    """« Secteur HM » on the company page: « Hors métaux » / « Métaux », on the list, the page
    and the form."""
    from app.models import Entreprise
    from tests.journeys.forms import open_page
    client = login(app.test_client(), "secretariat.metallurgie", DEMO_PASSWORD)
    chimie = db.session.query(Entreprise).filter_by(secteur="HM").first()
    metaux = db.session.query(Entreprise).filter_by(secteur="M").first()
    text = read(client.get(f"/entrepriseview/show/{chimie.id}").get_data(as_text=True))[0]
    assert "\nHors métaux\n" in text and "\nHM\n" not in text
    listing = read(client.get("/entrepriseview/list/").get_data(as_text=True))[0]
    assert "\nMétaux\n" in listing and "\nHM\n" not in listing and "\nM\n" not in listing
    form = open_page(client, f"/entrepriseview/edit/{metaux.id}").form(has="secteur")
    assert [label for _, label in form.options("secteur")] == ["—", "Métaux", "Hors métaux"]
    assert form.get("secteur") == "M"
