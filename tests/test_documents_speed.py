"""Documents at scale (issue 9): a 500-candidate jury's PV and decision sheet, drawn by ReportLab
directly (app/reports/pv_pdf.py), keep every row, number their pages and stay fast.

The time limits are loose on purpose (shared CI machines): xhtml2pdf took 8 to 15 s for these,
ReportLab about 1 s."""
import io
import re
import time
from datetime import date
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from tests.test_documents import CQPM, JURY, candidat_pv, flat

ROWS = 500
SLOW = 10.0  # seconds


def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def assert_numbered(pages: list[str]):
    n = len(pages)
    for i, text in enumerate(pages, start=1):
        assert f"page {i} / {n}" in text, (i, n)


@pytest.fixture
def docs(db):
    from app.workflow.issued import documents as documents_emis
    return documents_emis


def test_pv_of_500_candidates(docs, ref, db):  # R-DOC-1
    second = {"certification": {"code": "MQ 2000 01 01 0001", "intitule": "Soudeur"},
              "candidats": [candidat_pv(i, origine="DE" if i % 4 == 0 else "SL",
                                        raison_sociale="ENTREPRISE CACHÉE" if i % 4 == 0 else "X")
                            for i in range(450, ROWS)]}
    data = {"jury": dict(JURY), "sections": [
        {"certification": dict(CQPM), "candidats": [
            candidat_pv(i, decision="NA" if i % 5 == 0 else "A") for i in range(450)]},
        second]}
    start = time.perf_counter()
    doc = docs.issue_document("pv", ref["METALLURGIE"], data)
    elapsed = time.perf_counter() - start
    pages = pages_text(doc.pdf)
    text = flat("\n".join(pages))
    found = {int(n) for n, again in re.findall(r"NOM(\d+) Prénom(\d+)\b", text) if n == again}
    assert found == set(range(ROWS))
    assert_numbered(pages)
    assert len(pages) > 20
    assert text.count("Procès-Verbal du jury paritaire de délibération") == 2  # once per section
    assert text.count("Le Président du Jury Paritaire de Délibération") == 2
    assert "Jury réuni le 12/03/2026 à Lyon — 450 candidat(s)" in text
    assert "Jury réuni le 12/03/2026 à Lyon — 50 candidat(s)" in text
    assert "« SOUDEUR »" in text and "« Opérateur régleur » (suite)" in text
    assert "ENTREPRISE CACHÉE" not in text  # R-DOC-1: no company data for job seekers
    assert f"Procès-verbal n° {doc.numero} — jury du 12/03/2026" in text
    assert "(7) Pour les candidats demandeurs d'emploi" in text
    assert elapsed < SLOW, elapsed


def test_pv_text_is_text_and_any_alphabet_is_drawn(docs, ref):  # R-DOC-1
    rows = [candidat_pv(1, nom="Şahin", prenom="Łukasz"),
            candidat_pv(2, nom="Dupont", raison_sociale="Smith & <Fils>", commentaire="a<b>c</b>"),
            candidat_pv(3, ville_naissance="Llanfairpwllgwyngyllgogerychwyrndrobwll" * 2)]
    doc = docs.issue_document("pv", ref["METALLURGIE"],
                              {"jury": dict(JURY), "sections": [{"certification": dict(CQPM),
                                                                 "candidats": rows}]})
    text = flat("\n".join(pages_text(doc.pdf)))
    assert "ŞAHIN Łukasz" in text
    assert "Smith & <Fils>" in text and "a<b>c</b>" in text
    assert "page 1 / 1" in text


def feuille_context(rows: int, anonyme=False) -> dict:
    from app.reports.feuille_decision import FeuilleDecisionExport
    colonnes = FeuilleDecisionExport.header(SimpleNamespace(anonyme=anonyme))
    lignes = []
    for i in range(rows):
        who = [] if anonyme else [f"D{i:06d}", f"Nom{i}", f"Prénom{i}", "01/02/1991"]
        lignes.append([f"A{i:04d}"] + who + [
            "CQPM 2019 0312 R", "Technicien en maintenance industrielle",
            ["Admis", "Partiel", "Non admis"][i % 3],
            "BDC0001 Maintenance préventive ; BDC0002 Diagnostic de pannes" if i % 3 == 1 else "",
            "Compléments demandés sur la sécurité" if i % 7 == 0 else "", "12/03/2026"])
    return {"emetteur": {"nom": "UIMM", "dispositif": "CQPM"},
            "jury": {"date": date(2026, 3, 12).isoformat(), "lieu": "Lyon",
                     "intitule": "Jury CQPM mars 2026", "president": "M. Paul Martin",
                     "etat": "Clos"},
            "anonyme": anonyme, "colonnes": colonnes, "lignes": lignes, "edite_le": "22/11/2026"}


def test_decision_sheet_of_500_candidates():  # R-DOC-6
    from app.reports.feuille_decision import render_feuille
    start = time.perf_counter()
    pdf = render_feuille(feuille_context(ROWS))
    elapsed = time.perf_counter() - start
    pages = pages_text(pdf)
    text = flat("\n".join(pages))
    found = {int(n) for n, again in re.findall(r"Nom(\d+) Prénom(\d+)\b", text) if n == again}
    assert found == set(range(ROWS))
    assert_numbered(pages)
    assert len(pages) > 10
    footer = "Feuille de décision — jury du 12/03/2026 — éditée le 22/11/2026"
    assert all(footer in p for p in pages)
    assert "Feuille de décision du jury" in text and "Jury du 12/03/2026 — Lyon — Clos" in text
    assert text.count("Le Président du jury M. Paul Martin") == 1
    assert elapsed < SLOW, elapsed


def test_anonymous_and_empty_decision_sheets():  # R-JUR-7 R-DOC-6
    from app.reports.feuille_decision import render_feuille
    text = flat("\n".join(pages_text(render_feuille(feuille_context(30, anonyme=True)))))
    assert "candidats anonymisés" in text and "A0029" in text
    assert "Nom" not in text.replace("N° anonyme", "")
    text = flat("\n".join(pages_text(render_feuille(feuille_context(0)))))
    assert "Aucun dossier." in text and "page 1 / 1" in text
