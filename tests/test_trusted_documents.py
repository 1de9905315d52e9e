"""Issue 19: documents that prove themselves — PDF/A-2b, the PAdES seal checked by the public page,
and the holder's digital credential (Open Badges 3.0 VC-JWT) with its published revocation.

Every issued document of the test suite is sealed with the session's test seal (tests/conftest.py:
SEAL_P12, organisation « Certificateur de test »)."""
import base64
import gzip
import hashlib
import html
import io
import re
import time
from datetime import date

import pikepdf
import pytest

from tests.test_documents import (
    CQPM,
    JURY,
    candidat_pv,
    cert_data,
    flat,
    pdf_text,
    pv_data,
    titulaire,
)

SIGNER = "Certificateur de test"


@pytest.fixture
def metal(ref):
    return ref["METALLURGIE"]


@pytest.fixture
def docs(db):
    from app.workflow.issued import documents as documents_emis
    return documents_emis


def upload(client, data: bytes) -> str:
    r = client.post("/verifier/", data={"fichier": (io.BytesIO(data), "copie.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 200
    return flat(html.unescape(re.sub(r"<[^>]+>", "", r.get_data(as_text=True))))


def each_kind(docs, metal):
    acquis = [{"code": "BDC0123", "intitule": "Préparer la machine"}]
    return {
        "certificat": docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm"),
        "certificat_bloc": docs.issue_document("certificat", metal, cert_data(
            bloc={"code": "BDC0123", "intitule": "Préparer la machine"}), "certificat_bloc"),
        "lettre_decision": docs.issue_document("lettre_decision", metal, {
            "titulaire": titulaire(), "certification": dict(CQPM), "jury": dict(JURY),
            "acquis": acquis}),
        "lettre_non_admission": docs.issue_document("lettre_decision", metal, {
            "titulaire": titulaire(), "certification": dict(CQPM), "jury": dict(JURY),
            "acquis": []}),
        "lettre_gtp": docs.issue_document("lettre_gtp", metal, {
            "jury": dict(JURY), "date": date(2026, 3, 20),
            "certifications": [{"code": CQPM["code"], "intitule": CQPM["intitule"]}]}, jury_id=7),
        "pv": docs.issue_document("pv", metal, pv_data([candidat_pv(i) for i in range(40)])),
        "emargement": docs.issue_document("emargement", metal, {
            "jury": dict(JURY), "certifications": [{"code": "X", "intitule": "Y",
                                                    "nombre_candidats": 1}],
            "membres": [{"nom": "Durand", "prenom": "Luc", "organisation": "ACME FORGE"}]}),
    }


# -- 1. PDF/A-2b ----------------------------------------------------------------------------------
def test_every_kind_of_issued_document_is_pdfa_2b(docs, metal, db):
    from app.reports.pdfa import problems
    for kind, doc in each_kind(docs, metal).items():
        assert problems(doc.pdf) == [], kind
        with pikepdf.open(io.BytesIO(doc.pdf)) as pdf:
            meta = pdf.open_metadata()
            assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B"), kind
            intent = pdf.Root.OutputIntents[0]
            assert intent.S == pikepdf.Name.GTS_PDFA1 and intent.DestOutputProfile.N == 3
            assert b"acsp" in intent.DestOutputProfile.read_bytes()[:64]  # an ICC profile
            assert not pdf.is_encrypted and "/OpenAction" not in pdf.Root
            assert "/JavaScript" not in (pdf.Root.get("/Names") or {})
            # The seal's incremental update keeps metadata and information dictionary in step.
            assert str(pdf.docinfo.Producer) == meta["pdf:Producer"], kind
        assert doc.sha256 == hashlib.sha256(doc.pdf).hexdigest()


def test_problems_sees_a_font_that_is_not_embedded():
    """The checker itself fails on what PDF/A forbids (else the test above could not fail)."""
    from reportlab.pdfgen import canvas

    from app.reports.pdfa import problems, to_pdfa
    out = io.BytesIO()
    c = canvas.Canvas(out, initialFontName="Times-Roman")
    c.setFont("Times-Roman", 12)
    c.drawString(100, 700, "Helvetica et Times ne sont jamais incorporées")
    c.save()
    found = problems(out.getvalue())
    assert any("Times-Roman" in p for p in found)
    assert any("XMP" in p for p in found) and any("sRGB" in p for p in found)
    assert not any("XMP" in p or "sRGB" in p for p in problems(to_pdfa(out.getvalue())))


# -- 2. the seal ----------------------------------------------------------------------------------
def test_sealed_certificate_validates(docs, metal, db, client):
    from app.reports.seal import check
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    with pikepdf.open(io.BytesIO(doc.pdf)) as pdf:
        field = pdf.Root.AcroForm.Fields[0]
        assert field.FT == pikepdf.Name.Sig and field.V.SubFilter == pikepdf.Name("/ETSI.CAdES.detached")
    result = check(doc.pdf)
    assert (result.etat, result.signataire, result.horodate) == ("intact", SIGNER, False)
    page = upload(client, doc.pdf)
    assert f"Scellé par {SIGNER}, le " in page and "intact" in page
    assert "Document authentique et valide" in page
    assert "Jeanne DUPONT" in flat(pdf_text(doc.pdf))  # the seal changes nothing printed


def test_one_byte_changed_is_reported_altered(docs, metal, db, client):
    from app.reports.seal import check
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    at = doc.pdf.index(b"/Title (Certificat") + len(b"/Title (")
    tampered = doc.pdf[:at] + b"c" + doc.pdf[at + 1:]      # one byte of the sealed revision
    assert len(tampered) == len(doc.pdf) and tampered != doc.pdf
    assert check(tampered).etat == "altere"
    page = upload(client, tampered)
    assert "Document altéré" in page and "intact" not in page
    assert "Document authentique" not in page
    appended = doc.pdf + b"\n% added after the seal\n"       # outside the sealed bytes
    assert check(appended).etat == "altere"


def test_revoked_certificate_pdf_is_reported_revoked(docs, metal, db, client):  # R-DOC-4
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    docs.revoke(doc, "Décision du jury annulée")
    db.session.commit()
    page = upload(client, doc.pdf)
    assert f"Scellé par {SIGNER}" in page and "Document révoqué" in page
    assert "authentique et valide" not in page


def test_seal_of_an_unknown_signer(app, docs, metal, db, client, tmp_path, monkeypatch):
    from app.reports import seal as seals
    other = tmp_path / "autre.p12"
    other.write_bytes(seals.self_signed_p12("Officine inconnue", "x"))
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    unsealed_text = flat(pdf_text(doc.pdf))
    monkeypatch.setitem(app.config, "SEAL_P12", str(other))
    monkeypatch.setitem(app.config, "SEAL_PASSWORD", "x")
    forged = seals.seal(pdf_without_seal(doc.pdf), metal)
    monkeypatch.undo()
    assert flat(pdf_text(forged)) == unsealed_text
    result = seals.check(forged)
    assert (result.etat, result.signataire) == ("inconnu", "Officine inconnue")
    page = upload(client, forged)
    assert "Signataire inconnu" in page and "Officine inconnue" in page


def pdf_without_seal(data: bytes) -> bytes:
    """The revision before the seal (the seal is an incremental update after the first %%EOF)."""
    end = data.index(b"%%EOF") + len(b"%%EOF\n")
    return data[:end]


def test_without_a_seal_documents_are_issued_unsealed(app, docs, metal, db, monkeypatch):
    from app.reports.seal import check
    monkeypatch.setitem(app.config, "SEAL_P12", None)
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    assert check(doc.pdf).etat == "absent"
    assert docs.verify_upload(doc.pdf).id == doc.id


def test_demo_seal_is_written_once_and_used(app, docs, metal, db, monkeypatch, tmp_path):
    from app.reports import seal as seals
    monkeypatch.setitem(app.config, "SEAL_P12", None)
    monkeypatch.setitem(app.config, "SEAL_CLEA_P12", "/configured/clea.p12")
    monkeypatch.setitem(app.config, "INSTANCE_DIR", str(tmp_path))
    written = dict(seals.write_demo_seals())
    assert set(written) == {"METALLURGIE", "CHIMIE"}      # CléA has its own configured seal
    assert seals.write_demo_seals() == []
    path = written["METALLURGIE"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    result = seals.check(doc.pdf)
    assert result.etat == "intact" and result.signataire == metal.certificateur


def test_sealing_adds_at_most_150_ms_per_document(docs, metal, db):
    from app.reports.seal import seal
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    plain = pdf_without_seal(doc.pdf)
    seal(plain, metal)  # the seal's key is loaded once per process
    # CPU time of this process: the machine running the tests may be busy with other work.
    start = time.process_time()
    for _ in range(5):
        seal(plain, metal)
    per_document = (time.process_time() - start) / 5
    print(f"\nsceau : {per_document * 1000:.0f} ms par document")
    assert per_document < 0.150


# -- 3. the digital credential ----------------------------------------------------------------------
def _seal_public_key(app):
    from cryptography.hazmat.primitives.serialization import pkcs12
    with open(app.config["SEAL_P12"], "rb") as f:
        key, cert, _ = pkcs12.load_key_and_certificates(f.read(),
                                                        app.config["SEAL_PASSWORD"].encode())
    return key.public_key(), cert


def _status_bit(client, url: str, index: int, public_key) -> int:
    import jwt
    r = client.get(url.removeprefix("http://localhost"))
    assert r.status_code == 200 and r.mimetype == "application/vc+jwt"
    claims = jwt.decode(r.get_data(as_text=True), public_key, algorithms=["ES256"])
    subject = claims["vc"]["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    encoded = subject["encodedList"]
    assert encoded.startswith("u")
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(bits) >= 16384
    return (bits[index // 8] >> (7 - index % 8)) & 1


def test_credential_verifies_and_its_revocation_shows(app, docs, metal, db, client):
    import jwt
    doc = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    db.session.commit()
    page = client.get(f"/verifier/{doc.code_verification}").get_data(as_text=True)
    assert "Télécharger l'attestation numérique" in page.replace("&#39;", "'")
    r = client.get(f"/verifier/{doc.code_verification}/attestation")
    assert r.status_code == 200 and r.mimetype == "application/vc+jwt"
    token = r.get_data(as_text=True)

    public_key, cert = _seal_public_key(app)
    claims = jwt.decode(token, public_key, algorithms=["ES256"])   # PyJWT, not our code
    header = jwt.get_unverified_header(token)
    from cryptography.hazmat.primitives.serialization import Encoding
    assert base64.b64decode(header["x5c"][0]) == cert.public_bytes(Encoding.DER)
    vc = claims["vc"]
    assert "OpenBadgeCredential" in vc["type"] and claims["iss"] == vc["issuer"]["id"]
    assert vc["issuer"]["name"] == metal.certificateur
    achievement = vc["credentialSubject"]["achievement"]
    assert {"RNCP35123", CQPM["code"]} <= {i["identifier"] for i in achievement["otherIdentifier"]}
    assert achievement["id"] == "https://www.francecompetences.fr/recherche/rncp/35123/"
    assert achievement["alignment"][0]["targetCode"] == "4"
    assert vc["credentialSubject"]["identifier"][0]["identityHash"] == "Jeanne DUPONT"
    status = vc["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusListIndex"] == str(doc.id)
    assert _status_bit(client, status["statusListCredential"], doc.id, public_key) == 0

    docs.revoke(doc, "Fraude établie")
    db.session.commit()
    assert _status_bit(client, status["statusListCredential"], doc.id, public_key) == 1
    assert client.get(f"/verifier/{doc.code_verification}/attestation").status_code == 404


def test_issuer_profile_publishes_the_signing_key(app, metal, db, client):
    r = client.get("/verifier/emetteur/METALLURGIE")
    assert r.status_code == 200
    profile = r.get_json()
    assert profile["name"] == metal.certificateur and profile["publicKey"]["crv"] == "P-256"
    assert client.get("/verifier/emetteur/INCONNU").status_code == 404
    assert client.get("/verifier/statut/INCONNU").status_code == 404


def test_no_credential_for_other_documents(docs, metal, db, client):
    doc = docs.issue_document("lettre_decision", metal, {
        "titulaire": titulaire(), "certification": dict(CQPM), "jury": dict(JURY), "acquis": []})
    db.session.commit()
    assert client.get(f"/verifier/{doc.code_verification}/attestation").status_code == 404
    page = client.get(f"/verifier/{doc.code_verification}").get_data(as_text=True)
    assert "attestation numérique" not in page


def test_timestamp_server_is_used_only_when_configured(app, db, monkeypatch):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from app.reports.seal import _timestamper
    assert _timestamper() is None
    monkeypatch.setitem(app.config, "SEAL_TSA_URL", "https://horodatage.example/tsa")
    stamper = _timestamper()
    assert isinstance(stamper, HTTPTimeStamper) and stamper.url == "https://horodatage.example/tsa"


def test_print_batch_carries_no_broken_seal(docs, metal, db):
    """A print batch joins sealed documents: their seals, valid for each file only, are left out."""
    from app.workflow.issued.batches import print_certificates
    a = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    b = docs.issue_document("certificat", metal, cert_data(titulaire=titulaire(nom="Martin")),
                            "certificat_cqpm")
    with pikepdf.open(io.BytesIO(a.pdf)) as pdf:
        assert "/AcroForm" in pdf.Root and pdf.pages[0].Annots
    with pikepdf.open(io.BytesIO(print_certificates([a.id, b.id]))) as batch:
        assert len(batch.pages) == 2 and "/AcroForm" not in batch.Root
        assert all(not list(page.obj.get("/Annots", [])) for page in batch.pages)
