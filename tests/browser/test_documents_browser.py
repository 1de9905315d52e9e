"""A secretariat issues and downloads the PV and a certificate of a closed jury, then checks the
certificate on the public verification page, with its code and by uploading the PDF copy."""
import io

from pypdf import PdfReader

from tests.browser.conftest import sign_in
from tests.test_jurys import ADMIN, P, jour_j, register, secretariat


def test_closed_jury_pv_certificate_and_public_verification(make, db, live_server, page, tmp_path):  # R-DOC-1 R-DOC-4
    from app.models.document import DocumentEmis
    from app.workflow.jury import deliberation
    j = make.jury("METALLURGIE", lieu="Nantes")
    make.jury_compose(j, unions=("CFDT",))
    admitted = make.dossier_pret_jury("METALLURGIE")
    sec = secretariat(make, "METALLURGIE")
    ins = register(db, admitted, j).inscription
    jour_j(db, j)
    deliberation.record_decision(ADMIN, ins, "admis")
    deliberation.close_jury(P(sec), j)
    db.session.commit()

    sign_in(page, live_server, sec)
    page.goto(f"{live_server}/jurys/show/{j.id}")
    for kind in ("pv", "certificat"):
        with page.expect_navigation():
            page.click(f"#emettre-{kind}")
    db.session.expire_all()
    pv = db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="pv").one()
    cert = db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="certificat").first()

    def download(doc):
        link = page.locator(f"a[href$='/pdf/{doc.id}']").first
        with page.expect_download() as info:
            link.click(modifiers=["Alt"])  # Alt-click downloads the link target
        path = tmp_path / f"{doc.id}.pdf"
        info.value.save_as(path)
        return path.read_bytes()

    pv_bytes = download(pv)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pv_bytes)).pages)
    assert admitted.candidat.nom_naissance.upper() in text
    cert_bytes = download(cert)
    assert cert_bytes[:5] == b"%PDF-"

    public = page.context.browser.new_context().new_page()  # nobody signed in
    public.goto(f"{live_server}/verifier/{cert.code_verification}")
    assert "Document authentique et valide" in public.inner_text("#verdict")
    public.goto(f"{live_server}/verifier/")
    public.set_input_files("input[type=file]", str(tmp_path / f"{cert.id}.pdf"))
    with public.expect_navigation():
        public.locator("form [type=submit]").last.click()
    assert "identique à l'original" in public.inner_text("#verdict")
