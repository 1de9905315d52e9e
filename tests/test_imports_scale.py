"""Bulk import of candidates at scale (issue 18): batches with a constant number of statements,
the domain's rules still applied row by row, the columns each dispositif uses (VAE, CQPI), and
an import left « En cours » by a dead worker resumed without creating anything twice."""
import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from app.imports import candidats as spec
from app.imports import process
from app.models.candidature import Candidat, Candidature, Historique
from app.models.imports import ImportFichier, ImportLigne
from app.security.perimeter import perimetre_of
from tests.test_imports import preview, row, run, xlsx


@pytest.fixture
def setup(make, ref):
    """An établissement habilitated for CléA and one of its users (as tests/test_imports.py)."""
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    return etab, make.user("utilisateur_etablissement", etablissement=etab)


def sheet(cols, rows):
    wb = Workbook()
    ws = wb.active
    ws.append([c.header for c in cols])
    for r in rows:
        ws.append([r.get(c.key) for c in cols])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def counted(db, fn):
    statements = []

    def count(*args, **kw):
        statements.append(1)
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_preview_and_import_statements_do_not_grow_with_the_rows(db, make, ref, setup,
                                                                  monkeypatch):
    """No statement per row: the preview reads the file's referentials, candidates and
    dossiers in a fixed number of statements; the import stores COMMIT_EVERY rows in a fixed
    number too (a number range, one insert per table, the counters)."""
    monkeypatch.setattr(process, "COMMIT_EVERY", 10)
    etab, user = setup
    p = perimetre_of(user)
    previews, imports = [], []
    warm = process.upload(p, "candidats", ref["CLEA"].id, "w.xlsx", xlsx([row(make, etab)]))
    db.session.commit()
    process.validate(warm, p)
    db.session.commit()
    process.confirm(warm, p)  # the year's number sequence created once
    for n in (10, 20, 40):  # 1, 2 and 4 batches
        imp = process.upload(p, "candidats", ref["CLEA"].id, f"f{n}.xlsx",
                             xlsx([row(make, etab) for _ in range(n)]))
        db.session.commit()
        previews.append(counted(db, lambda imp=imp: (process.validate(imp, p),
                                                     db.session.commit())))
        imports.append(counted(db, lambda imp=imp: process.confirm(imp, p)))
        assert db.session.get(ImportFichier, imp.id).creees == n
    assert previews[0] == previews[1] == previews[2], previews
    per_batch = imports[1] - imports[0]
    assert imports[2] - imports[1] == 2 * per_batch, imports
    # Savepoint, number range, one insert per table, counters, progress, commit, and the
    # referentials read again after the commit: ≤ 0.2 a row at the real 200 rows a batch.
    assert per_batch <= 40, imports
    assert db.session.query(Candidature).count() == 71
    assert db.session.query(Historique).filter_by(action="create").count() == 71
    assert db.session.query(Historique).filter_by(action="import").count() == 71
    numeros = [n for (n,) in db.session.query(Candidature.numero)]
    assert len(set(numeros)) == 71  # one number range per batch, no number twice


def test_the_batch_path_applies_the_form_rules_to_every_row(db, make, ref, setup, monkeypatch):
    """R-CAN-2 against the base (inside and outside the perimeter) and within the file across
    batches, R-HAB-2 of another établissement, R-CAN-1: each on its row, the others created."""
    monkeypatch.setattr(process, "COMMIT_EVERY", 2)
    etab, _ = setup
    unhabilitated = make.etablissement(organisme=etab.organisme)
    user = make.user("admin_organisme", organisme=etab.organisme)  # both établissements
    other_etab = make.etablissement()
    make.habilitation(other_etab, ref["CLEA"])
    from app.models import Certification
    db.session.add(Certification(dispositif=ref["CLEA"], code="CLEA-NUMERIQUE", type="CLEA",
                                 intitule="CléA numérique"))
    mine = make.candidature(etablissement=etab, dispositif="CLEA")
    theirs = make.candidature(etablissement=other_etab, dispositif="CLEA")
    mine.candidat.telephone = None  # the refused row must not complete it (no row savepoint)
    db.session.commit()
    same = row(make, etab)
    rows = [row(make, etab), same,
            row(make, etab, nom_naissance=mine.candidat.nom_naissance,
                prenom=mine.candidat.prenom, telephone="06 11 22 33 44",
                date_naissance=mine.candidat.date_naissance.strftime("%d/%m/%Y")),
            row(make, etab, nom_naissance=theirs.candidat.nom_naissance,
                prenom=theirs.candidat.prenom,
                date_naissance=theirs.candidat.date_naissance.strftime("%d/%m/%Y")),
            row(make, unhabilitated), row(make, etab, prenom="J3an"),
            {**same, "certification": "CLEA-NUMERIQUE"}, same]
    imp, _ = preview(db, user, xlsx(rows), ref=ref)
    errors = [r["erreurs"] for r in imp.resultats]
    assert errors[0] == errors[1] == errors[6] == {}
    assert errors[2]["nom_naissance"].startswith(
        "Ce candidat a déjà un dossier en cours ou certifié pour cette certification "
        f"(n° {mine.numero})")
    assert errors[3]["nom_naissance"].startswith("Un dossier existe déjà pour cette personne")
    assert theirs.numero not in errors[3]["nom_naissance"]
    assert "n'a pas d'habilitation valide" in errors[4]["etablissement"]
    assert "prenom" in errors[5]
    assert errors[7] == {"nom_naissance": spec.duplicate_message(3)}
    before = db.session.query(Candidat).count()
    imp = run(db, imp, user)
    assert (imp.statut, imp.creees, imp.erreurs) == ("terminee", 3, 5)
    # The person of rows 3 and 8 exists once, whatever the batch that created them.
    assert db.session.query(Candidat).count() == before + 2
    db.session.expire_all()
    assert db.session.get(Candidat, mine.candidat_id).telephone is None


def _write(cols, r):
    return sheet(cols, [r])


def test_vae_and_cqpi_columns_only_where_the_dispositif_uses_them(db, make, ref):
    keys = {code: {c.key for c in spec.columns(ref[code])}
            for code in ("CLEA", "CHIMIE", "METALLURGIE")}
    assert {"socle_contextualise", "branche_delegataire"} <= keys["CLEA"]
    assert not {"vae", "recevabilite_recue_le", "cqpi_demande", "cqpi_detenu",
                "parcours"} & keys["CLEA"]
    assert {"parcours", "recevabilite_recue_le", "cqpi_demande", "cqpi_detenu"} <= keys["CHIMIE"]
    assert "vae" not in keys["CHIMIE"]  # chimie's VAE is its parcours 2 and 3 (R-CAN-8)
    assert {"vae", "recevabilite_recue_le"} <= keys["METALLURGIE"]
    assert not {"cqpi_demande", "parcours", "socle_contextualise"} & keys["METALLURGIE"]
    from openpyxl import load_workbook

    from app.imports import report
    p = perimetre_of(make.user("secretariat", dispositif=ref["CHIMIE"]))
    wb = load_workbook(io.BytesIO(report.template(spec.columns(ref["CHIMIE"]),
                                                  spec.codes(ref["CHIMIE"], p))))
    headers = [c.value for c in wb["Import"][1]]
    assert "Demande du CQPI par équivalence (oui/non)" in headers
    assert "Code du CQPI détenu" in headers
    assert "Code du CQPI détenu" in [c.value for c in wb["Codes acceptés"]["A"]]


def test_chimie_cqpi_request_and_vae_parcours_by_import(db, make, ref):
    """The CQPI request (R-REF-2) and the CQPI held (R-CAN-9) of the chemical dossiers, and
    the VAE parcours created by the secretariat (R-CAN-8), by the same checks as the form."""
    from app.models import Certification
    from app.workflow.jury.deliberation import cqpi_by_equivalence
    sec = make.user("secretariat", dispositif=ref["CHIMIE"])
    ent = make.entreprise(region="Île-de-France")
    certs = db.session.query(Certification).filter_by(dispositif_id=ref["CHIMIE"].id).all()
    giving = next(c for c in certs if c.type == "CQP" and cqpi_by_equivalence(c))
    plain = next(c for c in certs if c.type == "CQP" and not cqpi_by_equivalence(c))
    cqpi = next(c for c in certs if c.type == "CQPI" and c.membre_branche)
    cols = spec.columns(ref["CHIMIE"])
    base = {**row(make, None), "entreprise": ent.siret}
    rows = [{**base, "certification": giving.code, "cqpi_demande": "oui"},
            {**row(make, None), "entreprise": ent.siret, "certification": plain.code,
             "cqpi_demande": "oui"},
            {**row(make, None), "entreprise": ent.siret, "certification": giving.code,
             "cqpi_detenu": "INCONNU"},
            {**row(make, None), "entreprise": ent.siret, "certification": giving.code,
             "parcours": "3", "recevabilite_recue_le": "02/11/2026",
             "cqpi_detenu": cqpi.code}]
    imp, _ = preview(db, sec, sheet(cols, rows), dispositif="CHIMIE", ref=ref)
    errors = [r["erreurs"] for r in imp.resultats]
    assert errors[0] == {} and errors[3] == {}
    assert errors[1] == {"cqpi_demande": "Cette certification ne donne aucun CQPI par "
                                         "équivalence : la demande de CQPI ne s'applique pas."}
    assert errors[2] == {"cqpi_detenu": "CQPI inconnu : voyez l'onglet « Codes acceptés » du "
                                        "modèle."}
    run(db, imp, sec)
    created = {c.certification_id: c for c in db.session.query(Candidature)}
    assert len(created) == 1 or db.session.query(Candidature).count() == 2
    dossiers = db.session.query(Candidature).order_by(Candidature.id).all()
    assert [(c.cqpi_demande, c.vae, c.parcours) for c in dossiers] == [
        (True, False, "1"), (False, True, "3")]
    assert dossiers[1].statut == "en_attente_recevabilite"
    assert dossiers[1].recevabilite_recue_le.strftime("%d/%m/%Y") == "02/11/2026"
    assert dossiers[1].cqpi_detenu_id == cqpi.id


def test_metallurgie_vae_by_import(db, make, ref):
    etab = make.etablissement()
    make.habilitation(etab, ref["METALLURGIE"])
    user = make.user("utilisateur_etablissement", etablissement=etab)
    cols = spec.columns(ref["METALLURGIE"])
    code = next(c.code for c in ref["METALLURGIE"].certifications
                if c.is_open_to_new_candidates())
    rows = [{**row(make, etab), "certification": code, "vae": "oui",
             "recevabilite_recue_le": "05/11/2026"},
            {**row(make, etab), "certification": code, "vae": "non"}]
    imp, _ = preview(db, user, sheet(cols, rows), dispositif="METALLURGIE", ref=ref)
    assert [r["erreurs"] for r in imp.resultats] == [{}, {}]
    run(db, imp, user)
    dossiers = db.session.query(Candidature).order_by(Candidature.id).all()
    assert [(c.vae, c.statut) for c in dossiers] == [(True, "en_attente_recevabilite"),
                                                     (False, "inscription")]


class WorkerKilled(BaseException):
    """The worker process dies: nothing of the job's own error handling runs."""


def test_an_import_left_en_cours_by_a_dead_worker_is_resumed_once(app, db, make, ref, setup,
                                                                  monkeypatch, login_as):
    monkeypatch.setattr(process, "COMMIT_EVERY", 2)
    etab, user = setup
    imp, _ = preview(db, user, xlsx([row(make, etab) for _ in range(5)]), ref=ref)
    real_progress = process.progress

    def dies_after_first_batch(import_id, done):
        real_progress(import_id, done)
        raise WorkerKilled()
    monkeypatch.setattr(process, "progress", dies_after_first_batch)
    with pytest.raises(WorkerKilled):
        process.confirm(imp, perimetre_of(user))
    monkeypatch.setattr(process, "progress", real_progress)
    db.session.rollback()
    db.session.expire_all()
    imp = db.session.get(ImportFichier, imp.id)
    assert imp.statut == "en_cours"
    assert db.session.query(Candidature).count() == 2  # the first batch was committed
    assert process.stalled(imp)
    if db.engine.dialect.name == "postgresql":  # a live worker holds its lock: not stalled
        with process._worker_lock(imp.id):
            assert not process.stalled(imp)
    from tests.journeys.forms import open_page
    page = open_page(login_as(user), f"/imports/{imp.id}")
    assert "L'import s'est arrêté en cours de route" in page.text
    assert "Reprendre l'import" in page.text
    assert page.form(id="importer").submit().status_code == 302
    db.session.expire_all()
    imp = db.session.get(ImportFichier, imp.id)
    assert (imp.statut, imp.creees, imp.deja_importees, imp.erreurs) == ("terminee", 5, 0, 0)
    assert db.session.query(Candidature).count() == 5
    assert db.session.query(ImportLigne).filter_by(import_id=imp.id).count() == 5
    # Again, from the command line: nothing left to resume, nothing created twice.
    out = app.test_cli_runner().invoke(args=["imports", "reprendre", str(imp.id)])
    assert "0 import(s) repris" in out.output
    assert db.session.query(Candidature).count() == 5


def test_the_command_resumes_stalled_imports(app, db, make, ref, setup, monkeypatch):
    monkeypatch.setattr(process, "COMMIT_EVERY", 2)
    etab, user = setup
    imp, _ = preview(db, user, xlsx([row(make, etab) for _ in range(3)]), ref=ref)
    real_progress = process.progress

    def dies(import_id, done):
        real_progress(import_id, done)
        raise WorkerKilled()
    monkeypatch.setattr(process, "progress", dies)
    with pytest.raises(WorkerKilled):
        process.confirm(imp, perimetre_of(user))
    monkeypatch.setattr(process, "progress", real_progress)
    db.session.rollback()
    out = app.test_cli_runner().invoke(args=["imports", "reprendre"])
    assert f"1 import(s) repris : {imp.id}." in out.output, out.output
    db.session.expire_all()
    imp = db.session.get(ImportFichier, imp.id)
    assert (imp.statut, imp.creees) == ("terminee", 3)
    assert db.session.query(Candidature).count() == 3


def test_evaluators_import_checks_independence_r_hab_6(db, make, ref):
    """R-HAB-6 at the evaluators import: an evaluator named on a dossier in progress cannot be
    given, by a file, the candidate's company as employer; the employer's SIRET is linked to
    the platform's company or training organisme (what the check compares)."""
    import datetime as dt

    from app.models.habilitation import EvaluateurHabilite
    from app.security.perimeter import perimetre_of as P
    from app.workflow.dossier.candidatures import confirm_evaluator
    from tests.test_imports import ev_row, ev_xlsx
    c = make.candidature("CHIMIE")
    ev = make.evaluateur(c.certification, region="Île-de-France")
    confirm_evaluator(P(c.createur), c, evaluateur=ev.user_id, date_evaluation=dt.date.today())
    db.session.commit()
    etab = make.etablissement()
    sec = make.user("secretariat", dispositif=ref["CHIMIE"])
    rows = [ev_row(email=ev.user.email, employeur_siret=c.entreprise.siret,
                   certification="CQP-CHIMIE-02"),
            ev_row(email=ev.user.email, employeur_siret=etab.siret,
                   certification="CQP-CHIMIE-03"),
            ev_row(email="nouvelle@exemple.fr", prenom="Anne", nom="Leroy",
                   employeur_siret=etab.siret)]
    p = P(sec)
    imp = process.upload(p, "evaluateurs", ref["CHIMIE"].id, "ev.xlsx", ev_xlsx(rows))
    db.session.commit()
    process.validate(imp, p)
    db.session.commit()
    errors = [r["erreurs"] for r in imp.resultats]
    assert errors[0] == {"employeur_siret": (
        f"Dossier {c.numero} : {ev.nom_complet} est salarié(e) de l'entreprise "
        f"{c.entreprise.raison_sociale} : l'évaluateur habilité doit être indépendant de "
        "l'entreprise du candidat.")}
    assert errors[1] == {} and errors[2] == {}
    run(db, imp, sec)
    db.session.expire_all()
    again = db.session.get(EvaluateurHabilite, ev.id)
    assert (again.employeur_siret, again.employeur_organisme_id) == (etab.siret,
                                                                     etab.organisme_id)
    anne = db.session.query(EvaluateurHabilite).filter(EvaluateurHabilite.id != ev.id).one()
    assert (anne.employeur_organisme_id, anne.employeur_nom) == (etab.organisme_id,
                                                                 "Chimie SAS")
