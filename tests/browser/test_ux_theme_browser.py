"""Issue 16 items 8 and 9 in Chromium: the axe-core audit of conftest.py does catch violations;
on a phone (390 px) no page of the secretariat scrolls sideways (lists become cards, a wide
cross-table scrolls in its own focusable box); the keyboard reaches the content first."""
from tests.browser.conftest import sign_in

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "locale": "fr-FR", "timezone_id": "Europe/Paris"}


def test_the_axe_audit_reports_serious_violations(browser):
    audit = browser.oc_axe
    tab = browser.new_context().new_page()
    with tab.expect_event("load"):
        tab.set_content("<html><head><title>t</title></head><body>"
                        "<a href='#'><img src='data:,'></a><input type='text'></body></html>")
    tab.evaluate("1")  # the load handler's audit has run once the next call returns
    found = {rule for rule, _ in audit.violations}
    assert {"html-has-lang", "label", "image-alt"} <= found, found
    assert "label" in audit.report() and "[critical]" in audit.report()
    audit.violations.clear()  # expected here: the fixture's teardown must not fail this test


def test_secretariat_pages_fit_a_phone(make, db, browser, live_server):
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    for _ in range(3):
        make.candidature("CHIMIE")
    make.jury("CHIMIE")
    db.session.commit()
    page = browser.new_context(**PHONE).new_page()
    sign_in(page, live_server, sec)
    for path in ["/", "/candidatures/list/", "/jurys/list/", "/documents/list/", "/statistiques/",
                 "/rapports/", "/habilitationview/list/", "/mon-compte/", "/accessibilite"]:
        page.goto(f"{live_server}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone: {width} px"
    page.goto(f"{live_server}/candidatures/list/")
    cards = page.locator("table.oc-cartes > tbody > tr")
    assert cards.count() == 3
    assert cards.first.locator("td[data-label='Candidat']").count() == 1, "each cell names its column"


def test_skip_link_and_landmarks(make, db, page, live_server):
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    sign_in(page, live_server, sec)
    page.goto(f"{live_server}/candidatures/list/")
    assert page.title() == "Candidatures — OpenCertif"
    page.keyboard.press("Tab")
    skip = page.locator(".oc-evitement")
    assert skip.evaluate("el => el === document.activeElement") and skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    assert page.locator("main h1").count() == 1
    # The menu and the breadcrumb (issue 16 item 8), each named.
    assert page.eval_on_selector_all("nav[aria-label]", "ns => ns.map(n => n.ariaLabel)") == [
        "Menu principal", "Fil d'Ariane"]
    outline = page.evaluate("""() => { const a = document.querySelector('main a');
        a.focus(); return getComputedStyle(a).outlineStyle; }""")
    assert outline != "none", "focus must be visible"
