"""Duplicate search without disclosure (issue 14, build 1; R-CAN-2 stays, R-CAN-6).

Outside the user's perimeter the search reveals only that the exact person (birth name, first
name, birth date) has a dossier, and the way to ask for its rattachement; it never lists another
perimeter's dossiers, whatever the criteria. Limited per account and logged."""
import logging
import re
from html import unescape
from urllib.parse import urlencode

import pytest

from app.models.candidature import RattachementDemande


def page(client, **criteria):
    r = client.get("/candidatures/recherche?" + urlencode(criteria))
    html = unescape(r.get_data(as_text=True))
    return r.status_code, html[html.index('id="resultats"'):]  # the form echoes the criteria


@pytest.fixture
def scene(make, db):
    """Two établissements: ours (with one dossier) and another one's dossiers."""
    ours = make.etablissement()
    make.habilitation(ours, make.ref["CLEA"])
    me = make.user("utilisateur_etablissement", etablissement=ours)
    mine = make.candidature("CLEA", by=me, etablissement=ours,
                            identite=make.identite(nom_naissance="Rousseau", prenom="Lucie"))
    theirs = [make.candidature("CLEA", identite=make.identite(nom_naissance=n, prenom=p))
              for n, p in (("Rousseau", "Luc"), ("Roussel", "Marc"), ("Bernard", "Anne"))]
    return me, mine, theirs


def _nothing_of(html, dossiers):
    for c in dossiers:
        assert c.numero not in html
        assert c.candidat.prenom not in html or c.candidat.prenom == "Luc" and "Lucie" in html
        assert f"/dossier/{c.id}" not in html
        assert c.etablissement.nom not in html
    assert "dossier-ailleurs" not in html


def test_enumeration_by_number_returns_nothing_of_another_perimeter(scene, login_as):  # R-CAN-2
    me, mine, theirs = scene
    client = login_as(me)
    for c in theirs:  # the dossier numbers are sequential: looping over them used to list everyone
        status, html = page(client, numero=c.numero)
        assert status == 200
        _nothing_of(html, theirs)
    status, html = page(client, numero=mine.numero)
    assert mine.numero in html and f"/dossier/{mine.id}" in html  # inside: as useful as before


@pytest.mark.parametrize("criteria", [
    {"nom": "rou", "prenom": "lu"}, {"nom": "Rousseau", "prenom": "Luc"},
    {"nom": "Roussel", "date_naissance": "1990-01-01"}, {"nom": "r", "date_naissance": "1990-01-01"},
    {"nom": "Bernard", "ville_naissance": "Lyon"}, {"prenom": "Anne", "code_postal_naissance": "69003"},
])
def test_partial_names_return_nothing_of_another_perimeter(scene, login_as, criteria):  # R-CAN-2
    me, _mine, theirs = scene
    _, html = page(login_as(me), **criteria)
    _nothing_of(html, theirs)


def test_inside_the_perimeter_partial_names_still_list(scene, login_as):  # R-CAN-2
    me, mine, _theirs = scene
    _, html = page(login_as(me), nom="rou", prenom="lu")
    assert mine.numero in html and "Lucie" in html and mine.statut_label in html


def test_exact_identity_says_a_dossier_exists_and_offers_rattachement(scene, db, make, login_as):
    # R-CAN-2, R-CAN-6
    me, _mine, theirs = scene
    target = theirs[0]
    cand = target.candidat
    client = login_as(me)
    _, html = page(client, nom=cand.nom_naissance.upper(), prenom="luc",
                   date_naissance=cand.date_naissance.isoformat())
    assert "Un dossier existe déjà pour cette personne" in html
    assert "Demander le rattachement" in html
    for secret in (target.numero, target.statut_label, target.etablissement.nom):
        assert secret not in html
    link = re.search(r'href="(/rattachements/demander/[^"]+)"', html).group(1)
    form = unescape(client.get(unescape(link)).get_data(as_text=True))
    assert target.numero not in form and target.statut_label not in form
    link = unescape(link)
    r = client.post(link, data={"etablissement": me.profil.etablissement_id,
                                "motif": "souhait_candidat"})
    assert r.status_code == 302
    d = db.session.query(RattachementDemande).one()
    assert d.candidature_id == target.id
    # The link is this user's: another account gets a 404, and no number works as a link.
    other = login_as(make.user("utilisateur_etablissement", etablissement=make.etablissement()))
    assert other.get(link).status_code == 404
    assert client.get(f"/rattachements/demander/{target.id}").status_code == 404


def test_birth_date_alone_or_wrong_first_name_reveals_nothing(scene, login_as):  # R-CAN-2
    me, _, theirs = scene
    cand = theirs[0].candidat
    client = login_as(me)
    for criteria in ({"nom": cand.nom_naissance, "date_naissance": cand.date_naissance.isoformat()},
                     {"nom": cand.nom_naissance, "prenom": "Lu",
                      "date_naissance": cand.date_naissance.isoformat()}):
        _, html = page(client, **criteria)
        _nothing_of(html, theirs)


def test_search_is_rate_limited_per_account_and_logged(scene, app, make, login_as, monkeypatch,
                                                       caplog):  # R-CAN-2 (issue 14)
    me, mine, _ = scene
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "DUPLICATE_SEARCH_RATE_LIMIT", "3 per minute")
    app.extensions.pop("oc_account_limiter", None)
    client = login_as(me)
    with caplog.at_level(logging.INFO, logger="app.workflow.dossier.candidats"):
        statuses = [page(client, numero=f"CLEA-2000-00000{i}")[0] for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert "Trop de recherches" in page(client, numero="x")[1]
    logged = [r.getMessage() for r in caplog.records if "Recherche de doublons" in r.getMessage()]
    assert len(logged) == 3 and all(f"compte {me.id}" in m for m in logged)
    # Per account, not per address: a colleague on the same machine still searches.
    colleague = login_as(make.user("utilisateur_etablissement", etablissement=mine.etablissement))
    assert page(colleague, numero=mine.numero)[0] == 200
    app.extensions.pop("oc_account_limiter", None)
