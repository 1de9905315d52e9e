"""Issue 16 items 4 and 9: FAB's own security screens — French, roles by name and purpose, no
password set by a third party, no external script — for the technical administrator only; the
public accessibility statement; the page skeleton (lang, landmarks, one h1, a title per page)."""
import re
from html import unescape

import pytest

from app.models.comptes import ROLES

SECURITY_PAGES = ["/users/list/", "/roles/list/"]
GONE = ["/groups/list/", "/permissions/list/", "/viewmenus/list/", "/permissionviews/list/",
        "/userstatschartview/chart/", "/users/add", "/users/edit/1", "/roles/add",
        "/resetpassword/form?pk=1"]


def _denied(r):
    return r.status_code in (302, 403, 404) and b"Statistiques des utilisateurs" not in r.data


def test_the_technical_administrator_reads_users_and_roles_in_french(make, login_as):
    admin = make.user("admin")
    make.user("secretariat", username="sophie")
    client = login_as(admin)
    users = client.get("/users/list/")
    assert users.status_code == 200
    html = users.get_data(as_text=True)
    assert "sophie" in html and "Secrétariat" in html
    for english in ("List Users", "First Name", "Last login", "Reset Password", "[Secr", "True",
                    "None", "Add a new record"):
        assert english not in html, english
    assert "www.gstatic.com" not in html and "google" not in html.lower()
    # No « add », no password: accounts come by invitation (Comptes › Utilisateurs).
    assert 'href="/users/add"' not in html
    show = client.get(f"/users/show/{admin.id}").get_data(as_text=True)
    assert "Réinitialiser le mot de passe" not in show and "resetpassword" not in show
    roles = client.get("/roles/list/").get_data(as_text=True)
    for code, label in ROLES:  # the technical administrator's role row is FAB's « Admin »
        assert (label if code != "admin" else "<strong>Admin</strong>") in roles, label
    assert "Délibère dans les jurys dont il est membre." in roles
    assert "can_" not in roles and "^" not in roles  # no permission regex
    menu = client.get("/").get_data(as_text=True)
    assert "Groupes" not in menu and "Statistiques des utilisateurs" not in menu
    assert "Permissions de base" not in menu
    for url in GONE:
        assert _denied(client.get(url)), url


@pytest.mark.parametrize("role", [code for code, _ in ROLES if code != "admin"])
def test_security_screens_are_hidden_from_every_other_role(make, login_as, role):
    client = login_as(make.user(role))
    assert "/users/list/" not in client.get("/").get_data(as_text=True)
    for url in SECURITY_PAGES + GONE:
        assert _denied(client.get(url)), (role, url)


def test_accessibility_statement_is_public_and_honest(client):
    r = client.get("/accessibilite")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Déclaration d'accessibilité" in html
    assert "partiellement conforme" in html and "axe-core" in html and "RGAA 4.1" in html
    assert "Défenseur des droits" in html
    assert "<title>Déclaration d'accessibilité — " in unescape(html)
    # Linked from every page's footer, the login page included.
    assert 'href="/accessibilite"' in client.get("/login/").get_data(as_text=True)


def test_the_tab_icon_exists_for_everyone(client):
    r = client.get("/favicon.ico")  # every browser asks; a 404 was logged on every page
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert "<svg" in r.get_data(as_text=True)


def test_every_page_has_lang_landmarks_one_h1_and_its_own_title(make, login_as):
    client = login_as(make.user("secretariat"))
    titles = set()
    for url in ["/", "/candidatures/list/", "/jurys/list/", "/mon-compte/", "/statistiques/"]:
        html = client.get(url).get_data(as_text=True)
        assert '<html lang="fr">' in html, url
        assert "<main" in html and "<nav" in html and "<footer" in html, url
        assert len(re.findall(r"<h1[ >]", html)) == 1, url
        titles.add(re.search(r"<title>(.*?)</title>", html, re.DOTALL).group(1).strip())
        assert 'href="#contenu"' in html and 'id="contenu"' in html, url
    assert len(titles) == 5, titles
