"""Second factor screens as rendered, CSRF on (issue 14 point 7): enrolment from « Mon compte »,
the code page after the password, the requirement per role and the reset by an administrator."""
import re
import time

import pyotp

from app.security import totp
from tests.factories import Factories
from tests.journeys.forms import follow, open_page


def password_page(client, user):
    logout = open_page(client, "/logout/")
    if logout.forms() and "/logout/" in logout.forms()[-1].action:
        logout.form(id="oc-logout-page").submit()
    page = open_page(client, "/login/")
    return page.form(has="password").fill(username=user.username,
                                          password=Factories.PASSWORD).submit()


def secret_on(page) -> str:
    return re.search(r'id="oc-secret">([A-Z2-7 ]+)<', page.html).group(1).replace(" ", "")


def enrol_on_screen(client, previous_step=False):
    page = open_page(client, "/mon-compte/")  # while enrolment is forced: the enrolment page
    assert "/mon-compte/double-authentification/" in page.links("double-authentification") \
        or page.forms()[-1].attrs.get("id") == "oc-form-confirmer"
    page = open_page(client, "/mon-compte/double-authentification/")
    assert page.html.count('src="data:image/svg+xml') == 1
    secret = secret_on(page)
    # previous_step: the code of the last 30 s (accepted for clock drift) leaves the current one
    # for the login that follows.
    step = int(time.time()) // totp.PAS - (1 if previous_step else 0)
    code = pyotp.TOTP(secret).at(step * totp.PAS)
    done = follow(client, page.form(id="oc-form-confirmer").fill(code=code).submit())
    codes = re.findall(r'class="oc-code-secours">([A-Z0-9-]+)<', done.html)
    assert len(codes) == 10, done.text
    return secret, codes


def test_enrol_then_log_in_with_the_code_and_a_recovery_code(app, make, db):
    sec = make.user("secretariat")
    client = app.test_client()
    r = password_page(client, sec)
    assert r.status_code == 302
    page = open_page(client, "/mon-compte/double-authentification/")
    wrong = page.form(id="oc-form-confirmer").fill(code="12345").submit()
    assert "Saisissez les 6 chiffres" in follow(client, wrong).text
    secret, codes = enrol_on_screen(client, previous_step=True)

    r = password_page(client, sec)
    assert r.headers["Location"].endswith("/login/code/")
    code_page = open_page(client, "/login/code/")
    assert client.get("/candidatures/list/").status_code == 302  # not signed in yet
    r = code_page.form(id="oc-form-code").fill(code=pyotp.TOTP(secret).now()).submit()
    assert r.status_code == 302
    assert client.get("/candidatures/list/").status_code == 200

    # Same code again, on a new login: refused.
    password_page(client, sec)
    again = open_page(client, "/login/code/").form(id="oc-form-code").fill(
        code=pyotp.TOTP(secret).now()).submit()
    assert "Ce code a déjà servi" in follow(client, again).text
    # A recovery code instead.
    r = open_page(client, "/login/code/").form(id="oc-form-code").fill(code=codes[0]).submit()
    assert r.status_code == 302
    assert "Il vous en reste 9" in open_page(client, r.headers["Location"]).text


def test_regenerate_codes_on_screen_needs_the_code(app, make, db):
    sec = make.user("secretariat")
    client = app.test_client()
    password_page(client, sec)
    _, old = enrol_on_screen(client, previous_step=True)
    page = open_page(client, "/mon-compte/double-authentification/")
    r = page.form(id="oc-form-codes").fill(**{"codes-code": "000000"}).submit()
    assert "Code incorrect." in follow(client, r).text
    page = open_page(client, "/mon-compte/double-authentification/")
    r = page.form(id="oc-form-codes").fill(**{"codes-code": old[1]}).submit()
    new = re.findall(r'class="oc-code-secours">([A-Z0-9-]+)<', follow(client, r).html)
    assert len(new) == 10 and set(new).isdisjoint(old)


def test_admin_makes_it_mandatory_then_resets_on_screen(app, make, db, ref):
    admin = make.user("admin")
    reseau_admin = make.user("admin_reseau", reseau=make.reseau(), dispositif=ref["CHIMIE"])
    boss = app.test_client()
    password_page(boss, admin)
    page = open_page(boss, "/double-authentification/exigences")
    r = page.form(id="oc-form-exigences").check("role_admin_reseau").submit()
    assert r.status_code == 302
    assert totp.exigences()["admin_reseau"] is True

    user = app.test_client()
    r = password_page(user, reseau_admin)
    assert r.headers["Location"].endswith("/mon-compte/double-authentification/")
    blocked = open_page(user, "/candidatures/list/")
    assert "Votre rôle impose la double authentification" in blocked.text
    enrol_on_screen(user)
    assert user.get("/candidatures/list/").status_code == 200

    page = open_page(boss, f"/double-authentification/reinitialiser/{reseau_admin.id}")
    r = page.form(id="oc-form-reinitialiser").submit(button="reinitialiser")
    done = follow(boss, r)
    assert "réinitialisée : un e-mail l'en informe" in done.text
    assert "Double authentification réinitialisée par un administrateur" in done.text
    db.session.expire_all()
    assert not totp.active(reseau_admin)
    # Next login: enrolment again, as the role requires.
    r = password_page(user, reseau_admin)
    assert r.headers["Location"].endswith("/mon-compte/double-authentification/")
