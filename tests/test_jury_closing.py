"""Issue 13, jury points: closing once and only when composed, CQPI by equivalence, CléA
deliberation through its form, re-convocation and designations once, anonymous pieces, who
decided and who closed. Screens are driven through their forms as rendered (tests/journeys/forms.py).

Rules: R-JUR-5, R-JUR-6, R-JUR-7, R-JUR-9, R-REF-2, R-DEC-3, R-EVA-5, R-EVA-6, R-WF-2, R-WF-5."""
import datetime as dt
from collections import Counter

import pytest

from app.errors import RuleViolation
from app.models.candidature import Historique
from app.models.jury import AttributionCertification
from app.models.notification import MailMessage, Notification
from app.security.perimeter import perimetre_of as P
from app.workflow import pieces as documents
from app.workflow.dossier import candidatures
from app.workflow.jury import composition as composition_wf
from app.workflow.jury import deliberation as deliberation_wf
from app.workflow.jury import sessions as jurys
from app.workflow.jury.acquis import cqpi_by_equivalence
from app.workflow.jury.composition import AlreadyDone
from tests.conftest import outbox
from tests.journeys.forms import follow, open_page
from tests.test_jurys import ADMIN, jour_j, presided, register, secretariat

TODAY = dt.date.today()


def _closed_world(make, db, n=2):
    """A chimie jury on its day, composed, with `n` decided dossiers."""
    j = make.jury("CHIMIE")
    members = make.jury_compose(j)
    dossiers = [make.dossier_pret_jury("CHIMIE") for _ in range(n)]
    regs = [register(db, c, j).inscription for c in dossiers]
    jour_j(db, j)
    for ins in regs:
        deliberation_wf.record_decision(P(members["CFDT"].user), ins, "valide")
    db.session.commit()
    return j, members, dossiers


def published_once(db, dossiers):
    """One decision line, one « Décision du jury » notification per holder, one e-mail per
    recipient for each dossier (rows or ids)."""
    from app.models.candidature import Candidature
    for c in dossiers:
        c = db.session.get(Candidature, c) if isinstance(c, int) else c
        lines = db.session.query(Historique).filter_by(candidature_id=c.id,
                                                       action="apply_decision").count()
        assert lines == 1, c.numero
        notes = db.session.query(Notification).filter_by(user_id=c.createur.id,
                                                         rubrique="decision_jury").count()
        assert notes == 1, c.numero
    sent = Counter((m.destinataire, m.sujet) for m in db.session.query(MailMessage)
                   if m.sujet.startswith("Décision du jury"))
    assert sent and max(sent.values()) == 1, sent


# --- point 2: closing is idempotent ------------------------------------------------------------
def test_p2_close_twice_in_a_row_publishes_once(make, db, login_as):  # R-JUR-9
    j, _members, dossiers = _closed_world(make, db)
    client = login_as(secretariat(make))
    form = open_page(client, f"/jurys/show/{j.id}").form(action=f"/jurys/cloturer/{j.id}")
    first = follow(client, form.submit())
    assert "Jury clos : 2 décision(s) publiée(s)" in first.text
    again = follow(client, form.submit())  # the same form sent a second time (double click)
    assert "déjà clos depuis le" in again.text and "rien n'a été publié" in again.text
    db.session.expire_all()
    assert j.etat == "clos"
    published_once(db, dossiers)
    with pytest.raises(AlreadyDone):
        deliberation_wf.close_jury(P(secretariat(make)), j)
    db.session.rollback()
    published_once(db, dossiers)
    assert db.session.query(AttributionCertification).count() == 2


# --- point 3: the composition the dispositif requires ---------------------------------------------
def test_p3_close_refused_without_a_president_then_allowed(make, db):  # R-JUR-5 R-JUR-9
    j = make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE")
    ins = register(db, c, j).inscription
    jour_j(db, j)
    deliberation_wf.record_decision(ADMIN, ins, "valide")
    db.session.commit()
    sec = P(secretariat(make))
    with pytest.raises(RuleViolation, match="président") as exc:
        deliberation_wf.close_jury(sec, j)
    assert exc.value.rule == "R-JUR-5"
    db.session.rollback()
    assert c.statut == "en_attente_jury"
    # The composition can still be completed once the jury is held (it is « tenu »).
    assert j.etat == "tenu"
    make.jury_compose(j)
    assert deliberation_wf.close_jury(sec, j) == 1
    db.session.commit()
    assert c.statut == "valide" and j.president


def test_p3_clea_jury_needs_its_president_not_the_paritaire_composition(make, db, login_as):  # R-JUR-5
    clea = make.jury("CLEA")
    metal = make.jury("METALLURGIE")
    for j in (clea, metal):
        presided(db, j)
    assert composition_wf.check_composition(clea) == []
    assert any("délégation patronale" in pb for pb in composition_wf.check_composition(metal))
    assert composition_wf.convene(P(secretariat(make, "CLEA")), clea) == 1
    db.session.commit()
    page = open_page(login_as(secretariat(make, "CLEA")), f"/jurys/composition/{clea.id}")
    assert "Composition conforme" in page.text and "btn-designations" not in page.html
    # The setting lives in the dispositif's settings screen, seeded per dispositif.
    assert (make.ref["CHIMIE"].jury_paritaire, make.ref["CLEA"].jury_paritaire,
            make.ref["METALLURGIE"].jury_paritaire) == (True, False, True)
    client = login_as(secretariat(make, "METALLURGIE"))
    form = open_page(client, f"/dispositifview/edit/{make.ref['METALLURGIE'].id}").form(
        has="jury_paritaire")
    form.uncheck("jury_paritaire")
    assert form.submit().status_code == 302
    db.session.expire_all()
    assert make.ref["METALLURGIE"].jury_paritaire is False
    assert composition_wf.check_composition(metal) == []


# --- point 5: CQPI by equivalence ------------------------------------------------------------------
def test_p5_cqpi_by_equivalence_attributed_with_the_cqp_and_certified(make, db, login_as):  # R-REF-2 R-DEC-3
    from app.workflow.jury.documents import certificate_items
    cqp = make.certification("CHIMIE", code="CQP-CHIMIE-08")  # agent logistique
    make.competences(cqp, count=4)  # an evaluation needs a référentiel (issue 13 point 9)
    assert [x.code for x in cqpi_by_equivalence(cqp)] == ["CQPI-04"]
    # The chemical creation form offers the request; a CléA établissement's does not.
    employer = make.user("employeur", entreprise=make.entreprise(region="Île-de-France"))
    form = open_page(login_as(employer), "/candidatures/nouvelle").form(has="certification")
    assert "cqpi_demande" in form.names()
    clea_etab = make.etablissement()
    make.habilitation(clea_etab, make.ref["CLEA"])
    org = make.user("utilisateur_etablissement", etablissement=clea_etab)
    assert "cqpi_demande" not in open_page(login_as(org), "/candidatures/nouvelle").form(
        has="certification").names()
    # Asked for with a CQP that gives no CQPI: refused.
    with pytest.raises(RuleViolation) as exc:
        make.candidature("CHIMIE", certification=make.certification("CHIMIE"), cqpi_demande=True)
    assert exc.value.field == "cqpi_demande"
    db.session.rollback()

    asked = make.dossier_pret_jury("CHIMIE", certification=cqp, cqpi_demande=True)
    plain = make.dossier_pret_jury("CHIMIE", certification=cqp)
    # The chemical dossier's edit form lets the request be changed until the dossier is sent.
    edit = open_page(login_as(plain.createur), f"/dossier/{plain.id}/modifier").form(
        id="form-candidature")
    assert edit.get("cqpi_demande") == []
    assert edit.check("cqpi_demande").submit().status_code == 302
    db.session.expire_all()
    assert plain.cqpi_demande is True
    edit = open_page(login_as(plain.createur), f"/dossier/{plain.id}/modifier").form(
        id="form-candidature")
    assert edit.get("cqpi_demande") == "y"
    assert edit.uncheck("cqpi_demande").submit().status_code == 302
    db.session.expire_all()
    assert plain.cqpi_demande is False
    assert "CQPI par équivalence" in login_as(asked.createur).get(
        f"/dossier/{asked.id}").get_data(as_text=True)
    j = make.jury("CHIMIE")
    make.jury_compose(j)
    ins = {c.id: register(db, c, j).inscription for c in (asked, plain)}
    jour_j(db, j)
    for i in ins.values():
        deliberation_wf.record_decision(ADMIN, i, "valide")
    deliberation_wf.close_jury(P(secretariat(make)), j)
    db.session.commit()

    def attributed(c):
        return sorted((a.nature, a.certification.code) for a in db.session.query(
            AttributionCertification).filter_by(candidature_id=c.id))
    assert attributed(asked) == [("certification", "CQP-CHIMIE-08"), ("cqpi", "CQPI-04")]
    assert attributed(plain) == [("certification", "CQP-CHIMIE-08")]
    items = sorted((i["candidature_id"], i["template"]) for i in certificate_items(j))
    assert items == sorted([(asked.id, "parchemin_cqp"), (asked.id, "certificat_cqpi"),
                            (plain.id, "parchemin_cqp")])
    # The certificate issuing issues the CQPI's certificate too.
    from app.models.document import DocumentEmis
    from app.workflow.jury.documents import issue_jury_documents
    issue_jury_documents(P(secretariat(make)), j, "certificat")
    db.session.commit()
    issued = sorted((d.candidature_id, d.modele) for d in db.session.query(DocumentEmis).filter_by(
        jury_id=j.id, type="certificat"))
    assert issued == items


# --- point 8: CléA « Certifiée » from the deliberation form ------------------------------------------
def test_p8_clea_certifiee_recorded_through_the_deliberation_form(make, db, login_as):  # R-EVA-5 R-EVA-6 R-WF-2
    j = make.jury("CLEA", capacite=10)
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CLEA")
    candidatures.send_to_certification(P(c.createur), c)
    db.session.commit()
    ins = jurys.active_inscription(c)
    jour_j(db, j)
    client = login_as(members["CFDT"].user)
    page = open_page(client, f"/jurys/deliberation/{j.id}")
    assert "le jury n'a rien à cocher" in page.text
    form = page.form(action=f"/jurys/decision/{ins.id}")
    assert "acquis" not in form.names()
    form.fill(decision="Certifiée")
    after = follow(client, form.submit())
    assert "Décision enregistrée" in after.text, after.text[:500]
    db.session.expire_all()
    assert ins.decision == "certifiee" and len(ins.competences_acquises) == 28
    # « Non certifiée » keeps nothing; « Certifiée » without a validated evaluation is refused.
    deliberation_wf.record_decision(P(members["CFDT"].user), ins, "non_certifiee")
    assert ins.competences_acquises == []
    from app.workflow.evaluation.common import latest
    latest(c, finalised_only=True).resultat = "non_valide"
    with pytest.raises(RuleViolation, match="évaluation finale validée"):
        deliberation_wf.record_decision(P(members["CFDT"].user), ins, "certifiee")


# --- point 12: re-convocation, designations once ----------------------------------------------------
def test_p12_convened_jury_moved_reconvenes_its_members(make, db, login_as):  # R-JUR-6
    j = make.jury("METALLURGIE", date=TODAY + dt.timedelta(days=40), lieu="Paris")
    members = make.jury_compose(j, unions=("CFDT",))
    sec = secretariat(make, "METALLURGIE")
    composition_wf.convene(P(sec), j)
    db.session.commit()
    before = len(outbox(db, "president@test.invalid"))
    client = login_as(sec)
    form = open_page(client, f"/jurys/edit/{j.id}").form(has="lieu")
    new_day = TODAY + dt.timedelta(days=50)
    form.fill(lieu="Lyon", date=new_day.isoformat())
    assert form.submit().status_code == 302
    db.session.expire_all()
    assert (j.lieu, j.date) == ("Lyon", new_day)
    mails = outbox(db, "president@test.invalid")[before:]
    assert len(mails) == 1 and mails[0].sujet.startswith("Jury modifié")
    assert "Lieu : Lyon (au lieu de Paris)" in mails[0].corps_texte
    assert f"Date : {new_day:%d/%m/%Y}" in mails[0].corps_texte
    union_member = outbox(db, members["CFDT"].user.email)[-1]
    assert union_member.sujet.startswith("Jury modifié")
    assert union_member.copie == "cfdt@syndicat.invalid"  # the mandating union has the copy
    # A new date that leaves the members less than 15 days is refused; nothing is sent.
    count = db.session.query(MailMessage).count()
    form = open_page(client, f"/jurys/edit/{j.id}").form(has="lieu")
    form.fill(date=(TODAY + dt.timedelta(days=5)).isoformat())
    r = form.submit()
    assert r.status_code == 200 and "déjà convoqués" in r.get_data(as_text=True)
    db.session.expire_all()
    assert j.date == new_day and db.session.query(MailMessage).count() == count
    # A jury nobody was convened to changes silently.
    other = make.jury("METALLURGIE", lieu="Paris")
    form = open_page(client, f"/jurys/edit/{other.id}").form(has="lieu")
    form.fill(lieu="Nantes")
    assert form.submit().status_code == 302
    assert db.session.query(MailMessage).count() == count


def test_p12_designations_refused_until_conform_and_sent_once(make, db, login_as):  # R-JUR-5 R-JUR-6
    j = make.jury("METALLURGIE", date=TODAY + dt.timedelta(days=30))
    sec = secretariat(make, "METALLURGIE")
    composition_wf.add_member(ADMIN, j, "salaries", syndicat="FO", syndicat_email="fo@syndicat.invalid")
    db.session.commit()
    client = login_as(sec)
    page = open_page(client, f"/jurys/composition/{j.id}")
    refused = follow(client, page.form(action=f"/jurys/designations/{j.id}").submit())
    assert "Complétez d'abord la composition" in refused.text
    assert outbox(db, "fo@syndicat.invalid") == []
    presided(db, j)
    composition_wf.add_member(ADMIN, j, "employeurs", nom="Patron", email="patron@test.invalid")
    db.session.commit()
    form = open_page(client, f"/jurys/composition/{j.id}").form(
        action=f"/jurys/designations/{j.id}")
    assert "Demande de désignation envoyée à 1" in follow(client, form.submit()).text
    second = follow(client, form.submit())
    assert f"déjà été demandées le {TODAY:%d/%m/%Y}" in second.text
    assert len(outbox(db, "fo@syndicat.invalid")) == 1
    # A union added later is asked on its own, the first one not again.
    composition_wf.add_member(ADMIN, j, "salaries", syndicat="CGT", syndicat_email="cgt@syndicat.invalid")
    db.session.commit()
    assert composition_wf.request_designations(P(sec), j) == 1
    db.session.commit()
    assert len(outbox(db, "fo@syndicat.invalid")) == 1 and len(outbox(db, "cgt@syndicat.invalid")) == 1


# --- point 13: anonymous deliberation hides file names ---------------------------------------------
def test_p13_anonymous_deliberation_hides_piece_file_names(make, db, login_as):  # R-JUR-7
    j = make.jury("CHIMIE", anonyme=True)
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CHIMIE")
    name = c.candidat.nom_naissance
    doc = documents.add_document(P(c.createur), c, filename=f"{name}-attestation.pdf",
                                 type_piece="attestation_formation", data=make.pdf("attestation"))
    db.session.commit()
    ins = register(db, c, j).inscription
    jour_j(db, j)
    client = login_as(members["CFDT"].user)
    page = open_page(client, f"/jurys/deliberation/{j.id}")
    assert name not in page.html and "outil4.pdf" not in page.html
    links = page.links(rf"/jurys/piece/{ins.id}/")
    assert len(links) >= 3
    for link in links:
        r = client.get(link)
        assert r.status_code == 200
        disposition = r.headers["Content-Disposition"]
        assert name not in disposition and f"candidat-{ins.numero_anonyme}" in disposition
    assert f"/jurys/piece/{ins.id}/{doc.id}" in links


# --- point 14: who decided, who closed ----------------------------------------------------------------
def test_p14_history_names_the_juror_who_decided_and_who_closed(make, db):  # R-WF-5 R-JUR-8
    j, members, dossiers = _closed_world(make, db, n=1)
    sec = secretariat(make)
    deliberation_wf.close_jury(P(sec), j)
    db.session.commit()
    juror = members["CFDT"].user
    lines = {h.action: h for h in db.session.query(Historique).filter_by(
        candidature_id=dossiers[0].id)}
    decision, closing = lines["apply_decision"], lines["cloture_jury"]
    assert decision.user_id == juror.id
    assert decision.auteur == f"{juror.first_name} {juror.last_name}"
    assert f"enregistrée par {juror.first_name} {juror.last_name}" in decision.libelle
    assert closing.user_id == sec.id and closing.auteur == f"{sec.first_name} {sec.last_name}"
    assert "Clôture du jury" in closing.libelle


def test_p15_no_convocation_date_on_a_jury_nobody_was_convened_to(make, db, login_as):
    """Held and closed without a convocation: no « Convoqué le » is made up (issue 13 p15)."""
    from tests.journeys.forms import open_page
    j, _, _ = _closed_world(make, db, n=1)
    sec = secretariat(make)
    deliberation_wf.close_jury(P(sec), j)
    db.session.commit()
    assert j.convoque_le is None
    page = open_page(login_as(sec), f"/jurys/show/{j.id}")
    assert "Convoqué le" not in page.text and "Clos le" in page.text


def test_designated_representative_takes_the_seat_waiting_for_the_union(make, db):  # R-JUR-5
    """The union named without a person, then its representative designated: one seat, which
    votes — not a pending « Désignation attendue » voter left beside the person."""
    from app.workflow.jury import composition as compo
    j = make.jury("METALLURGIE")
    sec = secretariat(make, "METALLURGIE")
    waiting = compo.add_member(P(sec), j, "salaries", syndicat="CFDT",
                               syndicat_email="cfdt@example.com")
    assert not waiting.designe and waiting.votant
    seat = compo.add_member(P(sec), j, "salaries", nom="Martin", prenom="Léa", syndicat="cfdt",
                            email="lea.martin@example.com")
    db.session.commit()
    cfdt = [m for m in j.membres if m.syndicat and m.syndicat.upper() == "CFDT"]
    assert cfdt == [seat] and seat is waiting
    assert seat.designe and seat.votant and seat.syndicat_email == "cfdt@example.com"
