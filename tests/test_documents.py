"""Issued documents: PV, attendance sheet, letters, certificates, verification, mailing, batches.

The jury feature does not exist yet: each test builds the frozen data dict a jury would produce.
"""
import hashlib
import html
import io
import os
import re
import threading
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from app.errors import RuleViolation

YEAR = date.today().year
JURY_DAY = date(2026, 3, 12)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    """Text with line breaks and repeated spaces folded (table cells wrap)."""
    return re.sub(r"\s+", " ", text)


def titulaire(prenom="Jeanne", nom="Dupont", **kw):
    return {"prenom": prenom, "nom": nom, "date_naissance": date(1990, 5, 1),
            "ville_naissance": "Saint-Étienne", "departement_naissance": "42",
            "pays_naissance": "France", "civilite_label": "Madame",
            "adresse_lignes": ["12 rue de la Paix", "42000 Saint-Étienne"], **kw}


JURY = {"date": JURY_DAY, "lieu": "Lyon", "president": "M. Paul Martin",
        "qualite_president": "Représentant des employeurs"}
CQPM = {"type": "CQPM", "code": "MQ 2019 07 69 0322", "intitule": "Opérateur régleur",
        "niveau": 4, "rncp_code": "RNCP35123", "date_enregistrement_rncp": date(2021, 2, 1)}


def cert_data(**kw):
    return {"titulaire": titulaire(), "certification": dict(CQPM), "jury": dict(JURY), **kw}


def candidat_pv(i, origine="SL", decision="A", **kw):
    return {"nom": f"Nom{i}", "prenom": f"Prénom{i}", "date_naissance": date(1991, 1, 1 + i % 28),
            "ville_naissance": "Roanne", "departement_naissance": "42", "pays_naissance": "France",
            "origine": origine, "financement": "CPF", "raison_sociale": f"ACME FORGE {i}",
            "adresse_entreprise": "3 rue de l'Usine, 42300 Roanne", "code_nace": "25.62B",
            "secteur": "M", "branche": "", "decision": decision, "commentaire": "", **kw}


def pv_data(candidats):
    return {"jury": dict(JURY), "sections": [{"certification": dict(CQPM), "candidats": candidats}]}


@pytest.fixture
def metal(ref):
    return ref["METALLURGIE"]


@pytest.fixture
def docs(db):
    from app.workflow.issued import documents as documents_emis
    return documents_emis


@pytest.fixture
def secretariat(make, metal):
    return make.user("secretariat", dispositif=metal)


# -- the renderer --------------------------------------------------------------------------------
def test_link_callback_loads_only_our_static_files(monkeypatch):
    from app.reports import pdf
    assert pdf.link_callback("logo.png") == str(pdf.STATIC_DIR / "logo.png")
    assert pdf.link_callback("/static/logo.png") == str(pdf.STATIC_DIR / "logo.png")
    for uri in ("http://example.org/x.png", "https://127.0.0.1/x.png", "//evil.example/x.png",
                "file:///etc/passwd", "../../config.py", "/etc/passwd", "static/../../config.py",
                "data:text/html;base64,PGI+", "missing.png"):
        assert pdf.link_callback(uri) == pdf.REFUSED, uri
    png = "data:image/png;base64,iVBORw0KGgo="
    assert pdf.link_callback(png) == png

    # A document naming a remote image renders without touching the network.
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("network access during rendering")
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    out = pdf.html_to_pdf('<html><body><p>Bonjour</p><img src="http://example.org/x.png">'
                          '<img src="file:///etc/passwd"><img src="logo.png"></body></html>')
    assert "Bonjour" in pdf_text(out)


# -- R-DOC-1: procès-verbal ------------------------------------------------------------------------
PV_HEADERS = ["Nom et Prénom du (ou des) candidat(s)", "Date et lieu de naissance du (ou des) candidat(s)",
              "Origine du Candidat", "Dispositif de financement", "Raison sociale", "Code NACE",
              "Secteur", "Décision du Jury Paritaire de Délibération", "Commentaire"]


def test_pv_has_exactly_the_columns_of_annexe_14(docs, metal, db):  # R-DOC-1
    rows = [candidat_pv(1),
            candidat_pv(2, origine="DE", decision="NA", raison_sociale="SECRET SARL",
                        code_nace="99.99Z"),
            candidat_pv(3, secteur="HM", branche="Plasturgie", commentaire="CPF")]
    doc = docs.issue_document("pv", metal, pv_data(rows), jury_id=7)
    db.session.commit()
    text = flat(pdf_text(doc.pdf))
    positions = [text.find(h) for h in PV_HEADERS]
    assert all(p >= 0 for p in positions), list(zip(PV_HEADERS, positions))
    assert positions == sorted(positions)          # in the order of the annex
    assert "Procès-Verbal du jury paritaire de délibération" in text
    assert "Certification professionnelle : MQ 2019 07 69 0322" in text
    assert "« OPÉRATEUR RÉGLEUR »" in text
    assert "NOM1 Prénom1" in text and "02/01/1991 à Roanne (42), France" in text
    assert "ACME FORGE 1" in text and "25.62B" in text and "HM (Plasturgie)" in text
    # A job seeker: the company columns stay empty, even if the dossier named one.
    assert "SECRET SARL" not in text and "99.99Z" not in text
    assert doc.donnees["sections"][0]["candidats"][1]["raison_sociale"] == ""
    decisions = [c["decision"] for c in doc.donnees["sections"][0]["candidats"]]
    assert decisions == ["A", "NA", "A"]
    assert "Le Président du Jury Paritaire de Délibération" in text and "M. Paul Martin" in text
    assert re.fullmatch(rf"PV-MC{YEAR}\d{{6}}", doc.numero)
    assert "page 1 / 1" in text


@pytest.mark.parametrize("change, message", [
    ({"decision": "Admis"}, "n'admet que A"), ({"decision": "Partiel"}, "n'admet que A"),
    ({"origine": "XX"}, "SL ou DE"), ({"financement": "ZZZ"}, "financement"),
])
def test_pv_refuses_values_outside_the_annex(docs, metal, change, message):  # R-DOC-1
    with pytest.raises(RuleViolation) as exc:
        docs.issue_document("pv", metal, pv_data([candidat_pv(1, **change)]))
    assert message in str(exc.value) and exc.value.rule == "R-DOC-1"


def test_long_pv_keeps_every_row_and_numbers_pages(docs, metal, db):  # R-DOC-1
    second = {"certification": {"code": "MQ 2000 01 01 0001", "intitule": "Soudeur"},
              "candidats": [candidat_pv(100 + i) for i in range(3)]}
    data = pv_data([candidat_pv(i) for i in range(30)])
    data["sections"].append(second)
    doc = docs.issue_document("pv", metal, data)
    text = flat(pdf_text(doc.pdf))
    for i in list(range(30)) + [100, 102]:
        assert f"NOM{i} Prénom{i}" in text, i
    pages = len(PdfReader(io.BytesIO(doc.pdf)).pages)
    assert f"page {pages} / {pages}" in text and pages >= 3
    assert "(suite)" in text
    assert text.count("Le Président du Jury Paritaire de Délibération") == 2  # once per section


# -- R-DOC-2, R-DOC-3 --------------------------------------------------------------------------------
def test_attendance_sheet_lists_every_designated_member(docs, metal):  # R-DOC-2
    data = {"jury": dict(JURY), "certifications": [
        {"code": "MQ 2019 07 69 0322", "intitule": "Opérateur régleur", "nombre_candidats": 12},
        {"code": "CCPM 0042", "intitule": "Maintenance de premier niveau", "nombre_candidats": 3}],
        "membres": [{"nom": "Durand", "prenom": "Luc", "organisation": "ACME FORGE"},
                    {"nom": "Petit", "prenom": "Anne", "organisation": "CFDT Métallurgie"},
                    {"organisation": "CGT Métallurgie"}]}
    doc = docs.issue_document("emargement", metal, data)
    text = flat(pdf_text(doc.pdf))
    assert f"JURY PARITAIRE DE DÉLIBÉRATION du {JURY_DAY:%d/%m/%Y}" in text
    assert "Président : M. Paul Martin" in text and "Qualité : Représentant des employeurs" in text
    assert "MQ 2019 07 69 0322 — Opérateur régleur 12" in text and "Maintenance de premier niveau 3" in text
    assert "Nom et prénom des membres du jury paritaire de délibération" in text
    assert "DURAND Luc ACME FORGE" in text and "PETIT Anne CFDT Métallurgie" in text
    assert "Organisation invitée (pas de désignation) CGT Métallurgie" in text
    assert "Signature du Président" in text
    with pytest.raises(RuleViolation) as exc:
        docs.issue_document("emargement", metal, {**data, "membres": []})
    assert exc.value.rule == "R-DOC-2"


def test_letter_to_the_gtp_and_its_reminder(app, docs, metal, db, make):  # R-DOC-3
    from app.models.notification import Notification
    from app.workflow.issued.batches import gtp_reminders
    secretary = make.user("secretariat", dispositif=metal)
    pv = docs.issue_document("pv", metal, pv_data([candidat_pv(1)]), jury_id=5)
    em = docs.issue_document("emargement", metal, {"jury": dict(JURY), "certifications": [
        {"code": "X", "intitule": "Y", "nombre_candidats": 1}], "membres": [{"organisation": "UIMM"}]},
        jury_id=5)
    db.session.commit()
    # Six weeks after the jury nothing is due yet; 15 days before the deadline, a reminder.
    assert gtp_reminders(today=JURY_DAY + timedelta(days=40)) == 0
    assert gtp_reminders(today=date(2026, 5, 1)) == 1
    assert gtp_reminders(today=date(2026, 5, 2)) == 0            # once per stage
    assert gtp_reminders(today=date(2026, 5, 13)) == 1           # overdue: once more
    notes = db.session.query(Notification).filter_by(user_id=secretary.id).all()
    assert [n.titre.split(" —")[0] for n in notes] == [
        "Lettre au GTP Certifications à envoyer", "Lettre au GTP Certifications en retard"]
    assert "12/05/2026" in notes[0].contenu

    letter = docs.issue_document("lettre_gtp", metal, {
        "jury": dict(JURY), "certifications": [{"code": CQPM["code"], "intitule": CQPM["intitule"]}],
        "date": date(2026, 3, 20)}, jury_id=5)
    db.session.commit()
    text = flat(pdf_text(letter.pdf))
    assert "Secrétariat du GTP « Certifications »" in text and "75854 Paris Cedex 17" in text
    assert "À Lyon, le 20 mars 2026" in text
    assert f"(n° {em.numero})" in text and f"(n° {pv.numero})" in text
    assert "Extrait du procès-verbal de la réunion de la CPREFP" in text
    assert "Nous attestons que l'organisation et le déroulement des actions de validation ont été " \
           "conformes" in text
    assert "au plus tard le 12/05/2026" in text
    assert gtp_reminders(today=date(2026, 6, 1)) == 0           # the letter is issued: no reminder
    result = app.test_cli_runner().invoke(args=["documents", "rappels-gtp", "--date", "2026-06-01"])
    assert "0 rappel(s) envoyé(s)." in result.output


# -- R-DOC-4: certificates -------------------------------------------------------------------------
CERTIFICATES = [
    ("certificat_cqpm", {}, ["CERTIFICAT DE QUALIFICATION PARITAIRE DE LA MÉTALLURGIE",
                             "CQPM Opérateur régleur", "(Niveau 4 selon le Cadre National",
                             "Le Président de l'UIMM", "en date du 01/02/2021"]),
    ("certificat_bloc", {"bloc": {"code": "BDC0123", "intitule": "Régler la machine"}},
     ["CERTIFICAT DE BLOC DE COMPÉTENCES", "BDC0123 Régler la machine",
      "Le bloc de compétences correspondant est inscrit au Répertoire National"]),
    ("certificat_cqpi", {}, ["CERTIFICAT DE QUALIFICATION PROFESSIONNELLE INTER-BRANCHES",
                             "CQPI Opérateur régleur", "La Titulaire",
                             "Les fédérations signataires de la présente charte"]),
    ("certificat_ccpm", {}, ["CERTIFICAT DE COMPÉTENCES PROFESSIONNELLES DE LA MÉTALLURGIE",
                             "CCPM Opérateur régleur"]),
    ("certificat_ccpi", {}, ["CERTIFICAT DE COMPÉTENCES PROFESSIONNELLES INTERBRANCHES",
                             "CCPI Opérateur régleur", "La Charte paritaire CCPI"]),
    ("parchemin_cqp", {"passerelles": [{"certification_autre": "CQPM Conducteur", "autre_branche":
                                        "Métallurgie", "nature": "totale"}]},
     ["CERTIFICAT DE QUALIFICATION PROFESSIONNELLE", "Industries Chimiques",
      "est décerné à", "Passerelles", "CQPM Conducteur (Métallurgie, équivalence totale)"]),
    ("certificat_clea", {"domaines": [{"code": "D1", "intitule": "Communiquer en français"}]},
     ["CERTIFICAT CléA", "D1 — Communiquer en français", "Certifié par décision du jury"]),
]


@pytest.mark.parametrize("template, extra, expected", CERTIFICATES, ids=[c[0] for c in CERTIFICATES])
def test_certificate_models(docs, metal, db, template, extra, expected):  # R-DOC-4
    doc = docs.issue_document("certificat", metal, cert_data(**extra), template, envoi_papier=True)
    db.session.commit()
    text = flat(pdf_text(doc.pdf))
    assert re.fullmatch(rf"MC{YEAR}\d{{6}}", doc.numero)
    assert doc.numero in text
    assert "Jeanne DUPONT" in text
    assert "Née le 1er mai 1990 à Saint-Étienne (42)" in text  # issue 16: civilité MME
    assert "12 mars 2026" in text and "Lyon" in text and "M. Paul Martin" in text
    for phrase in expected:
        assert phrase in text, phrase
    assert doc.sha256 == hashlib.sha256(doc.pdf).hexdigest() and doc.taille == len(doc.pdf)
    assert doc.titulaire == "Jeanne DUPONT" and doc.date_reference == JURY_DAY


def test_names_outside_windows_1252_are_drawn(docs, metal):  # R-DOC-4
    """Documents draw with the embedded DejaVu Sans (PDF/A, issue 19): any name is drawn."""
    doc = docs.issue_document("certificat", metal, cert_data(
        titulaire=titulaire(prenom="Łukasz", nom="Wiśniewski-Şahin")), "certificat_cqpm")
    text = flat(pdf_text(doc.pdf))
    assert "Łukasz WIŚNIEWSKI-ŞAHIN" in text and "■" not in text


def test_certificate_numbers_follow_each_dispositif_scheme(docs, ref, db):  # R-DOC-4
    a = docs.issue_document("certificat", ref["METALLURGIE"], cert_data(), "certificat_cqpm")
    b = docs.issue_document("certificat", ref["CHIMIE"], cert_data(), "parchemin_cqp")
    many = docs.issue_many("certificat", ref["METALLURGIE"], [
        {"data": cert_data(titulaire=titulaire(nom=f"Nom{i}")), "template": "certificat_cqpm"}
        for i in range(3)])
    pv = docs.issue_document("pv", ref["METALLURGIE"], pv_data([candidat_pv(1)]))
    db.session.commit()
    assert (a.numero, b.numero) == (f"MC{YEAR}000001", f"CQP{YEAR}000001")  # each its prefix
    assert [d.numero for d in many] == [f"MC{YEAR}00000{i}" for i in (2, 3, 4)]
    assert pv.numero == f"PV-MC{YEAR}000001"                    # and each type
    assert len({d.code_verification for d in [a, b, pv, *many]}) == 6
    assert "Jeanne NOM2" in pdf_text(many[2].pdf)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL_TEST", "").startswith("postgresql"),
                    reason="concurrency is proven on PostgreSQL (SQLite serialises writers)")
def test_certificate_numbers_under_concurrency_on_postgresql(app, docs, metal, db):  # R-DOC-4
    """Threads with their own connections issue certificates at once: no number twice, no gap."""
    dispositif_id = metal.id
    db.session.commit()
    numbers, errors, barrier = [], [], threading.Barrier(8)

    def worker():
        from app.extensions import db as _db
        from app.models import Dispositif
        from app.workflow.issued.documents import issue_document
        with app.app_context():
            try:
                disp = _db.session.get(Dispositif, dispositif_id)
                barrier.wait()
                for _ in range(3):
                    doc = issue_document("certificat", disp, cert_data(), "certificat_cqpm")
                    _db.session.commit()
                    numbers.append(doc.numero)
            except Exception as exc:  # noqa: BLE001 - any failure in a thread is reported below
                errors.append(repr(exc))
            finally:
                _db.session.remove()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == [f"MC{YEAR}{n:06d}" for n in range(1, 25)]


def test_qr_code_encodes_the_public_verification_url(docs, metal, db, app):  # R-DOC-4
    from app.reports.qr import decode_matrix_from_png, qr_matrix
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    url = f"{app.config['PUBLIC_BASE_URL']}/verifier/{doc.code_verification}"
    assert doc.donnees["verification_url"] == url
    assert url in flat(pdf_text(doc.pdf))
    images = PdfReader(io.BytesIO(doc.pdf)).pages[0].images
    qr_images = [img.image for img in images if img.image.width == img.image.height
                 and img.image.width != 120]  # the logo is 120 px
    assert qr_images, [img.name for img in images]
    buf = io.BytesIO()
    qr_images[0].save(buf, format="PNG")
    assert decode_matrix_from_png(buf.getvalue()) == qr_matrix(url)
    try:  # a real reader, when installed
        import zxingcpp
    except ImportError:
        return
    decoded = [r.text for r in zxingcpp.read_barcodes(qr_images[0].convert("L").resize(
        (qr_images[0].width * 3, qr_images[0].height * 3)))]
    assert decoded == [url]


# -- verification ----------------------------------------------------------------------------------
def test_public_verification_page(docs, metal, db, client, make):  # R-DOC-4
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    assert re.fullmatch(r"[A-HJ-KM-NP-Z2-9]{12}", doc.code_verification)
    r = client.get(f"/verifier/{doc.code_verification}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Document authentique et valide" in page
    assert "J*** D***" in page and "Dupont" not in page and "DUPONT" not in page
    assert "MQ 2019 07 69 0322 — Opérateur régleur" in page and "12/03/2026" in page
    assert client.get(f"/verifier/{doc.code_verification.lower()}").status_code == 200
    # Typed by hand with separators: the form normalises it.
    r = client.post("/verifier/", data={"code": "-".join([doc.code_verification[:6],
                                                           doc.code_verification[6:]])})
    assert r.status_code == 302 and r.headers["Location"].endswith(doc.code_verification)

    docs.revoke(doc, "Décision du jury annulée")
    db.session.commit()
    page = client.get(f"/verifier/{doc.code_verification}").get_data(as_text=True)
    assert "Document révoqué" in page and "authentique et valide" not in page
    r = client.get("/verifier/ABCDEFGHJKMN")
    assert r.status_code == 404 and "Aucun document ne correspond" in r.get_data(as_text=True)


def test_verification_page_is_rate_limited(app, docs, metal, db):  # R-DOC-4
    """A separate app with rate limiting on (the test configuration turns it off)."""
    from app import create_app
    from config import TestConfig

    class Limited(TestConfig):
        RATELIMIT_ENABLED = True
        VERIFICATION_RATE_LIMIT = "5 per minute"
    TestConfig_uri = app.config["SQLALCHEMY_DATABASE_URI"]
    Limited.SQLALCHEMY_DATABASE_URI = TestConfig_uri
    limited = create_app(Limited)
    client = limited.test_client()
    codes = [client.get("/verifier/ABCDEFGHJKMN").status_code for _ in range(6)]
    assert codes == [404] * 5 + [429]
    r = client.post("/verifier/", data={"code": "ABCDEFGHJKMN"})
    assert r.status_code == 429 and "Trop de vérifications" in r.get_data(as_text=True)
    with limited.app_context():
        from app.extensions import db as _db
        _db.session.remove()
        _db.engine.dispose()


def test_uploaded_copy_is_checked_by_sha256(docs, metal, db, client):  # R-DOC-4
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    original = doc.pdf
    assert docs.verify_upload(original).id == doc.id
    r = client.post("/verifier/", data={"fichier": (io.BytesIO(original), "copie.pdf")},
                    content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert "Document authentique et valide" in page and "la copie déposée est identique" in page
    tampered = original.replace(b"DUPONT", b"DUPOND") if b"DUPONT" in original else \
        original[:-20] + b"%% altered\n" + original[-9:]
    assert docs.verify_upload(tampered) is None
    r = client.post("/verifier/", data={"fichier": (io.BytesIO(tampered), "copie.pdf")},
                    content_type="multipart/form-data")
    assert "Aucun document émis ne correspond à ce fichier" in r.get_data(as_text=True)
    r = client.post("/verifier/", data={"fichier": (io.BytesIO(b"MZ\x90\x00"), "copie.pdf")},
                    content_type="multipart/form-data")
    assert "Ce fichier n'est pas un PDF." in html.unescape(r.get_data(as_text=True))


# -- snapshots: immutable, corrections and duplicates (R-DOC-4, R-DOC-5) -----------------------------
def test_issued_document_cannot_be_changed(docs, metal, db):  # R-DOC-4
    from app.models.document import DocumentEmis, DocumentFigeError
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    for attr, value in [("numero", "MC0"), ("pdf", b"%PDF-1.4 forged"), ("sha256", "0" * 64),
                        ("donnees", {**doc.donnees, "titulaire": titulaire(nom="Autre")})]:
        setattr(doc, attr, value)
        with pytest.raises(DocumentFigeError):
            db.session.flush()
        db.session.rollback()
    db.session.delete(db.session.get(DocumentEmis, doc.id))
    with pytest.raises(DocumentFigeError):
        db.session.flush()
    db.session.rollback()
    doc = db.session.get(DocumentEmis, doc.id)
    docs.revoke(doc, "Erreur de saisie")     # the status may change, once
    db.session.commit()
    doc.statut = "valide"
    with pytest.raises(DocumentFigeError):
        db.session.flush()
    db.session.rollback()


def test_correction_is_a_new_document_pointing_to_the_old(docs, metal, db):  # R-DOC-4
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    old_pdf = doc.pdf
    new = docs.correct(doc, {"titulaire": titulaire(nom="Dupont-Moreau")}, motif="Nom d'usage")
    db.session.commit()
    assert new.numero == f"{doc.numero}-C1" and new.remplace_id == doc.id
    assert doc.statut == "revoque" and new.numero in doc.motif_revocation
    assert doc.pdf == old_pdf and doc.donnees["titulaire"]["nom"] == "Dupont"
    text = flat(pdf_text(new.pdf))
    assert "Jeanne DUPONT-MOREAU" in text and f"annule et remplace le document n° {doc.numero}" in text
    again = docs.correct(new, {"jury": {**JURY, "lieu": "Villeurbanne"}})
    assert again.numero == f"{doc.numero}-C2"
    with pytest.raises(RuleViolation):
        docs.correct(doc, {})


def test_duplicate_is_marked_and_points_to_the_original(docs, metal, db):  # R-DOC-5
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    dup = docs.issue_duplicate(doc)
    db.session.commit()
    assert dup.duplicata and dup.remplace_id == doc.id and dup.numero == f"{doc.numero}-D1"
    assert dup.code_verification != doc.code_verification and dup.sha256 != doc.sha256
    text = flat(pdf_text(dup.pdf))
    assert "DUPLICATA" in text
    assert f"N° Certificat {doc.numero}" in text            # the original's number
    assert f"Duplicata certifié conforme à l'original n° {doc.numero}" in text
    assert "DUPLICATA" not in pdf_text(doc.pdf)
    assert doc.statut == "valide"                           # the original stays valid
    assert docs.issue_duplicate(dup).numero == f"{doc.numero}-D2"  # always of the original
    docs.revoke(doc, "Jury annulé")
    db.session.commit()
    assert dup.statut == "revoque"                          # duplicates follow their original
    with pytest.raises(RuleViolation) as exc:
        docs.issue_duplicate(doc)
    assert exc.value.rule == "R-DOC-5"
    pv = docs.issue_document("pv", metal, pv_data([candidat_pv(1)]))
    with pytest.raises(RuleViolation):
        docs.issue_duplicate(pv)


# -- R-DEC-4: letters --------------------------------------------------------------------------------
def test_partial_validation_letter_has_the_four_items(docs, metal, db):  # R-DEC-4
    acquis = [{"code": "BDC0123", "intitule": "Préparer la machine"},
              {"code": "BDC0124", "intitule": "Contrôler la production"}]
    doc = docs.issue_document("lettre_decision", metal, {
        "titulaire": titulaire(), "certification": dict(CQPM), "jury": dict(JURY), "acquis": acquis})
    db.session.commit()
    assert doc.modele == "lettre_validation_partielle"
    text = flat(pdf_text(doc.pdf))
    assert "À Lyon, le 12 mars 2026" in text                    # dated the day of the jury
    assert f"{date.today():%d/%m/%Y}" not in text.split("Code de vérification")[0]
    assert "Le Président du jury paritaire de délibération M. Paul Martin" in text
    # (1) non-admission to the certification, title and code
    assert "ne vous a pas déclarée admise à la certification professionnelle CQPM " \
           "« Opérateur régleur », codification MQ 2019 07 69 0322" in text
    # (2) blocs, because the CQPM is registered in the RNCP
    assert "Blocs de compétences acquis et validés" in text
    assert "BDC0123 — Préparer la machine" in text and "BDC0124 — Contrôler la production" in text
    # (3) training or VAE, and 5 years of benefit (RNCP)
    assert "parcours de formation ou par la validation des acquis de l'expérience (VAE)" in text
    assert "pendant 5 ans à compter de la date de la décision" in text and "12/03/2031" in text
    # (4) passeport orientation et formation
    assert "passeport orientation et formation" in text
    assert "Madame Jeanne DUPONT" in text and "42000 Saint-Étienne" in text


def test_non_admission_letter_without_rncp_speaks_of_competences_and_24_months(docs, metal, db):  # R-DEC-4
    cert = {**CQPM, "rncp_code": None}
    doc = docs.issue_document("lettre_decision", metal, {
        "titulaire": titulaire(), "certification": cert, "jury": dict(JURY), "acquis": []})
    assert doc.modele == "lettre_non_admission"
    text = flat(pdf_text(doc.pdf))
    assert "Compétences professionnelles acquises et validées" in text
    assert "Aucune compétence professionnelle n'a été acquise et validée" in text
    assert "À Lyon, le 12 mars 2026" in text and "M. Paul Martin" in text
    assert "passeport orientation et formation" in text
    partial = docs.issue_document("lettre_decision", metal, {
        "titulaire": titulaire(), "certification": cert, "jury": dict(JURY),
        "acquis": [{"code": "C3", "intitule": "Régler"}]})
    text = flat(pdf_text(partial.pdf))
    assert "pendant 24 mois" in text and "12/03/2028" in text and "C3 — Régler" in text
    dup = docs.issue_duplicate(partial)
    assert "DUPLICATA" in pdf_text(dup.pdf)                      # R-DOC-5 for letters too


# -- R-ENV-1, R-ENV-2: mailing -----------------------------------------------------------------------
def test_certificates_to_post_go_to_the_dossier_address(docs, metal, db):  # R-ENV-1
    paper = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm", envoi_papier=True)
    docs.issue_document("certificat", metal, cert_data(titulaire=titulaire(nom="Numerique")),
                        "certificat_cqpm", envoi_papier=False)
    db.session.commit()
    todo = docs.certificates_to_post(metal.id).all()
    assert [d.id for d in todo] == [paper.id]
    assert todo[0].date_reference == JURY_DAY                     # the status shows the jury date
    envoi = docs.record_envoi(paper, "envoye", "courrier", date_traitement=date(2026, 3, 20))
    db.session.commit()
    assert envoi.adresse == "12 rue de la Paix\n42000 Saint-Étienne"
    assert docs.certificates_to_post(metal.id).all() == []


def test_mailing_history_and_undelivered_letter(docs, make, db, login_as, ref):  # R-ENV-2
    from app.models.notification import Notification
    c = make.candidature("METALLURGIE")
    etab_user = c.createur
    secretary = make.user("secretariat", dispositif=ref["METALLURGIE"])
    doc = docs.issue_document("certificat", ref["METALLURGIE"], cert_data(), "certificat_cqpm",
                              candidature_id=c.id, envoi_papier=True)
    db.session.commit()
    docs.record_envoi(doc, "envoye", "lettre_suivie", suivi="1A23456789012",
                      date_traitement=date(2026, 3, 20))
    db.session.commit()
    client = login_as(secretary)
    page = client.get("/documents/list/").get_data(as_text=True)
    assert "Courrier envoyé" in page and doc.numero in page
    page = client.get(f"/documents/show/{doc.id}").get_data(as_text=True)
    assert "Déposé à La Poste le 20/03/2026 — N° suivi 1A23456789012" in page
    assert "Lettre suivie" in page

    r = client.post(f"/documents/envoi/{doc.id}", data={
        "statut": "pli_non_distribue", "date_traitement": "2026-04-02", "canal": "lettre_suivie",
        "numero_suivi": "1A23456789012", "commentaire": "NPAI"})
    assert r.status_code == 302
    statuses = [e.statut for e in doc.envois]
    assert statuses == ["envoye", "pli_non_distribue"]
    notes = db.session.query(Notification).filter_by(rubrique="pli_non_distribue").all()
    assert [n.user_id for n in notes] == [etab_user.id]          # who can fix the address
    assert doc.numero in notes[0].titre and "1A23456789012" in notes[0].contenu
    assert notes[0].lien == f"/documents/show/{doc.id}"
    page = client.get("/documents/list/").get_data(as_text=True)
    assert "Pli non distribué" in page
    with pytest.raises(RuleViolation) as exc:
        docs.record_envoi(doc, "perdu", "courrier")
    assert exc.value.rule == "R-ENV-2"


# -- screens, perimeter, batches ------------------------------------------------------------------
def test_documents_are_scoped_to_the_secretariat_dispositif(docs, make, ref, db, login_as, queries):  # R-DOC-6
    mine = docs.issue_document("certificat", ref["METALLURGIE"], cert_data(), "certificat_cqpm")
    other = docs.issue_document("certificat", ref["CHIMIE"], cert_data(titulaire=titulaire(nom="Chimiste")),
                                "parchemin_cqp")
    db.session.commit()
    client = login_as(make.user("secretariat", dispositif=ref["METALLURGIE"]))
    page = client.get("/documents/list/").get_data(as_text=True)
    assert mine.numero in page and "CHIMISTE" not in page
    r = client.get(f"/documents/pdf/{mine.id}")
    assert r.status_code == 200 and r.data == mine.pdf and r.mimetype == "application/pdf"
    assert client.get(f"/documents/pdf/{other.id}").status_code == 404
    assert client.get(f"/documents/show/{other.id}").status_code == 404
    assert client.post(f"/documents/revoquer/{other.id}", data={"motif": "x"}).status_code == 404
    export = client.get("/documents/export/csv/").get_data(as_text=True)
    assert "Jeanne DUPONT" in export and "CHIMISTE" not in export
    db.session.commit()  # both counts are taken right after a commit (which expires the user)
    with queries() as few:
        client.get("/documents/list/")
    docs.issue_many("certificat", ref["METALLURGIE"], [
        {"data": cert_data(), "template": "certificat_cqpm"} for _ in range(6)])
    db.session.commit()
    with queries() as more:
        client.get("/documents/list/")
    assert len(more) == len(few)                                 # no query per row
    selects = [s.split("FROM")[0] for s in more]
    assert not any("document_emis.pdf" in s or "document_emis.donnees" in s for s in selects)
    # Another role sees only the documents of its dossiers (none here).
    etab = make.etablissement()
    r = login_as(make.user("admin_etablissement", etablissement=etab)).get("/documents/list/")
    assert mine.numero not in r.get_data(as_text=True)


def test_revoke_and_duplicate_from_the_screen(docs, secretariat, metal, db, login_as):  # R-DOC-5
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    client = login_as(secretariat)
    r = client.post(f"/documents/duplicata/{doc.id}")
    assert r.status_code == 302
    from app.models.document import DocumentEmis
    dup = db.session.query(DocumentEmis).filter_by(remplace_id=doc.id).one()
    assert dup.duplicata and dup.emis_par_id == secretariat.id
    r = client.post(f"/documents/revoquer/{doc.id}", data={"motif": ""})
    db.session.expire_all()
    assert db.session.get(DocumentEmis, doc.id).statut == "valide"
    client.post(f"/documents/revoquer/{doc.id}", data={"motif": "Erreur de jury"})
    db.session.expire_all()
    assert db.session.get(DocumentEmis, doc.id).statut == "revoque"
    assert "Révoqué" in client.get(f"/documents/show/{doc.id}").get_data(as_text=True)


def test_print_batch_job_with_progress(docs, secretariat, metal, db, login_as, monkeypatch, queries):  # R-DOC-4
    from app.models.document import BatchJob
    from app.workflow.issued import batches as documents_lots
    monkeypatch.setattr(documents_lots, "PRINT_CHUNK", 2)
    issued = docs.issue_many("certificat", metal, [
        {"data": cert_data(titulaire=titulaire(nom=f"Lot{i}")),
         "template": "certificat_bloc" if i == 2 else "certificat_cqpm",
         **({"data": cert_data(titulaire=titulaire(nom=f"Lot{i}"),
                               bloc={"code": "BDC9", "intitule": "Bloc"})} if i == 2 else {})}
        for i in range(5)])
    db.session.commit()
    ids = [d.id for d in issued]
    seen = []
    with queries() as statements:
        pdf = documents_lots.print_certificates(ids, on_progress=seen.append)
    assert len(statements) == 1                                  # one query for all documents
    assert seen and seen[-1] == 5
    text = flat(pdf_text(pdf))
    assert all(d.numero in text for d in issued) and "LOT4" in text and "BDC9 Bloc" in text and "BDC BDC9" not in text
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 5

    client = login_as(secretariat)
    r = client.post("/documents/action_post", data={"action": "imprimer", "rowid": ids})
    assert r.status_code == 302 and "/documents/lot/" in r.headers["Location"]
    job = db.session.query(BatchJob).one()
    db.session.refresh(job)
    assert job.statut == "termine" and job.done == job.total == 5
    state = client.get(f"/documents/lot/{job.id}/etat").get_json()
    assert state["progress"] == 100 and state["statut"] == "termine"
    assert "Télécharger le PDF du lot" in client.get(f"/documents/lot/{job.id}").get_data(as_text=True)
    r = client.get(f"/documents/lot/{job.id}/pdf")
    assert r.status_code == 200 and issued[0].numero in pdf_text(r.data)

    docs.revoke(issued[0], "Erreur")
    db.session.commit()
    with pytest.raises(RuleViolation):
        documents_lots.start_print_batch(ids, metal.id)
