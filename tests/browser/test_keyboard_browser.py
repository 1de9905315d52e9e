"""Browser: a journey done with the keyboard alone (issue 16 item 9, RGAA 7.3 and 10.7) — after
the first address of each session, no click and no address typed: Tab, typing, arrows, Enter.
An établissement signs in, opens a dossier from its home's to-do count and sends it to
certification (the action's small form, then its confirmation); a juror signs in, opens the jury
from his home, deliberates one dossier (the decision chosen with the arrows, saved with Enter) and
moves on with « Suivant ». Every element the Tab key reaches shows its focus (an outline or a
shadow). axe-core audits each page (tests/browser/conftest.py), the PV approval pages included."""
import datetime as dt

import pytest

from tests.browser.conftest import sign_in

TODAY = dt.date.today()
FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), id: e.id, href: e.getAttribute('href') || '',
          text: (e.innerText || e.value || '').trim().slice(0, 60),
          visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                   || (s.boxShadow && s.boxShadow !== 'none')};
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUS) or {}


def tab_to(page, wanted, limit=80, back=False) -> dict:
    """Press Tab (Shift+Tab with `back`) until `wanted(focused element)`; each element reached
    must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        el = focused(page)
        assert el, "the focus left the page"
        assert el["visible"], f"focus not visible on {el}"
        if wanted(el):
            return el
    raise AssertionError(f"not reached with Tab in {limit} steps (last: {focused(page)})")


def enter_and_wait(page):
    with page.expect_navigation():
        page.keyboard.press("Enter")


def sign_in_by_keyboard(page, base, user):
    from tests.factories import Factories
    page.goto(f"{base}/login/")  # the only address given: the rest is the keyboard
    assert focused(page)["id"] == "username"  # the login form opens on its first field
    page.keyboard.type(user.username)
    el = tab_to(page, lambda e: e["id"] == "password")
    assert el["tag"] == "input"
    page.keyboard.type(Factories.PASSWORD)
    enter_and_wait(page)
    assert "/login" not in page.url, f"login failed for {user.username}"


def _jury_today(make, db, juror, dossiers):
    """A CléA jury sitting today, the juror a voting member, the dossiers registered."""
    from app.security.perimeter import Perimetre
    from app.security.perimeter import perimetre_of as P
    from app.workflow.jury import registration
    from app.workflow.jury.composition import add_member
    jury = make.jury("CLEA", lieu="Lyon")
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    admin = Perimetre(None, "admin", None, None)
    add_member(admin, jury, "president", nom="Président", prenom="Paul",
               email="president@example.com")
    add_member(admin, jury, "employeurs", user=juror.id)
    for c in dossiers:
        registration.register_to_jury(P(sec), c, jury)
    db.session.commit()
    jury.date, jury.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    jury.etat = "convoque"
    jury.convoque_le = dt.datetime.combine(TODAY - dt.timedelta(days=15), dt.time(9))
    db.session.commit()
    return jury


def test_dossier_and_deliberation_with_the_keyboard_only(make, db, live_server, browser):
    from app.models.candidature import Candidature
    from app.security.perimeter import perimetre_of as P
    from app.workflow.dossier import candidatures
    base = live_server
    clea = make.ref["CLEA"]
    juror = make.user("jury", dispositif=clea)
    sent = []
    for _ in range(3):
        c = make.dossier_pret_jury("CLEA")
        candidatures.send_to_certification(P(c.createur), c)
        sent.append(c)
    db.session.commit()
    jury = _jury_today(make, db, juror, sent)
    ready = make.dossier_pret_jury("CLEA")  # validated, waiting to be sent
    db.session.commit()

    # -- the établissement: home → to-do count → dossier → « Envoyer en certification » ----------
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in_by_keyboard(page, base, ready.createur)
    tab_to(page, lambda e: "/a-faire/pret_jury" in e["href"])
    enter_and_wait(page)
    assert "Nombre de résultats : 1" in page.inner_text("#oc-a-faire-total")
    tab_to(page, lambda e: e["href"] == f"/dossier/{ready.id}")
    enter_and_wait(page)
    el = tab_to(page, lambda e: e["tag"] == "summary" and "Envoyer en certification" in e["text"])
    page.keyboard.press("Enter")  # opens the action's small form
    assert page.locator("details[data-verb=send_to_certification]").get_attribute(
        "open") is not None
    tab_to(page, lambda e: e["tag"] == "button" and "Confirmer" in e["text"])
    enter_and_wait(page)
    assert "Dossier envoyé en certification" in page.inner_text(".alert-success")
    db.session.expire_all()
    assert db.session.get(Candidature, ready.id).statut == "en_attente_jury"
    context.close()

    # -- the juror: home → the jury → « Délibérer » → decide dossier 1 → « Suivant » ------------
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in_by_keyboard(page, base, juror)
    tab_to(page, lambda e: e["href"] == f"/jurys/show/{jury.id}")
    enter_and_wait(page)
    tab_to(page, lambda e: e["id"] == "btn-deliberer")
    enter_and_wait(page)
    assert "Dossier 1 sur 3" in page.inner_text("#position")
    assert focused(page).get("id") == "position"  # the page opens on the dossier's position
    el = tab_to(page, lambda e: e["tag"] == "select" and e["id"].startswith("decision-"))
    first = el["id"]
    before = page.eval_on_selector(f"#{first}", "s => s.value")
    page.keyboard.press("ArrowDown")  # Chromium changes a closed select's value with the arrows
    chosen = page.eval_on_selector(f"#{first}", "s => s.value")
    if chosen == before:
        page.keyboard.press("ArrowUp")
        chosen = page.eval_on_selector(f"#{first}", "s => s.value")
    assert chosen != before
    tab_to(page, lambda e: e["tag"] == "button" and "Enregistrer la décision" in e["text"])
    enter_and_wait(page)
    assert "Décision enregistrée" in page.inner_text(".alert-success")
    assert "Dossier 2 sur 3" in page.inner_text("#position")
    assert "1 / 3 décidés" in page.inner_text("#progression")
    # After the save, the focus is on the next dossier's position: Tab goes on from there.
    assert focused(page).get("id") == "position"
    tab_to(page, lambda e: e["id"] == "suivant", limit=5)
    enter_and_wait(page)
    assert "Dossier 3 sur 3" in page.inner_text("#position")
    context.close()


@pytest.fixture
def pv_world(make, db):
    """Built before the browser starts: issuing the PV renders a PDF with its own event loop."""
    from tests.test_pv_approval import approval_world
    return approval_world(make, db)


def test_pv_approval_pages_audited(pv_world, live_server, page):
    """The jury's PV to approve: the list and the page, audited by axe-core on load, and the
    closed jury's pages."""
    w, base = pv_world, live_server
    sign_in(page, base, w["cfdt"])
    page.goto(f"{base}/approbation-pv/")
    assert page.locator(f"a[href='/approbation-pv/{w['jury'].id}']").count()
    page.goto(f"{base}/approbation-pv/{w['jury'].id}")
    assert page.locator("#form-approbation").count() == 1
    page.goto(f"{base}/jurys/show/{w['jury'].id}")
    assert "Clos" in page.inner_text("#etat-jury")
    page.goto(f"{base}/jurys/deliberer/{w['jury'].id}/1")
    assert "Dossier 1 sur 2" in page.inner_text("#position")
