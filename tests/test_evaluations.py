"""Evaluations of the three schemes: R-EVA-1..8, R-CAN-9, R-NOT-3, R-HAB-5/6 on the dossier."""
import datetime as dt

import pytest

from app.errors import RuleViolation
from app.models.candidature import Candidature
from app.models.evaluation import InvitationMetier
from app.security.perimeter import perimetre_of as P
from app.workflow import pieces as documents
from app.workflow.dossier import candidatures as wf
from app.workflow.engine import NotAllowed, allowed_actions
from app.workflow.evaluation import chimie as chimie_wf
from app.workflow.evaluation import clea as clea_wf
from app.workflow.evaluation import commission as commission_wf
from app.workflow.evaluation import common as evaluations
from tests.conftest import outbox
from tests.factories import real_pdf

TODAY = dt.date.today()


# --- chimie ------------------------------------------------------------------------------------
@pytest.fixture
def chimie(make, db):
    """An employer's dossier, an évaluateur habilité for its certification and région."""
    c = make.candidature("CHIMIE")
    employer = c.createur
    ev_user = make.evaluateur(c.certification, region="Île-de-France").user
    return c, employer, ev_user


def confirm(db, c, employer, ev_user, day=TODAY):
    """The evaluator confirmed for `day`; a past day is reached by letting the time pass (a day
    set in the past is refused: test_confirmation_refuses_a_past_day)."""
    wf.confirm_evaluator(P(employer), c, evaluateur=ev_user.id,
                         date_evaluation=max(day, TODAY))
    db.session.commit()
    ev = evaluations.latest(c)
    ev.date_evaluation = day
    db.session.commit()
    return ev


def test_confirmation_refuses_a_past_day(chimie, db):  # R-EVA-2
    c, employer, ev_user = chimie
    with pytest.raises(RuleViolation) as exc:
        wf.confirm_evaluator(P(employer), c, evaluateur=ev_user.id,
                             date_evaluation=TODAY - dt.timedelta(days=1))
    assert exc.value.field == "date_evaluation"


def invite(db, c, ev_user):
    inv = chimie_wf.invite_metier_evaluator(P(ev_user), c, nom="Bernard", prenom="Luc",
                                              email="luc.bernard@test.invalid")
    db.session.commit()
    return inv


def token_of(db, inv):
    from app.security import tokens
    return tokens.make_token(chimie_wf.METIER_PURPOSE, inv.id, inv.nonce)


def test_confirmed_evaluator_must_be_habilitated_and_is_mailed(chimie, make, db):  # R-HAB-5 R-NOT-3
    c, employer, ev_user = chimie
    stranger = make.evaluateur(c.certification, region="Bretagne").user
    with pytest.raises(RuleViolation) as exc:
        wf.confirm_evaluator(P(employer), c, evaluateur=stranger.id)
    assert exc.value.rule == "R-HAB-5"
    db.session.rollback()
    confirm(db, c, employer, ev_user)
    assert c.statut == "en_attente_evaluation" and c.evaluateur_id == ev_user.id
    mails = outbox(db, ev_user.email)
    assert len(mails) == 1 and c.numero in mails[0].sujet and "évaluateur métier" in mails[0].corps_texte


def test_evaluator_of_the_company_is_refused(make, db):  # R-HAB-6
    c = make.candidature("CHIMIE")
    ev = make.evaluateur(c.certification, region="Île-de-France",
                         employeur_entreprise_id=c.entreprise_id)
    with pytest.raises(RuleViolation) as exc:
        wf.confirm_evaluator(P(c.createur), c, evaluateur=ev.user_id)
    assert exc.value.rule == "R-HAB-6"


def test_metier_must_be_invited_before_results(chimie, db):  # R-EVA-1
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    assert "enter_results" not in allowed_actions(P(ev_user), c)
    with pytest.raises(RuleViolation) as exc:
        chimie_wf.record_results(P(ev_user), c, resultats={})
    assert exc.value.rule == "R-EVA-1"
    db.session.rollback()
    invite(db, c, ev_user)
    assert "enter_results" in allowed_actions(P(ev_user), c)
    mail = outbox(db, "luc.bernard@test.invalid")[0]  # R-NOT-3: métier evaluator invited
    assert "/evaluation-metier/" in mail.corps_texte


def test_only_the_named_evaluator_acts(chimie, make, db):  # R-EVA-1 R-ACC-5
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    other = make.evaluateur(c.certification, region="Île-de-France").user
    from app.errors import PerimeterViolation
    with pytest.raises(PerimeterViolation):
        chimie_wf.invite_metier_evaluator(P(other), c, nom="X", prenom="Y", email="x@y.fr")
    with pytest.raises(NotAllowed):
        chimie_wf.invite_metier_evaluator(P(employer), c, nom="X", prenom="Y", email="x@y.fr")


def test_metier_link_is_signed_single_use_and_replaced(chimie, db, app):  # R-EVA-1
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    first = invite(db, c, ev_user)
    old_token = token_of(db, first)
    second = invite(db, c, ev_user)
    token = token_of(db, second)
    client = app.test_client()
    assert client.get(f"/evaluation-metier/{old_token}").status_code == 400  # replaced
    assert client.get("/evaluation-metier/forged-token").status_code == 400
    page = client.get(f"/evaluation-metier/{token}")
    assert page.status_code == 200 and "Vos observations" in page.get_data(as_text=True)
    ev = evaluations.latest(c)
    comp = ev.resultats[0].competence_id
    r = client.post(f"/evaluation-metier/{token}", data={f"observation_{comp}": "Maîtrise le geste",
                                                         "commentaire": "Bon candidat"})
    assert r.status_code == 200 and "Observations enregistrées" in r.get_data(as_text=True)
    db.session.expire_all()
    ev = evaluations.latest(c)
    assert ev.metier_termine_le is not None and ev.resultats[0].observation_metier == "Maîtrise le geste"
    assert client.get(f"/evaluation-metier/{token}").status_code == 400  # single use
    assert c.historique[-1].auteur.endswith("(évaluateur métier)")


def test_metier_link_expires(chimie, db, app):  # R-EVA-1
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    inv = invite(db, c, ev_user)
    inv.expire_le = dt.datetime(2000, 1, 1)
    db.session.commit()
    with pytest.raises(RuleViolation, match="expiré"):
        chimie_wf.invitation_for_token(token_of(db, inv))


@pytest.mark.parametrize("offset, ok", [(1, False), (0, True), (-8, True), (-9, False)])
def test_results_window(chimie, db, offset, ok):  # R-EVA-2
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user, day=TODAY + dt.timedelta(days=offset))
    invite(db, c, ev_user)
    assert ("enter_results" in allowed_actions(P(ev_user), c)) is ok
    if not ok:
        with pytest.raises(RuleViolation) as exc:
            chimie_wf.record_results(P(ev_user), c, resultats={})
        assert exc.value.rule == "R-EVA-2"


def _fill(c, ev_user, acquis_count=None, finalise=True, outil4=True):
    ev = evaluations.latest(c)
    rows = [r for r in ev.resultats if not r.pre_acquis]
    n = len(rows) if acquis_count is None else acquis_count
    results = {r.competence_id: {"acquis": i < n, "commentaire": f"c{i}"} for i, r in enumerate(rows)}
    if outil4:
        documents.add_document(P(ev_user), c, filename="outil4.pdf", data=real_pdf("outil4"),
                               type_piece="guide_evaluation")
    return chimie_wf.record_results(P(ev_user), c, resultats=results,
                                      observations_candidat="Le candidat est satisfait.",
                                      finalise=finalise)


def test_full_results_need_outil4_and_candidate_observations(chimie, db):  # R-EVA-3
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    invite(db, c, ev_user)
    with pytest.raises(RuleViolation, match="outil n°4"):
        _fill(c, ev_user, outil4=False)
    db.session.rollback()
    with pytest.raises(RuleViolation, match="observations du candidat"):
        chimie_wf.record_results(P(ev_user), c, resultats={
            r.competence_id: {"acquis": True} for r in evaluations.latest(c).resultats}, finalise=True)
    db.session.rollback()
    ev = _fill(c, ev_user)
    db.session.commit()
    assert ev.finalisee and ev.resultat == "valide"
    # The evaluator uploads only evaluation pieces.
    with pytest.raises(RuleViolation):
        documents.add_document(P(ev_user), c, filename="x.pdf", data=real_pdf("x"), type_piece="diplome")


@pytest.mark.parametrize("acquis, proposition", [(None, "valide"), (2, "partiel"), (0, "non_valide")])
def test_acquisition_proposal(chimie, db, acquis, proposition):  # R-EVA-4
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    invite(db, c, ev_user)
    assert _fill(c, ev_user, acquis).resultat == proposition


def test_company_mailed_when_both_evaluators_done_then_jury(chimie, db, app):  # R-EVA-3 R-NOT-3 R-WF-1
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    inv = invite(db, c, ev_user)
    _fill(c, ev_user)
    db.session.commit()
    assert outbox(db, employer.email) == []  # the métier evaluator has not written yet
    with pytest.raises(RuleViolation, match="évaluateur métier"):
        wf.submit_to_jury(P(employer), c)
    db.session.rollback()
    comp = evaluations.latest(c).resultats[0].competence_id
    chimie_wf.record_metier_observations(token_of(db, inv), {comp: "RAS"})
    db.session.commit()
    mails = outbox(db, employer.email)
    assert len(mails) == 1 and "évaluateurs ont saisi" in mails[0].sujet
    assert "submit_to_jury" in allowed_actions(P(employer), c)
    wf.submit_to_jury(P(employer), c)
    db.session.commit()
    assert c.statut == "en_attente_jury" and c.locked and c.envoye_le is not None


def test_cqpi_holder_evaluated_on_branch_specific_competences_only(make, db):  # R-CAN-9
    from app.models import Certification
    cert = make.certification("CHIMIE")
    cqpi = db.session.query(Certification).filter_by(dispositif_id=cert.dispositif_id, type="CQPI",
                                                     membre_branche=True).first()
    c = make.candidature("CHIMIE", cqpi_detenu=cqpi.id)
    ev_user = make.evaluateur(cert, region="Île-de-France").user
    confirm(db, c, c.createur, ev_user)
    codes = [r.competence.code for r in evaluations.latest(c).resultats]
    assert codes == [x.code for x in cert.competences if x.specifique_branche] == ["C1"]


def test_competences_acquired_through_another_cqp_come_pre_acquired(make, db):  # R-CAN-9
    from app.models import Competence
    cert1 = make.certification("CHIMIE")  # CQP-CHIMIE-01, given competences C1..C4
    cert2 = make.certification("CHIMIE", "CQP-CHIMIE-02")
    cert2.competences.append(Competence(code="C1", intitule=cert1.competences[0].intitule, ordre=0))
    cert2.competences.append(Competence(code="X9", intitule="Compétence propre", ordre=1))
    db.session.commit()
    first = make.candidature("CHIMIE", certification=cert1)
    employer = first.createur
    ev_user = make.evaluateur(cert1, region="Île-de-France").user
    confirm(db, first, employer, ev_user)
    invite(db, first, ev_user)
    _fill(first, ev_user, acquis_count=1)  # C1 acquired only: partial
    first.statut, first.decision, first.decide_le = "partiel", "partiel", TODAY
    db.session.commit()
    from app.models.candidature import Candidat
    person = db.session.get(Candidat, first.candidat_id)
    identity = {k: getattr(person, k) for k in ("civilite", "nom_naissance", "prenom", "date_naissance",
                                                "ville_naissance", "code_postal_naissance")}
    second = make.candidature("CHIMIE", certification=cert2, by=employer, identite=identity)
    assert second.candidat_id == first.candidat_id  # R-CAN-2: the same person
    ev2_user = make.evaluateur(cert2, region="Île-de-France").user
    confirm(db, second, employer, ev2_user)
    rows = {r.competence.code: r for r in evaluations.latest(second).resultats}
    assert rows["C1"].pre_acquis and rows["C1"].acquis and first.numero in rows["C1"].source
    assert not rows["X9"].pre_acquis and rows["X9"].acquis is None


def test_chimie_pages(chimie, db, login_as):  # R-EVA-3
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    invite(db, c, ev_user)
    client = login_as(ev_user)
    page = client.get(f"/evaluation/{c.id}").get_data(as_text=True)
    assert "Observation de l'évaluateur métier" in page and "Finaliser mes résultats" in page
    ev = evaluations.latest(c)
    data = {f"acquis_{r.competence_id}": "1" for r in ev.resultats}
    data.update(observations_candidat="Merci", finaliser="0")
    r = client.post(f"/evaluation/{c.id}", data=data)
    assert r.status_code == 302
    db.session.expire_all()
    assert all(x.acquis for x in evaluations.latest(c).resultats)
    # The employer may not open the evaluator's form for writing.
    page = login_as(employer).get(f"/evaluation/{c.id}").get_data(as_text=True)
    assert "Finaliser mes résultats" not in page


# --- CléA -------------------------------------------------------------------------------------
@pytest.fixture
def clea(make, db):
    c = make.candidature("CLEA")
    return c, c.createur


def test_clea_evaluation_saved_resumed_and_finalised(clea, make, db):  # R-EVA-5
    c, user = clea
    ev = make.clea_evaluation(c, user, finalise=False)
    assert ev.type == "prealable" and ev.statut == "en_cours" and len(ev.resultats) == 28
    with pytest.raises(RuleViolation, match="matrice"):
        clea_wf.finalize_evaluation(P(user), c, evaluation=ev, date_evaluation=TODAY)
    db.session.rollback()
    documents.add_document(P(user), c, filename="m.xlsx", data=_xlsx(), type_piece="matrice_evaluation",
                           evaluation=ev)
    clea_wf.finalize_evaluation(P(user), c, evaluation=ev, date_evaluation=TODAY)
    db.session.commit()
    assert ev.resultat == "valide" and c.statut == "en_attente_envoi_certification"


def test_clea_validated_only_with_28_of_28(clea, make, db):  # R-EVA-5 R-WF-2
    c, user = clea
    ev = make.clea_evaluation(c, user, acquis=False)
    assert ev.resultat == "non_valide" and c.statut == "en_attente_evaluation_finale"
    assert "send_to_certification" not in allowed_actions(P(user), c)


@pytest.mark.parametrize("role, ok", [("utilisateur_etablissement", False), ("admin_etablissement", False),
                                      ("utilisateur_organisme", False), ("admin_organisme", True),
                                      ("admin_reseau", True), ("secretariat", True)])
def test_reopen_by_admin_organisme_or_above(make, db, role, ok):  # R-EVA-5
    reseau = make.reseau()
    etab = make.etablissement(organisme=make.organisme(reseau=reseau))
    c = make.candidature("CLEA", etablissement=etab)
    make.clea_evaluation(c, c.createur, acquis=False)
    perim = {"utilisateur_etablissement": {"etablissement": etab}, "admin_etablissement": {"etablissement": etab},
             "utilisateur_organisme": {"organisme": etab.organisme}, "admin_organisme": {"organisme": etab.organisme},
             "admin_reseau": {"reseau": reseau}, "secretariat": {"dispositif": make.ref["CLEA"]}}[role]
    user = make.user(role, **perim)
    assert ("reopen_evaluation" in allowed_actions(P(user), c)) is ok
    if ok:
        clea_wf.reopen_evaluation(P(user), c)
        db.session.commit()
        assert evaluations.latest(c).statut == "en_cours" and c.statut == "en_attente_evaluation_prealable"
    else:
        with pytest.raises(RuleViolation):
            clea_wf.reopen_evaluation(P(user), c)


def test_new_evaluation_after_non_valide_needs_formation_with_attestation(clea, make, db):  # R-EVA-6 R-EVA-7
    c, user = clea
    make.clea_evaluation(c, user, acquis=False, date_evaluation=TODAY - dt.timedelta(days=30))
    with pytest.raises(RuleViolation) as exc:
        clea_wf.start_evaluation(P(user), c)
    assert exc.value.rule == "R-EVA-6"
    db.session.rollback()
    blocs = [b.id for b in c.certification.blocs[:2]]
    with pytest.raises(RuleViolation) as exc:  # R-EVA-7: domains, dates, hours
        clea_wf.add_formation(P(user), c, intitule="Remise à niveau", date_debut=TODAY,
                                  date_fin=TODAY - dt.timedelta(days=1), duree_heures=10, domaines=blocs)
    assert exc.value.field == "date_fin"
    db.session.rollback()
    with pytest.raises(RuleViolation) as exc:  # R-EVA-6: before the last evaluation, it opens nothing
        clea_wf.add_formation(P(user), c, intitule="Remise à niveau",
                              date_debut=TODAY - dt.timedelta(days=40),
                              date_fin=TODAY - dt.timedelta(days=35), duree_heures=10,
                              domaines=blocs)
    assert exc.value.field == "date_debut" and "après la dernière évaluation" in exc.value.message
    db.session.rollback()
    for bad in ({"duree_heures": 0}, {"domaines": []}):
        kw = {"intitule": "Remise à niveau", "date_debut": TODAY - dt.timedelta(days=20),
                  "date_fin": TODAY - dt.timedelta(days=2), "duree_heures": 35, "domaines": blocs}
        kw.update(bad)
        with pytest.raises(RuleViolation):
            clea_wf.add_formation(P(user), c, **kw)
        db.session.rollback()
    f = clea_wf.add_formation(P(user), c, intitule="Remise à niveau",
                                  date_debut=TODAY - dt.timedelta(days=20),
                                  date_fin=TODAY - dt.timedelta(days=2), duree_heures="35,5", domaines=blocs)
    db.session.commit()
    assert [b.code for b in f.domaines] == ["1", "2"]
    with pytest.raises(RuleViolation):  # no attendance certificate yet
        clea_wf.start_evaluation(P(user), c)
    db.session.rollback()
    documents.add_document(P(user), c, filename="attestation.pdf", data=real_pdf("att"),
                           type_piece="attestation_formation", formation=f)
    db.session.commit()
    ev = make.clea_evaluation(c, user)
    assert ev.type == "finale" and ev.resultat == "valide"
    assert c.statut == "en_attente_envoi_certification"


def test_send_to_certification_only_from_validated_then_locked(clea, make, db):  # R-EVA-6 R-WF-3
    c, user = clea
    with pytest.raises(RuleViolation):
        wf.send_to_certification(P(user), c)
    db.session.rollback()
    make.clea_evaluation(c, user)
    wf.send_to_certification(P(user), c)
    db.session.commit()
    assert c.statut == "en_attente_jury" and c.locked and c.envoye_le
    assert allowed_actions(P(user), c) == []


def test_clea_pages(clea, db, login_as):  # R-EVA-5
    c, user = clea
    client = login_as(user)
    page = client.get(f"/evaluation/{c.id}").get_data(as_text=True)
    assert "Ajouter une évaluation" in page
    r = client.post(f"/evaluation/{c.id}/nouvelle", data={"evaluateur_nom": "Durand",
                                                        "evaluateur_prenom": "Paul",
                                                        "evaluateur_email": "p@d.fr"})
    assert r.status_code == 302
    page = client.get(f"/evaluation/{c.id}").get_data(as_text=True)
    assert "Enregistrer et reprendre plus tard" in page and "Domaine 1" in page
    db.session.expire_all()
    ev = evaluations.in_progress(c)
    data = {f"acquis_{r.competence_id}": "1" for r in ev.resultats}
    data.update(date_evaluation=TODAY.isoformat(), evaluateur_nom="Durand", evaluateur_prenom="Paul",
                evaluateur_email="p@d.fr", finaliser="1")
    from io import BytesIO
    data["fichier"] = (BytesIO(_xlsx()), "matrice.xlsx")
    r = client.post(f"/evaluation/{c.id}", data=data, content_type="multipart/form-data")
    assert r.status_code == 302 and "/dossier/" in r.headers["Location"]
    db.session.expire_all()
    c = db.session.get(Candidature, c.id)
    assert c.statut == "en_attente_envoi_certification"
    page = client.get(f"/dossier/{c.id}?onglet=evaluations").get_data(as_text=True)
    assert "Validé" in page and "28 / 28" in page


def test_evaluator_email_must_be_an_address(clea, db):  # R-EVA-5
    c, user = clea
    with pytest.raises(RuleViolation) as exc:
        clea_wf.start_evaluation(P(user), c, evaluateur_nom="Perrin", evaluateur_prenom="Alice",
                                 evaluateur_email="alice.perrin@example")
    assert exc.value.field == "evaluateur_email"


def test_formation_page(clea, make, db, login_as):  # R-EVA-7
    c, user = clea
    client = login_as(user)
    assert "Domaines travaillés" in client.get(f"/evaluation/{c.id}/formation").get_data(as_text=True)
    from io import BytesIO
    blocs = [b.id for b in c.certification.blocs[:1]]
    r = client.post(f"/evaluation/{c.id}/formation", data={
        "intitule": "Numérique", "date_debut": "2025-01-06", "date_fin": "2025-01-10",
        "duree_heures": "21", "domaines": blocs, "attestation": (BytesIO(real_pdf("a")), "att.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    db.session.expire_all()
    f = db.session.get(Candidature, c.id).formations[0]
    assert f.attestation is not None and float(f.duree_heures) == 21


def _xlsx():
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


# --- metallurgy -----------------------------------------------------------------------------------
def test_commission_results_grouped_by_bloc_and_company_opinion(make, db):  # R-EVA-8 R-CAN-3
    ent = make.entreprise(region="Pays de la Loire")
    c = make.candidature("METALLURGIE", entreprise=ent)
    user = c.createur
    commission_wf.open_evaluation(P(user), c, date_evaluation=TODAY)
    db.session.commit()
    ev = evaluations.latest(c)
    assert c.statut == "evaluation" and ev.type == "commission"
    groups = commission_wf.blocs_acquis(ev)
    assert [b.code for b, _, _ in groups] == ["BDC0001", "BDC0002", "BDC0003"]
    results = {r.competence_id: {"acquis": r.competence.bloc.code != "BDC0003"} for r in ev.resultats}
    assert commission_wf.avis_entreprise_requis(c)
    with pytest.raises(RuleViolation, match="avis de l'entreprise"):
        commission_wf.record_commission_results(P(user), c, resultats=results, finalise=True)
    db.session.rollback()
    # R-EVA-2: a date emptied in the form, or a commission still to come, is not finalised.
    for day, said in (("", "Indiquez la date de la commission"),
                      ((TODAY + dt.timedelta(days=7)).isoformat(), "se finalisent à partir")):
        with pytest.raises(RuleViolation, match=said) as refused:
            commission_wf.record_commission_results(P(user), c, resultats=results, finalise=True,
                                                    avis_entreprise="favorable",
                                                    date_evaluation=day)
        assert refused.value.field == "date_evaluation"
        db.session.rollback()
    commission_wf.record_commission_results(P(user), c, resultats=results, avis_entreprise="favorable",
                                          finalise=True)
    db.session.commit()
    assert [ok for _, _, ok in commission_wf.blocs_acquis(ev)] == [True, True, False]
    assert ev.resultat == "partiel"
    wf.submit_to_jury(P(user), c)
    db.session.commit()
    assert c.statut == "en_attente_jury"


@pytest.mark.parametrize("kw", [{"vae": True}, {"initiative_salarie": True}, {"entreprise": None}])
def test_company_opinion_does_not_apply(make, db, kw):  # R-CAN-3
    ent = kw.pop("entreprise", make.entreprise())
    c = make.candidature("METALLURGIE", entreprise=ent, **kw)
    assert not commission_wf.avis_entreprise_requis(c)


def test_accommodations_recorded(make, db, login_as):  # R-EVA-8
    c = make.candidature("METALLURGIE")
    client = login_as(c.createur)
    r = client.post(f"/dossier/{c.id}/action/add_amenagement",
                    data={"nature": "temps_majore", "description": "Tiers-temps"})
    assert r.status_code == 302
    db.session.expire_all()
    c = db.session.get(Candidature, c.id)
    assert [(a.nature, a.description) for a in c.amenagements] == [("temps_majore", "Tiers-temps")]
    with pytest.raises(RuleViolation):
        evaluations.add_amenagement(P(c.createur), c, nature="temps_majore", description="")
    assert "Tiers-temps" in client.get(f"/dossier/{c.id}?onglet=parcours").get_data(as_text=True)


def test_invitation_row_keeps_nonce_private(chimie, db, login_as):  # R-EVA-1
    c, employer, ev_user = chimie
    confirm(db, c, employer, ev_user)
    inv = invite(db, c, ev_user)
    page = login_as(employer).get(f"/dossier/{c.id}?onglet=evaluations").get_data(as_text=True)
    assert inv.nonce not in page and "Luc Bernard" in page
    assert db.session.query(InvitationMetier).count() == 1
