"""Issue 13, points 9, 10, 11, 15, 16: the dossier's screens driven through their forms as
rendered (CSRF on), each point with the rule it proves."""
import datetime as dt

import pytest

from app.errors import RuleViolation
from app.models import Competence
from app.models.candidature import Candidature
from app.models.evaluation import Formation
from app.security.perimeter import perimetre_of as P
from app.workflow import engine
from app.workflow.dossier import candidatures as wf
from app.workflow.evaluation import chimie
from app.workflow.evaluation import common as evaluations
from app.workflow.jury import deliberation, registration
from app.workflow.jury import sessions as jurys
from tests.journeys.forms import follow, open_page

TODAY = dt.date.today()


def sign_in(app, user):
    """A client signed in through the login form (the token included, as a browser would)."""
    client = app.test_client()
    form = open_page(client, "/login/").form(has="username")
    r = form.fill(username=user.username, password="Test-Password-1!").submit()
    assert r.status_code == 302 and "/login" not in r.headers["Location"]
    return client


def dossier_page(client, c, onglet=None):
    return open_page(client, f"/dossier/{c.id}" + (f"?onglet={onglet}" if onglet else ""))


def action_forms(page, verb):
    return [f for f in page.forms() if f.action.endswith(f"/action/{verb}")]


# --- point 9: no evaluation on an empty grid ----------------------------------------------------
def test_p9_certification_without_competences_cannot_be_evaluated_and_says_why(app, make, db):
    # R-EVA-4: a chemical CQP whose référentiel is empty was evaluated « Validé 0 / 0 ».
    cert = make.certification("CHIMIE", code="CQP-CHIMIE-05")
    assert not cert.competences
    c = make.candidature("CHIMIE", certification=cert)
    ev_user = make.evaluateur(cert, region=c.region).user
    page = dossier_page(sign_in(app, c.createur), c)
    assert not action_forms(page, "confirm_evaluator")
    assert "ne contient encore aucune compétence" in page.text
    with pytest.raises(RuleViolation, match="aucune compétence"):
        wf.confirm_evaluator(P(c.createur), c, evaluateur=ev_user.id, date_evaluation=TODAY)
    db.session.rollback()
    # An evaluation opened before this rule (no row in its grid) cannot be finalised either.
    chimie.create_skills_evaluation(c, ev_user, TODAY)
    c.evaluateur_id = ev_user.id
    c.statut = "en_attente_evaluation"
    db.session.commit()
    chimie.invite_metier_evaluator(P(ev_user), c, nom="B", prenom="L", email="l@b.fr")
    from app.workflow import pieces as documents
    documents.add_document(P(ev_user), c, filename="o4.pdf", type_piece="guide_evaluation",
                           data=make.pdf("outil 4 vide"))
    with pytest.raises(RuleViolation, match="aucune compétence"):
        chimie.record_results(P(ev_user), c, observations_candidat="RAS", finalise=True)
    db.session.rollback()
    assert evaluations.latest(c).resultat is None


def test_p9_competence_added_after_opening_appears_in_the_grid(app, make, db):
    # R-EVA-4: the grid follows the référentiel while the evaluation is open.
    c = make.candidature("CHIMIE")
    ev_user = make.evaluateur(c.certification, region=c.region).user
    wf.confirm_evaluator(P(c.createur), c, evaluateur=ev_user.id, date_evaluation=TODAY)
    chimie.invite_metier_evaluator(P(ev_user), c, nom="B", prenom="L", email="l@b.fr")
    db.session.commit()
    before = len(evaluations.latest(c).resultats)
    new = Competence(certification=c.certification, code="C99", intitule="Compétence ajoutée",
                     ordre=99)
    db.session.add(new)
    db.session.commit()
    client = sign_in(app, ev_user)
    page = open_page(client, f"/evaluation/{c.id}")
    assert "Compétence ajoutée" in page.text and "ajoutée(s) au référentiel" in page.text
    form = page.form(id="form-evaluation")
    assert [v for v, _ in form.options(f"acquis_{new.id}")] == ["1", "0"]
    rows = evaluations.latest(c).resultats
    assert len(rows) == before + 1
    for r in rows:
        form.set(f"acquis_{r.competence_id}", "1")
    form.fill(observations_candidat="Satisfait de l'évaluation.")
    form.attach("fichier", make.pdf("outil 4 complété"), "outil4.pdf")
    follow(client, form.submit(button="1"))
    db.session.expire_all()
    ev = evaluations.latest(db.session.get(Candidature, c.id))
    assert ev.finalisee and ev.compte() == (before + 1, before + 1, before + 1)


def test_p9_demo_cqps_have_the_competences_of_the_journey(app, db):
    # R-REF-1 / R-CAN-9: the demo CQPs the demo evaluator may evaluate have competences, some of
    # them specific to the branch (a CQPI holder has something to be evaluated on).
    from app.models.habilitation import HabilitationEvaluateur
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    certs = {h.certification for h in db.session.query(HabilitationEvaluateur)}
    assert certs
    for cert in certs:
        assert cert.competences, cert.code
        assert {x.specifique_branche for x in cert.competences} == {True, False}, cert.code


# --- point 10: R-EVA-2 cannot be sidestepped ----------------------------------------------------
def _late_dossier(make, db, days_ago):
    c = make.candidature("CHIMIE")
    ev_user = make.evaluateur(c.certification, region=c.region).user
    wf.confirm_evaluator(P(c.createur), c, evaluateur=ev_user.id, date_evaluation=TODAY)
    from app.workflow.evaluation import common as evaluations_wf
    evaluations_wf.latest(c).date_evaluation = TODAY - dt.timedelta(days=days_ago)  # time passed
    chimie.invite_metier_evaluator(P(ev_user), c, nom="B", prenom="L", email="l@b.fr")
    db.session.commit()
    return c, ev_user


def test_p10_late_evaluator_cannot_move_the_date_back_into_the_window(app, make, db):
    # R-EVA-2: nine days after the evaluation, the evaluator may no longer enter results, and may
    # not reopen the window by moving the date: the form is not offered, the POST is refused.
    c, ev_user = _late_dossier(make, db, 9)
    client = sign_in(app, ev_user)
    page = dossier_page(client, c)
    assert not action_forms(page, "plan_evaluation")
    assert "seul le secrétariat du dispositif peut en changer la date" in page.text
    with pytest.raises(RuleViolation) as exc:
        chimie.plan_evaluation(P(ev_user), c, date_evaluation=TODAY)
    assert exc.value.rule == "R-EVA-2"
    db.session.rollback()
    assert evaluations.latest(c).date_evaluation == TODAY - dt.timedelta(days=9)
    # The employer neither.
    assert not action_forms(dossier_page(sign_in(app, c.createur), c), "plan_evaluation")


def test_p10_the_secretariat_corrects_a_past_date_with_a_reason_kept_in_history(app, make, db):
    # R-EVA-2 / R-WF-5: only the secretariat changes a passed evaluation date, with its reason.
    c, _ = _late_dossier(make, db, 9)
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    client = sign_in(app, sec)
    form = action_forms(dossier_page(client, c), "plan_evaluation")[0]
    form.fill(date_evaluation=(TODAY - dt.timedelta(days=1)).isoformat())
    page = follow(client, form.submit())
    assert "Indiquez le motif du changement de date" in page.text
    form = action_forms(page, "plan_evaluation")[0]
    form.fill(date_evaluation=(TODAY - dt.timedelta(days=1)).isoformat(),
              motif="Évaluation reportée : candidat absent le jour prévu.")
    follow(client, form.submit())
    db.session.expire_all()
    c = db.session.get(Candidature, c.id)
    assert evaluations.latest(c).date_evaluation == TODAY - dt.timedelta(days=1)
    last = max(c.historique, key=lambda h: h.id)
    old, new = TODAY - dt.timedelta(days=9), TODAY - dt.timedelta(days=1)
    assert last.libelle == f"Date d'évaluation : {old:%d/%m/%Y} → {new:%d/%m/%Y}"
    assert last.commentaire.startswith("Évaluation reportée")


def test_p10_before_the_day_the_evaluator_postpones_but_never_backdates(app, make, db):
    # R-EVA-2: planning is forward only for the evaluator and the employer.
    c, ev_user = _late_dossier(make, db, -3)
    client = sign_in(app, ev_user)
    form = action_forms(dossier_page(client, c), "plan_evaluation")[0]
    form.fill(date_evaluation=(TODAY - dt.timedelta(days=2)).isoformat(), motif="Erreur")
    page = follow(client, form.submit())
    assert "se fixe à aujourd'hui ou plus tard" in page.text
    form = action_forms(page, "plan_evaluation")[0]
    form.fill(date_evaluation=(TODAY + dt.timedelta(days=5)).isoformat(),
              motif="Atelier arrêté pour maintenance")
    follow(client, form.submit())
    db.session.expire_all()
    assert evaluations.latest(db.session.get(Candidature, c.id)).date_evaluation == \
        TODAY + dt.timedelta(days=5)


# --- point 11: no dead ends ------------------------------------------------------------------
def test_p11_owner_chooses_the_jury_and_registers_again_after_a_withdrawal(app, make, db):
    # R-JUR-2 / R-JUR-4: « Inscrire au jury » lets the employer choose among the open juries; a
    # full one sends to the next and says so; after « Retirer du jury » the employer registers
    # the dossier again from its page.
    full = make.jury("CHIMIE", capacite=1, lieu="Paris")
    nxt = make.jury("CHIMIE", date=TODAY + dt.timedelta(days=40), lieu="Lyon")
    other = make.dossier_pret_jury("CHIMIE")
    registration.register_to_jury(P(other.createur), other, full)
    db.session.commit()
    c = make.dossier_pret_jury("CHIMIE")
    client = sign_in(app, c.createur)
    page = dossier_page(client, c)
    link = page.links(rf"/inscription-jury/{c.id}$")
    assert link, "« Inscrire au jury » opens the page where the jury is chosen"
    form = open_page(client, link[0]).form(id="form-inscription")
    assert len(form.options("jury")) == 3  # « prochain jury disponible » and the two juries
    form.fill(jury=f"{full.date:%d/%m/%Y}")
    page = follow(client, form.submit())
    assert "complet" in page.text and "jury suivant" in page.text
    ins = jurys.active_inscription(c)
    assert ins.jury_id == nxt.id
    # The secretariat withdraws it from the jury page.
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    sec_client = sign_in(app, sec)
    jury_page = open_page(sec_client, f"/jurys/show/{nxt.id}")
    follow(sec_client, jury_page.form(action=f"/jurys/retirer-dossier/{ins.id}").submit())
    db.session.expire_all()
    assert jurys.active_inscription(db.session.get(Candidature, c.id)) is None
    # No dead end: the employer registers it again, to the jury of their choice.
    third = make.jury("CHIMIE", date=TODAY + dt.timedelta(days=60), lieu="Lille")
    page = dossier_page(client, c)
    assert "attend son inscription à un jury" in page.text
    inscription = open_page(client, page.links(rf"/inscription-jury/{c.id}$")[0])
    form = inscription.form(id="form-inscription")
    form.fill(jury="Lille")
    r = form.submit()
    assert r.status_code == 302
    db.session.expire_all()
    assert jurys.active_inscription(db.session.get(Candidature, c.id)).jury_id == third.id
    assert "Inscrit au jury paritaire national du" in dossier_page(client, c).text


def test_p11_formation_attestation_uploaded_after_the_formation(app, make, db):
    # R-EVA-6 / R-EVA-7: a formation saved without its attestation is completed later.
    c = make.candidature("CLEA")
    make.clea_evaluation(c, c.createur, acquis=False)
    client = sign_in(app, c.createur)
    form = open_page(client, f"/evaluation/{c.id}/formation").form(has="intitule")
    form.fill(intitule="Remise à niveau en calcul", date_debut=TODAY.isoformat(),
              date_fin=TODAY.isoformat(), duree_heures="7")
    form.set("domaines", [form.options("domaines")[0][0]])
    follow(client, form.submit())
    f = db.session.query(Formation).one()
    assert f.attestation is None
    page = dossier_page(client, c, "formations")
    form = page.form(id=f"attestation-{f.id}")
    form.attach("fichier", make.pdf("attestation de présence"), "attestation.pdf")
    follow(client, form.submit())
    db.session.expire_all()
    f = db.session.get(Formation, f.id)
    assert f.attestation is not None and f.attestation.nom_fichier == "attestation.pdf"
    assert "start_evaluation" in engine.allowed_actions(P(c.createur), f.candidature)


def test_p11_complement_request_is_shown_on_the_dossier_page(app, make, db):
    # R-WF-4: the organisation reads the jury's request where it acts, not in the history tab.
    jury = make.jury("CLEA")
    c = make.dossier_pret_jury("CLEA")
    wf.send_to_certification(P(c.createur), c)
    db.session.commit()
    ins = jurys.active_inscription(c)
    assert ins.jury_id == jury.id
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    deliberation.request_complement(P(sec), ins, "Joindre la matrice d'évaluation signée.")
    db.session.commit()
    page = dossier_page(sign_in(app, c.createur), c)
    block = page.text[page.text.index("Le jury demande un complément"):]
    assert "Joindre la matrice d'évaluation signée." in block[:300]


# --- point 15: the real reason, in the dispositif's words ---------------------------------------
def test_p15_locked_dossier_says_it_is_locked(app, make, db):
    # R-WF-3: a dossier sent to the jury refuses changes because it is locked.
    make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE")
    wf.submit_to_jury(P(c.createur), c)
    db.session.commit()
    with pytest.raises(RuleViolation) as exc:
        engine.check(P(c.createur), c, "declare_abandon")
    assert exc.value.rule == "R-WF-3" and "verrouillé" in str(exc.value)
    assert "étapes précédentes" not in str(exc.value)
    client = sign_in(app, c.createur)
    page = open_page(client, f"/dossier/{c.id}/modifier")  # the screen's own refusal
    assert "inscrit au jury : il est verrouillé" in page.text
    assert "étapes précédentes" not in page.text


def test_p15_each_dispositif_speaks_its_own_words(app, make, db):
    # R-DIS-2: no CléA wording on a metallurgy dossier, no « jury paritaire » in a CléA e-mail,
    # no « Convoqué le » on a jury nobody was convened to.
    make.jury("METALLURGIE")
    c = make.dossier_pret_jury("METALLURGIE")
    wf.submit_to_jury(P(c.createur), c)
    db.session.commit()
    text = dossier_page(sign_in(app, c.createur), c).text
    assert "présenté au jury" in text and "en certification" not in text and "CléA" not in text
    from app.workflow.mail import send_mail
    clea_jury = make.jury("CLEA")
    d = make.candidature("CLEA")
    msg = send_mail("x@test.invalid", "jury_decision_candidat", c=d, jury=clea_jury,
                    decision="Certifiée", acquis=[], attributions=[], passerelles=[],
                    inscription=None)
    assert "paritaire" not in msg.corps_texte and "jury de certification CléA" in msg.corps_texte
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    page = open_page(sign_in(app, sec), f"/jurys/composition/{clea_jury.id}")
    assert "Convoqué le" not in page.text


# --- point 16: « Courrier envoyé » and the jury in the lists -------------------------------------
def _certificate_sent(db, c):
    import hashlib

    from app.models.document import DocumentEmis, Envoi
    doc = DocumentEmis(dispositif_id=c.dispositif_id, type="certificat", modele="certificat_clea",
                       numero=f"T{c.id:06d}", donnees={}, pdf=b"%PDF-1.4", taille=8,
                       sha256=hashlib.sha256(str(c.id).encode()).hexdigest(),
                       code_verification=f"CODE{c.id:08d}", candidature_id=c.id)
    db.session.add(doc)
    db.session.flush()
    db.session.add(Envoi(document_id=doc.id, statut="envoye", date_traitement=TODAY,
                         canal="courrier"))
    db.session.commit()


def test_p16_lists_show_the_jury_and_courrier_envoye(app, make, db, queries):
    # R-ENV-2: the list shows « Courrier envoyé » and the dossier's jury, in the list's own
    # statement (no query per row), and its export says the same.
    jury = make.jury("CLEA")
    etab = make.etablissement()
    user = make.user("admin_etablissement", etablissement=etab)
    dossiers = []
    for _ in range(2):
        c = make.dossier_pret_jury("CLEA", etablissement=etab, by=user)
        wf.send_to_certification(P(user), c)
        db.session.commit()
        dossiers.append(c)
    _certificate_sent(db, dossiers[0])
    client = sign_in(app, user)
    page = open_page(client, "/candidatures/list/")
    assert "Courrier envoyé" in page.text and f"{jury.date:%d/%m/%Y}" in page.text
    client.get("/candidatures/list/")
    with queries() as few:
        client.get("/candidatures/list/")
    for _ in range(3):
        c = make.dossier_pret_jury("CLEA", etablissement=etab, by=user)
        wf.send_to_certification(P(user), c)
        db.session.commit()
        _certificate_sent(db, c)
    client.get("/candidatures/list/")
    with queries() as many:
        client.get("/candidatures/list/")
    assert len(many) == len(few)
    export = client.get("/candidatures/export/csv/").get_data(as_text=True)
    assert export.count("Courrier envoyé") == 4 and export.count(f"{jury.date:%d/%m/%Y}") == 5


def test_p11_presented_while_no_jury_is_open_then_registered_by_its_owner(app, make, db):
    # R-JUR-2: with no jury open the dossier is presented and waits; once a jury opens, its owner
    # registers it from the dossier page (no dead end, no call to the secretariat needed).
    c = make.dossier_pret_jury("CHIMIE")
    client = sign_in(app, c.createur)
    page = open_page(client, f"/inscription-jury/{c.id}")
    assert "Aucun jury n'est ouvert" in page.text
    page = follow(client, page.form(id="form-inscription").submit())
    assert "le secrétariat l'inscrira au prochain jury" in page.text
    db.session.expire_all()
    assert db.session.get(Candidature, c.id).statut == "en_attente_jury"
    jury = make.jury("CHIMIE", lieu="Marseille")
    page = dossier_page(client, c)
    form = open_page(client, page.links(rf"/inscription-jury/{c.id}$")[0]).form(
        id="form-inscription")
    follow(client, form.fill(jury="Marseille").submit())
    db.session.expire_all()
    assert jurys.active_inscription(db.session.get(Candidature, c.id)).jury_id == jury.id



def test_a_refused_action_form_comes_back_open_with_what_was_typed(app, make, db):
    # Issue 16 item 1: « Inviter l'évaluateur métier » refused on its e-mail kept nothing typed.
    c = make.candidature("CHIMIE")
    ev_user = make.evaluateur(c.certification, region=c.region).user
    chimie.create_skills_evaluation(c, ev_user, TODAY)
    c.evaluateur_id = ev_user.id
    c.statut = "en_attente_evaluation"
    db.session.commit()
    client = sign_in(app, ev_user)
    (form,) = action_forms(dossier_page(client, c), "invite_metier")
    r = form.fill(prenom="Marie", nom="Dupuis", fonction="Chef d'équipe",
                  email="pas-une-adresse").submit()
    assert r.status_code == 200  # the page again, not a redirect that would forget the form
    html = r.get_data(as_text=True)
    assert "Adresse e-mail invalide." in html and "R-EVA" not in html
    from tests.journeys.forms import Page
    again = Page(client, f"/dossier/{c.id}", r)
    (form,) = action_forms(again, "invite_metier")
    assert (form.get("prenom"), form.get("nom"), form.get("fonction"), form.get("email")) == (
        "Marie", "Dupuis", "Chef d'équipe", "pas-une-adresse")
    assert 'id="invite_metier-email-erreur"' in html and 'data-verb="invite_metier" open' in html
    # Corrected, the same form goes through.
    follow(client, form.fill(email="marie.dupuis@example.org").submit())
    db.session.expire_all()
    from app.models.evaluation import InvitationMetier
    assert [i.email for i in db.session.query(InvitationMetier)] == ["marie.dupuis@example.org"]


def test_the_evaluators_guide_is_removed_only_by_him_or_the_secretariat(app, make, db):
    # R-EVA-3: the employer may not remove the évaluateur habilité's outil n°4.
    from app.models.candidature import Document
    from app.workflow import pieces
    c = make.candidature("CHIMIE")
    ev_user = make.evaluateur(c.certification, region=c.region).user
    wf.confirm_evaluator(P(c.createur), c, evaluateur=ev_user.id, date_evaluation=TODAY)
    guide = pieces.add_document(P(ev_user), c, filename="outil4.pdf",
                                type_piece="guide_evaluation", data=make.pdf("outil 4"))
    own = pieces.add_document(P(c.createur), c, filename="cv.pdf", type_piece="diplome",
                              data=make.pdf("cv"))
    db.session.commit()
    page = dossier_page(sign_in(app, c.createur), c, onglet="documents")
    removable = {f.action for f in page.forms() if f.action.endswith("/retirer")}
    assert any(a.endswith(f"/document/{own.id}/retirer") for a in removable), removable
    assert not any(a.endswith(f"/document/{guide.id}/retirer") for a in removable)
    with pytest.raises(RuleViolation):
        pieces.delete_document(P(c.createur), db.session.get(Document, guide.id))
    db.session.rollback()
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    assert pieces.may_remove(P(sec), db.session.get(Document, guide.id))
