"""Issue 16 item 8, documents: certificates fill a framed A4 page with both signatures, wording
agreed with the person's civilité, one PV model per dispositif."""
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.test_documents import CQPM, JURY, candidat_pv, cert_data, flat, pdf_text, pv_data, titulaire

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "reports" / "templates"
HOMME = {"prenom": "Karim", "nom": "Benali", "civilite": "M", "civilite_label": "Monsieur"}
FEMME = {"prenom": "Jeanne", "nom": "Dupont", "civilite": "MME", "civilite_label": "Madame"}
SIGNATAIRE = "Mme Claire Morel"

# Every certificate kind, its extra data, and the two signature boxes (quality, name).
CERTIFICATS = {
    "certificat_cqpm": ({}, "Le Président de l'UIMM", SIGNATAIRE),
    "certificat_bloc": ({"bloc": {"code": "BDC0123", "intitule": "Régler la machine"}},
                        "Le Président de l'UIMM", SIGNATAIRE),
    "certificat_ccpm": ({}, "Le Président de l'UIMM", SIGNATAIRE),
    "certificat_cqpi": ({}, "Titulaire", "{nom}"),
    "certificat_ccpi": ({}, "Titulaire", "{nom}"),
    "parchemin_cqp": ({}, "Pour la CPNE des Industries Chimiques", SIGNATAIRE),
    "certificat_clea": ({"domaines": [{"code": "D1", "intitule": "Communiquer en français"}]},
                        "Pour le certificateur", SIGNATAIRE),
}


def lines_with_height(pdf: bytes, page: int = 0) -> list[tuple[float, str]]:
    """(height from the bottom of the page as a share of it, text) for every piece of text."""
    reader = PdfReader(io.BytesIO(pdf))
    p = reader.pages[page]
    height = float(p.mediabox.height)
    out = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            out.append(((tm[5] * cm[3] + cm[5]) / height, text.strip()))
    p.extract_text(visitor_text=visit)
    return out


def height_of(lines, needle: str) -> float:
    found = [y for y, t in lines if needle in t]
    assert found, (needle, [t for _, t in lines])
    return min(found)


@pytest.fixture
def metal(ref):
    disp = ref["METALLURGIE"]
    disp.signataire_certificats = SIGNATAIRE
    return disp


@pytest.fixture
def docs(db):
    from app.workflow.issued import documents
    return documents


# -- civilité --------------------------------------------------------------------------------------
def test_no_parenthesised_agreement_left_in_any_document_template():
    for path in sorted(TEMPLATES.glob("*.html")):
        assert "(e)" not in path.read_text(encoding="utf-8"), path.name
    from app.reports import pv_models
    for modele in pv_models.MODELES_PV.values():
        assert "(e)" not in " ".join([modele.titre, modele.president, modele.legende, *modele.notes,
                                      *(c.titre for c in modele.colonnes)])


@pytest.mark.parametrize("personne, attendu, absent", [
    (HOMME, ["Monsieur Karim BENALI", "Né le 1er mai 1990"], ["Née le", "Madame"]),
    (FEMME, ["Madame Jeanne DUPONT", "Née le 1er mai 1990"], ["Né le", "Monsieur"]),
])
def test_certificate_agrees_with_the_civilite(docs, metal, personne, attendu, absent):
    for modele in CERTIFICATS:
        extra = CERTIFICATS[modele][0]
        doc = docs.issue_document("certificat", metal,
                                  cert_data(titulaire=titulaire(**personne), **extra), modele)
        text = flat(pdf_text(doc.pdf))
        for phrase in attendu:
            assert phrase in text, (modele, phrase)
        for phrase in absent:
            assert phrase not in text, (modele, phrase)
        assert "(e)" not in text, modele


def test_interbranch_certificates_name_the_holder_le_or_la_titulaire(docs, metal):
    for modele in ("certificat_cqpi", "certificat_ccpi"):
        for personne, qualite in ((HOMME, "Le Titulaire"), (FEMME, "La Titulaire")):
            doc = docs.issue_document("certificat", metal, cert_data(
                titulaire=titulaire(**personne)), modele)
            assert qualite in flat(pdf_text(doc.pdf)), (modele, qualite)


@pytest.mark.parametrize("personne, attendu", [
    (HOMME, ["Monsieur Karim BENALI", "Monsieur,", "ne vous a pas déclaré admis à la certification",
             "Nous vous prions d'agréer, Monsieur,"]),
    (FEMME, ["Madame Jeanne DUPONT", "Madame,", "ne vous a pas déclarée admise à la certification",
             "Nous vous prions d'agréer, Madame,"]),
])
def test_decision_letter_agrees_with_the_civilite(docs, metal, personne, attendu):
    for acquis in ([], [{"code": "BDC0123", "intitule": "Préparer la machine"}]):
        doc = docs.issue_document("lettre_decision", metal, {
            "titulaire": titulaire(**personne), "certification": dict(CQPM), "jury": dict(JURY),
            "acquis": acquis})
        text = flat(pdf_text(doc.pdf))
        for phrase in attendu:
            assert phrase in text, (doc.modele, phrase)
        assert "(e)" not in text


def test_decision_letter_names_the_dispositifs_own_jury(docs, metal):  # R-DEC-4
    chemical = {**JURY, "nom": "jury paritaire national"}
    doc = docs.issue_document("lettre_decision", metal, {
        "titulaire": titulaire(**FEMME), "certification": dict(CQPM), "jury": chemical,
        "acquis": []})
    text = flat(pdf_text(doc.pdf))
    assert "décision du jury paritaire national du" in text
    assert "Le Président du jury paritaire national" in text
    assert "paritaire de délibération" not in text


def test_without_a_civilite_the_wording_needs_no_agreement():
    """Data frozen before the civilité was kept: neither gender is guessed."""
    from app.reports.pdf import accord, civilite
    assert accord({}, "Né le", "Née le", "Date de naissance :") == "Date de naissance :"
    assert civilite({}) == ""
    assert accord({"civilite_label": "Madame"}, "Né", "Née") == "Née"
    assert accord({"civilite": "M"}, "Né", "Née") == "Né"


def test_the_holder_printed_by_a_jury_carries_the_civilite(make, db):
    from app.workflow.jury.documents import titulaire_data
    c = make.candidature("METALLURGIE")
    data = titulaire_data(c.candidat)
    assert data["civilite"] == c.candidat.civilite and data["civilite_label"] in ("Monsieur", "Madame")


# -- layout: a filled page, two signatures ---------------------------------------------------------
@pytest.mark.parametrize("modele", list(CERTIFICATS))
def test_every_certificate_is_one_filled_page_with_two_named_signatures(docs, metal, modele):
    extra, qualite_droite, nom_droite = CERTIFICATS[modele]
    doc = docs.issue_document("certificat", metal, cert_data(titulaire=titulaire(**FEMME), **extra),
                              modele)
    pages = PdfReader(io.BytesIO(doc.pdf)).pages
    assert len(pages) == (2 if modele in ("certificat_cqpi", "certificat_ccpi") else 1)
    lines = lines_with_height(doc.pdf)
    nom_droite = nom_droite.format(nom="Jeanne DUPONT")
    # Both boxes: left the president of the jury, named; right the certifier's signatory (or the
    # holder on the interbranch models), named; side by side in the lower third of the page.
    gauche = height_of(lines, "M. Paul Martin")
    assert any("Le Président du jury" in t for _, t in lines)
    assert any(qualite_droite in t for _, t in lines), qualite_droite
    droite = min(y for y, t in lines if t == nom_droite)
    assert abs(gauche - droite) < 0.01 and gauche < 0.33
    # The holder's name, large, in the upper half; the body reaches down the page; the
    # verification code at the foot.
    assert height_of(lines, "Madame Jeanne DUPONT") > 0.5
    body = min(y for y, t in lines if y > gauche + 0.03)
    assert body < 0.5, modele
    assert height_of(lines, "Code de vérification") < 0.12
    if len(pages) == 2:   # the verso fills its page too
        assert min(y for y, _ in lines_with_height(doc.pdf, 1)) < 0.5


def test_certificates_stay_pdfa_with_the_new_layout(docs, metal):
    import pikepdf
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpi")
    with pikepdf.open(io.BytesIO(doc.pdf)) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "2" and meta.get("pdfaid:conformance") == "B"


# -- one PV model per dispositif --------------------------------------------------------------------
METAL_ONLY = ("Code NACE", "Secteur", "Origine du Candidat", "Dispositif de financement",
              "HM (Hors métaux")


def test_pv_models_are_the_settings_choices():
    from app.models.referentiel import MODELES_PV
    from app.reports.pv_models import MODELES_PV as MODELS
    assert set(MODELES_PV.codes) == set(MODELS)


def test_chemical_pv_has_its_own_columns_and_no_metallurgy_ones(docs, ref):
    rows = [candidat_pv(1, decision="Validé", parcours="1", evaluateur="Valérie Martin",
                        competences="5 / 5"),
            candidat_pv(2, decision="Partiel", parcours="2", competences="3 / 5")]
    doc = docs.issue_document("pv", ref["CHIMIE"], pv_data(rows))
    assert doc.donnees["modele_pv"] == "chimie"
    text = flat(pdf_text(doc.pdf))
    for absent in METAL_ONLY + ("25.62B", "NA :"):
        assert absent not in text, absent
    for present in ("Procès-verbal du jury paritaire national", "Parcours",
                    "Évaluateur habilité par la CPNE", "Compétences validées", "Valérie Martin",
                    "Validé", "Partiel", "3 / 5", "ACME FORGE 1",
                    "Le Président du jury paritaire national"):
        assert present in text, present


def test_clea_pv_has_its_own_columns(docs, ref):
    rows = [candidat_pv(1, decision="Certifiée", numero="CLEA-0001", etablissement="GRETA Loire",
                        socle="Standard")]
    doc = docs.issue_document("pv", ref["CLEA"], pv_data(rows))
    text = flat(pdf_text(doc.pdf))
    for absent in METAL_ONLY + ("Parcours",):
        assert absent not in text, absent
    for present in ("Numéro de dossier", "Établissement d'évaluation", "Socle", "CLEA-0001",
                    "GRETA Loire", "Certifiée"):
        assert present in text, present


def test_metallurgy_pv_keeps_annexe_14_and_the_model_follows_the_setting(docs, ref, db):
    metal = ref["METALLURGIE"]
    rows = [candidat_pv(1), candidat_pv(2, secteur="HM", branche="Plasturgie", decision="NA")]
    text = flat(pdf_text(docs.issue_document("pv", metal, pv_data(rows)).pdf))
    for present in METAL_ONLY[:4] + ("25.62B", "HM (Plasturgie)"):
        assert present in text, present
    # The model is the dispositif's setting, nothing else: switched, the same data prints the
    # chemical columns.
    metal.modele_pv = "chimie"
    db.session.flush()
    rows = [candidat_pv(3, decision="Validé", parcours="3")]
    text = flat(pdf_text(docs.issue_document("pv", metal, pv_data(rows)).pdf))
    assert "Code NACE" not in text and "Parcours" in text


def test_chemical_pv_issued_from_a_closed_jury(make, db):
    """The jury hands the chemical model its rows: the dispositif's decision words, the parcours,
    the competences validated."""
    from app.security.perimeter import perimetre_of as P
    from app.workflow.jury import deliberation, registration
    from app.workflow.jury import documents as jury_documents
    from tests.test_documents_issue13 import ADMIN, TODAY
    j = make.jury("CHIMIE", lieu="Lyon")
    make.jury_compose(j, unions=("CFDT",))
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    c = make.dossier_pret_jury("CHIMIE")
    ins = registration.register_to_jury(P(c.createur), c, j).inscription
    db.session.commit()
    j.date, j.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    j.etat, j.convoque_le = "convoque", dt.datetime.combine(TODAY - dt.timedelta(days=15),
                                                            dt.time(9))
    db.session.commit()
    deliberation.record_decision(ADMIN, ins, "valide", commentaire="Très bon dossier")
    deliberation.close_jury(P(sec), j)
    db.session.commit()
    data = jury_documents.pv_data(j)
    assert data["modele_pv"] == "chimie"
    row = data["sections"][0]["candidats"][0]
    assert row["decision"] == "Validé" and re.fullmatch(r"\d+ / \d+", row["competences"])
    doc = jury_documents.issue_jury_documents(P(sec), j, "pv").emis[0]
    text = flat(pdf_text(doc.pdf))
    assert "Code NACE" not in text and "Validé" in text
    assert "Très bon dossier" in text  # the jury's comment, not the metallurgy's « CPF »
