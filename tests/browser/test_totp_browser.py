"""A secretariat enrols a second factor in a real browser (QR code shown under the CSP), then logs
in with its password and the code its « application » (pyotp) computes (issue 14 point 7)."""
import time

import pyotp

from app.security import totp
from tests.browser.conftest import sign_in, sign_out
from tests.factories import Factories


def test_enrol_and_log_in_with_a_code(db, make, live_server, page):
    sec = make.user("secretariat")
    db.session.commit()
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text
            else None)

    sign_in(page, live_server, sec)
    page.goto(f"{live_server}/mon-compte/")
    with page.expect_navigation():
        page.click("a[href$='/mon-compte/double-authentification/']")
    qr = page.locator("#oc-qr")
    qr.wait_for()
    # The inline QR code really displays: the CSP lets data: images through.
    assert page.evaluate("document.getElementById('oc-qr').naturalWidth") > 0
    assert not blocked, blocked
    secret = page.locator("#oc-secret").text_content().replace(" ", "")
    # The code of the last 30 s (clock drift allowance): the current one stays for the login.
    step = int(time.time()) // totp.PAS - 1
    page.fill("input[name=code]", pyotp.TOTP(secret).at(step * totp.PAS))
    with page.expect_navigation():
        page.click("#oc-form-confirmer button[type=submit]")
    codes = page.locator(".oc-code-secours").all_text_contents()
    assert len(codes) == 10
    assert "ne seront plus jamais affichés" in page.content()

    sign_out(page, live_server)
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", sec.username)
    page.fill("input[name=password]", Factories.PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url.endswith("/login/code/")
    page.goto(f"{live_server}/candidatures/list/")
    assert "/login" in page.url  # the password alone opened no session
    page.goto(f"{live_server}/login/code/")
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.click("#oc-form-code button[type=submit]")
    assert "/login" not in page.url
    page.goto(f"{live_server}/candidatures/list/")
    assert "/login" not in page.url and "Se déconnecter" in page.content()
