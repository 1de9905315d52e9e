"""A person's data on request: a zip of JSON and documents, for the secretariat, within its
dispositif (access request; R-ARC-1…3 tombstones included)."""
import datetime as dt
import io
import json
import zipfile

import pytest

from app.errors import PerimeterViolation, RuleViolation
from app.models.candidature import Historique
from app.security.perimeter import perimetre_of
from app.workflow.conformite.personal_data import export_person, search_candidates
from app.workflow.conformite.retention import purge
from tests.conformite_helpers import decide, dossier, evaluation, issued, piece

DECIDED = dt.date(2024, 6, 15)


@pytest.fixture
def person(db, make, ref):
    """One candidate with a CHIMIE dossier (pieces, evaluation, certificate, PV) and a CLEA one."""
    identite = make.identite(nom_naissance="Lefebvre", prenom="Amandine", civilite="MME")
    chimie = dossier(make, identite=identite)
    cid = chimie.candidat_id
    ident = piece(db, chimie, "piece_identite", name="cni.pdf")
    guide = piece(db, chimie, "guide_evaluation", name="outil4.pdf",
                  content=b"%PDF-1.4 guide d'evaluation")
    evaluation(db, chimie, acquis=(True, False))
    decide(db, chimie, "partiel", DECIDED)
    cert = issued(db, ref["CHIMIE"], "certificat", DECIDED, candidature=chimie)
    pv = issued(db, ref["CHIMIE"], "pv", DECIDED, candidature=chimie)
    clea = make.candidature("CLEA", identite=make.identite(
        nom_naissance="Lefebvre", prenom="Amandine", civilite="MME",
        date_naissance=chimie.candidat.date_naissance))
    # The same person (R-CAN-2 reuses the Candidat row); force it if the search did not.
    clea.candidat_id = cid
    db.session.commit()
    return {"id": cid, "chimie": chimie, "clea": clea, "ident": ident, "guide": guide,
            "cert": cert, "pv": pv}


def _zip(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    return z, {n: z.read(n) for n in z.namelist()}


def test_export_contains_everything_held_within_the_dispositif(db, make, ref, person):
    """Access request: identity, dossiers, evaluations, decisions, certificates, history and the
    documents' files — only the secretariat's dispositif."""
    purge(DECIDED)  # the identity document goes at the decision (R-ARC-1)
    db.session.commit()
    sec = make.user("secretariat", dispositif=ref["CHIMIE"])
    data = export_person(person["id"], perimetre_of(sec))
    db.session.commit()
    _, files = _zip(data)
    assert {"LISEZMOI.txt", "identite.json", "dossiers.json", "documents_emis.json"} <= set(files)
    identite = json.loads(files["identite.json"])
    assert (identite["nom_naissance"], identite["prenom"]) == ("Lefebvre", "Amandine")
    assert "cle_nom" not in identite
    dossiers = json.loads(files["dossiers.json"])
    assert [d["numero"] for d in dossiers] == [person["chimie"].numero]  # not the CLEA dossier
    d = dossiers[0]
    assert (d["decision"], d["decide_le"], d["decision_label"]) == ("partiel", "2024-06-15",
                                                                   "Partiel")
    assert d["certification"]["code"] == person["chimie"].certification.code
    ev = d["evaluations"][0]
    assert ev["commentaire"] == "Bonne maîtrise du poste"
    assert [r["acquis"] for r in ev["resultats"]] == [True, False]
    assert d["historique"] and all("action" in h for h in d["historique"])
    # Pieces still held are in the zip, byte for byte; the purged one is listed as removed.
    guide = next(x for x in d["documents"] if x["type_piece"] == "guide_evaluation")
    assert files[guide["fichier"]] == b"%PDF-1.4 guide d'evaluation"
    assert [x["type_piece"] for x in d["documents"]] == ["guide_evaluation"]
    assert [(t["element"], t["libelle"], t["purge_le"]) for t in d["documents_supprimes"]] == [
        ("piece_identite", "cni.pdf", "2024-06-15")]
    issued_rows = json.loads(files["documents_emis.json"])
    by_type = {x["type"]: x for x in issued_rows}
    assert by_type["certificat"]["verification_url"].endswith(
        "/verifier/" + person["cert"].code_verification)
    assert files[by_type["certificat"]["fichier"]].startswith(b"%PDF")
    assert by_type["pv"]["fichier"] is None  # a PV names other candidates: metadata only
    assert not any(n.startswith("documents_emis/pv") for n in files)
    # The export is recorded in the dossier's history (accountability), not in the other one's.
    logged = db.session.query(Historique).filter_by(action="export_donnees_personnelles").all()
    assert [h.candidature_id for h in logged] == [person["chimie"].id]


def test_export_refused_outside_the_dispositif_or_for_other_roles(db, make, ref, person):
    """Only the secretariat, and only for a candidate with a dossier of its dispositif."""
    metal = make.user("secretariat", dispositif=ref["METALLURGIE"])
    with pytest.raises(PerimeterViolation):
        export_person(person["id"], perimetre_of(metal))
    etab = person["clea"].etablissement
    user = make.user("admin_etablissement", etablissement=etab)
    with pytest.raises(PerimeterViolation):
        export_person(person["id"], perimetre_of(user))
    with pytest.raises(PerimeterViolation):
        export_person(999999, perimetre_of(make.user("secretariat", dispositif=ref["CHIMIE"])))
    admin = make.user("admin")
    _, files = _zip(export_person(person["id"], perimetre_of(admin), log=False))
    assert len(json.loads(files["dossiers.json"])) == 2  # the technical administrator: all


def test_search_within_the_dispositif(db, make, ref, person):
    sec = perimetre_of(make.user("secretariat", dispositif=ref["CHIMIE"]))
    assert [c.id for c in search_candidates(sec, "lefeb")] == [person["id"]]
    assert [c.id for c in search_candidates(sec, "amandine LEFEBVRE")] == [person["id"]]
    assert [c.id for c in search_candidates(sec, person["chimie"].numero)] == [person["id"]]
    metal = perimetre_of(make.user("secretariat", dispositif=ref["METALLURGIE"]))
    assert search_candidates(metal, "lefebvre") == []
    with pytest.raises(RuleViolation):
        search_candidates(sec, "  ")


def test_screen_search_and_download(db, make, ref, person, login_as):
    client = login_as(make.user("secretariat", dispositif=ref["CHIMIE"]))
    html = client.get("/donnees-personnelles/?q=Lefebvre").get_data(as_text=True)
    assert "LEFEBVRE" in html and person["chimie"].numero in html
    assert person["clea"].numero not in html
    r = client.post(f"/donnees-personnelles/export/{person['id']}")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert "attachment" in r.headers["Content-Disposition"]
    _, files = _zip(r.data)
    assert "identite.json" in files
    metal = login_as(make.user("secretariat", dispositif=ref["METALLURGIE"]))
    assert metal.post(f"/donnees-personnelles/export/{person['id']}").status_code == 404
    other = login_as(make.user("admin_reseau", reseau=make.reseau()))
    assert other.get("/donnees-personnelles/?q=Lefebvre").status_code == 403
