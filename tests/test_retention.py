"""Retention schedule and purge (R-ARC-1…3), with a frozen clock: purge(today=…)."""
import datetime as dt

import pytest
from flask import g
from flask_login import login_user

from app.errors import RuleViolation
from app.models.candidature import Document
from app.models.conformite import PurgeLog, PurgeTrace, RetentionRule
from app.models.document import DocumentEmis
from app.models.evaluation import Evaluation, ResultatCompetence
from app.workflow.conformite.retention import add_months, ensure_rules, purge, set_duration, traces_for
from tests.conformite_helpers import dossier, evaluation, issued, piece

DECIDED = dt.date(2024, 6, 15)


def _types(db, c):
    rows = db.session.query(Document.type_piece).filter_by(candidature_id=c.id)
    return sorted(t for (t,) in rows)


def test_add_months_clamps_the_day():
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 6, 15), -60) == dt.date(2019, 6, 15)
    assert add_months(dt.date(2024, 1, 15), -13) == dt.date(2022, 12, 15)


def test_identity_document_deleted_once_the_decision_is_made(db, make):
    """R-ARC-1: the identity document is kept until the decision, then deleted."""
    decided = dossier(make, "valide", DECIDED)
    pending = dossier(make)
    for c in (decided, pending):
        piece(db, c, "piece_identite", name="cni.pdf")
    assert purge(DECIDED - dt.timedelta(days=1)).total == 0
    report = purge(DECIDED)
    db.session.commit()
    assert "piece_identite" not in _types(db, decided)
    assert _types(db, pending) == ["piece_identite"]  # no decision yet: kept
    traces = traces_for(decided.id)
    assert [(t.element, t.libelle, t.purge_le, t.regle) for t in traces] == [
        ("piece_identite", "cni.pdf", DECIDED, "R-ARC-1")]
    assert traces[0].element_label == "Pièce d'identité"
    line = next(line for line in report.lines if line.classe == "piece_identite")
    assert (line.nombre, line.regle) == (1, "R-ARC-1")
    log = db.session.query(PurgeLog).filter_by(classe="piece_identite").one()
    assert (log.nombre, log.dry_run, log.date_reference) == (1, False, DECIDED)


def test_identity_purge_applies_to_every_outcome(db, make):
    """R-ARC-1: obtained or not, the identity document goes at the decision."""
    dossiers = [dossier(make, d, DECIDED) for d in ("valide", "partiel", "non_valide")]
    for c in dossiers:
        piece(db, c, "piece_identite")
    purge(DECIDED)
    db.session.commit()
    assert all(_types(db, c) == [] for c in dossiers)


def test_evaluation_documents_kept_for_the_preparation_only(db, make):
    """R-ARC-2: documents of the evaluation process are kept while the dossier is prepared."""
    pending, decided = dossier(make), dossier(make, "non_valide", DECIDED)
    for c in (pending, decided):
        for t in ("dossier_candidat", "diplome", "attestation_formation", "guide_evaluation"):
            piece(db, c, t)
    purge(DECIDED + dt.timedelta(days=1))
    db.session.commit()
    assert _types(db, pending) == ["attestation_formation", "diplome", "dossier_candidat",
                                   "guide_evaluation"]
    # The preparation documents go; the appraisal (evaluation guide) of a failure stays 2 years.
    assert _types(db, decided) == ["guide_evaluation"]


@pytest.mark.parametrize("decision, acquis, months, dispositif", [
    ("partiel", (True, False), 60, "CHIMIE"),
    ("non_valide", (False, False), 24, "CHIMIE"),
    # A "non admis" with acquired competences is a partial validation (R-DEC-1, R-DEC-4).
    ("non_admis", (True, False), 60, "METALLURGIE"),
    ("non_admis", (False, False), 24, "METALLURGIE"),
])
def test_appraisals_kept_5_years_if_partial_2_years_if_failed(db, make, decision, acquis, months,
                                                             dispositif):
    """R-ARC-2: evaluation appraisals 5 years for a partial validation, 2 years for a failure."""
    cert = make.certification(dispositif)
    make.competences(cert)
    c = dossier(make, decision, DECIDED, dispositif=dispositif, certification=cert)
    piece(db, c, "matrice_evaluation", name="matrice.xlsx")
    ev = evaluation(db, c, acquis=acquis)
    expiry = add_months(DECIDED, months)
    purge(expiry - dt.timedelta(days=1))
    db.session.commit()
    assert _types(db, c) == ["matrice_evaluation"]
    assert db.session.get(Evaluation, ev.id).commentaire == "Bonne maîtrise du poste"
    purge(expiry)
    db.session.commit()
    db.session.expire_all()
    assert _types(db, c) == []
    ev = db.session.get(Evaluation, ev.id)
    assert ev.commentaire is None and ev.observations_candidat is None \
        and ev.observations_metier is None
    results = db.session.query(ResultatCompetence).filter_by(evaluation_id=ev.id).all()
    # The jury's basis stays: acquired / not acquired; only the free text is gone.
    assert [r.acquis for r in sorted(results, key=lambda r: r.ordre)] == list(acquis)[:len(results)]
    assert all(r.commentaire is None and r.observation_metier is None for r in results)
    assert sorted(t.element for t in traces_for(c.id)) == ["commentaires", "matrice_evaluation"]
    assert {t.regle for t in traces_for(c.id)} == {"R-ARC-2"}


def test_holder_appraisals_go_with_the_preparation(db, make):
    """R-ARC-2: for a holder, appraisals are evaluation documents: removed at the decision."""
    c = dossier(make, "valide", DECIDED)
    piece(db, c, "guide_evaluation")
    ev = evaluation(db, c, acquis=(True, True))
    purge(DECIDED)
    db.session.commit()
    db.session.expire_all()
    assert _types(db, c) == [] and db.session.get(Evaluation, ev.id).commentaire is None


def test_certificate_copy_kept_42_years(db, make, ref):
    """R-ARC-2: a copy of each certificate is kept 42 years (from the jury date)."""
    c = dossier(make, "valide", DECIDED)
    doc = issued(db, ref["CHIMIE"], "certificat", DECIDED, candidature=c)
    expiry = dt.date(2066, 6, 15)
    purge(expiry - dt.timedelta(days=1))
    db.session.commit()
    assert db.session.get(DocumentEmis, doc.id).pdf.startswith(b"%PDF")
    report = purge(expiry)
    db.session.commit()
    db.session.expire_all()
    doc = db.session.get(DocumentEmis, doc.id)
    assert doc.pdf == b"" and doc.donnees == {} and doc.titulaire is None
    assert doc.numero and doc.sha256 and doc.code_verification  # the register line stays
    assert [(t.element, t.libelle, t.regle) for t in traces_for(c.id)] == [
        ("certificat", doc.numero, "R-ARC-2")]
    assert [line.classe for line in report.lines] == ["certificat"]
    # Idempotent: a second run finds nothing more.
    assert purge(expiry + dt.timedelta(days=30)).total == 0


@pytest.mark.parametrize("type_, classe", [("pv", "pv"), ("emargement", "emargement"),
                                           ("lettre_gtp", "attribution"),
                                           ("lettre_decision", "attribution")])
def test_pv_attendance_sheets_and_attributions_kept_20_years(db, ref, type_, classe):
    """R-ARC-3: PV, attendance sheets and attributions are kept 20 years."""
    doc = issued(db, ref["CHIMIE"], type_, DECIDED, titulaire=None)
    other = issued(db, ref["CHIMIE"], type_, DECIDED + dt.timedelta(days=1), titulaire=None)
    report = purge(dt.date(2044, 6, 15))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(DocumentEmis, doc.id).pdf == b""
    assert db.session.get(DocumentEmis, other.id).pdf.startswith(b"%PDF")
    assert [(line.classe, line.nombre, line.regle) for line in report.lines] == [
        (classe, 1, "R-ARC-3")]
    trace = db.session.query(PurgeTrace).filter_by(document_emis_id=doc.id).one()
    assert (trace.classe, trace.candidature_id) == (classe, None)


def test_issue_date_counts_when_the_jury_date_is_unknown(db, ref):
    """R-ARC-3: without a jury date, the duration runs from the document's issue."""
    doc = issued(db, ref["CHIMIE"], "pv", None)
    doc_id = doc.id
    emis = doc.emis_le.date()
    assert purge(add_months(emis, 240) - dt.timedelta(days=1)).total == 0
    assert purge(add_months(emis, 240)).total == 1
    db.session.commit()
    assert db.session.get(DocumentEmis, doc_id).pdf == b""


def test_dry_run_lists_what_would_go_and_changes_nothing(db, make, ref):
    """R-ARC-1…3: --dry-run counts and lists, logs a simulation, deletes nothing."""
    c = dossier(make, "valide", DECIDED)
    piece(db, c, "piece_identite")
    issued(db, ref["CHIMIE"], "pv", DECIDED, titulaire=None)
    report = purge(dt.date(2045, 1, 1), dry_run=True)
    db.session.commit()
    assert report.dry_run and report.total == 2
    text = report.text()
    assert "simulation" in text and c.numero in text and "Procès-verbal" in text
    assert _types(db, c) == ["piece_identite"]
    assert db.session.query(PurgeTrace).count() == 0
    logs = db.session.query(PurgeLog).all()
    assert len(logs) == 2 and all(log.dry_run for log in logs)


def test_schedule_is_seeded_per_dispositif_and_editable(db, ref, make):
    """R-ARC-1…3: the sources' schedule for every dispositif; durations can be changed."""
    ensure_rules()
    db.session.commit()
    rules = {(r.classe, r.issue): r for r in
             db.session.query(RetentionRule).filter_by(dispositif_id=ref["CHIMIE"].id)}
    assert {k: r.duree_mois for k, r in rules.items()} == {
        ("piece_identite", "toutes"): 0, ("documents_evaluation", "toutes"): 0,
        ("appreciations", "reussite"): 0, ("appreciations", "partiel"): 60,
        ("appreciations", "echec"): 24, ("certificat", "toutes"): 504,
        ("pv", "toutes"): 240, ("emargement", "toutes"): 240, ("attribution", "toutes"): 240}
    assert rules[("certificat", "toutes")].duree_label == "42 ans"
    assert ensure_rules() == 0  # idempotent
    with pytest.raises(RuleViolation):
        set_duration(rules[("pv", "toutes")], -1)
    with pytest.raises(RuleViolation):
        set_duration(rules[("pv", "toutes")], "douze")
    # A longer duration for the identity document of this dispositif only.
    set_duration(rules[("piece_identite", "toutes")], 12)
    db.session.commit()
    c = dossier(make, "valide", DECIDED)
    piece(db, c, "piece_identite")
    purge(DECIDED)
    db.session.commit()
    assert _types(db, c) == ["piece_identite"]
    purge(add_months(DECIDED, 12))
    db.session.commit()
    assert _types(db, c) == []


def test_purge_is_a_constant_number_of_statements(db, make, queries):
    """Bulk SQL: the statement count does not grow with the number of dossiers."""
    def run(n, day):
        for _ in range(n):
            c = dossier(make, "valide", day)
            piece(db, c, "piece_identite")
            piece(db, c, "dossier_candidat")
        with queries() as statements:
            report = purge(day)
        db.session.commit()
        assert report.total == 2 * n
        return len(statements)
    ensure_rules()
    db.session.commit()
    assert run(1, dt.date(2024, 1, 10)) == run(4, dt.date(2024, 2, 10))


def test_cli_purge(app, db, make):
    """`flask purge --dry-run --date …` then `flask purge --date …`."""
    c = dossier(make, "valide", DECIDED)
    piece(db, c, "piece_identite")
    numero, cid = c.numero, c.id
    runner = app.test_cli_runner()
    out = runner.invoke(args=["purge", "--dry-run", "--date", "2024-06-15"])
    assert out.exit_code == 0, out.output
    assert "simulation" in out.output and numero in out.output
    assert db.session.query(Document).filter_by(candidature_id=cid).count() == 1
    out = runner.invoke(args=["purge", "--date", "2024-06-15"])
    assert out.exit_code == 0, out.output
    assert "1 élément(s) supprimés" in out.output
    assert db.session.query(Document).filter_by(candidature_id=cid).count() == 0


def test_secretariat_screens(db, make, ref, login_as):
    """The secretariat sees and edits its dispositif's schedule and purge log; others do not."""
    sec = make.user("secretariat", dispositif=ref["CHIMIE"])
    client = login_as(sec)
    page = client.get("/retentionruleview/list/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Durées de conservation" in html and "42 ans" in html
    assert "Supprimé dès la décision" in html
    rules = db.session.query(RetentionRule).all()
    assert {r.dispositif_id for r in rules} == {ref["CHIMIE"].id}  # only its own dispositif
    rule = next(r for r in rules if r.classe == "pv")
    r = client.post(f"/retentionruleview/edit/{rule.id}", data={"duree_mois": "300"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(RetentionRule, rule.id).duree_mois == 300
    r = client.post(f"/retentionruleview/edit/{rule.id}", data={"duree_mois": "5000"})
    assert "entre 0 et 1200" in r.get_data(as_text=True)
    # Another dispositif's rule is out of reach.
    ensure_rules([ref["CLEA"]])
    db.session.commit()
    clea_rule = db.session.query(RetentionRule).filter_by(dispositif_id=ref["CLEA"].id).first()
    assert client.post(f"/retentionruleview/edit/{clea_rule.id}",
                       data={"duree_mois": "1"}).status_code == 404
    c = dossier(make, "valide", DECIDED)
    piece(db, c, "piece_identite")
    purge(DECIDED)
    db.session.commit()
    html = client.get("/purgelogview/list/").get_data(as_text=True)
    assert "Journal des purges" in html and "Pièce d&#39;identité du candidat" in html
    other = login_as(make.user("utilisateur_etablissement", etablissement=make.etablissement()))
    assert other.get("/retentionruleview/list/").status_code == 403
    assert other.get("/purgelogview/list/").status_code == 403


def test_dossier_page_says_what_was_removed(db, make, login_as):
    """R-ARC-1: the dossier page says which piece the purge removed and when."""
    c = dossier(make, "valide", DECIDED)
    piece(db, c, "piece_identite", name="carte-identite.pdf")
    purge(DECIDED)
    db.session.commit()
    client = login_as(make.user("secretariat"))
    html = client.get(f"/dossier/{c.id}").get_data(as_text=True)
    assert 'id="pieces-supprimees"' in html and "carte-identite.pdf" in html
    assert "15/06/2024" in html


def test_dossier_partial_says_what_was_removed(app, db, make):
    """The dossier page can say what the purge removed and when (tombstones)."""
    c = dossier(make, "valide", DECIDED)
    piece(db, c, "piece_identite", name="passeport.pdf")
    purge(DECIDED)
    db.session.commit()
    sec = make.user("secretariat")
    template = app.jinja_env.get_template("conformite/_traces_dossier.html")
    with app.test_request_context():
        g.pop("_perimetre", None)
        login_user(sec)
        html = template.render(c=c)
        g.pop("_perimetre", None)
    assert "passeport.pdf" in html and "15/06/2024" in html and "R-ARC-1" in html


def test_jury_attributions_kept_20_years(db, make, ref):
    """R-ARC-3: the attributions of certifications validated by the jury are kept 20 years."""
    from app.models.jury import AttributionCertification, InscriptionJury, Jury
    c = dossier(make, "valide", DECIDED)
    jury = Jury(dispositif_id=ref["CHIMIE"].id, certificateur="France Chimie", date=DECIDED,
                date_limite_inscription=dt.date(2024, 5, 25), capacite=30, etat="clos",
                clos_le=dt.datetime(2024, 6, 15, 18))
    db.session.add(jury)
    db.session.flush()
    ins = InscriptionJury(jury_id=jury.id, candidature_id=c.id, numero_anonyme=1, rang=1,
                          decision="valide", decide_le=dt.datetime(2024, 6, 15, 17))
    db.session.add(ins)
    db.session.flush()
    db.session.add(AttributionCertification(
        inscription_id=ins.id, candidature_id=c.id, candidat_id=c.candidat_id,
        nature="certification", certification_id=c.certification_id, date_jury=DECIDED))
    db.session.commit()
    dry = purge(dt.date(2044, 6, 15), dry_run=True)
    assert [(line.classe, line.nombre) for line in dry.lines if line.classe == "attribution"] == [
        ("attribution", 1)]
    purge(dt.date(2044, 6, 14))
    db.session.commit()
    assert db.session.query(AttributionCertification).count() == 1
    purge(dt.date(2044, 6, 15))
    db.session.commit()
    assert db.session.query(AttributionCertification).count() == 0
    trace = next(t for t in traces_for(c.id) if t.classe == "attribution")
    assert (trace.element, trace.libelle, trace.regle) == (
        "attribution_certification", "certification", "R-ARC-3")
