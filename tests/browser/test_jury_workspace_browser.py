"""Browser: a CléA jury run from its workspace (issue 16 item 3) — the secretariat registers the
ready dossiers from the jury page, the juror deliberates one dossier at a time, the secretariat
closes, issues the certificates and the decision letters, prints them as one batch and records the mailing of the letters
in one action. axe-core audits each page (tests/browser/conftest.py)."""
import datetime as dt

from tests.browser.conftest import sign_in

TODAY = dt.date.today()


def test_jury_run_from_its_workspace(make, db, live_server, page):  # R-JUR-2 R-JUR-9 R-DEC-4 R-ENV-1
    from app.models.document import DocumentEmis
    from app.security.perimeter import Perimetre
    from app.security.perimeter import perimetre_of as P
    from app.workflow.dossier import candidatures
    from app.workflow.jury.composition import add_member
    base = live_server
    clea = make.ref["CLEA"]
    sec = make.user("secretariat", dispositif=clea)
    juror = make.user("jury", dispositif=clea)
    # Sent to certification while no jury was open: they wait for the secretariat.
    dossiers = []
    for _ in range(2):
        c = make.dossier_pret_jury("CLEA")
        candidatures.send_to_certification(P(c.createur), c)
        db.session.commit()
        dossiers.append(c)
    jury = make.jury("CLEA", date=TODAY, date_limite_inscription=TODAY, capacite=5)
    admin = Perimetre(None, "admin", None, None)
    add_member(admin, jury, "president", nom="Président", prenom="Paul",
               email="president@example.com")
    add_member(admin, jury, "employeurs", user=juror.id)
    db.session.commit()

    # The secretariat registers both ready dossiers from the jury page.
    sign_in(page, base, sec)
    page.goto(f"{base}/jurys/show/{jury.id}")
    assert "Dossiers prêts pour ce jury (2)" in page.inner_text("#titre-prets")
    for box in page.query_selector_all("#form-inscrire-dossiers input[name=dossiers]"):
        box.check()
    with page.expect_navigation():
        page.click("#btn-inscrire-dossiers")
    assert "2 dossier(s) inscrit(s) à ce jury" in page.content()
    assert "Dossiers prêts pour ce jury (0)" in page.inner_text("#titre-prets")

    # The juror deliberates one dossier at a time; each save moves on to the next.
    sign_in(page, base, juror)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.click("#btn-deliberer")
    page.wait_for_load_state()
    for n, decision in ((1, "Certifiée"), (2, "Non certifiée")):
        assert f"Dossier {n} sur 2" in page.content() and f"{n - 1} / 2 décidés" in page.content()
        page.select_option("form.form-decision select[name=decision]", label=decision)
        with page.expect_navigation():
            page.click("form.form-decision button[type=submit]")
    assert "Toutes les décisions de ce jury sont enregistrées" in page.content()  # on its page

    # The secretariat closes the jury and issues the certificates.
    sign_in(page, base, sec)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.once("dialog", lambda d: d.accept())
    page.click("#btn-cloturer")
    page.wait_for_selector("#emettre-certificat")
    page.click("#emettre-certificat")
    page.wait_for_selector("#emettre-lettre_decision")
    with page.expect_navigation():
        page.click("#emettre-lettre_decision")
    assert "(1 à enregistrer)" in page.inner_text("#btn-envoi-courriers")  # the letter

    # Mailing recorded for every letter in one action; a second click records nothing twice.
    page.select_option("#canal-envoi", index=0)
    with page.expect_navigation():
        page.click("#btn-envoi-courriers")
    assert "Envoi enregistré pour" in page.content()
    assert "Aucun courrier à enregistrer" in page.inner_text("#aucun-courrier")

    # One print batch of the jury's certificates.
    with page.expect_navigation():
        page.click("#btn-imprimer-certificats")
    assert "/documents/lot/" in page.url
    db.session.expire_all()
    kinds = sorted(d.type for d in db.session.query(DocumentEmis).filter(DocumentEmis.jury_id == jury.id))
    assert kinds == ["certificat", "lettre_decision"]


def test_jury_page_fits_a_phone(make, db, live_server, browser):  # issue 16 review item 10
    from tests.browser.test_ux_theme_browser import PHONE
    from tests.test_pv_approval import approval_world
    w = approval_world(make, db, issue=False)  # closed, two decisions
    jury, sec = w["jury"], w["sec"]
    page = browser.new_context(**PHONE).new_page()
    sign_in(page, live_server, sec)
    page.goto(f"{live_server}/jurys/show/{jury.id}")
    for kind in ("pv", "certificat", "lettre_decision"):  # issued by the server, as a user does
        with page.expect_navigation():
            page.click(f"#emettre-{kind}")
    wide = page.eval_on_selector_all(
        "main *", "es => es.filter(e => e.getBoundingClientRect().right > 391)"
                  ".map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + "
                  "Math.round(e.getBoundingClientRect().right))")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the jury page scrolls sideways on a phone: {width} px {wide[:15]}"
    # The action buttons wrap onto several lines, each within the screen.
    boxes = page.eval_on_selector_all(
        ".oc-actions .btn, #documents-jury .btn",
        "bs => bs.map(b => b.getBoundingClientRect()).map(r => [r.left, r.right, r.top])")
    assert boxes and all(left >= 0 and right <= 390 for left, right, _ in boxes), boxes
    assert len({round(top) for _, _, top in boxes}) > 1, "the buttons stay on one line"
