"""Token API (issue 14, build 3): a bearer token — JWT from /api/v1/security/login or an API key
an administrator issued — sees and does exactly what the same user's browser session does; CSRF
is skipped only for a request a valid token authenticated."""
import json
import re

import pytest

from app.models.candidature import Candidature
from tests.conftest import login
from tests.factories import Factories


def jwt_for(app, user):
    r = app.test_client().post("/api/v1/security/login", json={
        "username": user.username, "password": Factories.PASSWORD, "provider": "db"})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["access_token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def ids(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(response.get_json()["ids"])


LIST = "/api/v1/candidature/?q=" + json.dumps({"page_size": 100})


@pytest.fixture
def two_perimeters(make, db):
    etab = make.etablissement()
    user = make.user("utilisateur_etablissement", etablissement=etab)
    colleague = make.user("admin_etablissement", etablissement=etab)
    mine = [make.candidature("CLEA", etablissement=etab, by=u) for u in (user, colleague, user)]
    other = make.candidature("CLEA")
    return user, [c.id for c in mine], other


def test_bearer_jwt_lists_what_the_session_lists(app, login_as, two_perimeters):  # R-ACC-5
    user, mine, other = two_perimeters
    session = ids(login_as(user).get(LIST))
    token = jwt_for(app, user)
    assert ids(app.test_client().get(LIST, headers=bearer(token))) == session == sorted(mine)
    api = app.test_client()
    assert api.get(f"/api/v1/candidature/{mine[0]}", headers=bearer(token)).status_code == 200
    assert api.get(f"/api/v1/candidature/{other.id}", headers=bearer(token)).status_code == 404
    assert api.get(f"/api/v1/candidature/{other.id}/actions", headers=bearer(token)).status_code == 404


def test_bearer_jwt_as_administrator_sees_everything(app, make, two_perimeters):  # R-ACC-5
    admin = make.user("admin")
    everything = ids(app.test_client().get(LIST, headers=bearer(jwt_for(app, admin))))
    assert len(everything) == 4


def test_junk_bearer_never_skips_csrf(app, db, login_as, two_perimeters, monkeypatch):  # R-ACC-5 (CSRF)
    user, mine, _ = two_perimeters
    c = login_as(user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    for header in ("Bearer junk", "Bearer oc_forged", "Basic eDp5", "Bearer " + "a.b.c"):
        r = c.put(f"/api/v1/candidature/{mine[0]}", json={"financement": "PDC"},
                  headers={"Authorization": header})
        assert r.status_code == 400, (header, r.status_code)
        r = c.post(f"/api/v1/candidature/{mine[0]}/action/declare_abandon",
                   json={"motif": "candidat"}, headers={"Authorization": header})
        assert r.status_code == 400, (header, r.status_code)
    db.session.expire_all()
    assert db.session.get(Candidature, mine[0]).statut != "abandonnee"
    # A valid token of the same user needs no CSRF token: it cannot be forged cross-site.
    r = c.put(f"/api/v1/candidature/{mine[0]}", json={"financement": "PDC"},
              headers=bearer(jwt_for(app, user)))
    assert r.status_code == 200, r.get_data(as_text=True)


def test_valid_token_of_another_user_does_not_skip_the_sessions_csrf(
        app, make, login_as, two_perimeters, monkeypatch):  # R-ACC-5 (CSRF)
    user, mine, _ = two_perimeters
    stranger = make.user("admin_etablissement", etablissement=make.etablissement())
    c = login_as(user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = c.put(f"/api/v1/candidature/{mine[0]}", json={"financement": "PDC"},
              headers=bearer(jwt_for(app, stranger)))
    assert r.status_code == 400


def _issue_key(admin_client, profil_id, name="Logiciel de paie"):
    page = admin_client.post(f"/utilisateurview/cles/{profil_id}", data={"nom": name})
    assert page.status_code == 200
    found = re.search(r"<code>(oc_[^<]+)</code>", page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)
    return found.group(1)


def test_api_key_issue_use_and_revoke(app, db, make, login_as, two_perimeters):
    from flask_appbuilder.security.sqla.models import ApiKey
    user, mine, other = two_perimeters
    admin = login_as(make.user("admin"))
    key = _issue_key(admin, user.profil.id)
    stored = db.session.query(ApiKey).filter_by(user_id=user.id).one()
    assert key not in (stored.key_hash, stored.lookup_hash) and stored.key_hash != key
    # Shown once: the page does not show it again.
    assert key not in admin.get(f"/utilisateurview/cles/{user.profil.id}").get_data(as_text=True)

    api = app.test_client()
    assert ids(api.get(LIST, headers=bearer(key))) == sorted(mine)
    assert api.get(f"/api/v1/candidature/{other.id}", headers=bearer(key)).status_code == 404
    r = api.post(f"/api/v1/candidature/{mine[0]}/action/declare_abandon",
                 json={"motif": "candidat"}, headers=bearer(key))
    assert r.status_code == 200, r.get_data(as_text=True)

    r = admin.post(f"/utilisateurview/cles/{user.profil.id}/revoquer/{stored.uuid}")
    assert r.status_code == 302
    assert api.get(LIST, headers=bearer(key)).status_code == 401
    assert api.get(LIST, headers=bearer(key[:-2] + "xx")).status_code == 401


def test_only_administrators_issue_keys(app, db, make, login_as, two_perimeters):  # R-ACC-1
    user, _, _ = two_perimeters
    boss = make.user("admin_etablissement", etablissement=user.profil.etablissement)
    c = login_as(boss)
    assert c.post(f"/utilisateurview/cles/{user.profil.id}", data={"nom": "x"}).status_code == 403
    sec_other = login_as(make.user("secretariat", dispositif=make.ref["CHIMIE"]))
    admin_profile = make.user("secretariat", dispositif=make.ref["CLEA"]).profil
    # Another dispositif's profile is not even visible; an equal role gets no key.
    assert sec_other.post(f"/utilisateurview/cles/{admin_profile.id}",
                          data={"nom": "x"}).status_code in (403, 404)
    sec = login_as(make.user("secretariat", dispositif=make.ref["CLEA"]))
    assert sec.post(f"/utilisateurview/cles/{admin_profile.id}", data={"nom": "x"}).status_code == 403
