"""`flask demo` (run by `make run`) loads accounts, habilitations, dossiers and juries, idempotently."""


def test_demo_is_idempotent_and_accounts_log_in(app, db):  # R-REF-1
    from flask_appbuilder.security.sqla.models import User

    from app.models.candidature import Candidature
    from app.models.jury import Jury
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    counts = (db.session.query(User).count(), db.session.query(Candidature).count(),
              db.session.query(Jury).count())
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert (db.session.query(User).count(), db.session.query(Candidature).count(),
            db.session.query(Jury).count()) == counts
    assert "secretariat.chimie" in first.output
    client = app.test_client()
    r = client.post("/login/", data={"username": "utilisateur.etablissement",
                                     "password": "Demo-OpenCertif-2026!"})
    assert r.status_code == 302
    # Dossiers at each stage, today's juries (chimie, CléA, metallurgy) and their dossiers
    # (issue 16 item 11).
    assert counts[1:] == (15, 8)
    assert "Bonjour" in client.get("/").get_data(as_text=True)


def test_demo_database_has_no_shared_document_number(app, db):  # R-DOC-4 (issue 13 acceptance)
    import sqlalchemy as sa
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    shared = db.session.execute(sa.text(
        "SELECT numero, count(*) FROM document_emis GROUP BY 1 HAVING count(*) > 1")).all()
    assert shared == []
    uniques = sa.inspect(db.engine).get_unique_constraints("document_emis")
    assert any(u["column_names"] == ["numero"] for u in uniques)
