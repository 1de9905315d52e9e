"""Dispositifs (R-DIS-1/2), the referential (R-REF-1..6) and formats on the forms (R-FMT-1..4)."""
import csv
import datetime as dt
import html as htmllib
import io
import json
from collections import Counter

import pytest

from app.models import (
    Bloc,
    Certification,
    Competence,
    Dispositif,
    Entreprise,
    Etablissement,
    Organisme,
    Passerelle,
)
from app.seed_data import referentiels as data


def text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def _cert(db, code):
    return db.session.query(Certification).filter_by(code=code).one()


@pytest.fixture
def secretariats(make, ref):
    return {code: make.user("secretariat", dispositif=ref[code]) for code in ref}


# -- R-DIS-1: a secretariat sees and changes only its own dispositif ---------------------------

def test_secretariat_sees_only_its_dispositif(db, ref, secretariats, login_as):  # R-DIS-1
    c = login_as(secretariats["CHIMIE"])
    page = text(c.get("/dispositifview/list/"))
    assert "CQP des Industries Chimiques" in page
    assert "CléA" not in page and "Métallurgie" not in page
    assert c.get(f"/dispositifview/show/{ref['CLEA'].id}").status_code == 404
    assert c.get(f"/dispositifview/edit/{ref['CLEA'].id}").status_code == 404
    certs = text(c.get("/certificationview/list/?psize_CertificationView=100"))
    assert "CQP-CHIMIE-01" in certs and "CLEA-SOCLE" not in certs and "CQPM 2019" not in certs
    assert c.get(f"/certificationview/show/{_cert(db, 'CLEA-SOCLE').id}").status_code == 404
    r = c.get("/api/v1/certification/?q=" + json.dumps({"page_size": 100}))
    codes = {row["dispositif"]["code"] for row in r.get_json()["result"]}
    assert codes == {"CHIMIE"}
    for model in (Bloc, Competence):
        view = model.__name__.lower() + "view"
        pk = db.session.query(model).join(Certification).filter(
            Certification.code == "CLEA-SOCLE").first().id
        assert c.get(f"/{view}/show/{pk}").status_code == 404


def test_certification_belongs_to_one_dispositif(db, ref, secretariats, login_as):  # R-DIS-1
    c = login_as(secretariats["CHIMIE"])
    r = c.post("/certificationview/add", data={"type": "CQP", "code": "CQP-SANS", "intitule": "Sans"})
    assert r.status_code == 200
    assert db.session.query(Certification).filter_by(code="CQP-SANS").count() == 0
    r = c.post("/certificationview/add", data={"dispositif": str(ref["CHIMIE"].id), "type": "CQP",
                                               "code": "CQP-NOUVEAU", "intitule": "Nouveau CQP"})
    assert r.status_code == 302
    db.session.expire_all()
    assert _cert(db, "CQP-NOUVEAU").dispositif_id == ref["CHIMIE"].id
    # The dispositif choices of the form are the secretariat's own only.
    form = text(c.get("/certificationview/add"))
    assert "CQP des Industries Chimiques" in form and "CQPM / CCPM de la Métallurgie" not in form


# -- R-DIS-2: the scheme's settings are data, edited in an ordinary screen ----------------------

def test_secretariat_edits_dispositif_settings(db, ref, secretariats, login_as):  # R-DIS-2
    disp = ref["METALLURGIE"]
    c = login_as(secretariats["METALLURGIE"])
    form = text(c.get(f"/dispositifview/edit/{disp.id}"))
    assert "Qui crée les dossiers" in form and 'multiple' in form
    r = c.post(f"/dispositifview/edit/{disp.id}", data={
        "nom": "CQPM / CCPM de la Métallurgie", "certificateur": "UIMM Centre",
        "structure_evaluation": "blocs", "vocabulaire_decision": "valide_partiel",
        "createurs": ["employeur", "secretariat", "candidat"], "duree_acquis_mois": "36",
        "duree_acquis_rncp_mois": "", "capacite_jury_defaut": "12",
        "delai_inscription_jury_jours": "10", "delai_saisie_resultats_jours": "8",
        "delai_convocation_jours": "15", "delai_recevabilite_jours": "60",
        "delai_vae_jury_mois": "18", "delai_abandon_annees": "5", "prefixe_numero": "MC",
        "modele_pv": "metallurgie", "signataire_certificats": "Claire Morel"})
    assert r.status_code == 302, text(r)
    # Opened by a link (no list visited before): saved, it goes to the list, not the home page.
    assert r.headers["Location"].endswith("/dispositifview/list/"), r.headers["Location"]
    db.session.expire_all()
    d = db.session.get(Dispositif, disp.id)
    assert d.createurs == "employeur,secretariat,candidat"
    assert d.allows_creator("candidat") and not d.allows_creator("etablissement")
    assert d.duree_acquis_mois == 36 and d.duree_acquis_rncp_mois is None
    assert d.capacite_jury_defaut == 12 and d.delai_inscription_jury_jours == 10
    assert d.vocabulaire_decision == "valide_partiel"
    assert [code for code, _ in d.decisions] == ["valide", "partiel", "non_valide"]
    assert d.certificateur == "UIMM Centre"
    assert d.modele_pv == "metallurgie" and d.signataire_certificats == "Claire Morel"  # issue 16
    show = text(c.get(f"/dispositifview/show/{disp.id}"))
    assert "Employeur, Secrétariat (VAE), Candidat (VAE, par le centre de certification)" in show
    assert "Validé / Partiel / Non validé" in show
    # The edit form shows the stored choices again.
    form = text(c.get(f"/dispositifview/edit/{disp.id}"))
    assert form.count("selected") >= 3


def test_dispositif_settings_refused_to_others(db, ref, make, secretariats, login_as):  # R-DIS-1, R-DIS-2
    disp = ref["CHIMIE"]
    payload = {"nom": "Piraté", "certificateur": "X", "structure_evaluation": "competences",
               "vocabulaire_decision": "admis", "createurs": ["candidat"],
               "capacite_jury_defaut": "1", "delai_inscription_jury_jours": "1",
               "delai_saisie_resultats_jours": "1", "delai_convocation_jours": "1",
               "delai_recevabilite_jours": "1", "delai_vae_jury_mois": "1", "delai_abandon_annees": "1"}
    others = [secretariats["CLEA"], make.user("manager", dispositif=disp),
              make.user("admin_organisme", organisme=make.organisme())]
    for user in others:
        c = login_as(user)
        assert c.post(f"/dispositifview/edit/{disp.id}", data=payload).status_code in (403, 404)
        assert c.post(f"/dispositifview/delete/{disp.id}").status_code in (403, 404)
    db.session.expire_all()
    d = db.session.get(Dispositif, disp.id)
    assert d.nom == "CQP des Industries Chimiques" and d.vocabulaire_decision == "valide_partiel"


# -- R-REF-1 .. R-REF-3: the seeded referentials -------------------------------------------------

def test_chemistry_cqp_with_filiere_and_coefficient(db, ref):  # R-REF-1
    rows = db.session.query(Certification).filter(
        Certification.dispositif_id == ref["CHIMIE"].id,
        Certification.code.like("CQP-CHIMIE-%")).order_by(Certification.code).all()
    assert len(rows) == 16
    assert Counter(r.coefficient for r in rows) == {
        "160": 3, "190": 5, "225": 4, "À définir": 2, "Non concerné": 2}
    by_code = {r.code: r for r in rows}
    first = by_code["CQP-CHIMIE-01"]
    assert first.intitule == "Opérateur(trice) de fabrication des Industries Chimiques"
    assert (first.filiere, first.coefficient, first.type) == ("Fabrication", "160", "CQP")
    assert by_code["CQP-CHIMIE-13"].coefficient == "À définir"
    assert by_code["CQP-CHIMIE-16"].coefficient == "Non concerné"
    assert by_code["CQP-CHIMIE-16"].type == "CQPI"
    assert {r.filiere for r in rows} == {
        "Fabrication", "Conditionnement", "Logistique", "Maintenance",
        "Encadrement d'un secteur industriel", "Commercialisation Vente",
        "Qualité-Hygiène-Sécurité-Santé-Environnement"}
    assert [(r.intitule, r.filiere, r.coefficient) for r in rows] == [
        (c["intitule"], c["filiere"], c["coefficient"]) for c in data.CHIMIE_CQP]


def test_cqpi_list_and_branch_membership(db, ref):  # R-REF-2
    cqpi = {r.code: r for r in db.session.query(Certification).filter(
        Certification.dispositif_id == ref["CHIMIE"].id, Certification.code.like("CQPI-%"))}
    brochure = [c["code"] for c in data.CQPI]
    assert len(brochure) == 9 and set(brochure) <= set(cqpi)
    assert all(cqpi[code].type == "CQPI" for code in cqpi)
    joined = {code for code, row in cqpi.items() if row.membre_branche}
    assert len(joined) == 8  # 001: the chemical branch joined 8 CQPI
    assert not cqpi["CQPI-06"].membre_branche and not cqpi["CQPI-09"].membre_branche
    assert Counter(cqpi[c].obtention for c in joined) == {"equivalence": 6, "processus": 2}
    assert cqpi["CQPI-05"].obtention == "processus" and cqpi["CQPI-08"].obtention == "processus"
    assert cqpi["CQPI-01"].description.startswith("Il effectue les opérations de conduite")


def test_clea_seven_domains_twenty_eight_subdomains(db, ref):  # R-REF-3
    clea = _cert(db, "CLEA-SOCLE")
    assert clea.dispositif.code == "CLEA" and clea.type == "CLEA"
    assert [b.code for b in clea.blocs] == ["1", "2", "3", "4", "5", "6", "7"]
    assert len(clea.competences) == 28
    assert [len(b.competences) for b in clea.blocs] == [5, 5, 4, 4, 3, 3, 4]
    for comp in clea.competences:
        assert comp.code.split(".")[0] == comp.bloc.code
    names = {c.code: c.intitule for c in clea.competences}
    assert names["1.5"] == "Décrire – formuler"
    assert names["7.3"] == "Être capable d'appliquer les gestes de premiers secours"
    assert clea.blocs[0].intitule == "Communiquer en français"


def test_metallurgy_demo_set_numbered_per_rule(db, ref):  # R-REF-4
    rows = db.session.query(Certification).filter_by(dispositif_id=ref["METALLURGIE"].id).all()
    assert rows and all(r.demo for r in rows)
    assert all("(démo)" in r.intitule or "démo" in r.intitule for r in rows)
    from app.formats import check_bloc_code, check_certification_code
    for r in rows:
        if r.type in ("CQPM", "CCPM"):
            assert check_certification_code(r.type, r.code) == r.code
        for b in r.blocs:
            assert check_bloc_code(b.code) == b.code
        if r.type == "CCPM":
            assert r.blocs == [] and r.competences


def test_flask_seed_is_idempotent(app, db):  # R-REF-1, R-REF-2, R-REF-3
    runner = app.test_cli_runner()
    tables = ("dispositif", "certification", "bloc", "competence", "passerelle",
              "certification_equivalence", "ab_role")

    def counts():
        db.session.remove()
        return {t: db.session.execute(db.metadata.tables[t].select()).all().__len__() for t in tables}

    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "Rôles et référentiels chargés" in first.output
    after_one = counts()
    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0, second.output
    assert counts() == after_one
    assert after_one["dispositif"] == 3 and after_one["competence"] >= 28


def test_seed_keeps_the_secretariat_settings(db, ref):  # R-DIS-2
    ref["CHIMIE"].capacite_jury_defaut = 7
    db.session.commit()
    from app.seed_data.load import seed_referentiels
    seed_referentiels()
    db.session.expire_all()
    assert db.session.query(Dispositif).filter_by(code="CHIMIE").one().capacite_jury_defaut == 7


# -- R-REF-4: codes checked on the forms ---------------------------------------------------------

def _cqpm(c, ref, code, **extra):
    return c.post("/certificationview/add", data={
        "dispositif": str(ref["METALLURGIE"].id), "type": "CQPM", "code": code,
        "intitule": "Technicien(ne) démo", "niveau": "4", **extra})


def test_cqpm_code_checked_on_the_form(db, ref, secretariats, login_as):  # R-REF-4
    c = login_as(secretariats["METALLURGIE"])
    r = _cqpm(c, ref, "CQPM 19 12")
    assert r.status_code == 200
    page = text(r)
    assert "Le numéro du CQPM doit avoir la forme « CQPM 0000 0000 »" in page
    assert 'value="CQPM 19 12"' in page and 'value="Technicien(ne) démo"' in page  # kept
    assert db.session.query(Certification).filter_by(intitule="Technicien(ne) démo").count() == 0
    r = _cqpm(c, ref, "cqpm 2021 0042 ri")
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    assert _cert(db, "CQPM 2021 0042 RI").niveau == 4
    r = c.post("/certificationview/add", data={
        "dispositif": str(ref["METALLURGIE"].id), "type": "CCPM", "code": "CCPM 2020",
        "intitule": "Soudure"})
    assert "Le numéro du CCPM doit avoir la forme" in text(r)


def test_certification_level_and_rncp_checked(db, ref, secretariats, login_as):  # R-REF-5, R-FMT-2
    c = login_as(secretariats["METALLURGIE"])
    r = _cqpm(c, ref, "CQPM 2021 0043", niveau="9")
    assert r.status_code == 200
    assert "niveau" in text(r).lower() and "entre 1 et 8" in text(r)
    r = _cqpm(c, ref, "CQPM 2021 0044", rncp_code="ABC")
    assert "Le code RNCP doit commencer par RNCP" in text(r)
    r = _cqpm(c, ref, "CQPM 2021 0045 R", rncp_code="rncp 34567")
    assert r.status_code == 302
    db.session.expire_all()
    assert _cert(db, "CQPM 2021 0045 R").rncp_code == "RNCP34567"


def test_certification_code_checked_on_the_api(db, ref, secretariats, login_as):  # R-REF-4
    c = login_as(secretariats["METALLURGIE"])
    r = c.post("/api/v1/certification/", json={
        "dispositif": ref["METALLURGIE"].id, "type": "CQPM", "code": "CQPM X", "intitule": "X"})
    assert r.status_code == 422 and "CQPM 0000 0000" in r.get_json()["message"]


def test_bloc_codes_checked(db, ref, secretariats, login_as):  # R-REF-4
    c = login_as(secretariats["METALLURGIE"])
    cqpm = _cert(db, "CQPM 2019 0312 R")
    r = c.post("/blocview/add", data={"certification": str(cqpm.id), "code": "B12",
                                      "intitule": "Bloc mal numéroté", "ordre": "9"})
    assert r.status_code == 200
    assert "BDC0000" in text(r) and 'value="Bloc mal numéroté"' in text(r)
    r = c.post("/blocview/add", data={"certification": str(cqpm.id), "code": "bdc 0042",
                                      "intitule": "Bloc quarante-deux", "ordre": "9"})
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    assert db.session.query(Bloc).filter_by(certification_id=cqpm.id, code="BDC0042").count() == 1
    ccpm = _cert(db, "CCPM 2020 0007")
    r = c.post("/blocview/add", data={"certification": str(ccpm.id), "code": "BDC0001",
                                      "intitule": "Bloc de CCPM", "ordre": "1"})
    assert "Un CCPM n'a pas de blocs" in text(r)


# -- R-REF-5: suppressed certifications -----------------------------------------------------------

def test_suppressed_certification_takes_no_new_candidates(db, ref):  # R-REF-5
    cert = _cert(db, "CQP-CHIMIE-01")
    assert cert.is_open_to_new_candidates()
    today = dt.date.today()
    cert.date_suppression = today
    assert not cert.is_open_to_new_candidates()
    assert cert.is_open_to_new_candidates(on=today - dt.timedelta(days=1))
    cert.date_suppression = today + dt.timedelta(days=10)
    assert cert.is_open_to_new_candidates()
    assert not cert.is_open_to_new_candidates(on=today + dt.timedelta(days=10))


def test_suppression_date_entered_and_shown_french(db, ref, secretariats, login_as):  # R-REF-5, R-FMT-4
    cert = _cert(db, "CQP-CHIMIE-02")
    c = login_as(secretariats["CHIMIE"])
    r = c.post(f"/certificationview/edit/{cert.id}", data={
        "dispositif": str(ref["CHIMIE"].id), "type": "CQP", "code": cert.code,
        "intitule": cert.intitule, "filiere": cert.filiere, "coefficient": cert.coefficient,
        "date_suppression": "2025-03-31", "membre_branche": "y"})
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    assert _cert(db, "CQP-CHIMIE-02").date_suppression == dt.date(2025, 3, 31)
    assert not _cert(db, "CQP-CHIMIE-02").is_open_to_new_candidates()
    page = text(c.get("/certificationview/list/?psize_CertificationView=100"))
    assert "31/03/2025" in page and "2025-03-31" not in page
    csv_text = c.get("/certificationview/export/csv/").get_data().decode("utf-8-sig")
    assert "31/03/2025" in csv_text


# -- R-REF-6: passerelles ---------------------------------------------------------------------------

def test_passerelle_screen_crud(db, ref, secretariats, login_as):  # R-REF-6
    cert = _cert(db, "CQP-CHIMIE-01")
    c = login_as(secretariats["CHIMIE"])
    r = c.post("/passerelleview/add", data={
        "certification": str(cert.id), "autre_branche": "Industrie pharmaceutique",
        "certification_autre": "CQP Conducteur de procédés pharmaceutiques", "nature": "partielle"})
    assert r.status_code == 302, text(r)
    row = db.session.query(Passerelle).filter_by(certification_id=cert.id).one()
    assert row.nature == "partielle"
    page = text(c.get("/passerelleview/list/"))
    assert "Passerelles entre branches" in page and "Industrie pharmaceutique" in page
    r = c.post(f"/passerelleview/edit/{row.id}", data={
        "certification": str(cert.id), "autre_branche": "Industrie pharmaceutique",
        "certification_autre": "CQP Conducteur de procédés pharmaceutiques", "nature": "totale"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Passerelle, row.id).nature == "totale"
    assert "totale" in text(c.get(f"/passerelleview/show/{row.id}"))
    # Each certifier decides for its own certification only.
    other = login_as(secretariats["CLEA"])
    assert other.get(f"/passerelleview/show/{row.id}").status_code == 404
    assert other.post(f"/passerelleview/delete/{row.id}").status_code == 404
    reader = login_as(secretariats["METALLURGIE"])
    assert reader.post("/passerelleview/add", data={
        "certification": str(cert.id), "autre_branche": "X", "certification_autre": "Y",
        "nature": "totale"}).status_code == 200
    assert db.session.query(Passerelle).count() == 1
    assert c.post(f"/passerelleview/delete/{row.id}").status_code == 302
    db.session.expire_all()
    assert db.session.query(Passerelle).count() == 0


# -- R-FMT-1 .. R-FMT-4 on the structure forms ------------------------------------------------

@pytest.fixture
def org_admin(make):
    organisme = make.organisme(nom="Formapro")
    return organisme, make.user("admin_organisme", organisme=organisme)


def _etab_form(organisme, **kw):
    return {"organisme": str(organisme.id), "libelle": "Lyon", "siret": "", "region": "Bretagne",
            "adresse": "3 rue des Lilas", "code_postal": "69003", "ville": "Lyon",
            "contact_nom": "Mme Officielle", **kw}


def test_bad_siret_on_the_etablissement_form(db, make, org_admin, login_as):  # R-FMT-1
    organisme, admin = org_admin
    c = login_as(admin)
    r = c.post("/etablissementview/add", data=_etab_form(organisme, siret="12345678901234"))
    assert r.status_code == 200
    page = text(r)
    assert "Le SIRET 12345678901234 n'est pas valide (clé de contrôle)." in page
    assert 'value="3 rue des Lilas"' in page and 'value="Mme Officielle"' in page
    r = c.post("/etablissementview/add", data=_etab_form(organisme, siret="1234"))
    assert "Le SIRET doit comporter 14 chiffres." in text(r)
    r = c.post("/etablissementview/add", data=_etab_form(organisme, siret=make.siret(organisme.siren),
                                                         code_postal="6900"))
    assert "Le code postal doit comporter 5 chiffres." in text(r)
    assert db.session.query(Etablissement).count() == 0


def test_duplicate_siret_is_a_french_message(db, make, org_admin, login_as):  # R-FMT-1
    organisme, admin = org_admin
    existing = make.etablissement(organisme)
    r = login_as(admin).post("/etablissementview/add",
                             data=_etab_form(organisme, siret=existing.siret, libelle="Doublon"))
    assert r.status_code == 200
    assert "Un établissement existe déjà avec ce SIRET" in text(r)
    assert 'value="Doublon"' in text(r)
    assert db.session.query(Etablissement).count() == 1


def test_bad_siren_and_naf_on_forms(db, make, login_as, ref):  # R-FMT-1, R-FMT-2
    sec = login_as(make.user("secretariat"))
    r = sec.post("/organismeview/add", data={"nom": "NOUVEL OF", "siren": "123456789"})
    assert r.status_code == 200
    assert "Le SIREN 123456789 n'est pas valide (clé de contrôle)." in text(r)
    assert 'value="NOUVEL OF"' in text(r)
    la_poste = sec.post("/organismeview/add", data={"nom": "LA POSTE", "siren": "356 000 000"})
    assert la_poste.status_code == 302
    r = sec.post("/entrepriseview/add", data={"raison_sociale": "MÉTAUX SA", "siret": make.siret(),
                                              "naf": "2562"})
    assert r.status_code == 200 and "Le code NAF doit avoir la forme 25.62B" in text(r)
    r = sec.post("/entrepriseview/add", data={"raison_sociale": "MÉTAUX SA", "siret": make.siret(),
                                              "naf": "2562b", "secteur": "M"})
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    assert db.session.query(Entreprise).filter_by(raison_sociale="MÉTAUX SA").one().naf == "25.62B"
    assert db.session.query(Organisme).filter_by(nom="LA POSTE").one().siren == "356000000"


def test_etablissement_name_is_organisme_then_label(db, make, org_admin, login_as):  # R-FMT-3
    organisme, admin = org_admin
    c = login_as(admin)
    r = c.post("/etablissementview/add", data=_etab_form(organisme, siret=make.siret(organisme.siren)))
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    etab = db.session.query(Etablissement).one()
    assert etab.nom == "FORMAPRO Lyon"
    assert "FORMAPRO Lyon" in text(c.get("/etablissementview/list/"))
    # Typing the organisme's name in the label does not double it.
    r = c.post(f"/etablissementview/edit/{etab.id}", data=_etab_form(
        organisme, siret=etab.siret, libelle="Formapro Villeurbanne"))
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Etablissement, etab.id).nom == "FORMAPRO Villeurbanne"
    # Renaming the organisme renames its établissements.
    sec = login_as(make.user("secretariat"))
    r = sec.post(f"/organismeview/edit/{organisme.id}", data={"nom": "Formapro Sud",
                                                              "siren": organisme.siren})
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    assert db.session.get(Etablissement, etab.id).nom == "FORMAPRO SUD Villeurbanne"


def test_dates_french_and_interface_french(db, make, login_as):  # R-FMT-4
    from app.models.notification import Notification
    user = make.user("admin_etablissement", etablissement=make.etablissement())
    # Stored in UTC, shown in Paris time: 23:30 UTC on 15 January is 00:30 on the 16th.
    db.session.add(Notification(user_id=user.id, rubrique="compte", titre="Daté",
                                created_on=dt.datetime(2026, 1, 15, 23, 30)))
    db.session.commit()
    c = login_as(user)
    page = text(c.get("/notificationview/list/"))
    assert "16/01/2026 00:30" in page and "2026-01-15" not in page
    assert "Mes notifications" in page and "Rubrique" in page
    rows = list(csv.reader(io.StringIO(
        c.get("/notificationview/export/csv/").get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Créé le", "Rubrique"] and rows[1][0] == "16/01/2026 00:30"
    etabs = text(c.get("/etablissementview/list/"))
    for french in ("Établissements", "Région", "Actif", "Exporter la liste", "Se déconnecter"):
        assert french in etabs, french
    assert "List Etablissement" not in etabs
