"""Issue 14, build 3: every jury action of the screens through the token API — registration,
composition, convocation, decisions, closing, documents and their PDF — and the rattachement
request and decision; another perimeter's rows are 404 (R-ACC-5). Also the R-CAN-2 refusal that
names nothing outside the perimeter, and the duplicate-search limit's 429 (JSON, Retry-After).

Rules: R-JUR-2..9, R-DEC-1..3, R-DOC-1, R-CAN-2, R-CAN-6, R-ACC-5."""

import pytest

from app.errors import RuleViolation
from app.models.candidature import Candidature, RattachementDemande
from app.models.document import DocumentEmis
from app.models.jury import AttributionCertification, InscriptionJury
from app.security.perimeter import perimetre_of as P
from app.workflow.dossier.candidatures import create_candidature
from tests.conftest import login
from tests.test_api_tokens import bearer, jwt_for
from tests.test_jury_closing import published_once
from tests.test_jurys import jour_j, secretariat


def _ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def cqpm(app, db, make):
    """A CQPM jury open to registrations, two dossiers ready for it (one with every competence
    acquired, one with one), and the union accounts the composition will seat."""
    jury = make.jury("METALLURGIE")
    admis = make.dossier_pret_jury("METALLURGIE")
    refuse = make.dossier_pret_jury("METALLURGIE", acquis=1)
    sec = secretariat(make, "METALLURGIE")
    unions = {}
    for union in ("CFDT", "CGT"):
        unions[union] = make.user("jury", dispositif=make.ref["METALLURGIE"])
        unions[union].profil.organisation = union
    db.session.commit()
    return {"jury": jury, "admis": admis, "refuse": refuse, "sec": sec, "unions": unions}


def _compose(api, h, jury_id, unions):
    base = f"/api/v1/jury/{jury_id}/membres"
    _ok(api.post(base, headers=h, json={"college": "president", "nom": "Président",
                                        "prenom": "Paul", "email": "president@test.invalid",
                                        "qualite": "UIMM"}), 201)
    for i in range(2):
        _ok(api.post(base, headers=h, json={"college": "employeurs", "nom": f"Patron{i}",
                                            "email": f"patron{i}@test.invalid",
                                            "organisation": "Entreprise"}), 201)
    for union, user in unions.items():
        _ok(api.post(base, headers=h, json={
            "college": "salaries", "user": user.id, "syndicat": union,
            "syndicat_email": f"{union.lower()}@syndicat.invalid", "votant": True}), 201)
    # The form's rules answer on their field (R-JUR-5).
    r = api.post(base, headers=h, json={"college": "salaries", "nom": "Sans syndicat"})
    assert r.status_code == 422 and r.get_json()["field"] == "syndicat", r.get_data(as_text=True)
    assert "organisation syndicale" in r.get_json()["message"]
    return _ok(api.get(base, headers=h))


def test_cqpm_jury_run_through_the_api(app, db, make, cqpm, login_as):
    # R-JUR-2..9, R-DEC-1..3, R-DOC-1 through bearer tokens only; R-ACC-5 for the other perimeter
    api = app.test_client()
    jury, sec = cqpm["jury"], cqpm["sec"]
    hs = bearer(jwt_for(app, sec))
    holder = bearer(jwt_for(app, cqpm["admis"].createur))

    # Registration by the holder: the jury chosen, then the next open one (R-JUR-2..4).
    open_ = _ok(api.get(f"/api/v1/inscription_jury/{cqpm['admis'].id}/jurys", headers=holder))
    assert [j["id"] for j in open_["jurys"]] == [jury.id] and open_["inscription"] is None
    reg = _ok(api.post(f"/api/v1/inscription_jury/{cqpm['admis'].id}", headers=holder,
                       json={"jury": jury.id}), 201)
    assert reg["jury"]["id"] == jury.id and reg["statut"] == "en_attente_jury"
    other_holder = bearer(jwt_for(app, cqpm["refuse"].createur))
    reg2 = _ok(api.post(f"/api/v1/inscription_jury/{cqpm['refuse'].id}", headers=other_holder,
                        json={}), 201)
    assert reg2["jury"]["id"] == jury.id
    # Registered twice: the workflow refuses, in French.
    r = api.post(f"/api/v1/inscription_jury/{cqpm['admis'].id}", headers=holder, json={})
    assert r.status_code == 422 and "R-" not in r.get_json()["message"]
    assert api.post(f"/api/v1/inscription_jury/{cqpm['admis'].id}", headers=holder,
                    json={"jury": "x"}).status_code == 422

    # Composition and convocation by the secretariat (R-JUR-5, R-JUR-6).
    composition = _compose(api, hs, jury.id, cqpm["unions"])
    assert composition["problemes"] == [] and len(composition["membres"]) == 5
    convoques = _ok(api.post(f"/api/v1/jury/{jury.id}/convoquer", headers=hs))["convoques"]
    assert convoques == 5
    # A jury member may not compose (403 before the perimeter: the role has no write).
    juror = bearer(jwt_for(app, cqpm["unions"]["CFDT"]))
    assert api.post(f"/api/v1/jury/{jury.id}/convoquer", headers=juror).status_code == 403

    # The other perimeter sees nothing of it (R-ACC-5).
    chimie = bearer(jwt_for(app, secretariat(make, "CHIMIE")))
    ins = {row["candidature_id"]: row["id"] for row in _ok(api.get(
        f"/api/v1/jury/{jury.id}/inscriptions", headers=hs))["inscriptions"]}
    ins_ok, ins_na = ins[cqpm["admis"].id], ins[cqpm["refuse"].id]
    for method, url in (("get", f"/api/v1/jury/{jury.id}"),
                        ("get", f"/api/v1/jury/{jury.id}/inscriptions"),
                        ("get", f"/api/v1/jury/{jury.id}/membres"),
                        ("post", f"/api/v1/jury/{jury.id}/convoquer"),
                        ("post", f"/api/v1/jury/{jury.id}/cloturer"),
                        ("post", f"/api/v1/jury/{jury.id}/documents/pv"),
                        ("post", f"/api/v1/jury/inscription/{ins_ok}/retrait"),
                        ("post", f"/api/v1/jury/inscription/{ins_ok}/decision")):
        r = getattr(api, method)(url, headers=chimie, json={"decision": "admis"})
        assert r.status_code == 404, (url, r.status_code)
        assert r.get_json()["message"] == "Introuvable ou hors de votre périmètre."
    assert jury.id not in [row["id"] for row in _ok(api.get("/api/v1/jury/", headers=chimie))[
        "result"]]

    # Deliberation on the jury's day by a member token (R-JUR-8, R-DEC-1/3).
    jour_j(db, jury)
    stranger_juror = make.user("jury", dispositif=make.ref["METALLURGIE"])
    other_jury = make.jury("METALLURGIE")
    make.jury_compose(other_jury)
    from app.workflow.jury.composition import add_member
    add_member(P(sec), other_jury, "invite", user=stranger_juror, nom="Invité")
    db.session.commit()
    hx = bearer(jwt_for(app, stranger_juror))
    r = api.post(f"/api/v1/jury/inscription/{ins_ok}/decision", headers=hx,
                 json={"decision": "admis"})
    assert r.status_code == 404  # not his jury: it does not exist for him
    r = api.post(f"/api/v1/jury/inscription/{ins_ok}/decision", headers=juror,
                 json={"decision": "admis", "acquis": [-1]})
    assert r.status_code == 422 and r.get_json()["field"] == "acquis"
    r = api.post(f"/api/v1/jury/inscription/{ins_ok}/decision", headers=juror,
                 json={"decision": "peut-être"})
    assert r.status_code == 422 and r.get_json()["field"] == "decision"
    assert "Admis" in r.get_json()["message"]
    assert _ok(api.post(f"/api/v1/jury/inscription/{ins_ok}/decision", headers=juror,
                        json={"decision": "admis", "commentaire": "Très bien."}))[
        "decision"] == "admis"
    assert _ok(api.post(f"/api/v1/jury/inscription/{ins_na}/decision", headers=juror,
                        json={"decision": "non_admis"}))["decision_label"] == "Non admis"
    # Not published before the closing (R-JUR-9).
    db.session.expire_all()
    assert db.session.get(Candidature, cqpm["admis"].id).statut == "en_attente_jury"

    # Closing: once; the second answers 409 in French and publishes nothing (R-JUR-9).
    closed = _ok(api.post(f"/api/v1/jury/{jury.id}/cloturer", headers=hs))
    assert closed["publiees"] == 2 and closed["jury"]["etat"] == "clos"
    again = api.post(f"/api/v1/jury/{jury.id}/cloturer", headers=hs)
    assert again.status_code == 409, again.get_data(as_text=True)
    assert "déjà clos" in again.get_json()["message"]
    db.session.expire_all()
    admis, refuse = (db.session.get(Candidature, c.id) for c in (cqpm["admis"], cqpm["refuse"]))
    assert (admis.statut, refuse.statut) == ("admis", "non_admis")
    published_once(db, [admis, refuse])
    assert db.session.query(AttributionCertification).filter_by(
        candidature_id=admis.id).count() == 1
    r = api.post(f"/api/v1/jury/inscription/{ins_ok}/decision", headers=juror,
                 json={"decision": "non_admis"})
    assert r.status_code == 422 and "clos" in r.get_json()["message"]

    # Documents: PV and certificates, once (R-DOC-1); the PDF by its key, in the perimeter.
    pv = _ok(api.post(f"/api/v1/jury/{jury.id}/documents/pv", headers=hs))
    assert len(pv["emis"]) == 1
    certs = _ok(api.post(f"/api/v1/jury/{jury.id}/documents/certificat", headers=hs))
    assert [d["candidature_id"] for d in certs["emis"]] == [admis.id]
    twice = _ok(api.post(f"/api/v1/jury/{jury.id}/documents/certificat", headers=hs))
    assert twice["emis"] == [] and twice["existants"] == 1
    assert api.post(f"/api/v1/jury/{jury.id}/documents/diplome", headers=hs).status_code == 422
    listed = _ok(api.get(f"/api/v1/jury/{jury.id}/documents", headers=hs))["documents"]
    assert sorted(d["type"] for d in listed) == ["certificat", "pv"]
    cert_id = certs["emis"][0]["id"]
    pdf = api.get(f"/api/v1/jury/{jury.id}/documents/{cert_id}/pdf", headers=hs)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and pdf.data == db.session.get(DocumentEmis, cert_id).pdf
    assert api.get(f"/api/v1/jury/{jury.id}/documents/{cert_id}/pdf",
                   headers=chimie).status_code == 404
    assert api.get(f"/api/v1/jury/{other_jury.id}/documents/{cert_id}/pdf",
                   headers=hs).status_code == 404  # a document of another jury

    # The screens show the same: the jury closed, the documents with their numbers.
    page = login_as(sec).get(f"/jurys/show/{jury.id}").get_data(as_text=True)
    for doc in listed:
        assert doc["numero"] in page
    assert db.session.query(InscriptionJury).filter_by(jury_id=jury.id, etat="publie").count() == 2


def test_withdraw_and_register_again_through_the_api(app, db, make, cqpm):  # R-JUR-4 R-JUR-8
    api, jury = app.test_client(), cqpm["jury"]
    hs = bearer(jwt_for(app, cqpm["sec"]))
    holder = bearer(jwt_for(app, cqpm["admis"].createur))
    reg = _ok(api.post(f"/api/v1/inscription_jury/{cqpm['admis'].id}", headers=holder, json={}),
              201)
    # The holder may not withdraw (secretariat only), the secretariat may.
    assert api.post(f"/api/v1/jury/inscription/{reg['inscription']}/retrait",
                    headers=holder).status_code in (403, 404)
    done = _ok(api.post(f"/api/v1/jury/inscription/{reg['inscription']}/retrait", headers=hs,
                        json={"motif": "Candidat indisponible"}))
    assert done["etat"] == "retire"
    regs = _ok(api.post(f"/api/v1/jury/{jury.id}/affecter", headers=hs))["inscriptions"]
    assert len(regs) == 1
    assert db.session.get(InscriptionJury, regs[0]).candidature_id == cqpm["admis"].id


# --- rattachement (R-CAN-6) and the R-CAN-2 refusal ------------------------------------------------
IDENTITE = {"civilite": "M", "nom_naissance": "Rattache", "prenom": "Rémi",
            "date_naissance": "1985-06-07", "ville_naissance": "Nantes",
            "code_postal_naissance": "44000", "email": "remi@test.invalid",
            "adresse": "1 rue du Test", "code_postal": "44000", "ville": "Nantes"}


@pytest.fixture
def two_etabs(db, make):
    held = make.candidature("CLEA", identite=dict(IDENTITE))
    other = make.etablissement()
    make.habilitation(other, make.ref["CLEA"])
    asker = make.user("utilisateur_etablissement", etablissement=other)
    return held, other, asker


def test_rattachement_through_the_api(app, db, make, two_etabs):  # R-CAN-6 R-CAN-2 R-ACC-5
    held, other, asker = two_etabs
    api, h = app.test_client(), bearer(jwt_for(app, asker))
    found = _ok(api.get("/api/v1/dossier/recherche?nom=Rattache&prenom=R%C3%A9mi"
                        "&date_naissance=1985-06-07", headers=h))
    assert found["dossiers"] == [] and found["dossier_ailleurs"] is True
    jeton = found["rattachement"][0]["jeton"]
    # The jeton is this account's: a colleague's token cannot use it, nor a forged one.
    colleague = bearer(jwt_for(app, make.user("utilisateur_etablissement", etablissement=other)))
    body = {"jeton": jeton, "etablissement": other.id, "motif": "demenagement"}
    assert api.post("/api/v1/rattachement/demande", headers=colleague, json=body).status_code == 404
    assert api.post("/api/v1/rattachement/demande", headers=h,
                    json={**body, "jeton": jeton[:-3] + "abc"}).status_code == 404
    r = api.post("/api/v1/rattachement/demande", headers=h, json={**body, "motif": "autre"})
    assert r.status_code == 422 and r.get_json()["field"] == "precision"
    demande = _ok(api.post("/api/v1/rattachement/demande", headers=h, json=body), 201)
    assert set(demande) >= {"id", "etat"} and demande["etat"] == "en_attente"
    listed = _ok(api.get("/api/v1/rattachement/", headers=h))
    assert listed["ids"] == [demande["id"]]
    assert held.numero not in str(listed)  # the requester still sees no number

    # The certifier decides; another dispositif's secretariat does not see the request.
    chimie = bearer(jwt_for(app, secretariat(make, "CHIMIE")))
    assert api.post(f"/api/v1/rattachement/{demande['id']}/accepter",
                    headers=chimie).status_code == 404
    assert api.post(f"/api/v1/rattachement/{demande['id']}/accepter",
                    headers=h).status_code == 403  # the requester may not decide
    hs = bearer(jwt_for(app, secretariat(make, "CLEA")))
    r = api.post(f"/api/v1/rattachement/{demande['id']}/refuser", headers=hs, json={})
    assert r.status_code == 422 and r.get_json()["field"] == "reponse"
    assert _ok(api.post(f"/api/v1/rattachement/{demande['id']}/accepter", headers=hs,
                        json={"reponse": "Accord."}))["etat"] == "acceptee"
    db.session.expire_all()
    assert db.session.get(Candidature, held.id).etablissement_id == other.id
    assert db.session.get(RattachementDemande, demande["id"]).etat == "acceptee"
    assert _ok(api.get(f"/api/v1/candidature/{held.id}", headers=h))["id"] == held.id


def test_duplicate_refusal_names_nothing_outside_the_perimeter(app, db, make, two_etabs):  # R-CAN-2
    held, other, asker = two_etabs
    cert = held.certification
    api, h = app.test_client(), bearer(jwt_for(app, asker))
    r = api.post("/api/v1/candidature/", headers=h, json={
        "certification": cert.id, "etablissement": other.id, "identite": IDENTITE,
        "statut_inscription": "salarie", "financement": "CPF",
        "objectifs_professionnels": "Reprendre un emploi qualifié."})
    assert r.status_code == 422, r.get_data(as_text=True)
    message = r.get_json()["message"]
    assert "Un dossier existe déjà pour cette personne" in message and "rattachement" in message
    for secret in (held.numero, held.etablissement.nom, held.statut, held.statut_label):
        assert secret not in message
    # The screens read the same refusal (workflow of the creation form).
    with pytest.raises(RuleViolation) as exc:
        create_candidature(P(asker), certification=cert, identite=dict(IDENTITE),
                           etablissement=other.id, statut_inscription="salarie",
                           financement="CPF")
    db.session.rollback()
    assert held.numero not in str(exc.value) and "rattachement" in str(exc.value)
    # Inside the perimeter the dossier is named: its holder may open it.
    with pytest.raises(RuleViolation, match=held.numero):
        create_candidature(P(held.createur), certification=cert, identite=dict(IDENTITE),
                           etablissement=held.etablissement_id, statut_inscription="salarie",
                           financement="CPF")
    db.session.rollback()


def test_duplicate_search_limit_answers_429_json_and_page_with_retry_after(
        app, db, make, monkeypatch, two_etabs):  # R-CAN-2 (limit per account)
    _held, _other, asker = two_etabs
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "DUPLICATE_SEARCH_RATE_LIMIT", "2 per hour")
    app.extensions.pop("oc_account_limiter", None)
    try:
        api, h = app.test_client(), bearer(jwt_for(app, asker))
        url = "/api/v1/dossier/recherche?nom=Rattache&prenom=R%C3%A9mi&date_naissance=1985-06-07"
        codes = [api.get(url, headers=h).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = api.get(url, headers=h)
        assert r.status_code == 429 and r.mimetype == "application/json"
        assert int(r.headers["Retry-After"]) > 0 and "réessayez dans" in r.get_json()["message"]
        page = login(app.test_client(), asker).get(
            "/candidatures/recherche?nom_naissance=Rattache&prenom=R%C3%A9mi"
            "&date_naissance=1985-06-07")
        assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
        assert "réessayez dans" in page.get_data(as_text=True)
    finally:
        app.extensions.pop("oc_account_limiter", None)


def test_jury_endpoints_documented_with_their_parameters(app, make):  # issue 14 build 3
    spec = app.test_client().get("/api/v1/_openapi",
                                 headers=bearer(jwt_for(app, make.user("admin")))).get_json()
    paths = spec["paths"]
    decision = paths["/api/v1/jury/inscription/{ins_id}/decision"]["post"]
    assert {p["name"] for p in decision["parameters"]} == {"ins_id"}
    props = decision["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"decision", "acquis", "commentaire"} <= set(props)
    emettre = paths["/api/v1/jury/{pk}/documents/{kind}"]["post"]
    kind = next(p for p in emettre["parameters"] if p["name"] == "kind")
    assert "certificat" in kind["schema"]["enum"]
    for path in ("/api/v1/jury/{pk}/cloturer", "/api/v1/jury/{pk}/convoquer",
                 "/api/v1/jury/{pk}/membres", "/api/v1/inscription_jury/{pk}",
                 "/api/v1/jury/{pk}/documents/{doc_id}/pdf", "/api/v1/rattachement/demande",
                 "/api/v1/rattachement/{pk}/accepter", "/api/v1/rattachement/{pk}/refuser"):
        assert path in paths, path
    assert "409" in paths["/api/v1/jury/{pk}/cloturer"]["post"]["responses"]


def test_anonymous_jury_members_read_numbers_the_organiser_names(app, db, make, cqpm):  # R-JUR-7
    from tests.test_jurys import register
    jury = cqpm["jury"]
    jury.anonyme = True
    members = make.jury_compose(jury)
    ins = register(db, cqpm["admis"], jury).inscription
    api, name = app.test_client(), cqpm["admis"].candidat.nom_naissance.upper()
    juror = bearer(jwt_for(app, members["CFDT"].user))
    rows = _ok(api.get(f"/api/v1/jury/{jury.id}/inscriptions", headers=juror))["inscriptions"]
    assert rows[0]["candidat"] == f"Candidat n° {ins.numero_anonyme}" and name not in str(rows).upper()
    rows = _ok(api.get(f"/api/v1/jury/{jury.id}/inscriptions",
                       headers=bearer(jwt_for(app, cqpm["sec"]))))["inscriptions"]
    assert name in rows[0]["candidat"].upper()


def test_two_closings_at_once_publish_once(app, db, make, cqpm):  # R-JUR-9 (PostgreSQL)
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is checked on PostgreSQL (SQLite serialises every writer).")
    import threading

    from app.workflow.jury import deliberation
    from tests.test_jurys import register
    jury = cqpm["jury"]
    members = make.jury_compose(jury)
    regs = [register(db, c, jury).inscription for c in (cqpm["admis"], cqpm["refuse"])]
    jour_j(db, jury)
    for ins, decision in zip(regs, ("admis", "non_admis"), strict=True):
        deliberation.record_decision(P(members["CFDT"].user), ins, decision)
    db.session.commit()
    h, url = bearer(jwt_for(app, cqpm["sec"])), f"/api/v1/jury/{jury.id}/cloturer"
    dossiers = [cqpm["admis"].id, cqpm["refuse"].id]
    db.session.remove()
    barrier, codes = threading.Barrier(2, timeout=30), []

    def close():
        client = app.test_client()
        barrier.wait()
        codes.append(client.post(url, headers=h).status_code)
    threads = [threading.Thread(target=close) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [200, 409], codes
    published_once(db, dossiers)
