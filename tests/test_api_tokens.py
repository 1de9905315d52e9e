"""Token API (issue 14, build 3): a bearer token — JWT from /api/v1/security/login or an API key
an administrator issued — sees and does exactly what the same user's browser session does; CSRF
is skipped only for a request a valid token authenticated."""
import json
import re

import pytest

from app.models.candidature import Candidature
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


def test_clea_dossier_from_creation_to_certification_through_the_api(app, db, make):
    # R-WF-2, R-EVA-5, R-CAN-2, R-CAN-4 through the token API only (issue 14)
    import datetime as dt
    import io
    etab = make.etablissement()
    make.habilitation(etab, make.ref["CLEA"])
    user = make.user("utilisateur_etablissement", etablissement=etab)
    cert = make.certification("CLEA")
    api, h = app.test_client(), bearer(jwt_for(app, user))
    r = api.get("/api/v1/dossier/recherche?nom=Api&prenom=Paul&date_naissance=1980-02-03", headers=h)
    assert r.status_code == 200 and r.get_json()["dossiers"] == []
    assert r.get_json()["dossier_ailleurs"] is False
    identite = {"civilite": "M", "nom_naissance": "Api", "prenom": "Paul",
                "date_naissance": "1980-02-03", "ville_naissance": "Lille",
                "code_postal_naissance": "59000", "email": "paul.api@test.invalid",
                "adresse": "1 rue du Test", "code_postal": "59000", "ville": "Lille"}
    r = api.post("/api/v1/candidature/", headers=h, json={
        "certification": cert.id, "etablissement": etab.id, "identite": identite,
        "statut_inscription": "salarie", "financement": "CPF",
        "objectifs_professionnels": "Obtenir un emploi stable dans la logistique."})
    assert r.status_code == 201, r.get_data(as_text=True)
    pk = r.get_json()["id"]

    def act(verb, **body):
        resp = api.post(f"/api/v1/candidature/{pk}/action/{verb}", headers=h, json=body)
        assert resp.status_code == 200, (verb, resp.get_data(as_text=True))
        return resp.get_json()

    act("start_evaluation", evaluateur_nom="Durand", evaluateur_prenom="Paul",
        evaluateur_email="paul.durand@test.invalid")
    ev = api.get(f"/api/v1/dossier/{pk}/evaluations", headers=h).get_json()["evaluations"][-1]
    r = api.post(f"/api/v1/dossier/{pk}/documents", headers=h, content_type="multipart/form-data",
                 data={"fichier": (io.BytesIO(Factories.pdf("matrice")), "matrice.pdf"),
                       "type_piece": "matrice_evaluation", "evaluation": str(ev["id"])})
    assert r.status_code == 201, r.get_data(as_text=True)
    doc_id = r.get_json()["id"]
    got = api.get(f"/api/v1/dossier/{pk}/documents/{doc_id}", headers=h)
    assert got.status_code == 200 and got.data == Factories.pdf("matrice")
    results = {str(row["competence_id"]): {"acquis": True} for row in ev["competences"]}
    assert act("finalize_evaluation", evaluation=ev["id"], resultats=results,
               date_evaluation=dt.date.today().isoformat())["statut"] == "en_attente_envoi_certification"
    assert act("send_to_certification")["statut"] == "en_attente_jury"
    db.session.expire_all()
    assert db.session.get(Candidature, pk).statut == "en_attente_jury"
    # Another perimeter's token sees none of it.
    stranger = make.user("utilisateur_etablissement", etablissement=make.etablissement())
    hs = bearer(jwt_for(app, stranger))
    assert api.get(f"/api/v1/dossier/{pk}/documents/{doc_id}", headers=hs).status_code == 404
    assert api.get(f"/api/v1/dossier/{pk}/evaluations", headers=hs).status_code == 404
    spec = app.test_client().get("/api/v1/_openapi",
                                 headers=bearer(jwt_for(app, make.user("admin"))))
    assert spec.status_code == 200, spec.get_data(as_text=True)[:300]
    spec = spec.get_json()
    assert "/api/v1/dossier/{pk}/documents" in spec["paths"] and "/api/v1/dossier/recherche" in spec["paths"]
    names = {p["name"] for p in spec["paths"]["/api/v1/dossier/recherche"]["get"]["parameters"]}
    assert {"nom", "prenom", "date_naissance", "numero"} <= names
