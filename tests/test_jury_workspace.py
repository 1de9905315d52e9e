"""The jury workspace (issue 16 item 3): from the jury page, the organiser registers the ready
dossiers to this jury, prints the certificates and records the mailings; the dossier's own
« Inscrire au jury » asks which jury when several are open.

Rules: R-JUR-2..4 (registration within capacity, through register_to_jury), R-ENV-1/2."""
import datetime as dt

import pytest

from app.models.candidature import Candidature
from app.models.jury import Jury
from app.security.perimeter import perimetre_of as P
from app.workflow.dossier import candidatures
from app.workflow.jury import registration
from app.workflow.jury import sessions as jurys
from tests.journeys.forms import follow, open_page
from tests.journeys.steps import alerts

TODAY = dt.date.today()


def waiting(make, db, n, dispositif="CLEA"):
    """`n` dossiers sent to certification while no jury is open: they wait for an assignment."""
    out = []
    for _ in range(n):
        c = make.dossier_pret_jury(dispositif)
        candidatures.send_to_certification(P(c.createur), c)
        db.session.commit()
        assert c.statut == "en_attente_jury" and jurys.active_inscription(c) is None
        out.append(c)
    return out


def test_organiser_registers_checked_ready_dossiers_and_is_told_who_was_refused(make, db,
                                                                                login_as):
    a, b, c, elsewhere = waiting(make, db, 4)
    jury = make.jury("CLEA", capacite=2)
    other = make.jury("CLEA", date=TODAY + dt.timedelta(days=50))
    registration.register_to_jury(P(make.user("secretariat", dispositif=make.ref["CLEA"])),
                                  elsewhere, other)
    db.session.commit()
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    client = login_as(sec)
    page = open_page(client, f"/jurys/show/{jury.id}")
    assert "Dossiers prêts pour ce jury (3)" in page.text  # the count is the list's length
    form = page.form(id="form-inscrire-dossiers")
    assert {v for v, _ in form.options("dossiers")} == {str(a.id), str(b.id), str(c.id)}
    for d in (a, b, c):
        form.check("dossiers", str(d.id))
    page = follow(client, form.submit())
    warning = " ".join(alerts(page, "warning"))
    assert f"2 dossier(s) inscrit(s) à ce jury : {a.numero}, {b.numero}." in warning
    assert f"1 dossier(s) non inscrit(s) : {c.numero} — le jury du " in warning
    assert "complet (2 dossiers)" in warning and "R-JUR" not in page.text
    db.session.expire_all()
    assert [jurys.active_inscription(db.session.get(Candidature, d.id)).jury_id
            for d in (a, b)] == [jury.id, jury.id]
    # Refused means refused: not sent on to the next jury behind the organiser's back.
    assert jurys.active_inscription(db.session.get(Candidature, c.id)) is None
    assert "Dossiers prêts pour ce jury (1)" in page.text and f'id="pret-{c.id}"' in page.html


def test_a_member_or_another_dispositif_sees_no_ready_list_and_cannot_post(make, db, login_as):
    (c,) = waiting(make, db, 1)
    jury = make.jury("CLEA", capacite=5)
    chimie_sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    client = login_as(chimie_sec)
    r = client.post(f"/jurys/inscrire-dossiers/{jury.id}", data={"dossiers": [str(c.id)]})
    assert r.status_code == 404  # another dispositif's jury does not exist for them
    assert jurys.ready_for_jury(P(chimie_sec), jury) == []
    db.session.expire_all()
    assert jurys.active_inscription(db.session.get(Candidature, c.id)) is None


def test_ready_list_costs_the_same_statements_for_2_or_20_dossiers(make, db, login_as, queries):
    jury = make.jury("CLEA", capacite=40)
    jury_id, deadline = jury.id, jury.date_limite_inscription
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    client = login_as(sec)

    def add_waiting(n):  # registrations closed meanwhile, so that the dossiers wait
        row = db.session.get(Jury, jury_id)
        row.date_limite_inscription = TODAY - dt.timedelta(days=1)
        db.session.commit()
        waiting(make, db, n)
        row.date_limite_inscription = deadline
        db.session.commit()

    add_waiting(2)
    open_page(client, f"/jurys/show/{jury_id}")  # warm-up (permissions cached)
    db.session.expunge_all()  # both pages start from the same empty identity map
    with queries() as few:
        assert "Dossiers prêts pour ce jury (2)" in open_page(client, f"/jurys/show/{jury_id}").text
    add_waiting(18)
    db.session.expunge_all()
    with queries() as many:
        assert "Dossiers prêts pour ce jury (20)" in open_page(client,
                                                                f"/jurys/show/{jury_id}").text
    assert len(many) == len(few), (len(few), len(many))


def test_dossier_registration_asks_which_jury_when_several_are_open(make, db, login_as):
    # R-JUR-2 / R-JUR-4: the next jury is never taken silently.
    first = make.jury("CHIMIE", lieu="Paris")
    second = make.jury("CHIMIE", date=TODAY + dt.timedelta(days=40), lieu="Lyon")
    c = make.dossier_pret_jury("CHIMIE")
    client = login_as(c.createur)
    page = open_page(client, f"/inscription-jury/{c.id}")
    form = page.form(id="form-inscription")
    assert form.get("jury") == ""
    form.fill(commentaire="Dossier complet, merci.")
    r = form.submit()
    assert r.status_code == 200
    assert "Plusieurs jurys sont ouverts : choisissez celui" in r.get_data(as_text=True)
    assert "Dossier complet, merci." in r.get_data(as_text=True)  # what was typed stays
    db.session.expire_all()
    assert jurys.active_inscription(db.session.get(Candidature, c.id)) is None
    form = open_page(client, f"/inscription-jury/{c.id}").form(id="form-inscription")
    follow(client, form.fill(jury="Lyon").submit())
    db.session.expire_all()
    assert jurys.active_inscription(db.session.get(Candidature, c.id)).jury_id == second.id
    assert first.id != second.id


# --- deliberation one dossier at a time ------------------------------------------------------------
def _jury_with(make, db, n, day=TODAY):
    from app.workflow.jury import registration as reg_wf
    j = make.jury("CHIMIE")
    members = make.jury_compose(j)
    dossiers = []
    for _ in range(n):
        c = make.dossier_pret_jury("CHIMIE", acquis=2)
        dossiers.append(reg_wf.register_to_jury(P(c.createur), c, j).inscription)
        db.session.commit()
    j.date, j.date_limite_inscription = day, min(day, TODAY) - dt.timedelta(days=1)
    db.session.commit()
    return j, members, dossiers


def test_deliberate_one_dossier_at_a_time_with_progress_and_links(make, db, login_as):
    j, members, inscriptions = _jury_with(make, db, 3)
    client = login_as(members["CFDT"].user)
    page = open_page(client, f"/jurys/show/{j.id}")
    assert f'href="/jurys/deliberer/{j.id}/1"' in page.html
    page = open_page(client, f"/jurys/deliberer/{j.id}/1")
    assert "Dossier 1 sur 3" in page.text and "0 / 3 décidés" in page.text
    assert page.links(rf"/jurys/deliberer/{j.id}/2$") and not page.links(rf"/deliberer/{j.id}/0$")
    first = inscriptions[0]
    assert page.html.count('class="form-decision"') == 1
    form = page.form(action=f"/jurys/decision/{first.id}")
    form.fill(decision="partiel", commentaire="Compétences à consolider.")  # as proposed
    r = form.submit()
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/jurys/deliberer/{j.id}/2")
    page = follow(client, r)
    assert "Dossier 2 sur 3" in page.text and "1 / 3 décidés" in page.text
    assert page.links(rf"/jurys/deliberer/{j.id}/1$") and page.links(rf"/jurys/deliberer/{j.id}/3$")
    db.session.expire_all()
    assert db.session.get(type(first), first.id).decision == "partiel"
    # The last dossier saved goes back to the one still undecided, then to the jury page.
    page = open_page(client, f"/jurys/deliberer/{j.id}/3")
    r = page.form(action=f"/jurys/decision/{inscriptions[2].id}").fill(decision="partiel").submit()
    assert r.headers["Location"].endswith(f"/jurys/deliberer/{j.id}/2")
    page = follow(client, r)
    r = page.form(action=f"/jurys/decision/{inscriptions[1].id}").fill(decision="partiel").submit()
    assert r.headers["Location"].endswith(f"/jurys/show/{j.id}")
    assert "Toutes les décisions de ce jury sont enregistrées" in follow(client, r).text


def test_before_the_jury_day_the_deliberation_is_read_only_and_says_when_it_opens(make, db,
                                                                                 login_as):
    day = TODAY + dt.timedelta(days=5)
    j, members, (ins,) = _jury_with(make, db, 1, day=day)
    client = login_as(members["CFDT"].user)
    for url in (f"/jurys/deliberer/{j.id}/1", f"/jurys/deliberation/{j.id}"):
        page = open_page(client, url)
        assert f"La délibération ouvre le {day:%d/%m/%Y}" in page.text
        assert 'class="form-decision"' not in page.html and "Proposition d'après" in page.text
    # The rule itself stays in the domain: a decision posted anyway is refused.
    client.post(f"/jurys/decision/{ins.id}", data={"decision": "valide", "n": "1"})
    db.session.expire_all()
    assert db.session.get(type(ins), ins.id).decision is None


def test_a_refused_decision_on_the_one_dossier_page_keeps_what_was_typed(make, db, login_as):
    j, members, (ins,) = _jury_with(make, db, 1)
    client = login_as(members["CFDT"].user)
    form = open_page(client, f"/jurys/deliberer/{j.id}/1").form(action=f"/jurys/decision/{ins.id}")
    boxes = [v for v, _ in form.options("acquis")]
    for value in boxes:
        form.uncheck("acquis", value)
    form.check("acquis", boxes[-1])
    form.fill(decision="valide", commentaire="Très bonne présentation orale")
    r = form.submit()
    assert r.status_code == 200
    page = follow(client, r)
    again = page.form(action=f"/jurys/decision/{ins.id}")
    assert again.get("decision") == "valide" and again.get("acquis") == boxes[-1]
    assert again.get("commentaire") == "Très bonne présentation orale"
    assert again.get("n") == "1" and "Dossier 1 sur 1" in page.text


# --- batch print and bulk mailing records (R-ENV-1/2) ------------------------------------------------
def test_print_the_jury_certificates_and_record_its_mailings_twice_without_duplicates(make, db,
                                                                                    login_as):
    from app.models.document import BatchJob, DocumentEmis, Envoi
    from tests.test_documents_issue13 import closed_jury, emit
    j, sec, _, _ = closed_jury(make, db)
    client = login_as(sec)
    emit(client, j.id, "certificat")
    emit(client, j.id, "lettre_decision")
    db.session.expire_all()
    certificates = [d.id for d in db.session.query(DocumentEmis).filter_by(
        jury_id=j.id, type="certificat", statut="valide").order_by(DocumentEmis.id)]
    letters = db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="lettre_decision").all()
    paper = db.session.query(DocumentEmis).filter_by(jury_id=j.id, type="certificat",
                                                     envoi_papier=True).count()
    assert certificates and letters
    # « Imprimer les certificats »: this jury's certificates, as one print batch.
    page = open_page(client, f"/jurys/show/{j.id}")
    r = page.form(action=f"/jurys/imprimer-certificats/{j.id}").submit()
    assert r.status_code == 302 and "/documents/lot/" in r.headers["Location"]
    job = db.session.query(BatchJob).order_by(BatchJob.id.desc()).first()
    assert job.params["document_ids"] == certificates and job.total == len(certificates)
    # « Enregistrer l'envoi des courriers », clicked twice: each letter recorded once.
    expected = len(letters) + paper
    form = open_page(client, f"/jurys/show/{j.id}").form(id="form-envoi-courriers")
    assert f"({expected} à enregistrer)" in open_page(client, f"/jurys/show/{j.id}").text
    form.fill(canal="lettre_suivie")
    page = follow(client, form.submit())
    assert f"Envoi enregistré pour {expected} courrier(s) du jury." in " ".join(
        alerts(page, "success"))
    page = follow(client, form.submit())  # the same form again (a second click)
    assert "déjà enregistré" in " ".join(alerts(page, "success"))
    db.session.expire_all()
    lines = db.session.query(Envoi).join(DocumentEmis).filter(DocumentEmis.jury_id == j.id).all()
    assert len(lines) == expected and len({e.document_id for e in lines}) == expected
    assert {e.statut for e in lines} == {"envoye"} and {e.canal for e in lines} == {"lettre_suivie"}
    assert {d.id for d in letters} <= {e.document_id for e in lines}
    page = open_page(client, f"/jurys/show/{j.id}")
    assert "Aucun courrier à enregistrer" in page.text and 'id="form-envoi-courriers"' not in page.html


def test_mailing_of_an_open_jury_is_refused_and_another_dispositif_gets_404(make, db, login_as):
    from app.errors import RuleViolation
    from app.workflow.issued import documents as issued
    j = make.jury("CHIMIE")
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    with pytest.raises(RuleViolation, match="une fois le jury clos"):
        issued.record_jury_mailing(P(sec), j)
    db.session.rollback()
    other = login_as(make.user("secretariat", dispositif=make.ref["CLEA"]))
    assert other.post(f"/jurys/envoi-courriers/{j.id}").status_code == 404
    assert other.post(f"/jurys/imprimer-certificats/{j.id}").status_code == 404


def test_two_mailing_records_at_the_same_moment_record_each_letter_once(app, make, db):  # R-ENV-2
    """PostgreSQL: two « Enregistrer l'envoi des courriers » at once; the jury row is held first,
    so the second finds the letters recorded and records nothing."""
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is checked on PostgreSQL (SQLite serialises every writer).")
    from flask_appbuilder.security.sqla.models import User

    from app.models.document import DocumentEmis, Envoi
    from app.models.jury import Jury
    from app.security.perimeter import perimetre_of
    from app.workflow.issued import documents as issued
    from app.workflow.jury import documents as jury_documents
    from tests.test_documents_issue13 import closed_jury
    from tests.test_jury_concurrency import engine_with_room

    j, sec, _, _ = closed_jury(make, db)
    jury_documents.issue_jury_documents(P(sec), j, "lettre_decision")
    db.session.commit()
    expected = issued.letters_to_post(j.id).count()
    assert expected
    sec_ids = [sec.id, make.user("secretariat", dispositif=make.ref["METALLURGIE"]).id]
    jury_id = j.id
    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(2, timeout=60)
    counts, errors = [], []

    def worker(user_id):
        from app.extensions import db as tdb
        with app.app_context():
            try:
                p = perimetre_of(tdb.session.get(User, user_id))
                jury = tdb.session.get(Jury, jury_id)
                barrier.wait()
                counts.append(len(issued.record_jury_mailing(p, jury)))
                tdb.session.commit()
            except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                tdb.session.rollback()
                errors.append(repr(exc))
            finally:
                tdb.session.remove()

    with engine_with_room(app, db, 6):
        threads = [threading.Thread(target=worker, args=(uid,)) for uid in sec_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert errors == []
    assert sorted(counts) == [0, expected]
    lines = db.session.query(Envoi.document_id).join(DocumentEmis).filter(
        DocumentEmis.jury_id == jury_id).all()
    assert len(lines) == len(set(lines)) == expected


def test_chemical_secretariat_registers_an_evaluated_dossier_from_the_jury_page(make, db,
                                                                                  login_as):
    # R-JUR-2: « prêt pour le jury » on the home is also on the jury page, where the secretariat
    # (allowed to « Inscrire au jury » in chimie) registers it; the dossier's move runs with it.
    jury = make.jury("CHIMIE", capacite=5)
    c = make.dossier_pret_jury("CHIMIE")
    assert c.statut == "en_attente_evaluation"
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    client = login_as(sec)
    assert "Évalué : prêt pour le jury" in open_page(client, f"/dossier/{c.id}").text
    page = open_page(client, f"/jurys/show/{jury.id}")
    assert "Dossiers prêts pour ce jury (1)" in page.text
    assert "Évalué, à inscrire" in page.text
    form = page.form(id="form-inscrire-dossiers")
    form.check("dossiers", str(c.id))
    page = follow(client, form.submit())
    assert f"1 dossier(s) inscrit(s) à ce jury : {c.numero}." in page.text
    db.session.expire_all()
    c = db.session.get(Candidature, c.id)
    assert c.statut == "en_attente_jury"
    assert jurys.active_inscription(c).jury_id == jury.id
    assert "Évalué : prêt pour le jury" not in open_page(client, f"/dossier/{c.id}").text
    # The CléA secretariat does not send its organismes' dossiers: not in its list.
    clea = make.dossier_pret_jury("CLEA")
    clea_jury = make.jury("CLEA", capacite=5)
    clea_sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    assert clea not in jurys.ready_for_jury(P(clea_sec), clea_jury)


def test_close_button_says_why_it_is_not_possible_yet(make, db, login_as):
    # R-JUR-9 / issue 16 item 6: the reason is on the page, not after a confirmation.
    jury = make.jury("CHIMIE", date=TODAY + dt.timedelta(days=40))
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    page = open_page(login_as(sec), f"/jurys/show/{jury.id}")
    assert not [f for f in page.forms() if f.action.endswith(f"/cloturer/{jury.id}")]
    assert 'id="btn-cloturer" type="button" disabled aria-describedby="raison-cloturer"' in page.html
    assert (f"Clôture pas encore possible : Le jury se clôt le jour de sa réunion "
            f"(le {jury.date:%d/%m/%Y}), pas avant.") in page.text
