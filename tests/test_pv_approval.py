"""Issue 19 item 3: the jury approves its PV in the platform — each voting member, then the
president; approvals recorded (who, when, hash) and printed on the approved PV's last page; the
approved PV is a new sealed document replacing the draft; refused to a non-member, to a guest, a
second time, after the approved PV exists; paper signature where the dispositif keeps it."""
import datetime as dt
import threading

import pyotp
import pytest

from app.errors import PerimeterViolation, RuleViolation
from app.models.approbation_pv import ApprobationPV
from app.models.document import DocumentEmis
from app.security.perimeter import Perimetre
from app.security.perimeter import perimetre_of as P
from app.workflow.engine import NotAllowed
from app.workflow.jury import approval, composition, deliberation, registration
from app.workflow.jury import documents as jury_documents
from app.workflow.jury.composition import AlreadyDone
from tests.test_documents_issue13 import text_of

TODAY = dt.date.today()
ADMIN = Perimetre(None, "admin", None, None)


def approval_world(make, db, dispositif="METALLURGIE", papier=False, issue=True, close=True,
                   president_account=True):
    """A closed metallurgy jury whose seats are accounts: president, two employers, one union
    voter, a guest, plus an employer named without an account; two dossiers decided; the PV
    issued by the secretariat (the draft to approve). Returns a dict of users and the jury.
    `president_account=False`: the president is only named (he signs on paper)."""
    disp = make.ref[dispositif]
    disp.pv_signature_papier = papier
    j = make.jury(dispositif, lieu="Nantes")
    sec = make.user("secretariat", dispositif=disp)
    u = {k: make.user("jury", dispositif=disp)
         for k in ("president", "employeur0", "employeur1", "cfdt", "invite", "autre")}
    if president_account:
        composition.add_member(ADMIN, j, "president", user=u["president"], qualite="UIMM")
    else:
        composition.add_member(ADMIN, j, "president", nom="Lambert", prenom="Jeanne",
                               qualite="UIMM")
    composition.add_member(ADMIN, j, "employeurs", user=u["employeur0"], organisation="Forges & Cie")
    composition.add_member(ADMIN, j, "employeurs", user=u["employeur1"], organisation="Usinage SA")
    composition.add_member(ADMIN, j, "employeurs", nom="Papier", prenom="Paul", organisation="Sans compte")
    composition.add_member(ADMIN, j, "salaries", user=u["cfdt"], syndicat="CFDT",
                     syndicat_email="cfdt@syndicat.invalid")
    composition.add_member(ADMIN, j, "invite", user=u["invite"], organisation="Organisme de formation")
    db.session.commit()
    for acquis in (None, 6):
        c = make.dossier_pret_jury(dispositif, acquis=acquis)
        registration.register_to_jury(P(c.createur), c, j)
        db.session.commit()
    j.date, j.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    j.etat, j.convoque_le = "convoque", dt.datetime.combine(TODAY - dt.timedelta(days=15),
                                                            dt.time(9))
    db.session.commit()
    for ins, decision in zip(deliberation.decision_rows(j), ("admis", "non_admis")):
        deliberation.record_decision(ADMIN, ins, decision)
    db.session.commit()
    if not close:
        return {"jury": j, "sec": sec, **u}
    deliberation.close_jury(P(sec), j)
    db.session.commit()
    if issue:
        jury_documents.issue_jury_documents(P(sec), j, "pv", emis_par=sec.id)
        db.session.commit()
    return {"jury": j, "sec": sec, **u}


def approve(w, who, **kw):
    from app.extensions import db
    row = approval.approve(P(w[who]), w["jury"], **kw)
    db.session.commit()
    return row


def pvs(db, jury_id):
    db.session.expire_all()
    return db.session.query(DocumentEmis).filter_by(jury_id=jury_id, type="pv") \
        .order_by(DocumentEmis.id).all()


def enable_totp(db, user) -> pyotp.TOTP:
    """The account has its second factor enabled (setup shortcut: the enrolment screens are
    tests/journeys/test_totp_screens.py's; jury accounts are not offered it yet)."""
    from app.models.base import utcnow
    from app.models.comptes import DoubleFacteur
    from app.security import totp
    secret = pyotp.random_base32()
    db.session.add(DoubleFacteur(user_id=user.id, secret_chiffre=totp._chiffrer(secret),
                                 active_le=utcnow()))
    db.session.commit()
    return pyotp.TOTP(secret)


# -- the whole approval -------------------------------------------------------------------------
def test_members_then_president_issue_the_approved_sealed_pv(make, db):  # R-JUR-8 R-DOC-1
    from app.reports.seal import check
    w = approval_world(make, db)
    j = w["jury"]
    draft = pvs(db, j.id)[0]
    assert "Projet soumis à l'approbation des membres du jury" in text_of(draft.pdf)
    state = approval.status(j)
    assert state.mode == "a_approuver" and len(state.manquants) == 3
    assert [m.nom_complet for m in state.sans_compte] == ["Paul Papier"]
    # Members in any order; the president is refused while one of them has not approved.
    approve(w, "cfdt")
    with pytest.raises(RuleViolation, match="en dernier : 2 membre"):
        approve(w, "president")
    db.session.rollback()
    approve(w, "employeur1")
    approve(w, "employeur0")
    assert pvs(db, j.id) == [draft] and draft.statut == "valide"   # nothing issued before him
    row = approve(w, "president")
    rows = db.session.query(ApprobationPV).filter_by(document_id=draft.id).all()
    assert len(rows) == 4 and {r.sha256 for r in rows} == {draft.sha256}
    assert {r.user_id for r in rows} == {w[k].id for k in ("president", "employeur0",
                                                          "employeur1", "cfdt")}
    old, new = pvs(db, j.id)
    assert old.id == draft.id and old.statut == "revoque" and "approuvé par le jury" in \
        old.motif_revocation
    assert new.statut == "valide" and new.remplace_id == draft.id and row.pv_emis_id == new.id
    assert new.numero.startswith(draft.numero) and new.emis_par_id == w["president"].id
    text = text_of(new.pdf)
    assert "Approbation du procès-verbal par le jury" in text
    assert draft.sha256 in text.replace(" ", "")
    for k in ("president", "employeur0", "employeur1", "cfdt"):
        assert f"{w[k].first_name} {w[k].last_name}" in text
    assert "Paul Papier" in text and "sans compte" in text
    when = approval._when(row.approuve_le)
    assert when.split(" à ")[0] in text                                # Paris time, dd/mm/yyyy
    assert check(new.pdf).etat == "intact"                            # sealed as issued
    from app.reports.pdfa import problems
    assert problems(draft.pdf) == [] and problems(new.pdf) == []      # PDF/A-2b, fonts embedded
    assert approval.status(j).mode == "approuve"


def test_refused_to_non_member_guest_and_without_vote(make, db):  # R-JUR-5 R-ACC-5
    w = approval_world(make, db)
    with pytest.raises(PerimeterViolation):
        approve(w, "autre")                   # a jury account not sitting on this jury
    with pytest.raises(NotAllowed):
        approval.approve(P(w["sec"]), w["jury"])  # the secretariat does not approve
    with pytest.raises(NotAllowed, match="invités"):
        approve(w, "invite")
    db.session.rollback()
    member = next(m for m in w["jury"].membres if m.user_id == w["employeur1"].id)
    member.votant = False
    db.session.commit()
    with pytest.raises(NotAllowed):
        approve(w, "employeur1")
    db.session.rollback()
    assert db.session.query(ApprobationPV).count() == 0


def test_twice_and_after_the_approved_pv(make, db):  # R-JUR-8
    w = approval_world(make, db)
    approve(w, "cfdt")
    with pytest.raises(AlreadyDone, match="déjà approuvé"):
        approve(w, "cfdt")
    db.session.rollback()
    for k in ("employeur0", "employeur1", "president"):
        approve(w, k)
    with pytest.raises(AlreadyDone):
        approve(w, "president")
    db.session.rollback()
    with pytest.raises(NotAllowed):
        approve(w, "invite")
    db.session.rollback()
    # A seat added to the record after the approved PV (a correction of the composition) cannot
    # approve what is already approved.
    late = make.user("jury", dispositif=w["jury"].dispositif)
    from app.models.jury import JuryMembre
    db.session.add(JuryMembre(jury_id=w["jury"].id, user_id=late.id, college="employeurs"))
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(RuleViolation, match="approuvé est déjà émis"):
        approval.approve(P(late), w["jury"])
    db.session.rollback()
    assert len(pvs(db, w["jury"].id)) == 2 and db.session.query(ApprobationPV).count() == 4


def test_not_before_the_pv_is_issued(make, db):  # R-DOC-1
    w = approval_world(make, db, issue=False)
    with pytest.raises(RuleViolation, match="pas encore émis"):
        approve(w, "cfdt")


def test_paper_signature_where_the_dispositif_keeps_it(make, db):  # R-JUR-8 R-DOC-1
    w = approval_world(make, db, papier=True)
    with pytest.raises(RuleViolation, match="sur papier"):
        approve(w, "cfdt")
    db.session.rollback()
    assert approval.status(w["jury"]).mode == "papier"
    assert approval.pending_count(w["cfdt"].id) == 0
    text = text_of(pvs(db, w["jury"].id)[0].pdf)
    assert "Le Président du Jury Paritaire de Délibération" in text and "approbation" not in text


def test_second_factor_when_the_account_has_one(make, db):  # R-ACC-1
    w = approval_world(make, db)
    for k in ("cfdt", "employeur0", "employeur1"):
        approve(w, k)
    code = enable_totp(db, w["president"])
    with pytest.raises(RuleViolation, match="Saisissez le code"):
        approve(w, "president")
    db.session.rollback()
    with pytest.raises(RuleViolation, match="incorrect"):
        approve(w, "president", code="000000" if code.now() != "000000" else "111111")
    db.session.rollback()
    row = approve(w, "president", code=code.now())
    assert row.second_facteur == "totp" and row.pv_emis_id is not None
    assert "Code de l'application d'authentification" in text_of(pvs(db, w["jury"].id)[1].pdf)


def test_todo_of_each_member(make, db):  # issue 16: the count is the list it opens
    w = approval_world(make, db)
    counts = lambda: {k: approval.pending_count(w[k].id)
                      for k in ("president", "employeur0", "cfdt", "invite", "autre")}
    assert counts() == {"president": 0, "employeur0": 1, "cfdt": 1, "invite": 0, "autre": 0}
    for k in ("cfdt", "employeur0", "employeur1"):
        approve(w, k)
    assert counts() == {"president": 1, "employeur0": 0, "cfdt": 0, "invite": 0, "autre": 0}
    jury, pv = approval.pending_query(w["president"].id).one()
    assert jury.id == w["jury"].id and pv.statut == "valide"
    approve(w, "president")
    assert set(counts().values()) == {0}
    from app.models.notification import Notification
    told = {n.user_id for n in db.session.query(Notification).filter(
        Notification.titre.contains("à approuver"))}
    assert told == {w[k].id for k in ("president", "employeur0", "employeur1", "cfdt")}


def test_same_person_twice_at_once_records_one_approval(app, make, db):  # R-JUR-8
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is checked on PostgreSQL (SQLite serialises every writer).")
    from flask_appbuilder.security.sqla.models import User

    from app.models.jury import Jury
    from tests.test_jury_concurrency import engine_with_room
    w = approval_world(make, db)
    jury_id = w["jury"].id
    ids = {k: w[k].id for k in ("cfdt", "employeur0", "employeur1", "president")}

    def race(user_id):
        barrier = threading.Barrier(2, timeout=60)
        done, errors = [], []

        def worker():
            from app.extensions import db as tdb
            with app.app_context():
                try:
                    p = P(tdb.session.get(User, user_id))
                    jury = tdb.session.get(Jury, jury_id)
                    barrier.wait()
                    approval.approve(p, jury)
                    tdb.session.commit()
                    done.append("approuvé")
                except AlreadyDone as exc:
                    tdb.session.rollback()
                    done.append(str(exc))
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
        assert errors == []
        assert len(done) == 2 and done.count("approuvé") == 1, done
        assert "déjà approuvé" in next(d for d in done if d != "approuvé")

    db.session.remove()
    race(ids["cfdt"])                       # a member: one row for (PV, seat)
    assert db.session.query(ApprobationPV).filter_by(jury_id=jury_id).count() == 1
    for k in ("employeur0", "employeur1"):
        approval.approve(P(db.session.get(User, ids[k])), db.session.get(Jury, jury_id))
        db.session.commit()
    db.session.remove()
    race(ids["president"])                  # the president: one approved PV, not two
    assert db.session.query(ApprobationPV).filter_by(jury_id=jury_id).count() == 4
    assert [d.statut for d in pvs(db, jury_id)] == ["revoque", "valide"]


# -- the API and the dispositif setting --------------------------------------------------------
def test_api_approval_with_a_token(app, make, db):  # R-JUR-8 R-ACC-5
    from tests.test_api_tokens import bearer, jwt_for
    w = approval_world(make, db)
    j = w["jury"]
    api = app.test_client()
    url = f"/api/v1/jury/{j.id}/pv/approbations"
    h = {k: bearer(jwt_for(app, w[k])) for k in ("cfdt", "employeur0", "employeur1", "president",
                                               "invite", "autre", "sec")}
    state = api.get(url, headers=h["sec"]).get_json()["result"]
    assert state["mode"] == "a_approuver" and state["pv"]["sha256"] == pvs(db, j.id)[0].sha256
    assert [m["approuve_le"] for m in state["membres"]] == [None] * 3
    assert state["sans_compte"] == ["Paul Papier"]
    assert api.get(url, headers=h["autre"]).status_code == 404         # not on this jury
    assert api.post(url, headers=h["autre"], json={}).status_code == 404
    assert api.post(url, headers=h["sec"], json={}).status_code == 403
    assert api.post(url, headers=h["invite"], json={}).status_code == 403
    r = api.post(url, headers=h["president"], json={})
    assert r.status_code == 422 and "en dernier" in r.get_json()["message"]
    assert api.post(url, headers=h["cfdt"], json={"code": 12}).status_code == 422
    r = api.post(url, headers=h["cfdt"], json={})
    assert r.status_code == 201 and r.get_json()["result"]["pv_approuve_id"] is None
    assert api.post(url, headers=h["cfdt"], json={}).status_code == 409
    for k in ("employeur0", "employeur1"):
        assert api.post(url, headers=h[k], json=[]).status_code == 201
    r = api.post(url, headers=h["president"], json={})
    assert r.status_code == 201 and r.get_json()["result"]["pv_approuve_id"] == pvs(db, j.id)[1].id
    state = api.get(url, headers=h["cfdt"]).get_json()["result"]
    assert state["mode"] == "approuve" and state["president"]["approuve_le"]
    assert api.get("/api/v1/jury/2147483648/pv/approbations", headers=h["sec"]).status_code == 404


def test_paper_signature_is_a_setting_of_the_dispositif(make, db, login_as):  # R-JUR-8
    from tests.journeys.forms import follow, open_page
    disp = make.ref["METALLURGIE"]
    client = login_as(make.user("admin"))
    page = open_page(client, f"/dispositifview/edit/{disp.id}")
    form = page.form(has="pv_signature_papier")
    assert "signé sur papier par le président" in page.text
    form.check("pv_signature_papier")
    follow(client, form.submit())
    db.session.expire_all()
    assert disp.pv_signature_papier is True


# -- a president without an account signs on paper (issue 16 review item 3) -------------------
def test_president_without_account_signs_on_paper_recorded_by_the_secretariat(make, db,
                                                                                login_as):
    from tests.journeys.forms import follow, open_page
    from tests.journeys.steps import alerts
    w = approval_world(make, db, president_account=False)
    j = w["jury"]
    draft = pvs(db, j.id)[0]
    sec = login_as(w["sec"])
    page = open_page(sec, f"/jurys/show/{j.id}")
    waited = [f"{w[k].first_name} {w[k].last_name}" for k in ("employeur0", "employeur1", "cfdt")]
    assert all(name in page.text for name in waited)
    assert ("(3 membre(s) votant(s)), puis de la signature sur papier du président, "
            "Jeanne Lambert, que le secrétariat enregistre ici") in page.text
    assert 'id="form-signature-papier"' not in page.html        # the members approve first
    with pytest.raises(RuleViolation, match="en dernier : 3 membre"):
        approval.record_paper_signature(P(w["sec"]), j, TODAY)
    db.session.rollback()
    for k in ("cfdt", "employeur0", "employeur1"):
        approve(w, k)
    page = open_page(sec, f"/approbation-pv/{j.id}")
    assert "membre(s) votant(s)" not in page.text
    assert ("en attente de la signature sur papier du président, Jeanne Lambert, que le "
            "secrétariat enregistre ici") in page.text
    # A date missing, then in the future: refused beside the field, nothing issued.
    form = page.form(id="form-signature-papier")
    page = follow(sec, form.submit())
    assert 'id="erreur-signe_le">Indiquez la date' in page.html and pvs(db, j.id) == [draft]
    form = page.form(id="form-signature-papier")
    form.fill(signe_le=(TODAY + dt.timedelta(days=1)).isoformat())
    page = follow(sec, form.submit())
    assert page.form(id="form-signature-papier").get("signe_le") == \
        (TODAY + dt.timedelta(days=1)).isoformat()
    assert 'id="erreur-signe_le">La date de signature va du' in page.html
    # A member may not record it.
    with pytest.raises(NotAllowed):
        approval.record_paper_signature(P(w["cfdt"]), j, TODAY)
    db.session.rollback()
    form = page.form(id="form-signature-papier").fill(signe_le=TODAY.isoformat())
    r = form.submit()
    assert r.headers["Location"].endswith(f"/jurys/show/{j.id}")
    page = follow(sec, r)
    assert any("Signature du président sur papier enregistrée" in a
               for a in alerts(page, "success")), alerts(page, "success")
    old, new = pvs(db, j.id)
    assert old.statut == "revoque" and new.statut == "valide" and new.remplace_id == old.id
    row = db.session.query(ApprobationPV).filter_by(document_id=draft.id, president=True).one()
    assert row.user_id is None and row.signe_sur_papier_le == TODAY
    assert row.enregistre_par_id == w["sec"].id and row.pv_emis_id == new.id
    recorder = f"{w['sec'].first_name} {w['sec'].last_name}"
    text = " ".join(text_of(new.pdf).split())
    assert f"signé sur papier par son président, le {TODAY:%d/%m/%Y}" in text
    assert f"enregistrée dans la plateforme par {recorder}" in text
    assert f"Signé sur papier le {TODAY:%d/%m/%Y}" in text
    assert approval.status(j).mode == "approuve"
    assert f"Signé sur papier le {TODAY:%d/%m/%Y} (enregistré par {recorder}" in \
        open_page(sec, f"/jurys/show/{j.id}").text
    # The same form sent again records nothing more.
    r = form.submit()
    assert db.session.query(ApprobationPV).filter_by(jury_id=j.id, president=True).count() == 1
    assert len(pvs(db, j.id)) == 2


def test_every_seat_without_an_account_waits_only_for_the_paper_signature(make, db, login_as):
    from tests.journeys.forms import open_page
    w = approval_world(make, db, president_account=False)
    j = w["jury"]
    for m in j.membres:
        if m.college != "president" and m.user_id is not None:
            m.nom, m.prenom, m.user_id = "Seat", str(m.id), None
    db.session.commit()
    page = open_page(login_as(w["sec"]), f"/jurys/show/{j.id}")
    assert "0 membre" not in page.text and "membre(s) votant(s)" not in page.text
    assert "en attente de la signature sur papier du président, Jeanne Lambert" in page.text
    assert 'id="form-signature-papier"' in page.html


def test_paper_signature_recorded_twice_at_once_issues_one_approved_pv(app, make, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is checked on PostgreSQL (SQLite serialises every writer).")
    from flask_appbuilder.security.sqla.models import User

    from app.models.jury import Jury
    from tests.test_jury_concurrency import engine_with_room
    w = approval_world(make, db, president_account=False)
    for k in ("cfdt", "employeur0", "employeur1"):
        approve(w, k)
    jury_id, sec_id = w["jury"].id, w["sec"].id
    db.session.remove()
    barrier = threading.Barrier(2, timeout=60)
    done, errors = [], []

    def worker():
        from app.extensions import db as tdb
        with app.app_context():
            try:
                p = P(tdb.session.get(User, sec_id))
                jury = tdb.session.get(Jury, jury_id)
                barrier.wait()
                approval.record_paper_signature(p, jury, TODAY)
                tdb.session.commit()
                done.append("enregistré")
            except AlreadyDone as exc:
                tdb.session.rollback()
                done.append(str(exc))
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
    assert errors == []
    assert sorted(d == "enregistré" for d in done) == [False, True], done
    assert "déjà enregistrée" in next(d for d in done if d != "enregistré")
    assert db.session.query(ApprobationPV).filter_by(jury_id=jury_id, president=True).count() == 1
    assert [d.statut for d in pvs(db, jury_id)] == ["revoque", "valide"]
