"""An établissement administrator in a real browser (issue 2 §11): French UI, creates a user of
its établissement through the form, and is refused another perimeter's établissement (R-ACC-5)."""
from flask_appbuilder.security.sqla.models import User

from app.models import Etablissement
from tests.browser.conftest import sign_in


def test_etablissement_admin_in_the_browser(db, make, live_server, page):  # R-ACC-5, R-ACC-1, R-FMT-4
    mine = make.etablissement(make.organisme(nom="Alphaform"), libelle="Lyon")
    other = make.etablissement(make.organisme(nom="Bravoform"), libelle="Nantes")
    admin = make.user("admin_etablissement", etablissement=mine)
    db.session.commit()  # the server thread reads the database, not this session

    sign_in(page, live_server, admin)
    html = page.content()
    assert "Bonjour" in html and "Se déconnecter" in html
    menu = page.locator(".navbar a[href$='/etablissementview/list/']")
    assert menu.count() == 1 and "Établissements" in menu.text_content()
    assert "Notifications non lues" in html and "Structures" in html

    # The list shows its établissement, named « ORGANISME libellé » (R-FMT-3), not the other one.
    page.goto(f"{live_server}/etablissementview/list/")
    assert "ALPHAFORM Lyon" in page.content() and "BRAVOFORM" not in page.content()

    # Creates a user of its établissement: an invitation, no password chosen for them (R-ACC-2).
    page.goto(f"{live_server}/utilisateurview/add")
    assert page.locator("input[type=password]").count() == 0
    page.fill("#prenom", "Ulysse")
    page.fill("#nom", "Établissement")
    page.fill("#email", "ulysse@example.org")
    page.select_option("#role", "utilisateur_etablissement")
    page.select_option("#etablissement_id", str(mine.id))
    assert page.locator(f"#etablissement_id option[value='{other.id}']").count() == 0
    with page.expect_navigation():
        page.click("form:not(.oc-logout) button[type=submit]")
    assert "Invitation envoyée à ulysse@example.org" in page.content()
    db.session.expire_all()
    created = db.session.query(User).filter_by(email="ulysse@example.org").one()
    assert created.profil.role == "utilisateur_etablissement"
    assert created.profil.etablissement_id == mine.id

    # Edits its établissement's public contact.
    page.goto(f"{live_server}/etablissementview/edit/{mine.id}")
    page.fill("#contact_public_nom", "Accueil Lyon")
    with page.expect_navigation():
        page.locator("form:not(.oc-logout) button[type=submit]").first.click()
    db.session.expire_all()
    assert db.session.get(Etablissement, mine.id).contact_public_nom == "Accueil Lyon"

    # Another perimeter's établissement: the French 404 page, nothing of it shown.
    response = page.goto(f"{live_server}/etablissementview/show/{other.id}")
    assert response.status == 404
    assert "Page introuvable" in page.content() and "BRAVOFORM" not in page.content()
    response = page.goto(f"{live_server}/etablissementview/edit/{other.id}")
    assert response.status == 404
