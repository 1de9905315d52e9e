"""Issue 16 item 1 in Chromium: a refused « Finaliser » and a refused jury decision keep
everything typed, with the error in view next to its field."""
import datetime as dt

from app.security.perimeter import perimetre_of as P
from app.workflow.evaluation import clea
from app.workflow.jury import registration
from tests.browser.conftest import sign_in

TODAY = dt.date.today()


def test_refused_finalisation_keeps_the_grid(make, db, live_server, page):  # R-EVA-5
    c = make.candidature("CLEA")
    clea.start_evaluation(P(c.createur), c, evaluateur_nom="Durand",
                                 evaluateur_prenom="Paul", evaluateur_email="paul@test.invalid")
    db.session.commit()
    sign_in(page, live_server, c.createur)
    page.goto(f"{live_server}/evaluation/{c.id}")
    radios = page.locator("#form-evaluation input[type=radio][value='1']")
    total = radios.count()
    assert total == 28
    for i in range(1, total):  # the first row left empty
        radios.nth(i).check()
    page.fill("#conclusion", "Parcours solide")
    page.fill("#commentaire", "À revoir : le calcul")
    with page.expect_navigation():
        page.click("#finaliser")
    assert page.locator("#erreurs").is_visible()
    assert page.locator("#form-evaluation input[type=radio][value='1']:checked").count() == total - 1
    assert page.input_value("#conclusion") == "Parcours solide"
    assert page.input_value("#commentaire") == "À revoir : le calcul"
    first = page.locator("#form-evaluation input[type=radio][value='1']").first
    assert first.evaluate("el => el === document.activeElement"), "the missing row is focused"
    assert page.locator(".oc-erreur").first.is_visible()


def test_refused_jury_decision_keeps_the_choice_and_the_comment(make, db, live_server, page):
    # R-DEC-1: « Validé » while a competence is left unchecked.
    j = make.jury("CHIMIE")
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CHIMIE", acquis=2)
    ins = registration.register_to_jury(P(c.createur), c, j).inscription
    db.session.commit()
    j.date, j.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    db.session.commit()
    sign_in(page, live_server, members["CFDT"].user)
    page.goto(f"{live_server}/jurys/deliberation/{j.id}")
    form = page.locator(f"form[action$='/jurys/decision/{ins.id}']")
    form.locator("select[name=decision]").select_option("valide")
    form.locator("textarea[name=commentaire]").fill("Très bonne présentation")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    form = page.locator(f"form[action$='/jurys/decision/{ins.id}']")
    assert form.locator("select[name=decision]").input_value() == "valide"
    assert form.locator("textarea[name=commentaire]").input_value() == "Très bonne présentation"
    error = page.locator(f"#erreur-dossier-{ins.id}")
    assert error.is_visible()
    select = page.locator(f"#decision-{ins.id}")
    assert select.evaluate("el => el === document.activeElement")
    box = select.bounding_box()
    viewport = page.viewport_size
    assert box and 0 <= box["y"] <= viewport["height"], "the refused form is scrolled into view"
