"""Holders' declaration to the Caisse des Dépôts (R-ARC-4): XML flux validated against the XSD
1.1.2 (test copy: tests/data/cpf.xsd), processing reports, never declared twice."""
import datetime as dt
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sqlalchemy as sa
import xmlschema

from app.errors import RuleViolation
from app.models.conformite import DeclarationCDC, DeclarationTitulaire
from app.workflow import cdc, cdc_report
from tests.conformite_helpers import decide, dossier, issued

XSD = Path(__file__).parent / "data" / "cpf.xsd"
NS = {"cpf": cdc.NS}
NIL = f"{{{cdc.XSI}}}nil"
TODAY = dt.date(2024, 9, 1)
JURY = dt.date(2024, 6, 15)


@pytest.fixture
def chimie(db, ref, make):
    d = ref["CHIMIE"]
    d.id_client_cdc, d.id_contrat_cdc = "12345678", "MCFCER000123"
    rncp = make.certification("CHIMIE", "CQP-CHIMIE-01")
    rncp.rncp_code = "RNCP99950"
    rs = make.certification("CHIMIE", "CQP-CHIMIE-02")
    rs.rs_code = "1234"  # digits only: the flux says RS1234
    none = make.certification("CHIMIE", "CQP-CHIMIE-03")
    none.rncp_code = none.rs_code = None
    db.session.commit()
    return {"dispositif": d, "rncp": rncp, "rs": rs, "none": none}


def _holders(db, make, chimie):
    """Three holders over two registered certifications, with varied profiles."""
    a = dossier(make, certification=chimie["rncp"], identite=make.identite(
        civilite="M", prenom="Jean", nom_naissance="Dupont", nom_usage="Durand"))
    b = dossier(make, certification=chimie["rncp"], financement="CP", identite=make.identite(
        ne_etranger=True, ville_naissance="Casablanca", pays_naissance="Maroc",
        code_postal_naissance=None))
    c = dossier(make, certification=chimie["rs"], vae=True, financement="CVAE")
    for x in (a, b, c):
        decide(db, x, "valide", JURY)
    cert = issued(db, chimie["dispositif"], "certificat", JURY, candidature=a)
    return a, b, c, cert


def _passages(xml: bytes):
    root = ET.fromstring(xml)
    return {p.findtext("cpf:idTechnique", namespaces=NS): p
            for p in root.iterfind(".//cpf:passageCertification", NS)}


def test_generated_file_validates_against_the_xsd(db, make, chimie):
    """R-ARC-4: several certifications and holders; the file validates against the XSD 1.1.2."""
    a, b, c, cert = _holders(db, make, chimie)
    decl = cdc.generate_declaration(chimie["dispositif"], TODAY)
    db.session.commit()
    xmlschema.XMLSchema(str(XSD)).validate(io.BytesIO(decl.xml))
    assert (decl.nb_certifications, decl.nb_titulaires, decl.statut) == (2, 3, "generated")
    root = ET.fromstring(decl.xml)
    assert root.tag == f"{{{cdc.NS}}}flux"
    assert root.findtext("cpf:emetteur/cpf:idClient", namespaces=NS) == "12345678"
    certif = root.find("cpf:emetteur/cpf:certificateurs/cpf:certificateur", NS)
    assert certif.findtext("cpf:idContrat", namespaces=NS) == "MCFCER000123"
    assert sorted((x.findtext("cpf:type", namespaces=NS), x.findtext("cpf:code", namespaces=NS))
                  for x in certif.iterfind(".//cpf:certification", NS)) == [
        ("RNCP", "RNCP99950"), ("RS", "RS1234")]
    assert root.findtext("cpf:horodatage", namespaces=NS).startswith("2024-09-01T12:00:00+02:00")
    passages = _passages(decl.xml)
    assert set(passages) == {a.numero, b.numero, c.numero}
    pa, pb, pc = passages[a.numero], passages[b.numero], passages[c.numero]
    # The certificate's public page is the proof; no certificate, no element (never empty).
    url = pa.findtext("cpf:urlPreuve", namespaces=NS)
    assert url.endswith(f"/verifier/{cert.code_verification}")
    assert pb.find("cpf:urlPreuve", NS) is None
    assert pa.findtext("cpf:dateDebutValidite", namespaces=NS) == "2024-06-15"
    for tag in ("dateFinValidite", "scoring", "mentionValidee"):
        assert pa.find(f"cpf:{tag}", NS).get(NIL) == "true"
    assert pa.findtext("cpf:obtentionCertification", namespaces=NS) == "PAR_ADMISSION"
    assert pa.findtext("cpf:donneeCertifiee", namespaces=NS) == "true"
    t = pa.find("cpf:identificationTitulaire/cpf:titulaire", NS)
    assert [t.findtext(f"cpf:{k}", namespaces=NS) for k in
            ("nomNaissance", "nomUsage", "prenom1", "sexe", "libelleCommuneNaissance")] == [
        "Dupont", "Durand", "Jean", "M", "Lyon"]
    assert t.findtext("cpf:codeCommuneNaissance/cpf:codePostalNaissance/cpf:codePostal",
                      namespaces=NS) == "69003"
    born = a.candidat.date_naissance
    assert [t.findtext(f"cpf:{k}", namespaces=NS) for k in
            ("anneeNaissance", "moisNaissance", "jourNaissance")] == [
        str(born.year), str(born.month), str(born.day)]
    tb = pb.find("cpf:identificationTitulaire/cpf:titulaire", NS)
    assert tb.findtext("cpf:sexe", namespaces=NS) == "F"
    assert tb.find("cpf:nomUsage", NS).get(NIL) == "true"
    assert tb.find("cpf:codeCommuneNaissance/cpf:codePostalNaissance/cpf:codePostal",
                   NS).get(NIL) == "true"
    assert tb.findtext("cpf:libellePaysNaissance", namespaces=NS) == "Maroc"
    modalite = {n: p.findtext("cpf:modalitesInscription/cpf:modaliteAcces", namespaces=NS)
                for n, p in passages.items()}
    assert modalite == {a.numero: "FORMATION_CONTINUE_HORS_CONTRAT_DE_PROFESSIONNALISATION",
                        b.numero: "FORMATION_CONTINUE_CONTRAT_DE_PROFESSIONNALISATION",
                        c.numero: "VAE"}
    assert pc.findtext("cpf:modalitesInscription/cpf:voieAccessVAE", namespaces=NS) == "CONGES_VAE"
    assert pa.find("cpf:modalitesInscription/cpf:voieAccessVAE", NS) is None
    lines = db.session.query(DeclarationTitulaire).filter_by(declaration_id=decl.id).all()
    assert {(x.id_technique, x.certification_code, x.date_jury, x.statut) for x in lines} == {
        (a.numero, "RNCP99950", JURY, "declared"), (b.numero, "RNCP99950", JURY, "declared"),
        (c.numero, "RS1234", JURY, "declared")}


def test_only_holders_of_registered_certifications_are_declared(db, make, chimie):
    """R-ARC-4: no RNCP/RS code, a partial or failed result, an undecided dossier: not declared."""
    holder = decide(db, dossier(make, certification=chimie["rncp"]), "valide", JURY)
    decide(db, dossier(make, certification=chimie["none"]), "valide", JURY)
    decide(db, dossier(make, certification=chimie["rncp"]), "partiel", JURY)
    decide(db, dossier(make, certification=chimie["rncp"]), "non_valide", JURY)
    dossier(make, certification=chimie["rncp"])
    decl = cdc.generate_declaration(chimie["dispositif"], TODAY)
    assert list(_passages(decl.xml)) == [holder.numero]


def test_a_holder_is_never_declared_twice(db, make, chimie):
    """R-ARC-4: once in a file, a holder is not offered again; the database refuses a duplicate."""
    a, *_ = _holders(db, make, chimie)
    decl = cdc.generate_declaration(chimie["dispositif"], TODAY)
    db.session.commit()
    with pytest.raises(RuleViolation) as exc:
        cdc.generate_declaration(chimie["dispositif"], TODAY)
    assert "Aucun titulaire" in exc.value.message
    # Even a direct insert is refused while the first line is not rejected.
    other = DeclarationCDC(dispositif_id=chimie["dispositif"].id, id_flux="X-1",
                           date_reference=TODAY, xml=b"<x/>")
    db.session.add(other)
    db.session.flush()
    db.session.add(DeclarationTitulaire(declaration_id=other.id, candidature_id=a.id,
                                        id_technique=a.numero, certification_code="RNCP99950",
                                        date_jury=JURY))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.query(DeclarationTitulaire).filter_by(candidature_id=a.id).count() == 1
    assert decl.id


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_processing_report_with_one_rejection_offers_only_that_holder_again(db, make, chimie, fmt):
    """R-ARC-4: the report marks holders accepted/rejected; only the rejected one is offered
    again, with its error shown."""
    a, b, c, _ = _holders(db, make, chimie)
    decl = cdc.generate_declaration(chimie["dispositif"], TODAY)
    cdc.mark_sent(decl)
    db.session.commit()
    error = "Code postal de naissance inconnu"
    if fmt == "csv":
        report = (f"idTechnique;statut;erreur\n{a.numero};OK;\n{b.numero};KO;{error}\n"
                  f"{c.numero};OK;\n").encode()
    else:
        report = (f'<?xml version="1.0" encoding="UTF-8"?><compteRendu idFlux="{decl.id_flux}">'
                  f'<passage idTechnique="{a.numero}" statut="OK"/>'
                  f'<passage><idTechnique>{b.numero}</idTechnique><statut>KO</statut>'
                  f'<erreur>{error}</erreur></passage>'
                  f'<passage idTechnique="{c.numero}" statut="OK"/></compteRendu>').encode()
    result = cdc_report.import_processing_report(decl, report, f"cr.{fmt}")
    db.session.commit()
    assert (result.acceptes, result.rejetes, result.en_attente) == (2, 1, 0)
    assert (decl.statut, decl.nb_acceptes, decl.nb_rejetes) == ("processed", 2, 1)
    rejected = cdc.rejected_holders(chimie["dispositif"].id)
    assert [(x.id_technique, x.erreur) for x in rejected] == [(b.numero, error)]
    following = cdc.generate_declaration(chimie["dispositif"], TODAY + dt.timedelta(days=7))
    db.session.commit()
    assert list(_passages(following.xml)) == [b.numero]
    assert following.nb_titulaires == 1
    assert cdc.rejected_holders(chimie["dispositif"].id) == []  # declared again: no longer listed
    assert db.session.query(DeclarationTitulaire).filter_by(candidature_id=b.id).count() == 2


def test_processing_report_errors(db, make, chimie):
    """R-ARC-4: an unreadable or foreign report changes nothing."""
    a, *_ = _holders(db, make, chimie)
    decl = cdc.generate_declaration(chimie["dispositif"], TODAY)
    for data, words in ((b"", "vide"), (b"idTechnique;statut\nAUTRE-1;OK\n", "ne correspond"),
                        (f"{a.numero};PEUT-ETRE\n".encode(), "inconnu"),
                        (b'<!DOCTYPE x [<!ENTITY e "x">]><x/>', "DOCTYPE"),
                        (b"<compteRendu><passage", "illisible")):
        with pytest.raises(RuleViolation) as exc:
            cdc_report.import_processing_report(decl, data)
        assert words in exc.value.message
    assert {x.statut for x in decl.titulaires} == {"declared"}
    # A partial report leaves the others pending: the file stays "sent".
    result = cdc_report.import_processing_report(decl, f"{a.numero};OK\nINCONNU-9;KO;x\n".encode())
    assert (result.acceptes, result.inconnus, decl.statut) == (1, ["INCONNU-9"], "sent")
    assert result.en_attente == 2


def test_missing_cdc_identifiers_are_refused(db, make, chimie):
    """R-ARC-4: without idClient / idContrat (dispositif settings) no file is generated."""
    _holders(db, make, chimie)
    d = chimie["dispositif"]
    d.id_client_cdc = None
    with pytest.raises(RuleViolation) as exc:
        cdc.generate_declaration(d, TODAY)
    assert "identifiant client" in exc.value.message and exc.value.field == "id_client_cdc"
    d.id_client_cdc, d.id_contrat_cdc = "12345678", " "
    with pytest.raises(RuleViolation) as exc:
        cdc.generate_declaration(d, TODAY)
    assert exc.value.field == "id_contrat_cdc"
    d.id_client_cdc, d.id_contrat_cdc = "123", "C1"
    with pytest.raises(RuleViolation) as exc:
        cdc.generate_declaration(d, TODAY)
    assert "8 caractères" in exc.value.message
    assert db.session.query(DeclarationCDC).count() == 0


def test_an_invalid_file_is_never_stored(db, make, chimie, monkeypatch):
    """R-ARC-4: the XSD check runs before storing; its message is shown."""
    _holders(db, make, chimie)
    monkeypatch.setattr(cdc, "_check_settings", lambda d: None)
    chimie["dispositif"].id_client_cdc = "123"  # 3 characters: the schema wants 8
    with pytest.raises(RuleViolation) as exc:
        cdc.generate_declaration(chimie["dispositif"], TODAY)
    assert "schéma de la Caisse des Dépôts" in exc.value.message
    assert "idClient" in exc.value.message
    assert db.session.query(DeclarationCDC).count() == 0


def test_cancelled_file_offers_its_holders_again(db, make, chimie):
    """R-ARC-4: a file never sent can be cancelled; a sent one cannot."""
    _holders(db, make, chimie)
    decl = cdc.generate_declaration(chimie["dispositif"], TODAY)
    cdc.cancel_declaration(decl)
    db.session.commit()
    again = cdc.generate_declaration(chimie["dispositif"], TODAY)
    assert again.nb_titulaires == 3
    cdc.mark_sent(again)
    with pytest.raises(RuleViolation):
        cdc.cancel_declaration(again)


def test_warning_for_holders_undeclared_three_months_after_their_jury(db, make, chimie):
    """R-ARC-4: holders still undeclared (or rejected) 3 months after the jury are listed."""
    old = decide(db, dossier(make, certification=chimie["rncp"]), "valide", dt.date(2024, 5, 31))
    recent = decide(db, dossier(make, certification=chimie["rncp"]), "valide", dt.date(2024, 6, 2))
    warnings = cdc.undeclared_warnings(dt.date(2024, 9, 1), chimie["dispositif"].id)
    assert [(w.candidature.numero, w.date_jury) for w in warnings] == [
        (old.numero, dt.date(2024, 5, 31))]
    decl = cdc.generate_declaration(chimie["dispositif"], dt.date(2024, 9, 1))
    assert cdc.undeclared_warnings(dt.date(2024, 12, 1)) == []
    cdc_report.import_processing_report(decl, f"{old.numero};KO;Nom absent\n{recent.numero};OK\n".encode())
    warnings = cdc.undeclared_warnings(dt.date(2024, 12, 1))
    assert [(w.candidature.numero, w.erreur) for w in warnings] == [(old.numero, "Nom absent")]


def test_jury_date_comes_from_the_jury_registration(db, make, chimie):
    """R-ARC-4: dateDebutValidite = the date of the jury that decided, when registered to one."""
    from app.models.jury import InscriptionJury, Jury
    c = decide(db, dossier(make, certification=chimie["rncp"]), "valide", dt.date(2024, 6, 20))
    jury = Jury(dispositif_id=chimie["dispositif"].id, certificateur="France Chimie",
                date=dt.date(2024, 6, 18), date_limite_inscription=dt.date(2024, 5, 28),
                capacite=30, etat="clos", clos_le=dt.datetime(2024, 6, 18, 18))
    db.session.add(jury)
    db.session.flush()
    db.session.add(InscriptionJury(jury_id=jury.id, candidature_id=c.id, numero_anonyme=1,
                                   rang=1, decision="valide",
                                   decide_le=dt.datetime(2024, 6, 18, 17)))
    db.session.commit()
    decl = cdc.generate_declaration(chimie["dispositif"], TODAY)
    assert _passages(decl.xml)[c.numero].findtext("cpf:dateDebutValidite",
                                                  namespaces=NS) == "2024-06-18"


def test_secretariat_screens(db, make, chimie, login_as):
    """Declarations screen: warning, generation, download, report upload, rejected holders."""
    a, b, c, _ = _holders(db, make, chimie)
    old = decide(db, dossier(make, certification=chimie["rncp"]), "valide", dt.date(2020, 1, 6))
    sec = make.user("secretariat", dispositif=chimie["dispositif"])
    client = login_as(sec)
    html = client.get("/declarationscdc/list/").get_data(as_text=True)
    assert "non déclaré(s) plus de 3 mois" in html and old.numero in html
    assert 'id="a-declarer-CHIMIE">4<' in html
    r = client.post("/declarationscdc/generer", data={"dispositif_id": chimie["dispositif"].id})
    assert r.status_code == 302
    decl = db.session.query(DeclarationCDC).one()
    assert f"/declarationscdc/show/{decl.id}" in r.headers["Location"]
    page = client.get(f"/declarationscdc/show/{decl.id}").get_data(as_text=True)
    assert decl.id_flux in page and a.numero in page
    xml = client.get(f"/declarationscdc/xml/{decl.id}")
    assert xml.status_code == 200 and xml.data == decl.xml
    assert "attachment" in xml.headers["Content-Disposition"]
    report = f"{a.numero};OK\n{b.numero};KO;Date de naissance incohérente\n{c.numero};OK\n" \
             f"{old.numero};OK\n"
    r = client.post(f"/declarationscdc/compte-rendu/{decl.id}", data={
        "fichier": (io.BytesIO(report.encode()), "cr.csv")}, content_type="multipart/form-data")
    assert r.status_code == 302
    html = client.get("/declarationscdc/list/").get_data(as_text=True)
    # The rejected holder is listed with its error (and still warned about); the others are done.
    assert "rejeté : Date de naissance incohérente" in html and b.numero in html
    assert old.numero not in html and a.numero not in html
    # Another dispositif's secretariat and other roles see nothing of it.
    clea = login_as(make.user("secretariat", dispositif=make.ref["CLEA"]))
    assert clea.get(f"/declarationscdc/show/{decl.id}").status_code == 404
    assert clea.get(f"/declarationscdc/xml/{decl.id}").status_code == 404
    assert clea.post("/declarationscdc/generer", data={
        "dispositif_id": chimie["dispositif"].id}).status_code == 404
    other = login_as(make.user("admin_organisme", organisme=make.organisme()))
    assert other.get("/declarationscdc/list/").status_code == 403
