"""Jurys (issue 5): calendar, registration within capacity, composition and convocations,
deliberation, closing and the consequences of the decisions.

Rules: R-JUR-1…10, R-DEC-1…3, R-DEC-5, R-WF-4, R-DOC-6 (decision sheet)."""
import csv
import datetime as dt
import io

import pytest

from app.errors import PerimeterViolation, RuleViolation
from app.models import Passerelle
from app.models.candidature import Candidature, Document
from app.models.jury import AcquisCompetence, AttributionCertification, InscriptionJury, Jury
from app.models.notification import Notification
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.security.perimeter import perimetre_of as P
from app.workflow import pieces as documents
from app.workflow.dossier import candidatures
from app.workflow.engine import NotAllowed
from app.workflow.evaluation import common as evaluations
from app.workflow.jury import acquis as acquis_wf
from app.workflow.jury import composition as composition_wf
from app.workflow.jury import deliberation as deliberation_wf
from app.workflow.jury import registration as registration_wf
from app.workflow.jury import sessions as jurys
from tests.conftest import outbox

TODAY = dt.date.today()
ADMIN = Perimetre(None, "admin", None, None)


def jour_j(db, jury):
    """The jury's day has come (its registrations were taken before the deadline)."""
    jury.date, jury.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    db.session.commit()


def secretariat(make, code="CHIMIE"):
    return make.user("secretariat", dispositif=make.ref[code])


def presided(db, jury):
    """The least composition a jury closes with (R-JUR-5 where paritaire, else its president)."""
    composition_wf.add_member(ADMIN, jury, "president", nom="Président", prenom="Paul",
                     email="president@test.invalid")
    db.session.commit()
    return jury


def register(db, c, jury=None, by=None):
    reg = registration_wf.register_to_jury(P(by or c.createur), c, jury)
    db.session.commit()
    return reg


# --- calendar (R-JUR-1..3) -------------------------------------------------------------------------
def test_calendar_last_and_next_juries_per_certificateur_for_every_role(make, db, login_as):  # R-JUR-1
    make.jury("CHIMIE", date=TODAY + dt.timedelta(days=30), lieu="Paris")
    make.jury("CHIMIE", date=TODAY + dt.timedelta(days=90), lieu="Lyon", modalite="distance")
    for jury, days in ((make.jury("CHIMIE"), 20),
                       (make.jury("CLEA", certificateur="Transitions Pro Corse", region="Corse"), 3)):
        jury.date_limite_inscription = jury.date = TODAY - dt.timedelta(days=days)  # held
    db.session.commit()
    groups = {g["certificateur"]: g for g in jurys.calendar()}
    chimie = groups["CPNE des Industries Chimiques"]
    assert chimie["dernier"].date == TODAY - dt.timedelta(days=20)
    assert [j.lieu for j in chimie["prochains"]] == ["Paris", "Lyon"]
    assert groups["Transitions Pro Corse"]["prochains"] == []
    for role, kw in [("employeur", {"entreprise": make.entreprise()}),
                     ("utilisateur_etablissement", {"etablissement": make.etablissement()}),
                     ("evaluateur", {}), ("manager", {}), ("jury", {})]:
        page = login_as(make.user(role, **kw)).get("/jurys-calendrier/")
        assert page.status_code == 200, role
        html = page.get_data(as_text=True)
        assert (TODAY + dt.timedelta(days=90)).strftime("%d/%m/%Y") in html
        assert "Transitions Pro Corse" in html and "Aucun jury" in html


def test_calendar_a_jury_closed_today_is_the_last_not_an_upcoming_one(make, db):  # R-JUR-1
    today_jury = make.jury("CHIMIE")
    today_jury.date_limite_inscription = today_jury.date = TODAY
    make.jury("CHIMIE", date=TODAY + dt.timedelta(days=30), lieu="Paris")
    db.session.commit()
    group = {g["certificateur"]: g for g in jurys.calendar()}["CPNE des Industries Chimiques"]
    assert today_jury in group["prochains"]  # planned for today: still to come
    today_jury.etat, today_jury.clos_le = "clos", dt.datetime.now(dt.UTC).replace(tzinfo=None)
    db.session.commit()
    group = {g["certificateur"]: g for g in jurys.calendar()}["CPNE des Industries Chimiques"]
    assert group["dernier"] is today_jury
    assert [j.lieu for j in group["prochains"]] == ["Paris"]


def test_jury_defaults_capacity_and_deadline_from_the_dispositif(make, db):  # R-JUR-2 R-JUR-3
    sec = secretariat(make)
    day = TODAY + dt.timedelta(days=60)
    j = jurys.create_jury(P(sec), make.ref["CHIMIE"], day, lieu="Paris")
    assert j.capacite == make.ref["CHIMIE"].capacite_jury_defaut == 30
    assert j.date_limite_inscription == day - dt.timedelta(days=21)
    assert j.certificateur == "CPNE des Industries Chimiques" and j.etat == "planifie"
    with pytest.raises(RuleViolation) as exc:
        jurys.create_jury(P(sec), make.ref["CHIMIE"], day, capacite=0)
    assert exc.value.rule == "R-JUR-3"
    with pytest.raises(RuleViolation) as exc:
        jurys.create_jury(P(sec), make.ref["CHIMIE"], day, date_limite_inscription=day + dt.timedelta(1))
    assert exc.value.rule == "R-JUR-2"
    # Only the dispositif's own secretariat organises its juries (R-DIS-1).
    with pytest.raises(PerimeterViolation):
        jurys.create_jury(P(sec), make.ref["CLEA"], day)
    with pytest.raises(NotAllowed):
        jurys.create_jury(P(make.user("manager")), make.ref["CHIMIE"], day)


def test_secretariat_creates_a_jury_through_the_screen(make, db, login_as):  # R-JUR-1 R-JUR-3
    sec = secretariat(make)
    client = login_as(sec)
    day = TODAY + dt.timedelta(days=50)
    r = client.post("/jurys/add", data={"dispositif": str(make.ref["CHIMIE"].id),
                                        "date": day.isoformat(), "lieu": "Paris",
                                        "modalite": "presentiel", "capacite": "2",
                                        "certificateur": "", "date_limite_inscription": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    j = db.session.query(Jury).one()
    assert (j.capacite, j.date_limite_inscription) == (2, day - dt.timedelta(days=21))
    assert client.get("/jurys/list/").status_code == 200
    assert "Paris" in client.get(f"/jurys/show/{j.id}").get_data(as_text=True)
    # Another dispositif's secretariat neither sees nor changes it.
    other = login_as(secretariat(make, "CLEA"))
    assert other.get(f"/jurys/show/{j.id}").status_code == 404


# --- registration (R-JUR-2..4) -----------------------------------------------------------------------
def test_employer_registers_before_the_deadline_after_both_evaluators(make, db):  # R-JUR-2
    j = make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE")
    reg = register(db, c, j)
    assert reg.jury.id == j.id and not reg.reported
    assert c.statut == "en_attente_jury" and c.locked
    assert jurys.active_inscription(c).numero_anonyme >= 1000
    assert any(h.action == "inscription_jury" for h in c.historique)
    # A dossier whose métier evaluator has not written cannot be registered yet.
    early = make.candidature("CHIMIE")
    ev_user = make.evaluateur(early.certification, region="Île-de-France").user
    candidatures.confirm_evaluator(P(early.createur), early, evaluateur=ev_user.id,
                                   date_evaluation=TODAY)
    db.session.commit()
    with pytest.raises(RuleViolation):
        register(db, early, j)
    db.session.rollback()
    # After the deadline (3 weeks before), this jury takes no more dossiers.
    late = make.jury("CHIMIE", date=TODAY + dt.timedelta(days=10), certificateur="Autre CPNE")
    assert late.date_limite_inscription < TODAY
    with pytest.raises(RuleViolation, match="closes depuis"):
        register(db, make.dossier_pret_jury("CHIMIE"), late)


def test_who_registers_depends_on_the_dispositif(make, db):  # R-JUR-2
    j = make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE")
    stranger = make.user("utilisateur_etablissement", etablissement=make.etablissement())
    with pytest.raises(RuleViolation):
        register(db, c, j, by=stranger)
    db.session.rollback()
    # VAE de droit commun: the secretariat registers, not the employer (seed 001).
    c.vae, c.parcours = True, "3"
    db.session.commit()
    with pytest.raises(NotAllowed, match="secrétariat"):
        register(db, c, j)
    db.session.rollback()
    assert register(db, c, j, by=secretariat(make)).jury.id == j.id


def test_clea_sent_to_certification_goes_to_the_next_open_jury(make, db):  # R-JUR-2 R-JUR-4
    c = make.dossier_pret_jury("CLEA")
    # No jury open: the dossier waits for an assignment by the secretariat.
    candidatures.send_to_certification(P(c.createur), c)
    db.session.commit()
    assert c.statut == "en_attente_jury" and jurys.active_inscription(c) is None
    with pytest.raises(NotAllowed):  # the organisation does not pick a jury itself
        register(db, c, None, by=c.createur)
    db.session.rollback()
    j = make.jury("CLEA", capacite=5)
    sec = secretariat(make, "CLEA")
    regs = jurys.assign_waiting(P(sec), j)
    db.session.commit()
    assert [r.inscription.candidature_id for r in regs] == [c.id]
    # The next one is registered automatically when sent.
    c2 = make.dossier_pret_jury("CLEA")
    candidatures.send_to_certification(P(c2.createur), c2)
    db.session.commit()
    assert jurys.active_inscription(c2).jury_id == j.id


def test_full_jury_sends_the_dossier_to_the_next_jury_and_says_so(make, db):  # R-JUR-3 R-JUR-4
    full = make.jury("CHIMIE", capacite=1, lieu="Paris")
    other_body = make.jury("CHIMIE", date=TODAY + dt.timedelta(days=35), certificateur="CPNE bis")
    nxt = make.jury("CHIMIE", date=TODAY + dt.timedelta(days=40), lieu="Lyon")
    first, second = make.dossier_pret_jury("CHIMIE"), make.dossier_pret_jury("CHIMIE")
    assert register(db, first, full).jury.id == full.id
    reg = register(db, second, full)
    assert reg.reported and reg.jury.id == nxt.id != other_body.id  # same certificateur
    assert "complet" in reg.message and "jury suivant" in reg.message
    assert reg.inscription.report_de_id == full.id
    note = db.session.query(Notification).filter(
        Notification.user_id == second.createur.id, Notification.rubrique == "jury").one()
    assert "complet" in note.contenu
    assert jurys.count_active(full.id) == 1
    # Without a jury asked for, the next one with room is chosen.
    third = make.dossier_pret_jury("CHIMIE")
    assert register(db, third).jury.id == other_body.id


def test_dossier_page_button_registers_to_the_next_jury(make, db, login_as):  # R-JUR-2
    j = make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE")
    client = login_as(c.createur)
    page = client.get(f"/inscription-jury/{c.id}")
    assert page.status_code == 200 and j.date.strftime("%d/%m/%Y") in page.get_data(as_text=True)
    r = client.post(f"/inscription-jury/{c.id}", data={"jury": str(j.id), "commentaire": ""})
    assert r.status_code == 302
    db.session.expire_all()
    assert jurys.active_inscription(c).jury_id == j.id


def test_unlock_withdraws_the_registration_until_the_jury_deliberates(make, db):  # R-WF-3
    j = make.jury("METALLURGIE")
    c = make.dossier_pret_jury("METALLURGIE")
    register(db, c, j)
    sec = secretariat(make, "METALLURGIE")
    candidatures.unlock(P(sec), c)
    db.session.commit()
    assert jurys.active_inscription(c) is None and c.statut == "evaluation"
    register(db, c, j)
    jour_j(db, j)
    deliberation_wf.record_decision(P(sec), jurys.active_inscription(c), "admis")
    db.session.commit()
    with pytest.raises(RuleViolation, match="délibérer"):
        candidatures.unlock(P(sec), c)


# --- composition and convocations (R-JUR-5, R-JUR-6) -------------------------------------------------
def _add(jury, college, **kw):
    return composition_wf.add_member(ADMIN, jury, college, **kw)


@pytest.mark.parametrize("build, message", [
    (lambda j: [_add(j, "employeurs", nom=f"E{i}") for i in range(6)], "au plus 5"),
    (lambda j: [_add(j, "interim", nom=f"I{i}") for i in range(2)], "travail temporaire"),
    (lambda j: [_add(j, "salaries", nom="Bis", syndicat="CFDT", votant=True)], "un seul représentant votant"),
    (lambda j: [m.__setattr__("votant", False) for m in j.membres if m.syndicat == "CGT"], "0 votants"),
    (lambda j: [j.membres.remove(j.president_membre)], "président"),
    (lambda j: [j.president_membre.__setattr__("votant", False)], "prépondérante"),
])
def test_composition_rules(make, db, build, message):  # R-JUR-5
    j = make.jury("METALLURGIE")
    make.jury_compose(j)
    assert composition_wf.check_composition(j) == []
    build(j)
    db.session.flush()
    assert any(message in pb for pb in composition_wf.check_composition(j)), composition_wf.check_composition(j)
    with pytest.raises(RuleViolation) as exc:
        composition_wf.convene(ADMIN, j)
    assert exc.value.rule == "R-JUR-5"


def test_one_voter_per_union_and_guests_without_vote(make, db):  # R-JUR-5
    j = make.jury("METALLURGIE")
    members = make.jury_compose(j)
    second = _add(j, "salaries", nom="Alterné", email="alt@test.invalid", syndicat="cfdt")
    guest = _add(j, "invite", nom="Tuteur", votant=True)
    assert not second.votant and not guest.votant  # the first designated votes; a guest never
    composition_wf.set_voter(ADMIN, second)
    assert second.votant and not members["CFDT"].votant
    assert composition_wf.check_composition(j) == []
    with pytest.raises(RuleViolation):
        _add(j, "salaries", nom="Sans syndicat")


def test_designations_then_convocations_15_days_before_with_copy_to_the_union(make, db):  # R-JUR-6
    j = make.jury("METALLURGIE", date=TODAY + dt.timedelta(days=30))
    sec = secretariat(make, "METALLURGIE")
    members = make.jury_compose(j, unions=("CFDT",))
    _add(j, "salaries", syndicat="FO", syndicat_email="fo@syndicat.invalid")  # to designate
    fo_account = make.user("jury", dispositif=make.ref["METALLURGIE"])
    fo_account.profil.organisation = "FO"
    db.session.commit()
    assert composition_wf.request_designations(P(sec), j) == 2
    db.session.commit()
    assert "désigner" in outbox(db, "fo@syndicat.invalid")[0].corps_texte
    assert db.session.query(Notification).filter_by(user_id=fo_account.id, rubrique="jury").count() == 1
    assert composition_wf.convene(P(sec), j) == 4
    db.session.commit()
    cfdt = members["CFDT"]
    mail = outbox(db, cfdt.user.email)[-1]
    assert mail.sujet.startswith("Convocation") and mail.copie == "cfdt@syndicat.invalid"
    assert outbox(db, "president@test.invalid")[-1].copie is None
    # FO designated nobody: invited as an organisation.
    assert any(m.sujet.startswith("Convocation") for m in outbox(db, "fo@syndicat.invalid"))
    assert j.etat == "convoque" and cfdt.convoque_le is not None
    # Too late: less than 15 days before the jury.
    soon = make.jury("METALLURGIE", date=TODAY + dt.timedelta(days=10))
    make.jury_compose(soon)
    for fn in (composition_wf.request_designations, composition_wf.convene):
        with pytest.raises(RuleViolation) as exc:
            fn(P(sec), soon)
        assert exc.value.rule == "R-JUR-6"


def test_composition_screen(make, db, login_as):  # R-JUR-5 R-JUR-6
    j = make.jury("METALLURGIE")
    client = login_as(secretariat(make, "METALLURGIE"))
    r = client.post(f"/jurys/composition/{j.id}/ajouter",
                    data={"college": "president", "nom": "Durand", "prenom": "Anne",
                          "email": "anne@test.invalid", "votant": ""})
    assert r.status_code == 302
    page = client.get(f"/jurys/composition/{j.id}").get_data(as_text=True)
    assert "Durand" in page and "délégation patronale n&#39;a aucun membre" in page
    client.post(f"/jurys/convoquer/{j.id}")
    db.session.expire_all()
    assert j.etat == "planifie"  # refused: R-JUR-5


# --- members' perimeter, deliberation (R-JUR-7, R-JUR-8, R-JUR-10) -----------------------------------
@pytest.fixture
def deliberating(make, db):
    """A chimie jury on its day with one dossier (2 of 4 competences acquired) and its members."""
    j = make.jury("CHIMIE")
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CHIMIE", acquis=2)
    ins = register(db, c, j).inscription
    jour_j(db, j)
    return j, members, c, ins


def test_jury_members_see_only_their_juries(deliberating, make, db, login_as):  # R-JUR-5 R-ACC-5
    j, members, c, ins = deliberating
    other = make.jury("CHIMIE", lieu="Marseille")
    c2 = make.dossier_pret_jury("CHIMIE")
    register(db, c2, other)
    member = members["CFDT"].user
    p = P(member)
    assert [x.id for x in perimeter.scoped_query(Jury, p)] == [j.id]
    assert perimeter.scoped_get(Candidature, c.id, p) is not None
    assert perimeter.scoped_get(Candidature, c2.id, p) is None
    assert perimeter.scoped_get(InscriptionJury, ins.id, p) is not None
    client = login_as(member)
    assert client.get(f"/jurys/show/{j.id}").status_code == 200
    assert client.get(f"/jurys/show/{other.id}").status_code == 404
    assert client.get(f"/jurys/deliberation/{other.id}").status_code == 404
    assert "Marseille" not in client.get("/jurys/list/").get_data(as_text=True)
    assert client.post(f"/jurys/cloturer/{j.id}").status_code == 403  # the secretariat closes


def test_deliberation_page_has_dossier_synthesis_and_pieces(deliberating, db, login_as):  # R-JUR-10 R-JUR-8
    j, members, c, ins = deliberating
    client = login_as(members["CGT"].user)
    html = client.get(f"/jurys/deliberation/{j.id}").get_data(as_text=True)
    ev = evaluations.latest(c)
    assert ev.resultats[0].competence.intitule in html and "Non acquise" in html
    assert "Proposition d'après l'évaluation : Partiel" in html  # R-DEC-1
    assert c.candidat.nom_complet in html  # not anonymous
    pieces = {d.type_piece: d for d in c.documents}
    assert {"dossier_candidat", "guide_evaluation"} <= set(pieces)
    r = client.get(f"/jurys/piece/{ins.id}/{pieces['guide_evaluation'].id}")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    foreign = db.session.query(Document).filter(Document.candidature_id != c.id).first()
    if foreign is not None:
        assert client.get(f"/jurys/piece/{ins.id}/{foreign.id}").status_code == 404


def test_anonymous_deliberation_shows_numbers(make, db, login_as):  # R-JUR-7
    j = make.jury("CHIMIE", anonyme=True)
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CHIMIE")
    ins = register(db, c, j).inscription
    jour_j(db, j)
    client = login_as(members["CFDT"].user)
    for url in (f"/jurys/deliberation/{j.id}", f"/jurys/show/{j.id}", f"/jurys/feuille/{j.id}/csv"):
        body = client.get(url).get_data(as_text=True)
        assert c.candidat.nom_naissance not in body and c.numero not in body, url
        assert str(ins.numero_anonyme) in body
    deliberation_wf.record_decision(P(members["CFDT"].user), ins, "valide")
    deliberation_wf.close_jury(P(secretariat(make)), j)
    db.session.commit()
    assert c.candidat.nom_naissance in client.get(f"/jurys/feuille/{j.id}/csv").get_data(as_text=True)


@pytest.mark.parametrize("acquis, proposal", [(4, "valide"), (2, "partiel"), (0, "non_valide")])
def test_decision_proposed_from_the_competences(make, db, acquis, proposal):  # R-DEC-1
    j = make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE", acquis=acquis)
    ins = register(db, c, j).inscription
    assert deliberation_wf.propose_decision(ins)["decision"] == proposal
    assert len(deliberation_wf.propose_decision(ins)["acquis"]) == acquis


def test_decision_must_match_the_competences_acquired(deliberating, make, db):  # R-DEC-1
    j, members, c, ins = deliberating
    p = P(members["CFDT"].user)
    comps = [r.competence_id for r in evaluations.latest(c).resultats]
    for decision, acquis in [("valide", comps[:3]), ("partiel", comps), ("partiel", []),
                             ("non_valide", comps[:1]), ("admis", comps)]:
        with pytest.raises(RuleViolation):
            deliberation_wf.record_decision(p, ins, decision, acquis)
    # The jury is sovereign: it may validate what the evaluation left partial.
    deliberation_wf.record_decision(p, ins, "valide", comps)
    assert ins.decision == "valide" and sorted(ins.competences_acquises) == sorted(comps)
    deliberation_wf.record_decision(p, ins, "partiel", comps[:1], commentaire="Une seule compétence")
    assert ins.competences_acquises == [comps[0]] and j.etat == "tenu"


def test_who_records_decisions_and_when(deliberating, make, db):  # R-JUR-8
    j, _members, c, ins = deliberating
    guest = make.user("jury")
    composition_wf.add_member(ADMIN, j, "invite", user=guest)
    outsider = make.user("jury")
    with pytest.raises(NotAllowed):
        deliberation_wf.record_decision(P(guest), ins, "partiel")
    with pytest.raises(PerimeterViolation):
        deliberation_wf.record_decision(P(outsider), ins, "partiel")
    with pytest.raises(NotAllowed):
        deliberation_wf.record_decision(P(c.createur), ins, "partiel")
    deliberation_wf.record_decision(P(secretariat(make)), ins, "partiel")
    future = make.jury("CHIMIE", lieu="Plus tard")
    c2 = make.dossier_pret_jury("CHIMIE")
    ins2 = register(db, c2, future).inscription
    with pytest.raises(RuleViolation, match="jour de sa réunion"):
        deliberation_wf.record_decision(ADMIN, ins2, "valide")


def test_members_deliberate_through_the_page(deliberating, db, login_as):  # R-JUR-8
    _j, members, c, ins = deliberating
    comps = [r.competence_id for r in evaluations.latest(c).resultats]
    client = login_as(members["CGT"].user)
    r = client.post(f"/jurys/decision/{ins.id}", data={
        "decision": "partiel", "acquis": [str(x) for x in comps[:3]], "commentaire": "=1+2"})
    assert r.status_code == 302
    db.session.expire_all()
    assert ins.decision == "partiel" and len(ins.competences_acquises) == 3
    assert ins.decide_par_id == members["CGT"].user_id
    r = client.post(f"/jurys/decision/{ins.id}", data={"decision": "valide", "acquis": []})
    db.session.expire_all()
    assert ins.decision == "partiel"  # refused (R-DEC-1), flashed


# --- complement loop (R-WF-4) --------------------------------------------------------------------
def test_clea_complement_request_returns_the_dossier_completed_to_a_jury(make, db):  # R-WF-4
    j = make.jury("CLEA", capacite=10)
    nxt = make.jury("CLEA", date=TODAY + dt.timedelta(days=60))
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CLEA")
    candidatures.send_to_certification(P(c.createur), c)
    db.session.commit()
    ins = jurys.active_inscription(c)
    assert ins.jury_id == j.id
    jour_j(db, j)
    member = P(members["CFDT"].user)
    with pytest.raises(RuleViolation):
        deliberation_wf.request_complement(member, ins, "  ")
    db.session.rollback()
    deliberation_wf.request_complement(member, ins, "Joindre l'attestation de l'employeur.")
    db.session.commit()
    assert c.statut == "en_attente_complement" and not ins.active and ins.etat == "complement"
    assert any("Complément" in n.titre for n in db.session.query(Notification).filter_by(
        user_id=c.createur.id))
    org = P(c.createur)
    with pytest.raises(RuleViolation):  # the complement must be added first
        candidatures.complete_and_resend(org, c)
    db.session.rollback()
    documents.add_document(org, c, filename="attestation.pdf", data=make.pdf("attestation"),
                           type_piece="complement")
    candidatures.complete_and_resend(org, c)
    db.session.commit()
    assert c.statut == "candidature_completee"
    again = jurys.active_inscription(c)
    assert again.jury_id == nxt.id  # the jury of today is closed for registrations
    jour_j(db, nxt)
    presided(db, nxt)
    deliberation_wf.record_decision(ADMIN, again, "certifiee")
    deliberation_wf.close_jury(P(secretariat(make, "CLEA")), nxt)
    db.session.commit()
    assert c.statut == "certifiee"
    # Chimie has no complement loop.
    cj = make.jury("CHIMIE")
    cc = make.dossier_pret_jury("CHIMIE")
    with pytest.raises(NotAllowed):
        deliberation_wf.request_complement(ADMIN, register(db, cc, cj).inscription, "Pièce")


# --- closing and consequences (R-JUR-9, R-DEC-2, R-DEC-3, R-DEC-5) -----------------------------------
def test_closing_publishes_every_decision_the_same_day(make, db, login_as):  # R-JUR-9
    j = make.jury("CHIMIE")
    members = make.jury_compose(j)
    full, part = make.dossier_pret_jury("CHIMIE"), make.dossier_pret_jury("CHIMIE", acquis=1)
    ins_full, ins_part = register(db, full, j).inscription, register(db, part, j).inscription
    jour_j(db, j)
    sec = secretariat(make)
    deliberation_wf.record_decision(P(members["CFDT"].user), ins_full, "valide")
    db.session.commit()
    with pytest.raises(RuleViolation, match="sans décision"):
        deliberation_wf.close_jury(P(sec), j)
    db.session.rollback()
    deliberation_wf.record_decision(P(members["CFDT"].user), ins_part, "partiel")
    db.session.commit()
    assert full.statut == "en_attente_jury" and full.decision is None  # not published yet
    r = login_as(sec).post(f"/jurys/cloturer/{j.id}")
    assert r.status_code == 302
    db.session.expire_all()
    assert (full.statut, part.statut) == ("valide", "partiel")
    assert full.decide_le == part.decide_le == j.date == TODAY
    assert j.etat == "clos" and ins_full.etat == "publie"
    for c in (full, part):
        notes = db.session.query(Notification).filter_by(user_id=c.createur.id,
                                                         rubrique="decision_jury").all()
        assert len(notes) == 1
        assert any("Décision du jury" in m.sujet for m in outbox(db, c.createur.email))
        assert outbox(db, c.candidat.email)[-1].sujet.startswith("Décision du jury")
    with pytest.raises(RuleViolation):
        deliberation_wf.record_decision(ADMIN, ins_part, "valide")


def test_partial_result_kept_and_a_new_dossier_starts_with_it(make, db):  # R-DEC-2
    j = make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE", acquis=2)
    ins = register(db, c, j).inscription
    jour_j(db, j)
    deliberation_wf.record_decision(ADMIN, ins, "partiel")
    make.jury_compose(j)
    deliberation_wf.close_jury(P(secretariat(make)), j)
    db.session.commit()
    rows = db.session.query(AcquisCompetence).filter_by(candidature_id=c.id).all()
    assert len(rows) == 2
    assert {r.valable_jusqu_au for r in rows} == {TODAY.replace(year=TODAY.year + 5)
                                                 if not (TODAY.month == 2 and TODAY.day == 29)
                                                 else dt.date(TODAY.year + 5, 2, 28)}
    assert "jusqu'au" in outbox(db, c.candidat.email)[-1].corps_texte
    # A new dossier for the same candidate and certification: those competences come acquired.
    again = make.candidature("CHIMIE", candidat=c.candidat, entreprise=c.entreprise,
                             by=c.createur, certification=c.certification)
    ev_user = make.evaluateur(c.certification, region="Île-de-France").user
    candidatures.confirm_evaluator(P(again.createur), again, evaluateur=ev_user.id,
                                   date_evaluation=TODAY)
    db.session.commit()
    pre = [r for r in evaluations.latest(again).resultats if r.pre_acquis]
    assert sorted(r.competence_id for r in pre) == sorted(ins.competences_acquises)
    assert "jury du" in pre[0].source
    # Once the benefit has run out, nothing is carried over.
    for r in rows:
        r.valable_jusqu_au = TODAY - dt.timedelta(days=1)
    db.session.commit()
    assert acquis_wf.acquis_valides(again) == {}


def test_benefit_duration_follows_the_dispositif(make, db):  # R-DEC-2
    from app.models import Certification
    chimie = make.dossier_pret_jury("CHIMIE", acquis=1)
    assert acquis_wf.benefit_months(chimie) == 60
    chimie.parcours = "2"
    assert acquis_wf.benefit_months(chimie) is None  # permanently unless the referential changes
    metal = make.candidature("METALLURGIE")
    assert metal.certification.rncp_code and acquis_wf.benefit_months(metal) == 60
    ccpm = db.session.query(Certification).filter_by(code="CCPM 2020 0007").one()
    metal.certification = ccpm
    assert acquis_wf.benefit_months(metal) == 24


def test_cqpm_cqpi_and_bloc_attributions(make, db, login_as):  # R-DEC-3
    from app.models import Certification
    j = make.jury("METALLURGIE")
    cqpm_ri = db.session.query(Certification).filter_by(code="CQPM 2021 0045 RI").one()
    admitted = make.dossier_pret_jury("METALLURGIE", certification=cqpm_ri)
    blocs = make.dossier_pret_jury("METALLURGIE", acquis=6)  # BDC0001 and BDC0002 of CQPM 2019
    failed_ccpm = make.dossier_pret_jury(
        "METALLURGIE", acquis=2,
        certification=db.session.query(Certification).filter_by(code="CCPM 2020 0007").one())
    ins = {c.id: register(db, c, j).inscription for c in (admitted, blocs, failed_ccpm)}
    jour_j(db, j)
    deliberation_wf.record_decision(ADMIN, ins[admitted.id], "admis")
    deliberation_wf.record_decision(ADMIN, ins[blocs.id], "non_admis")
    deliberation_wf.record_decision(ADMIN, ins[failed_ccpm.id], "non_admis")
    make.jury_compose(j)
    deliberation_wf.close_jury(P(secretariat(make, "METALLURGIE")), j)
    db.session.commit()

    def attributed(c):
        return sorted((a.nature, a.certification.code, a.bloc.code if a.bloc else None)
                      for a in db.session.query(AttributionCertification).filter_by(
                          candidature_id=c.id))
    assert attributed(admitted) == [("certification", "CQPM 2021 0045 RI", None),
                                    ("cqpi", "CQPM 2021 0045 RI (CQPI)", None)]
    assert attributed(blocs) == [("bloc", "CQPM 2019 0312 R", "BDC0001"),
                                 ("bloc", "CQPM 2019 0312 R", "BDC0002")]
    assert attributed(failed_ccpm) == []  # not in the RNCP: competences kept, no bloc
    assert db.session.query(AcquisCompetence).filter_by(candidature_id=failed_ccpm.id).count() == 2
    assert (admitted.statut, blocs.statut) == ("admis", "non_admis")
    # The dossier's « Décision » tab says what the decision gave, not only « Non admis ».
    page = login_as(blocs.createur).get(f"/dossier/{blocs.id}?onglet=decision").get_data(
        as_text=True)
    assert "Délivré par cette décision" in page and "BDC0001" in page and "BDC0002" in page
    assert "Dossier clos par la décision du jury" in page and "Inscrit au" not in page


def test_passerelle_information_after_a_validated_cqp(make, db):  # R-DEC-5
    j = make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE")
    part = make.dossier_pret_jury("CHIMIE", acquis=1, certification=c.certification)
    db.session.add(Passerelle(certification=c.certification, autre_branche="Industrie pharmaceutique",
                              certification_autre="CQP Conducteur de ligne pharma", nature="totale"))
    db.session.commit()
    ins, ins_part = register(db, c, j).inscription, register(db, part, j).inscription
    jour_j(db, j)
    deliberation_wf.record_decision(ADMIN, ins, "valide")
    deliberation_wf.record_decision(ADMIN, ins_part, "partiel")
    make.jury_compose(j)
    deliberation_wf.close_jury(P(secretariat(make)), j)
    db.session.commit()
    assert "CQP Conducteur de ligne pharma" in outbox(db, c.candidat.email)[-1].corps_texte
    assert any(h.action == "information_passerelle" for h in c.historique)
    assert "pharma" not in outbox(db, part.candidat.email)[-1].corps_texte
    assert acquis_wf.passerelles_info(c)[0].startswith("Passerelle (totale)")


# --- decision sheet (R-DOC-6) -------------------------------------------------------------------------
def test_decision_sheet_exports(deliberating, make, db, login_as):  # R-DOC-6
    import openpyxl
    from pypdf import PdfReader
    j, members, c, ins = deliberating
    deliberation_wf.record_decision(P(members["CFDT"].user), ins, "partiel", commentaire="=HYPERLINK(\"x\")")
    db.session.commit()
    acquired = [f"{r.competence.code} {r.competence.intitule}"
                for r in sorted(c.evaluations[-1].resultats, key=lambda r: r.ordre) if r.acquis]
    assert len(acquired) == 2
    for who in (members["CGT"].user, secretariat(make)):
        client = login_as(who)
        wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/jurys/feuille/{j.id}/xlsx").data))
        rows = list(wb.active.iter_rows(values_only=True))
        assert rows[0][0] == "N° anonyme" and "Décision" in rows[0]
        line = dict(zip(rows[0], rows[1]))
        assert line["Décision"] == "Partiel" and line["Nom"] == c.candidat.nom_naissance
        assert line["Commentaire"].startswith("'=")  # neutralised
        # The 2 competences of 4 the partial decision acquired, each « code title », « ; » between.
        assert line["Compétences / blocs acquis"] == " ; ".join(acquired)
    text = login_as(secretariat(make)).get(f"/jurys/feuille/{j.id}/csv").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert table[1][table[0].index("Décision")] == "Partiel"
    pdf = login_as(members["CGT"].user).get(f"/jurys/feuille/{j.id}/pdf")
    assert pdf.mimetype == "application/pdf"
    page_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Feuille de décision" in page_text and "Partiel" in page_text
    # Outside the perimeter: no sheet.
    assert login_as(make.user("jury")).get(f"/jurys/feuille/{j.id}/xlsx").status_code == 404


def test_jury_pages_do_not_query_per_dossier(make, db, login_as, queries):  # R-JUR-10
    j = make.jury("CHIMIE")
    make.jury_compose(j)
    sec = secretariat(make)
    client = login_as(sec)
    counts = []
    for _ in range(2):
        for _ in range(2):
            register(db, make.dossier_pret_jury("CHIMIE", acquis=2), j)
        db.session.expire_all()
        with queries() as statements:
            assert client.get(f"/jurys/deliberation/{j.id}").status_code == 200
            assert client.get(f"/jurys/show/{j.id}").status_code == 200
        counts.append(len(statements))
    assert counts[1] <= counts[0] + 2, counts


def test_closed_jury_issues_pv_attendance_certificates_and_letters(make, db, login_as):  # R-DEC-3 R-DEC-4
    from pypdf import PdfReader

    from app.models import Certification
    from app.models.document import DocumentEmis
    j = make.jury("METALLURGIE", lieu="Nantes")
    make.jury_compose(j, unions=("CFDT",))
    composition_wf.add_member(ADMIN, j, "salaries", syndicat="FO", syndicat_email="fo@syndicat.invalid")
    cqpm_ri = db.session.query(Certification).filter_by(code="CQPM 2021 0045 RI").one()
    admitted = make.dossier_pret_jury("METALLURGIE", certification=cqpm_ri)
    partial = make.dossier_pret_jury("METALLURGIE", acquis=6)
    sec = secretariat(make, "METALLURGIE")
    client = login_as(sec)
    assert client.post(f"/jurys/emettre/{j.id}/pv").status_code == 302  # not before closing
    assert db.session.query(DocumentEmis).count() == 0
    ins = {c.id: register(db, c, j).inscription for c in (admitted, partial)}
    jour_j(db, j)
    deliberation_wf.record_decision(ADMIN, ins[admitted.id], "admis")
    deliberation_wf.record_decision(ADMIN, ins[partial.id], "non_admis")
    deliberation_wf.close_jury(P(sec), j)
    db.session.commit()
    for kind in ("pv", "emargement", "certificat", "lettre_decision"):
        assert client.post(f"/jurys/emettre/{j.id}/{kind}").status_code == 302
    db.session.expire_all()
    issued = db.session.query(DocumentEmis).filter_by(jury_id=j.id).all()
    by_type = {}
    for d in issued:
        by_type.setdefault(d.type, []).append(d)
    assert sorted((t, len(v)) for t, v in by_type.items()) == [
        ("certificat", 4), ("emargement", 1), ("lettre_decision", 1), ("pv", 1)]
    assert sorted(d.modele for d in by_type["certificat"]) == [
        "certificat_bloc", "certificat_bloc", "certificat_cqpi", "certificat_cqpm"]

    def text(doc):
        return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(doc.pdf)).pages)
    pv = text(by_type["pv"][0])
    assert admitted.candidat.nom_naissance.upper() in pv and "Président" in pv
    assert "FO" in text(by_type["emargement"][0])  # the union that designated nobody
    assert by_type["lettre_decision"][0].modele == "lettre_validation_partielle"
    assert "BDC0001" in text(by_type["lettre_decision"][0])
    assert "jury du" in client.get(f"/jurys/show/{j.id}").get_data(as_text=True).lower()
