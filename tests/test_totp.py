"""Second factor (issue 14 point 7): TOTP for secretariat, technical and réseau administrators —
enrolment, login with and without the code, recovery codes, admin reset, mandatory per role, API.

The pages themselves are driven as rendered, with CSRF on, in tests/journeys/test_totp_screens.py;
here the rules are checked through the domain and plain requests."""
import html
import re
import threading
import time

import pyotp
import pytest

from app.models.comptes import CodeSecours, DoubleFacteur, JournalDoubleFacteur
from app.security import api_keys, totp
from app.security.perimeter import Perimetre, perimetre_of
from tests.conftest import login, outbox
from tests.factories import Factories

DOSSIERS = "/candidatures/list/"


def enrol(db, user) -> tuple[str, list[str]]:
    """The user's secret and recovery codes, enrolled with a code of the previous step (so that a
    test may still log in with the current one)."""
    secret = totp.commencer(user)
    step = int(time.time()) // totp.PAS - 1
    codes = totp.confirmer(user, pyotp.TOTP(secret).at(step * totp.PAS))
    db.session.commit()
    return secret, codes


def password_step(client, user):
    client.post("/logout/")
    return client.post("/login/", data={"username": user.username,
                                        "password": Factories.PASSWORD})


def signed_in(client) -> bool:
    return client.get(DOSSIERS).status_code == 200


@pytest.fixture
def sec(make):
    return make.user("secretariat")


# -- enrolment --------------------------------------------------------------------------------

def test_enrolment_shows_qr_refuses_wrong_code_then_shows_recovery_codes_once(make, db, login_as, sec):
    client = login_as(sec)
    page = client.get("/mon-compte/double-authentification/").get_data(as_text=True)
    assert 'src="data:image/svg+xml;utf8,' in page  # inline QR code: no script, no other origin
    row = db.session.query(DoubleFacteur).filter_by(user_id=sec.id).one()
    assert row.active_le is None
    secret = re.search(r'id="oc-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert secret not in row.secret_chiffre  # stored encrypted
    assert totp._dechiffrer(row.secret_chiffre) == secret

    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1000000:06d}"
    r = client.post("/mon-compte/double-authentification/confirmer", data={"code": wrong})
    assert "Code incorrect." in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DoubleFacteur, row.id).active_le is None

    r = client.post("/mon-compte/double-authentification/confirmer",
                    data={"code": pyotp.TOTP(secret).now()})
    body = r.get_data(as_text=True)
    codes = re.findall(r'class="oc-code-secours">([A-Z0-9-]+)<', body)
    assert len(codes) == 10 and len(set(codes)) == 10
    db.session.expire_all()
    assert db.session.get(DoubleFacteur, row.id).active_le is not None
    stored = [c.empreinte for c in db.session.query(CodeSecours).filter_by(user_id=sec.id)]
    assert len(stored) == 10 and not any(c.replace("-", "") in s for c in codes for s in stored)
    # Never shown again: neither the codes nor the secret.
    again = client.get("/mon-compte/double-authentification/").get_data(as_text=True)
    assert not any(c in again for c in codes) and "oc-secret" not in again
    assert "activée" in again


def test_only_the_roles_that_can_change_everything_enrol(make, db, login_as):
    etab_user = make.user("utilisateur_etablissement", etablissement=make.etablissement())
    with pytest.raises(totp.NotAllowed):
        totp.commencer(etab_user)
    r = login_as(etab_user).get("/mon-compte/double-authentification/")
    assert r.status_code == 302
    assert db.session.query(DoubleFacteur).count() == 0
    reseau = make.user("admin_reseau", reseau=make.reseau())
    admin = make.user("admin")
    assert totp.concerne(reseau) and totp.concerne(admin) and totp.concerne(make.user("secretariat"))


# -- login ------------------------------------------------------------------------------------

def test_password_alone_gives_no_session_and_the_code_logs_in(app, db, sec):
    secret, _ = enrol(db, sec)
    client = app.test_client()
    r = password_step(client, sec)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/code/")
    # The pending state is no session: the dossier list sends back to the login page.
    r = client.get(DOSSIERS)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/mon-compte/").status_code == 302
    r = client.post("/login/code/", data={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302 and "/login" not in r.headers["Location"]
    assert signed_in(client)


def test_wrong_code_refused_and_no_session(app, db, sec):
    secret, _ = enrol(db, sec)
    client = app.test_client()
    password_step(client, sec)
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500000) % 1000000:06d}"
    r = client.post("/login/code/", data={"code": wrong})
    assert r.status_code == 200 and "Code incorrect." in r.get_data(as_text=True)
    assert not signed_in(client)


def test_same_code_refused_twice_within_its_window(app, db, sec):
    secret, _ = enrol(db, sec)
    code = pyotp.TOTP(secret).now()
    first = app.test_client()
    password_step(first, sec)
    assert first.post("/login/code/", data={"code": code}).status_code == 302
    second = app.test_client()
    password_step(second, sec)
    r = second.post("/login/code/", data={"code": code})
    assert "Ce code a déjà servi" in r.get_data(as_text=True)
    assert not signed_in(second)


def test_expired_pending_state_sends_back_to_password(app, db, sec, monkeypatch):
    secret, _ = enrol(db, sec)
    client = app.test_client()
    password_step(client, sec)
    monkeypatch.setitem(app.config, "TOTP_PENDING_MAX_AGE", -1)
    r = client.post("/login/code/", data={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/")
    assert not signed_in(client)


def test_recovery_code_works_once(app, db, sec):
    _, codes = enrol(db, sec)
    client = app.test_client()
    password_step(client, sec)
    r = client.post("/login/code/", data={"code": codes[3].lower()}, follow_redirects=True)
    assert "Il vous en reste 9" in r.get_data(as_text=True)
    assert signed_in(client)
    again = app.test_client()
    password_step(again, sec)
    r = again.post("/login/code/", data={"code": codes[3]})
    assert "Code de secours incorrect ou déjà utilisé." in r.get_data(as_text=True)
    assert not signed_in(again)
    assert db.session.query(JournalDoubleFacteur).filter_by(
        user_id=sec.id, evenement="code_secours_utilise").count() == 1


def test_code_page_limited_per_account(app, db, sec, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "TOTP_RATE_LIMIT_PER_ACCOUNT", "3 per 5 minute")
    monkeypatch.setitem(app.config, "TOTP_RATE_LIMIT_PER_IP", "100 per 5 minute")
    app.extensions.pop("oc_account_limiter", None)  # fresh counters
    secret, _ = enrol(db, sec)
    client = app.test_client()
    password_step(client, sec)
    answers = [client.post("/login/code/", data={"code": "000000"}).status_code
               for _ in range(3)]
    assert answers == [200, 200, 200]
    r = client.post("/login/code/", data={"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "Trop d'essais de code" in html.unescape(r.get_data(as_text=True))
    assert not signed_in(client)
    app.extensions.pop("oc_account_limiter", None)


def test_code_page_limited_per_address(app, db, make, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "TOTP_RATE_LIMIT_PER_ACCOUNT", "100 per 5 minute")
    monkeypatch.setitem(app.config, "TOTP_RATE_LIMIT_PER_IP", "2 per 5 minute")
    app.extensions.pop("oc_account_limiter", None)
    statuses = []
    for user in (make.user("secretariat"), make.user("secretariat")):
        enrol(db, user)
        client = app.test_client()
        password_step(client, user)
        statuses += [client.post("/login/code/", data={"code": "000000"}).status_code
                     for _ in range(2)]
    assert statuses == [200, 200, 429, 429]
    app.extensions.pop("oc_account_limiter", None)


def test_same_code_twice_at_once_accepted_once(app, db, sec):
    """Two logins racing with one code: the row lock lets one through (PostgreSQL)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("verrous de ligne : PostgreSQL seulement")
    secret, _ = enrol(db, sec)
    code = pyotp.TOTP(secret).now()
    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        password_step(c, sec)
    results = []
    barrier = threading.Barrier(2)

    def go(c):
        with app.app_context():
            barrier.wait()
            results.append(c.post("/login/code/", data={"code": code}).status_code)
            from app.extensions import db as _db
            _db.session.remove()

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [200, 302]


# -- disabling, regenerating ------------------------------------------------------------------

def test_disable_and_regenerate_need_the_current_code(app, db, login_as, sec):
    secret, old_codes = enrol(db, sec)
    with pytest.raises(totp.CodeRefuse):
        totp.regenerer_codes(sec, "123456" if pyotp.TOTP(secret).now() != "123456" else "654321")
    db.session.rollback()
    new_codes = totp.regenerer_codes(sec, pyotp.TOTP(secret).now())
    db.session.commit()
    assert set(new_codes).isdisjoint(old_codes)
    with pytest.raises(totp.CodeRefuse):
        totp.verifier(sec, old_codes[0])
    db.session.rollback()
    totp.desactiver(sec, new_codes[0])
    db.session.commit()
    assert not totp.active(sec)
    assert db.session.query(CodeSecours).filter_by(user_id=sec.id).count() == 0


# -- admin reset ------------------------------------------------------------------------------

def test_admin_resets_a_second_factor_logged_and_mailed(app, db, make, login_as, sec):
    enrol(db, sec)
    admin = make.user("admin")
    client = login_as(admin)
    page = client.get(f"/double-authentification/reinitialiser/{sec.id}")
    assert page.status_code == 200
    r = client.post(f"/double-authentification/reinitialiser/{sec.id}")
    assert r.status_code == 302
    db.session.expire_all()
    assert not totp.active(sec) and totp.etat(sec) is None
    entry = db.session.query(JournalDoubleFacteur).filter_by(
        user_id=sec.id, evenement="reinitialisation").one()
    assert entry.par_id == admin.id
    mail = outbox(db, to=sec.email)[-1]
    assert "réinitialisée" in mail.sujet and "heure de Paris" in mail.corps_texte
    # The user logs in with the password alone again (the role does not make TOTP mandatory).
    assert login(app.test_client(), sec)


def test_secretariat_resets_below_it_in_its_dispositif_only(app, db, make, ref, login_as, sec):
    chez_lui = make.user("admin_reseau", reseau=make.reseau(), dispositif=ref["CHIMIE"])
    ailleurs = make.user("admin_reseau", reseau=make.reseau(), dispositif=ref["CLEA"])
    collegue = make.user("secretariat")
    for user in (chez_lui, ailleurs, collegue):
        enrol(db, user)
    actor = perimetre_of(sec)
    assert totp.peut_reinitialiser(actor, chez_lui)
    assert not totp.peut_reinitialiser(actor, ailleurs)
    assert not totp.peut_reinitialiser(actor, collegue)
    client = login_as(sec)
    # From the users' list: the row's action leads to the reset page.
    r = client.post(f"/utilisateurview/action/double_facteur/{chez_lui.profil.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/double-authentification/reinitialiser/{chez_lui.id}")
    assert "Réinitialiser la double authentification" in client.get(
        r.headers["Location"]).get_data(as_text=True)
    assert client.post(f"/double-authentification/reinitialiser/{ailleurs.id}").status_code == 404
    assert client.post(f"/double-authentification/reinitialiser/{collegue.id}").status_code == 403
    assert client.post(f"/double-authentification/reinitialiser/{chez_lui.id}").status_code == 302
    db.session.expire_all()
    assert not totp.active(chez_lui) and totp.active(ailleurs) and totp.active(collegue)
    reseau_admin = login_as(make.user("admin_reseau", reseau=make.reseau()))
    assert reseau_admin.post(f"/double-authentification/reinitialiser/{sec.id}").status_code \
        in (403, 404)


# -- mandatory per role -----------------------------------------------------------------------

def test_mandatory_per_role_forces_enrolment(app, db, make, login_as, sec):
    admin = make.user("admin")
    assert login_as(sec).get("/double-authentification/exigences").status_code == 403
    client = login_as(admin)
    r = client.post("/double-authentification/exigences", data={"role_secretariat": "y"})
    assert r.status_code == 302
    assert totp.exigences() == {"admin": False, "secretariat": True, "admin_reseau": False}

    user = app.test_client()
    r = password_step(user, sec)
    assert r.headers["Location"].endswith("/mon-compte/double-authentification/")
    r = user.get(DOSSIERS)
    assert r.status_code == 302 and r.headers["Location"].endswith(
        "/mon-compte/double-authentification/")
    assert user.get("/api/v1/candidature/").status_code == 403
    page = user.get("/mon-compte/double-authentification/").get_data(as_text=True)
    assert "Votre rôle impose la double authentification" in page
    secret = re.search(r'id="oc-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    user.post("/mon-compte/double-authentification/confirmer",
              data={"code": pyotp.TOTP(secret).now()})
    assert signed_in(user)
    # Mandatory: it cannot be switched off.
    db.session.expire_all()
    with pytest.raises(totp.RuleViolation, match="impose"):
        totp.desactiver(sec, pyotp.TOTP(secret).now())
    db.session.rollback()
    # Other roles are not concerned.
    etab_user = make.user("utilisateur_etablissement", etablissement=make.etablissement())
    assert signed_in(login_as(etab_user))


# -- API ----------------------------------------------------------------------------------------

def test_api_password_login_refused_with_totp_api_key_works(app, db, make, sec):
    def token_login(user):
        return app.test_client().post("/api/v1/security/login", json={
            "username": user.username, "password": Factories.PASSWORD, "provider": "db"})

    assert token_login(sec).status_code == 200  # before the enrolment
    enrol(db, sec)
    r = token_login(sec)
    assert r.status_code == 401
    assert "clé d'API" in r.get_json()["message"]
    assert "access_token" not in r.get_json()
    admin = make.user("admin")
    key = api_keys.issue(Perimetre(admin.id, "admin", None, None), sec.profil, "Logiciel RH")
    db.session.commit()
    r = app.test_client().get("/api/v1/candidature/", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200


def test_api_refresh_refused_once_enrolled(app, db, sec):
    r = app.test_client().post("/api/v1/security/login", json={
        "username": sec.username, "password": Factories.PASSWORD, "provider": "db",
        "refresh": True})
    refresh = r.get_json()["refresh_token"]
    enrol(db, sec)
    r = app.test_client().post("/api/v1/security/refresh",
                               headers={"Authorization": f"Bearer {refresh}"})
    assert r.status_code == 401 and "double authentification" in r.get_json()["message"]


def test_api_login_refused_while_enrolment_is_mandatory(app, db, make, sec):
    admin = make.user("admin")
    totp.definir_exigences(Perimetre(admin.id, "admin", None, None), {"secretariat": True})
    db.session.commit()
    r = app.test_client().post("/api/v1/security/login", json={
        "username": sec.username, "password": Factories.PASSWORD, "provider": "db"})
    assert r.status_code == 401 and "activez-la" in r.get_json()["message"]


def test_two_tabs_opening_enrolment_at_once_share_one_secret(app, db, sec):
    """Both pages answer and show the same key (PostgreSQL: a real race on the unique user_id)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("deux transactions simultanées : PostgreSQL seulement")
    clients = [login(app.test_client(), sec) for _ in range(2)]
    pages, barrier = [], threading.Barrier(2)

    def go(c):
        with app.app_context():
            barrier.wait()
            pages.append(c.get("/mon-compte/double-authentification/"))
            from app.extensions import db as _db
            _db.session.remove()

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [p.status_code for p in pages] == [200, 200]
    secrets_shown = {re.search(r'id="oc-secret">([A-Z2-7 ]+)<', p.get_data(as_text=True)).group(1)
                     for p in pages}
    assert len(secrets_shown) == 1
    assert db.session.query(DoubleFacteur).filter_by(user_id=sec.id).count() == 1


def test_console_resets_the_last_administrators_second_factor(app, db, make):
    admin = make.user("admin")
    enrol(db, admin)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["double-facteur", "reinitialiser", admin.username])
    assert result.exit_code == 0, result.output
    assert "réinitialisée" in result.output
    db.session.expire_all()
    assert not totp.active(admin)
    assert outbox(db, to=admin.email)[-1].sujet.startswith("Votre double authentification")
    again = runner.invoke(args=["double-facteur", "reinitialiser", admin.username])
    assert again.exit_code != 0 and "pas de double authentification" in again.output
    unknown = runner.invoke(args=["double-facteur", "reinitialiser", "personne"])
    assert unknown.exit_code != 0 and "Aucun compte" in unknown.output
