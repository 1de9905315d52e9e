"""Habilitations in a real browser (issue 3 acceptance): an organisme administrator requests a
habilitation for two certifiers; the CléA secretariat validates it with dates, the chemistry
secretariat rejects its one with a reason; the établissement then has its evaluations and
formations open for CléA only, and reads the reason of the rejection (R-HAB-1, R-HAB-2, R-HAB-3)."""
import datetime as dt

from app.models.habilitation import Habilitation
from tests.browser.conftest import sign_in

TODAY = dt.date.today()


def _tab(browser, base_url, user):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, base_url, user)
    return context, page


def test_request_validate_reject_in_the_browser(db, make, ref, live_server, browser):  # R-HAB-1 R-HAB-2 R-HAB-3
    organisme = make.organisme(nom="La Boetie")
    etab = make.etablissement(organisme=organisme, libelle="Marseille")
    admin_org = make.user("admin_organisme", organisme=organisme)
    admin_etab = make.user("admin_etablissement", etablissement=etab)
    sec_clea = make.user("secretariat", dispositif=ref["CLEA"])
    sec_chimie = make.user("secretariat", dispositif=ref["CHIMIE"])
    db.session.commit()

    # The organisme administrator requests from Certif Pro (CléA) and the CPNE (chemistry).
    ctx, page = _tab(browser, live_server, admin_org)
    page.locator(".navbar a.dropdown-toggle", has_text="Habilitations").click()
    page.locator(".navbar a", has_text="Demander une habilitation").first.click()
    page.wait_for_load_state()
    page.select_option("#etablissement_id", str(etab.id))
    page.check(f"input[name=dispositifs][value='{ref['CLEA'].id}']")
    page.check(f"input[name=dispositifs][value='{ref['CHIMIE'].id}']")
    with page.expect_navigation():
        page.click("#demande-habilitation button[type=submit]")
    assert "2 demande(s) d'habilitation envoyée(s)" in page.content()
    assert page.locator("#historique tbody tr", has_text="En attente").count() == 2
    assert "CléA</strong> : fermé" in page.content()
    ctx.close()
    db.session.expire_all()
    hab_clea = db.session.query(Habilitation).filter_by(dispositif_id=ref["CLEA"].id).one()
    hab_chimie = db.session.query(Habilitation).filter_by(dispositif_id=ref["CHIMIE"].id).one()

    # Certif Pro sees the request in its list (not the chemistry one) and validates it with dates.
    ctx, page = _tab(browser, live_server, sec_clea)
    page.goto(f"{live_server}/habilitationview/list/")
    assert "LA BOETIE Marseille" in page.content()
    assert page.locator("table tbody tr", has_text="CQP des Industries Chimiques").count() == 0
    page.goto(f"{live_server}/habilitationview/show/{hab_clea.id}")
    with page.expect_navigation():
        page.click("a.btn-success:has-text('Valider')")
    page.fill("#date_debut", TODAY.isoformat())
    page.fill("#date_fin", (TODAY + dt.timedelta(days=3 * 365)).isoformat())
    with page.expect_navigation():
        page.click("button:has-text(\"Valider l'habilitation\")")
    assert "Habilitation validée." in page.content()
    assert page.locator("#etat").text_content().strip() == "Validée"
    ctx.close()

    # The CPNE rejects its request with a reason.
    ctx, page = _tab(browser, live_server, sec_chimie)
    page.goto(f"{live_server}/habilitationview/rejeter/{hab_clea.id}")
    assert "introuvable" in page.content().lower() or "n'existe pas" in page.content()
    page.goto(f"{live_server}/habilitationview/show/{hab_chimie.id}")
    with page.expect_navigation():
        page.click("a.btn-danger:has-text('Rejeter')")
    page.fill("#motif_rejet", "Plateau technique insuffisant pour les CQP visés")
    with page.expect_navigation():
        page.click("form:not(.oc-logout) button[type=submit]")
    assert "Demande d'habilitation rejetée." in page.content()
    ctx.close()

    # The établissement: CléA evaluations and formations open, chemistry closed; the reason shows.
    ctx, page = _tab(browser, live_server, admin_etab)
    page.goto(f"{live_server}/habilitationview/etablissement/{etab.id}")
    acces = page.locator("#acces").text_content()
    assert "CléA : ouvert" in " ".join(acces.split())
    assert "CQP des Industries Chimiques : fermé" in " ".join(acces.split())
    assert page.locator("#historique tbody tr", has_text="Validée").count() == 1
    page.goto(f"{live_server}/habilitationview/show/{hab_chimie.id}")
    assert page.locator("#motif").text_content() == "Plateau technique insuffisant pour les CQP visés"
    r = page.request.get(f"{live_server}/api/v1/habilitation/acces?etablissement_id={etab.id}"
                         f"&dispositif_id={ref['CLEA'].id}")
    assert r.json()["autorise"] is True
    page.goto(f"{live_server}/notificationview/list/")
    assert "Demande d&#39;habilitation acceptée" in page.content() or \
        "Demande d'habilitation acceptée" in page.content()
    assert "rejetée" in page.content()
    ctx.close()
