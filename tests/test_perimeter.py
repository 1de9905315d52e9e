"""Every way in to a scoped row refuses the rows of another perimeter (R-ACC-5, R-DIS-1).

Two worlds, ALPHA (the actors' own) and BRAVO (the other perimeter), and for each resource and
actor role the BRAVO row is tried through: show, edit GET/POST, delete, action, action_post,
download, exports (xlsx and csv read back), REST get/list/put/delete, REST POST creating a row in
BRAVO, REST PUT and form POST moving an ALPHA row into BRAVO.
"""
import csv
import io
import json
from types import SimpleNamespace

import openpyxl
import pytest

from app.models import Certification, Entreprise, Etablissement, Organisme, Profil
from app.models.notification import Notification
from app.workflow.notifications import notify

DENIED = (403, 404)
ROLES = ["admin_reseau", "admin_organisme", "admin_etablissement", "employeur", "secretariat"]


@pytest.fixture
def world(db, make, ref):
    w = SimpleNamespace(ref=ref)
    w.ra, w.rb = make.reseau(nom="Réseau ALPHA"), make.reseau(nom="Réseau BRAVO")
    w.oa = make.organisme(reseau=w.ra, nom="ALPHAFORM")
    w.ob = make.organisme(reseau=w.rb, nom="BRAVOFORM")
    w.ea = make.etablissement(w.oa, libelle="Alphaville")
    w.eb = make.etablissement(w.ob, libelle="Bravoville")
    w.enta = make.entreprise(raison_sociale="ALPHA INDUSTRIE")
    w.entb = make.entreprise(raison_sociale="BRAVO INDUSTRIE")
    w.actors = {
        "admin_reseau": make.user("admin_reseau", reseau=w.ra),
        "admin_organisme": make.user("admin_organisme", organisme=w.oa),
        "admin_etablissement": make.user("admin_etablissement", etablissement=w.ea),
        "employeur": make.user("employeur", entreprise=w.enta),
        # The CléA secretariat: the chemistry certifications are another dispositif (R-DIS-1).
        "secretariat": make.user("secretariat", dispositif=ref["CLEA"]),
    }
    w.user_a = make.user("utilisateur_etablissement", etablissement=w.ea)
    w.user_b = make.user("utilisateur_etablissement", etablissement=w.eb)
    w.user_a.last_name, w.user_b.last_name = "ALPHAUSER", "BRAVOUSER"
    notify(list(w.actors.values()) + [w.user_a], "compte", "ALPHANOTIF")
    notify([w.user_b], "compte", "BRAVONOTIF")
    db.session.commit()
    w.notif_b = db.session.query(Notification).filter_by(user_id=w.user_b.id).one()
    w.cert_b = db.session.query(Certification).filter_by(code="CQP-CHIMIE-01").one()
    w.cert_a = db.session.query(Certification).filter_by(code="CLEA-SOCLE").one()
    w.profil_b = w.user_b.profil
    return w


def _resources(w):
    """Per resource: views/APIs, the BRAVO row, valid form data that would change it, a marker."""
    return {
        "etablissement": {
            "view": "etablissementview", "api": "etablissement", "model": Etablissement, "row": w.eb,
            "marker": "BRAVOVILLE", "field": "libelle", "action": "desactiver",
            "form": {"organisme": str(w.ob.id), "libelle": "Piraté", "siret": w.eb.siret,
                  "region": "Bretagne"},
            "rest": {"libelle": "Piraté"}},
        "organisme": {
            "view": "organismeview", "api": "organisme", "model": Organisme, "row": w.ob, "marker": "BRAVOFORM",
            "field": "nom", "action": "desactiver",
            "form": {"nom": "PIRATE", "siren": w.ob.siren, "reseau": str(w.rb.id)},
            "rest": {"nom": "PIRATE"}},
        "entreprise": {
            "view": "entrepriseview", "api": "entreprise", "model": Entreprise, "row": w.entb,
            "marker": "BRAVO INDUSTRIE", "field": "raison_sociale", "action": None,
            "form": {"raison_sociale": "PIRATE", "siret": w.entb.siret}, "rest": {"raison_sociale": "PIRATE"}},
        "profil": {
            "view": "utilisateurview", "api": None, "model": Profil, "row": w.profil_b, "marker": "BRAVOUSER",
            "field": "telephone", "action": "desactiver",
            "form": {"prenom": "X", "nom": "PIRATE", "email": "pirate@test.invalid",
                  "role": "utilisateur_etablissement", "etablissement_id": str(w.eb.id),
                  "telephone": "0600000000"}, "rest": None},
        "notification": {
            "view": "notificationview", "api": "notification", "model": Notification, "row": w.notif_b,
            "marker": "BRAVONOTIF", "field": "lu", "action": "marquer_lu",
            "form": {"titre": "PIRATE", "rubrique": "compte", "contenu": "x", "lu": "y"},
            "rest": {"lu": True}},
        "certification": {
            "view": "certificationview", "api": "certification", "model": Certification, "row": w.cert_b,
            "marker": "CQP-CHIMIE-01", "field": "intitule", "action": None,
            "form": {"dispositif": str(w.cert_b.dispositif_id), "type": "CQP", "code": "CQP-CHIMIE-01",
                  "intitule": "PIRATE"}, "rest": {"intitule": "PIRATE"}},
    }


# (resource, role): is the BRAVO row hidden from the role (read refused) or only read-only?
HIDDEN = {
    **{(r, role): True for r in ("etablissement", "organisme", "profil", "notification")
       for role in ROLES if role != "secretariat"},
    ("entreprise", "employeur"): True,
    ("entreprise", "admin_organisme"): False,  # employers are readable by training bodies
    ("entreprise", "admin_reseau"): False,
    ("entreprise", "admin_etablissement"): False,
    ("notification", "secretariat"): True,
    ("profil", "secretariat"): True,  # the CléA secretariat does not see chemistry accounts
    ("certification", "secretariat"): True,  # R-DIS-1: another dispositif's certification
    ("certification", "admin_organisme"): False,  # the referential is readable by all
    ("certification", "employeur"): False,
}
CASES = sorted(HIDDEN)


def _snapshot(db, res):
    db.session.expire_all()
    row = db.session.get(res["model"], res["row"].id)
    return None if row is None else getattr(row, res["field"])


def _denied(r, *extra):
    allowed = DENIED + extra
    assert r.status_code in allowed, (r.status_code, r.get_data(as_text=True)[:400])


@pytest.mark.parametrize("resource,role", CASES)
def test_mvc_ways_in_refuse_other_perimeter(world, db, login_as, resource, role):  # R-ACC-5, R-DIS-1
    res = _resources(world)[resource]
    c = login_as(world.actors[role])
    pk, view, hidden = res["row"].id, res["view"], HIDDEN[(resource, role)]
    before = _snapshot(db, res)

    show = c.get(f"/{view}/show/{pk}")
    if hidden:
        _denied(show)
        assert res["marker"] not in show.get_data(as_text=True)
    else:
        assert show.status_code == 200
    _denied(c.get(f"/{view}/edit/{pk}"))
    _denied(c.post(f"/{view}/edit/{pk}", data=res["form"]))
    assert _snapshot(db, res) == before
    _denied(c.post(f"/{view}/delete/{pk}"))
    assert _snapshot(db, res) == before
    c.get(f"/{view}/delete/{pk}")  # FAB refuses deletions by GET (CSRF extension present)
    assert _snapshot(db, res) == before
    name = res["action"] or "inexistante"
    _denied(c.post(f"/{view}/action/{name}/{pk}"))
    _denied(c.post(f"/{view}/action_post", data={"action": name, "rowid": [str(pk)]}))
    assert _snapshot(db, res) == before
    _denied(c.get(f"/{view}/download/{pk}.pdf"))
    _denied(c.get(f"/{view}/download/..%2F..%2Fconfig.py"))


@pytest.mark.parametrize("resource,role", [case for case in CASES if HIDDEN[case]])
def test_lists_and_exports_leave_out_other_perimeter(world, login_as, resource, role):  # R-ACC-5
    res = _resources(world)[resource]
    c = login_as(world.actors[role])
    view = res["view"]
    page = c.get(f"/{view}/list/")
    if page.status_code == 403:  # the role has no access to this list at all
        _denied(c.get(f"/{view}/export/csv/"))
        return
    assert page.status_code == 200
    assert res["marker"] not in page.get_data(as_text=True).upper()

    r = c.get(f"/{view}/export/csv/")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows, "the csv has at least its header"
    assert res["marker"] not in text.upper()

    r = c.get(f"/{view}/export/xlsx/")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    cells = " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
    assert res["marker"] not in cells.upper()
    assert len(list(sheet.iter_rows())) == len(rows)


def test_exports_contain_own_rows(world, login_as):  # R-ACC-5: scoped, not empty
    c = login_as(world.actors["admin_organisme"])
    text = c.get("/etablissementview/export/csv/").get_data().decode("utf-8-sig")
    assert "ALPHAFORM ALPHAVILLE" in text.upper() and "BRAVO" not in text.upper()
    text = c.get("/utilisateurview/export/csv/").get_data().decode("utf-8-sig")
    assert "ALPHAUSER" in text and "BRAVOUSER" not in text
    wb = openpyxl.load_workbook(io.BytesIO(c.get("/notificationview/export/xlsx/").data))
    values = [v for row in wb.active.iter_rows(values_only=True) for v in row]
    assert "ALPHANOTIF" in values and "BRAVONOTIF" not in values


def _json(r):
    return json.loads(r.get_data(as_text=True) or "{}")


@pytest.mark.parametrize("resource,role", [case for case in CASES if case[0] != "profil"])
def test_rest_ways_in_refuse_other_perimeter(world, db, login_as, resource, role):  # R-ACC-5
    res = _resources(world)[resource]
    c = login_as(world.actors[role])
    api, pk, hidden = res["api"], res["row"].id, HIDDEN[(resource, role)]
    before = _snapshot(db, res)

    got = c.get(f"/api/v1/{api}/{pk}")
    if hidden:
        _denied(got)
        listing = c.get(f"/api/v1/{api}/?q=" + json.dumps({"page_size": 100}))
        if listing.status_code == 200:
            assert pk not in _json(listing)["ids"]
        else:
            _denied(listing)
    else:
        assert got.status_code == 200
    _denied(c.put(f"/api/v1/{api}/{pk}", json=res["rest"]), 405)
    assert _snapshot(db, res) == before
    _denied(c.delete(f"/api/v1/{api}/{pk}"), 405)
    assert _snapshot(db, res) == before


def test_no_rest_api_for_accounts(world, login_as):  # R-ACC-5: profiles are never served raw
    c = login_as(world.actors["admin_organisme"])
    assert c.get(f"/api/v1/profil/{world.profil_b.id}").status_code == 404


# -- creating in, or moving to, another perimeter ---------------------------------------------

def test_rest_post_cannot_create_in_other_perimeter(world, db, make, login_as):  # R-ACC-5
    w = world
    siret = make.siret(w.ob.siren)
    for role in ("admin_reseau", "admin_organisme", "admin_etablissement"):
        c = login_as(w.actors[role])
        r = c.post("/api/v1/etablissement/", json={"organisme": w.ob.id, "libelle": "Intrus",
                                                   "siret": siret, "region": "Bretagne"})
        _denied(r, 422)
    c = login_as(w.actors["admin_reseau"])
    _denied(c.post("/api/v1/organisme/", json={"nom": "INTRUS", "siren": make.siren(),
                                               "reseau": w.rb.id}), 422)
    c = login_as(w.actors["employeur"])
    _denied(c.post("/api/v1/entreprise/", json={"raison_sociale": "INTRUS", "siret": make.siret()}),
            422)
    c = login_as(w.actors["secretariat"])  # CléA secretariat, chemistry dispositif
    _denied(c.post("/api/v1/certification/", json={
        "dispositif": w.ref["CHIMIE"].id, "type": "CQP", "code": "CQP-INTRUS", "intitule": "Intrus"}),
        422)
    db.session.expire_all()
    assert db.session.query(Etablissement).filter_by(libelle="Intrus").count() == 0
    assert db.session.query(Organisme).filter_by(nom="INTRUS").count() == 0
    assert db.session.query(Entreprise).filter_by(raison_sociale="INTRUS").count() == 0
    assert db.session.query(Certification).filter_by(code="CQP-INTRUS").count() == 0


def test_rest_post_inside_perimeter_works(world, db, make, login_as):  # R-ACC-5 (control)
    c = login_as(world.actors["admin_organisme"])
    r = c.post("/api/v1/etablissement/", json={"organisme": world.oa.id, "libelle": "Nouveau site",
                                               "siret": make.siret(world.oa.siren),
                                               "region": "Bretagne"})
    assert r.status_code == 201, r.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(Etablissement, _json(r)["id"])
    assert row.nom == "ALPHAFORM Nouveau site"


def test_rest_put_cannot_move_row_to_other_perimeter(world, db, login_as):  # R-ACC-5, R-DIS-1
    w = world
    c = login_as(w.actors["admin_organisme"])
    _denied(c.put(f"/api/v1/etablissement/{w.ea.id}", json={"organisme": w.ob.id}), 422)
    c = login_as(w.actors["admin_reseau"])
    _denied(c.put(f"/api/v1/organisme/{w.oa.id}", json={"reseau": w.rb.id}), 422)
    _denied(c.put(f"/api/v1/etablissement/{w.ea.id}", json={"organisme": w.ob.id}), 422)
    c = login_as(w.actors["admin_organisme"])  # its own organisme, into another network
    _denied(c.put(f"/api/v1/organisme/{w.oa.id}", json={"reseau": w.rb.id}), 422)
    c = login_as(w.actors["secretariat"])
    _denied(c.put(f"/api/v1/certification/{w.cert_a.id}", json={"dispositif": w.ref["CHIMIE"].id}),
            422)
    db.session.expire_all()
    assert db.session.get(Etablissement, w.ea.id).organisme_id == w.oa.id
    assert db.session.get(Organisme, w.oa.id).reseau_id == w.ra.id
    assert db.session.get(Certification, w.cert_a.id).dispositif_id == w.ref["CLEA"].id


def test_rest_put_inside_perimeter_works(world, db, login_as):  # R-ACC-5 (control)
    c = login_as(world.actors["admin_etablissement"])
    r = c.put(f"/api/v1/etablissement/{world.ea.id}", json={"contact_nom": "Mme Alpha"})
    assert r.status_code == 200, r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Etablissement, world.ea.id).contact_nom == "Mme Alpha"


def test_forms_cannot_create_or_move_into_other_perimeter(world, db, make, login_as):  # R-ACC-5
    w = world
    c = login_as(w.actors["admin_organisme"])
    data = {"organisme": str(w.ob.id), "libelle": "Intrus", "siret": make.siret(w.ob.siren),
            "region": "Bretagne"}
    r = c.post("/etablissementview/add", data=data)
    assert r.status_code in (200, 403, 404)
    data.update(libelle="Alphaville", siret=w.ea.siret)
    r = c.post(f"/etablissementview/edit/{w.ea.id}", data=data)
    assert r.status_code in (200, 403, 404)
    c = login_as(w.actors["admin_reseau"])
    r = c.post(f"/organismeview/edit/{w.oa.id}", data={"nom": "ALPHAFORM", "siren": w.oa.siren,
                                                      "reseau": str(w.rb.id)})
    assert r.status_code in (200, 403, 404)
    c = login_as(w.actors["secretariat"])
    r = c.post("/certificationview/add", data={
        "dispositif": str(w.ref["CHIMIE"].id), "type": "CQP", "code": "CQP-INTRUS", "intitule": "X"})
    assert r.status_code in (200, 403, 404)
    db.session.expire_all()
    assert db.session.query(Etablissement).filter_by(libelle="Intrus").count() == 0
    assert db.session.get(Etablissement, w.ea.id).organisme_id == w.oa.id
    assert db.session.get(Organisme, w.oa.id).reseau_id == w.ra.id
    assert db.session.query(Certification).filter_by(code="CQP-INTRUS").count() == 0


def test_own_rows_editable_through_forms(world, db, make, login_as):  # R-ACC-5 (control)
    """The établissement administrator's form offers its organisme, though it may not write it."""
    w = world
    c = login_as(w.actors["admin_etablissement"])
    form = c.get(f"/etablissementview/edit/{w.ea.id}").get_data(as_text=True)
    assert f'value="{w.oa.id}"' in form and "BRAVOFORM" not in form
    r = c.post(f"/etablissementview/edit/{w.ea.id}", data={
        "organisme": str(w.oa.id), "libelle": "Alphaville", "siret": w.ea.siret,
        "region": "Bretagne", "contact_public_nom": "Accueil"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Etablissement, w.ea.id).contact_public_nom == "Accueil"
    # …but not to create an établissement, even under its own organisme.
    r = c.post("/etablissementview/add", data={"organisme": str(w.oa.id), "libelle": "Nouveau",
                                               "siret": make.siret(w.oa.siren), "region": "Bretagne"})
    assert r.status_code == 200 and "hors de votre périmètre" in r.get_data(as_text=True)
    assert db.session.query(Etablissement).filter_by(libelle="Nouveau").count() == 0


def test_read_only_rows_cannot_be_edited(world, db, login_as):  # R-ACC-5: read is not write
    """An établissement administrator reads its organisme but may not change it."""
    w = world
    c = login_as(w.actors["admin_etablissement"])
    assert c.get(f"/organismeview/show/{w.oa.id}").status_code == 200
    _denied(c.get(f"/organismeview/edit/{w.oa.id}"))
    _denied(c.post(f"/organismeview/edit/{w.oa.id}", data={"nom": "PIRATE", "siren": w.oa.siren}))
    _denied(c.post(f"/organismeview/delete/{w.oa.id}"))
    _denied(c.put(f"/api/v1/organisme/{w.oa.id}", json={"nom": "PIRATE"}))
    db.session.expire_all()
    assert db.session.get(Organisme, w.oa.id).nom == "ALPHAFORM"


def test_search_choices_stay_in_perimeter(world, login_as):  # R-ACC-5 (FAB-NOTES data exposure)
    c = login_as(world.actors["admin_etablissement"])
    for view in ("etablissementview", "utilisateurview", "organismeview"):
        html = c.get(f"/{view}/list/").get_data(as_text=True)
        assert "BRAVO" not in html.upper(), view
    add = c.get("/utilisateurview/add").get_data(as_text=True)
    assert "BRAVO" not in add.upper()
    assert "ALPHAFORM ALPHAVILLE" in add.upper()


def test_rest_info_choices_stay_in_perimeter(world, login_as):  # R-ACC-5
    c = login_as(world.actors["admin_organisme"])
    r = c.get("/api/v1/etablissement/_info")
    assert r.status_code == 200
    assert "BRAVO" not in r.get_data(as_text=True).upper()


def test_anonymous_gets_nothing(world, client):  # R-ACC-5
    for url in ("/etablissementview/list/", f"/etablissementview/show/{world.ea.id}",
                "/etablissementview/export/csv/"):
        r = client.get(url)
        assert r.status_code in (302, 401, 403), url
        assert "ALPHAVILLE" not in r.get_data(as_text=True).upper()
    for api in ("etablissement", "organisme", "entreprise", "certification", "notification"):
        assert client.get(f"/api/v1/{api}/").status_code in (401, 403)
    r = client.post("/etablissementview/action_post",
                    data={"action": "desactiver", "rowid": [str(world.ea.id)]})
    assert r.status_code in (302, 401, 403)
