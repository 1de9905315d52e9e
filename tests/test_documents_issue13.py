"""Issue 13, documents: numbers unique across the platform (p1), issuing once (p2), the letter to
the GTP from the jury page (p4), what the documents say (p6), who can get them (p7).

The jury's screens are driven through their rendered forms (tests/journeys/forms.py)."""
import datetime as dt
import io
import re
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.errors import RuleViolation
from app.models.document import DocumentEmis
from app.security.perimeter import Perimetre
from app.security.perimeter import perimetre_of as P
from app.workflow.issued import documents as docs
from app.workflow.jury import deliberation
from app.workflow.jury import documents as jury_documents
from app.workflow.jury import registration as registration_wf
from tests.conftest import outbox
from tests.journeys.forms import follow, open_page
from tests.test_documents import candidat_pv, cert_data, pv_data, titulaire

YEAR = dt.date.today().year
TODAY = dt.date.today()
ADMIN = Perimetre(None, "admin", None, None)


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages))


def closed_jury(make, db, dispositif="METALLURGIE", **jury_kw):
    """A held and closed jury: one dossier admitted on a CQPM giving its CQPI (CQPM + CQPI
    certificates, R-DEC-3), one not admitted with blocs acquired (bloc certificates + a letter)."""
    from app.models import Certification
    j = make.jury(dispositif, lieu="Nantes", **jury_kw)
    make.jury_compose(j, unions=("CFDT",))
    sec = make.user("secretariat", dispositif=make.ref[dispositif])
    cert = db.session.query(Certification).filter_by(code="CQPM 2021 0045 RI").one()
    admitted = make.dossier_pret_jury(dispositif, certification=cert, entreprise=make.entreprise())
    partial = make.dossier_pret_jury(dispositif, acquis=6)
    ins = {}
    for c in (admitted, partial):
        ins[c.id] = registration_wf.register_to_jury(P(c.createur), c, j).inscription
        db.session.commit()
    j.date, j.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    # Convened 15 days before, as jury_composition.convene leaves it (R-JUR-6).
    j.etat, j.convoque_le = "convoque", dt.datetime.combine(TODAY - dt.timedelta(days=15),
                                                            dt.time(9))
    db.session.commit()
    deliberation.record_decision(ADMIN, ins[admitted.id], "admis")
    deliberation.record_decision(ADMIN, ins[partial.id], "non_admis")
    deliberation.close_jury(P(sec), j)
    db.session.commit()
    return j, sec, admitted, partial


def emit(client, jury_id, kind):
    """Click « Émettre : … » on the jury page, as rendered; returns the page it lands on."""
    page = open_page(client, f"/jurys/show/{jury_id}")
    r = page.form(action=f"/jurys/emettre/{jury_id}/{kind}").submit()
    assert r.status_code == 302
    return follow(client, r)


def count(db, **kw):
    db.session.expire_all()
    return db.session.query(DocumentEmis).filter_by(**kw).count()


# -- p1: numbers --------------------------------------------------------------------------------
def test_p1_certificate_numbers_unique_per_dispositif_scheme(ref, db):  # R-DOC-4
    metal, chimie, clea = ref["METALLURGIE"], ref["CHIMIE"], ref["CLEA"]
    a = docs.issue_document("certificat", metal, cert_data(), "certificat_cqpm")
    b = docs.issue_document("certificat", chimie, cert_data(), "parchemin_cqp")
    c = docs.issue_document("certificat", clea, cert_data(), "certificat_clea")
    pvs = [docs.issue_document("pv", d, pv_data([candidat_pv(1)])) for d in (metal, chimie, clea)]
    db.session.commit()
    assert (a.numero, b.numero, c.numero) == (f"MC{YEAR}000001", f"CQP{YEAR}000001",
                                              f"CLEA{YEAR}000001")
    assert [p.numero for p in pvs] == [f"PV-MC{YEAR}000001", f"PV-CQP{YEAR}000001",
                                       f"PV-CLEA{YEAR}000001"]
    assert a.numero in text_of(a.pdf) and c.numero in text_of(c.pdf)
    # Duplicates and corrections keep their suffixes and stay unique.
    dup = docs.issue_duplicate(c)
    fixed = docs.correct(b, {"titulaire": titulaire(nom="Durand")}, "Nom mal orthographié")
    db.session.commit()
    assert dup.numero == f"CLEA{YEAR}000001-D1" and fixed.numero == f"CQP{YEAR}000001-C1"
    assert b.statut == "revoque" and fixed.valide and "DURAND" in text_of(fixed.pdf)
    # The database holds it: the same number in another dispositif or type is refused.
    other = DocumentEmis(type="certificat", modele="certificat_clea", dispositif_id=clea.id,
                         numero=a.numero, donnees={}, pdf=b"%PDF", taille=4, sha256="0" * 64,
                         code_verification="ZZZZZZZZZZZZ", statut="valide", intitule="x")
    db.session.add(other)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    dupes = db.session.execute(sa.text(
        "SELECT numero, count(*) FROM document_emis GROUP BY 1 HAVING count(*) > 1")).fetchall()
    assert dupes == []


def test_p1_prefix_is_a_setting_of_the_dispositif_screen(ref, db, make, login_as):  # R-DOC-4
    from app.models import Dispositif
    clea = ref["CLEA"]
    client = login_as(make.user("secretariat", dispositif=clea))
    page = open_page(client, f"/dispositifview/edit/{clea.id}")
    form = page.form(has="prefixe_numero")
    assert form.get("prefixe_numero") == "CLEA"
    form.fill(prefixe_numero="MC")                       # the metallurgy's: refused
    r = form.submit()
    assert "déjà celui du dispositif" in r.get_data(as_text=True)
    form.fill(prefixe_numero="PV")                       # the PV numbers' head: refused
    assert "réservé" in form.submit().get_data(as_text=True)
    form.fill(prefixe_numero="cl")
    form.submit()
    db.session.expire_all()
    assert db.session.get(Dispositif, clea.id).prefixe_numero == "CL"
    doc = docs.issue_document("certificat", db.session.get(Dispositif, clea.id), cert_data(),
                              "certificat_clea")
    assert doc.numero == f"CL{YEAR}000001"


# -- p2: issuing once ---------------------------------------------------------------------------
def test_p2_issuing_twice_in_a_row_issues_nothing_new(make, db, login_as):  # R-DOC-4 R-DOC-5
    j, sec, _admitted, _partial = closed_jury(make, db)
    client = login_as(sec)
    kinds = {"pv": 1, "emargement": 1, "certificat": 4, "lettre_decision": 1, "lettre_gtp": 1}
    for kind, n in kinds.items():
        page = emit(client, j.id, kind)
        assert f"{n} document(s) émis" in page.text, page.text
        assert count(db, jury_id=j.id, type=kind) == n
    for kind, n in kinds.items():
        page = emit(client, j.id, kind)
        assert "0 document(s) émis" in page.text and f"{n} déjà émis auparavant" in page.text
        assert count(db, jury_id=j.id, type=kind) == n
    # After a revocation a new original can be issued; the others are not issued again.
    cqpi = db.session.query(DocumentEmis).filter_by(jury_id=j.id, modele="certificat_cqpi").one()
    docs.revoke(cqpi, "Erreur d'état civil")
    db.session.commit()
    page = emit(client, j.id, "certificat")
    assert "1 document(s) émis" in page.text and "3 déjà émis auparavant" in page.text
    assert count(db, jury_id=j.id, type="certificat", statut="valide") == 4
    # A duplicate stays the explicit R-DOC-5 action; a correction replaces its original.
    original = db.session.query(DocumentEmis).filter_by(
        jury_id=j.id, modele="certificat_cqpm", statut="valide").one()
    dup = docs.issue_duplicate(original)
    fixed = docs.correct(original, {"titulaire": titulaire(nom="Autre")})
    db.session.commit()
    assert dup.duplicata and fixed.cle_original == original.cle_original and fixed.valide
    with pytest.raises(RuleViolation):                  # the domain refuses a second original
        docs.issue_many("certificat", j.dispositif, jury_documents.certificate_items(j)[:1],
                        jury_id=j.id)


def test_p2_two_emissions_at_once_on_postgresql(app, make, db):  # R-DOC-4
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is checked on PostgreSQL (SQLite serialises every writer).")
    from flask_appbuilder.security.sqla.models import User

    from app.models.jury import Jury
    from tests.test_jury_concurrency import engine_with_room
    j, sec, _admitted, _partial = closed_jury(make, db)
    jury_id, sec_id = j.id, sec.id
    db.session.remove()
    for kind, expected in (("certificat", 4), ("pv", 1), ("lettre_decision", 1)):
        barrier = threading.Barrier(2, timeout=60)
        issued, errors = [], []

        def worker(kind=kind, barrier=barrier, issued=issued, errors=errors):
            from app.extensions import db as tdb
            with app.app_context():
                try:
                    p = P(tdb.session.get(User, sec_id))
                    jury = tdb.session.get(Jury, jury_id)
                    barrier.wait()
                    issued.append(len(jury_documents.issue_jury_documents(p, jury, kind).emis))
                    tdb.session.commit()
                except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                    tdb.session.rollback()
                    errors.append(repr(exc))
                finally:
                    tdb.session.remove()

        with engine_with_room(app, db, 4):
            threads = [threading.Thread(target=worker) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        assert errors == [] and sorted(issued) == [0, expected], (kind, issued, errors)
        assert count(db, jury_id=jury_id, type=kind) == expected


# -- p4: the letter to the GTP ------------------------------------------------------------------
def test_p4_gtp_letter_from_the_jury_page_and_the_reminder_leads_there(make, db, login_as):  # R-DOC-3
    from app.models.notification import Notification
    from app.workflow.issued.batches import gtp_reminders
    j, sec, _admitted, _partial = closed_jury(make, db)
    client = login_as(sec)
    page = open_page(client, f"/jurys/show/{j.id}")
    assert "Émettre : Lettre au GTP Certifications" in page.text
    page = emit(client, j.id, "lettre_gtp")                   # PV and attendance sheet first
    assert "Émettez d'abord le procès-verbal" in page.text
    emit(client, j.id, "pv")
    deadline = TODAY + dt.timedelta(days=61)
    assert gtp_reminders(today=deadline) == 1
    note = db.session.query(Notification).filter(Notification.user_id == sec.id,
                                                 Notification.lien.contains("rappel_gtp")).one()
    assert note.lien.startswith(f"/jurys/show/{j.id}") and "R-DOC" not in note.contenu
    reminded = open_page(client, note.lien.split("#")[0])
    reminded.form(action=f"/jurys/emettre/{j.id}/emargement").submit()
    page = emit(client, j.id, "lettre_gtp")
    assert "1 document(s) émis" in page.text
    letter = db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="lettre_gtp").one()
    pv = db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="pv").one()
    assert pv.numero in text_of(letter.pdf) and "CQPM 2021 0045 RI" in text_of(letter.pdf)
    assert gtp_reminders(today=deadline + dt.timedelta(days=3)) == 0
    # A dispositif that sends no such letter shows no button and gets no reminder.
    clea_jury = make.jury("CLEA")
    page = open_page(login_as(make.user("secretariat", dispositif=make.ref["CLEA"])),
                     f"/jurys/show/{clea_jury.id}")
    assert "Lettre au GTP" not in page.text


# -- p6: what the documents say -----------------------------------------------------------------
def test_p6_documents_content(make, db, login_as):  # R-DOC-1 R-DOC-2 R-DOC-4 R-DEC-4
    from app.models import Certification
    from app.models.jury import JuryMembre
    cqpm = db.session.query(Certification).filter_by(code="CQPM 2021 0045 RI").one()
    assert cqpm.date_enregistrement_rncp == dt.date(2021, 6, 30)       # seeded
    j, sec, _admitted, partial = closed_jury(make, db)
    # A union member who works for a company: the sheet names his union.
    union_member = db.session.query(JuryMembre).filter_by(jury_id=j.id, syndicat="CFDT").one()
    union_member.organisation = "Forges de l'Ouest"
    db.session.commit()
    client = login_as(sec)
    for kind in ("certificat", "pv", "emargement"):
        emit(client, j.id, kind)
    cert = db.session.query(DocumentEmis).filter_by(jury_id=j.id, modele="certificat_cqpm").one()
    text = text_of(cert.pdf)
    assert "(RNCP99902) en date du 30/06/2021." in text
    bloc = db.session.query(DocumentEmis).filter_by(jury_id=j.id, modele="certificat_bloc").first()
    assert "en date du ." not in text_of(bloc.pdf)
    # Without a registration date, the mention without « en date du ».
    undated = docs.issue_document("certificat", j.dispositif, cert_data(certification={
        **cert_data()["certification"], "date_enregistrement_rncp": None}), "certificat_cqpm")
    assert "(RNCP35123)." in text_of(undated.pdf) and "en date du" not in text_of(undated.pdf)

    sheet = text_of(db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="emargement")
                    .one().pdf)
    assert "CFDT" in sheet and "Forges de l'Ouest" not in sheet
    assert "membres du jury paritaire de délibération convoqués" in sheet
    # A jury nobody was convened to: its sheet, issued before the meeting, says « présents ».
    planned = make.jury("METALLURGIE", lieu="Lyon")
    make.jury_compose(planned, unions=("CGT",))
    waiting = make.dossier_pret_jury("METALLURGIE")
    registration_wf.register_to_jury(P(waiting.createur), waiting, planned)
    db.session.commit()
    emit(client, planned.id, "emargement")
    early = text_of(db.session.query(DocumentEmis).filter_by(jury_id=planned.id).one().pdf)
    assert planned.convoque_le is None and "convoqué" not in early.lower()
    assert "membres du jury paritaire de délibération présents" in early

    pv = db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="pv").one()
    text = text_of(pv.pdf)
    assert f"Fait à Nantes, le {TODAY.strftime('%d/%m/%Y')}" in text
    assert "Le Président du Jury Paritaire de Délibération" in text and pv.code_verification in text
    assert f"/verifier/{pv.code_verification}" in text

    # The metallurgy's partial decision gives bloc certificates, and the letter.
    mail = outbox(db, partial.candidat.email)[-1].corps_texte
    assert "Les certificats vous seront adressés" in mail and "lettre de décision" in mail
    # A chemical partial decision gives no certificate: its e-mail promises the letter only.
    chimie = make.jury("CHIMIE", lieu="Lyon")
    make.jury_compose(chimie)
    c = make.dossier_pret_jury("CHIMIE", acquis=2)
    ins = registration_wf.register_to_jury(P(c.createur), c, chimie).inscription
    chimie.date, chimie.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    db.session.commit()
    deliberation.record_decision(ADMIN, ins, "partiel")
    deliberation.close_jury(P(make.user("secretariat", dispositif=make.ref["CHIMIE"])), chimie)
    db.session.commit()
    mail = outbox(db, c.candidat.email)[-1].corps_texte
    assert "Décision : Partiel" in mail and not re.search(r"\bcertificats?\b", mail.lower())
    assert "La lettre de décision du jury vous sera adressée à l'adresse indiquée" in mail


# -- p7: who gets the documents -----------------------------------------------------------------
def test_p7_employer_and_etablissement_get_their_dossier_documents(make, db, login_as):  # R-ACC-5
    j, sec, admitted, partial = closed_jury(make, db)
    client = login_as(sec)
    for kind in ("certificat", "lettre_decision", "pv"):
        emit(client, j.id, kind)
    mine = db.session.query(DocumentEmis).filter_by(candidature_id=admitted.id).all()
    letter = db.session.query(DocumentEmis).filter_by(candidature_id=partial.id,
                                                      type="lettre_decision").one()
    pv = db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="pv").one()
    assert len(mine) == 2
    employer = make.user("employeur", entreprise=admitted.entreprise)
    etab = make.user("utilisateur_etablissement", etablissement=admitted.etablissement)
    assert admitted.etablissement_id != partial.etablissement_id
    other = make.user("employeur", entreprise=make.entreprise())
    for user in (employer, etab):
        c = login_as(user)
        dossier = open_page(c, f"/dossier/{admitted.id}")                 # the dossier's tab
        assert all(f"/documents/pdf/{d.id}" in dossier.links() for d in mine)
        listing = c.get("/documents/list/").get_data(as_text=True)
        assert letter.numero not in listing                           # another dossier's
        assert c.get(f"/documents/pdf/{letter.id}").status_code == 404
        for d in mine:
            assert d.numero in listing
            assert c.get(f"/documents/show/{d.id}").status_code == 200
            r = c.get(f"/documents/pdf/{d.id}")
            assert r.status_code == 200 and r.data == d.pdf
        export = c.get("/documents/export/csv/").get_data(as_text=True)
        assert mine[0].numero in export and pv.numero not in listing and pv.numero not in export
        assert c.get(f"/documents/pdf/{pv.id}").status_code == 404   # the PV stays with the jury
        assert c.post(f"/documents/revoquer/{mine[0].id}", data={"motif": "x"}).status_code in (302, 403, 404)
        db.session.expire_all()
        assert db.session.get(DocumentEmis, mine[0].id).valide
    # Another perimeter: nothing, whatever the id.
    c = login_as(other)
    listing = c.get("/documents/list/").get_data(as_text=True)
    export = c.get("/documents/export/csv/").get_data(as_text=True)
    for d in mine + [letter, pv]:
        assert d.numero not in listing and d.numero not in export
        assert c.get(f"/documents/show/{d.id}").status_code == 404
        assert c.get(f"/documents/pdf/{d.id}").status_code == 404


# -- p1: the migration keeps every number -------------------------------------------------------
def _migrate(url, target):
    import os
    import subprocess
    import sys
    import tempfile

    from tests.test_migrations import ROOT
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "run.py",
           "OPENCERTIF_INSTANCE": tempfile.mkdtemp()}
    return subprocess.run([sys.executable, "-m", "flask", "db", "upgrade", target], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def _legacy_rows(conn, numbers):
    """Three dispositifs and documents numbered the old way (one counter per dispositif)."""
    settings = {"certificateur": "C", "structure_evaluation": "competences",
                "vocabulaire_decision": "admis", "createurs": "employeur",
                "capacite_jury_defaut": 30, "delai_inscription_jury_jours": 21,
                "delai_saisie_resultats_jours": 8, "delai_convocation_jours": 15,
                "delai_recevabilite_jours": 60, "delai_vae_jury_mois": 18,
                "delai_abandon_annees": 5, "actif": True}
    disp = sa.table("dispositif", *[sa.column(c) for c in ["id", "code", "nom", *settings]])
    for i, code in enumerate(("METALLURGIE", "CHIMIE", "CLEA"), start=1):
        conn.execute(disp.insert().values(id=i, code=code, nom=code, **settings))
    doc = sa.table("document_emis", *[sa.column(c) for c in (
        "id", "dispositif_id", "type", "modele", "numero", "donnees", "pdf", "taille", "sha256",
        "code_verification", "statut", "duplicata", "emis_le", "intitule", "envoi_papier",
        "jury_id")])
    for i, (disp_id, type_, numero, jury_id) in enumerate(numbers, start=1):
        conn.execute(doc.insert().values(
            id=i, dispositif_id=disp_id, type=type_, modele="pv" if type_ == "pv" else "certificat_cqpm",
            numero=numero, donnees="{}", pdf=b"%PDF", taille=4, sha256="0" * 64,
            code_verification=f"CODE{i:08d}", statut="valide", duplicata=False,
            emis_le=dt.datetime(2026, 3, 1), intitule="x", envoi_papier=False, jury_id=jury_id))


# The revision the platform-wide numbering migration starts from (read from the script, so the
# test follows the chain when migrations are added before it).
BEFORE_NUMBERING = re.search(r"^down_revision = '(\w+)'", next(
    (Path(__file__).parents[1] / "migrations" / "versions").glob("2bcf83d2ddd9_*.py")).read_text(),
    re.MULTILINE).group(1)


@pytest.mark.parametrize("legacy, refused", [
    ([(1, "certificat", "MC2026000001", None), (1, "certificat", "MC2026000002", None),
      (1, "pv", "PV2026000001", 9), (3, "certificat", "MC2026000003", None)], None),
    ([(1, "certificat", "MC2026000001", None), (3, "certificat", "MC2026000001", None)],
     "partagent un même numéro"),
    ([(1, "pv", "PV2026000001", 9), (1, "pv", "PV2026000002", 9)], "originaux valides"),
], ids=["kept", "shared-number-refused", "two-originals-refused"])
def test_p1_migration_keeps_existing_numbers(legacy, refused):  # R-DOC-4
    import tempfile
    url = f"sqlite:///{tempfile.mkdtemp()}/legacy.db"
    assert _migrate(url, BEFORE_NUMBERING).returncode == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _legacy_rows(conn, legacy)
    result = _migrate(url, "head")
    with engine.connect() as conn:
        numbers = [n for (n,) in conn.execute(sa.text("SELECT numero FROM document_emis ORDER BY id"))]
        if refused:
            assert result.returncode != 0 and refused in result.stderr
            assert "Aucune modification" in result.stderr
            assert numbers == [n for _, _, n, _ in legacy]
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() \
                == BEFORE_NUMBERING
            return
        assert result.returncode == 0, result.stderr[-2000:]
        assert numbers == [n for _, _, n, _ in legacy]                 # never changed
        prefixes = dict(conn.execute(sa.text("SELECT code, prefixe_numero FROM dispositif")).all())
        assert prefixes == {"METALLURGIE": "MC", "CHIMIE": "CQP", "CLEA": "CLEA"}
        counters = dict(conn.execute(sa.text("SELECT cle, dernier FROM numero_sequence")).all())
        assert counters["num:MC2026"] == 3                   # the next MC number is …000004
        assert conn.execute(sa.text("SELECT cle_original FROM document_emis WHERE type = 'pv'")
                            ).scalar() == "pv:9"
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text(
                "INSERT INTO document_emis (dispositif_id, type, modele, numero, donnees, pdf, "
                "taille, sha256, code_verification, statut, duplicata, emis_le, intitule, "
                "envoi_papier) VALUES (2, 'certificat', 'parchemin_cqp', 'MC2026000001', '{}', "
                "X'00', 1, 'x', 'OTHERCODE', 'valide', 0, '2026-03-02', 'x', 0)"))
    engine.dispose()
