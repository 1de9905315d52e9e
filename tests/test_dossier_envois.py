"""The dossier's "Historique des envois" tab lists its issued documents and their mailing history."""
from tests.test_documents import cert_data


def test_dossier_page_shows_mailing_history(make, db, login_as):  # R-ENV-2
    from app.workflow.issued import documents as docs
    c = make.candidature("METALLURGIE")
    doc = docs.issue_document("certificat", c.dispositif, cert_data(), "certificat_cqpm",
                              candidature_id=c.id)
    docs.record_envoi(doc, "pli_non_distribue", "lettre_suivie", suivi="1A23456789")
    db.session.commit()
    secretariat = make.user("secretariat", dispositif=c.dispositif)
    html = login_as(secretariat).get(f"/dossier/{c.id}").get_data(as_text=True)
    assert doc.numero in html
    assert "Pli non distribué" in html
    assert "1A23456789" in html


def test_dossier_page_without_documents_says_so(make, db, login_as):  # R-ENV-2
    c = make.candidature("METALLURGIE")
    secretariat = make.user("secretariat", dispositif=c.dispositif)
    html = login_as(secretariat).get(f"/dossier/{c.id}").get_data(as_text=True)
    assert "Aucun document émis ni envoyé pour ce dossier." in html
