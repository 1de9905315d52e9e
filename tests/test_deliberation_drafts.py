"""Drafts saved while typing (issue 16 item 1): the deliberation form of one dossier is saved per
dossier and per user by the page's script (app/static/opencertif-brouillon.js), posting what the
form holds to its data-brouillon address; the evaluation grid likewise, through the verb of its
« Enregistrer » button. These tests post exactly the rendered form's fields, as the script does.

Rules: R-JUR-8 (who deliberates, from the jury's day), R-JUR-9 (closed: nothing changes),
R-ACC-5 (perimeter: another's row does not exist)."""
import datetime as dt
import re

import pytest

from app.errors import RuleViolation
from app.formats import to_paris
from app.models.jury import BrouillonDecision, InscriptionJury
from app.security.perimeter import perimetre_of as P
from app.workflow.jury import deliberation
from app.workflow.jury import registration as reg_wf
from tests.journeys.forms import follow, open_page

TODAY = dt.date.today()


def _jury(make, db, n=1, day=TODAY):
    """A composed chimie jury holding `n` dossiers, deliberating on `day`."""
    j = make.jury("CHIMIE")
    members = make.jury_compose(j)
    rows = []
    for _ in range(n):
        c = make.dossier_pret_jury("CHIMIE", acquis=2)
        rows.append(reg_wf.register_to_jury(P(c.createur), c, j).inscription)
        db.session.commit()
    j.date, j.date_limite_inscription = day, min(day, TODAY) - dt.timedelta(days=1)
    db.session.commit()
    return j, members, rows


def _draft_form(client, jury, ins, n=1):
    page = open_page(client, f"/jurys/deliberer/{jury.id}/{n}")
    return page, page.form(action=f"/jurys/decision/{ins.id}")


def _autosave(client, form):
    """What the script does: post the form's own fields (no button) to its draft address."""
    return client.post(form.attrs["data-brouillon"], data=form.data())


def _drafts(db, ins_id):
    db.session.expire_all()
    return db.session.query(BrouillonDecision).filter_by(inscription_id=ins_id).all()


# --- the deliberation form ---------------------------------------------------------------------------
def test_a_draft_typed_in_the_form_is_shown_again_instead_of_the_proposal(make, db, login_as):
    j, members, (ins,) = _jury(make, db)
    juror = members["CFDT"].user
    client = login_as(juror)
    page, form = _draft_form(client, j, ins)
    assert form.get("decision") == "partiel"  # the proposal
    assert form.attrs["data-brouillon"] == f"/jurys/brouillon/{ins.id}"
    assert f'id="brouillon-statut-{ins.id}"' in page.html and 'aria-live="polite"' in page.html
    boxes = [v for v, _ in form.options("acquis")]
    form.fill(decision="non_valide", commentaire="Présentation à retravailler")
    form.uncheck("acquis")
    r = _autosave(client, form)
    assert r.status_code == 200 and r.json["ok"]
    (draft,) = _drafts(db, ins.id)
    local = to_paris(draft.enregistre_le)
    assert r.json["message"] == f"Brouillon enregistré à {local:%H:%M}"
    assert draft.user_id == juror.id and draft.decision == "non_valide"
    assert draft.competences_acquises == [] and draft.commentaire == "Présentation à retravailler"
    assert not db.session.get(InscriptionJury, ins.id).decision  # a draft is not a decision

    page, again = _draft_form(client, j, ins)
    assert again.get("decision") == "non_valide" and again.get("acquis") == []
    assert again.get("commentaire") == "Présentation à retravailler"
    status = re.search(r'id="brouillon-statut-\d+"[^>]*>([^<]*)<', page.html).group(1)
    assert status == f"Brouillon enregistré à {local:%H:%M}"
    # Another member sees his own form: the proposal, every box as proposed, no draft.
    other = login_as(members["CGT"].user)
    _, theirs = _draft_form(other, j, ins)
    assert theirs.get("decision") == "partiel" and theirs.get("commentaire") == ""
    assert sorted(theirs.get("acquis")) == sorted(boxes[:2])

    # Saved again: one draft per user and dossier, replaced.
    again.fill(decision="partiel").check("acquis", boxes[0])
    assert _autosave(client, again).status_code == 200
    (draft,) = _drafts(db, ins.id)
    assert draft.decision == "partiel" and draft.competences_acquises == [int(boxes[0])]


def test_recording_the_decision_deletes_every_draft_of_the_dossier(make, db, login_as):
    j, members, (ins,) = _jury(make, db)
    cfdt, cgt = login_as(members["CFDT"].user), login_as(members["CGT"].user)
    _, theirs = _draft_form(cgt, j, ins)
    assert _autosave(cgt, theirs.fill(commentaire="À discuter")).status_code == 200
    _, form = _draft_form(cfdt, j, ins)
    form.fill(commentaire="Compétences à consolider.")
    assert _autosave(cfdt, form).status_code == 200
    assert len(_drafts(db, ins.id)) == 2
    r = form.submit()  # « Enregistrer la décision », the proposal kept
    assert r.status_code == 302
    assert _drafts(db, ins.id) == []
    assert db.session.get(InscriptionJury, ins.id).commentaire == "Compétences à consolider."
    page, _ = _draft_form(cgt, j, ins)
    assert "Brouillon enregistré" not in page.text and "décision : Partiel" in page.text
    # CGT's page was opened before the decision: its late draft would hide it, and is refused.
    r = _autosave(cgt, theirs)
    assert r.status_code == 422 and not r.json["ok"]
    assert r.json["message"].startswith("Une décision a été enregistrée pour ce dossier depuis")
    assert _drafts(db, ins.id) == []


def test_a_draft_of_another_perimeters_dossier_is_404(make, db, login_as):  # R-ACC-5
    j, members, (ins,) = _jury(make, db)
    _, form = _draft_form(login_as(members["CFDT"].user), j, ins)
    data = form.fill(commentaire="Intrus").data()
    # Another dispositif's secretariat, and a juror of another jury of the same dispositif.
    other_jury = make.jury("CHIMIE")
    elsewhere = make.jury_compose(other_jury)["CFDT"].user
    for user in (make.user("secretariat", dispositif=make.ref["CLEA"]), elsewhere):
        r = login_as(user).post(f"/jurys/brouillon/{ins.id}", data=data)
        assert r.status_code == 404
    assert _drafts(db, ins.id) == []
    # The dispositif's secretariat deliberates too: its draft is its own.
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    assert login_as(sec).post(f"/jurys/brouillon/{ins.id}", data=data).status_code == 200
    assert [d.user_id for d in _drafts(db, ins.id)] == [sec.id]


def test_before_the_jury_day_a_draft_is_refused(make, db, login_as):  # R-JUR-8
    day = TODAY + dt.timedelta(days=3)
    j, members, (ins,) = _jury(make, db, day=day)
    juror = members["CFDT"].user
    with pytest.raises(RuleViolation, match="le jour de sa réunion"):
        deliberation.save_draft(P(juror), ins, "valide", [], "Trop tôt")
    db.session.rollback()
    # The read-only page has no form to save; a post sent anyway is answered for the script.
    page = open_page(login_as(juror), f"/jurys/deliberer/{j.id}/1")
    assert "data-brouillon" not in page.html
    r = login_as(juror).post(f"/jurys/brouillon/{ins.id}",
                             data={"decision": "valide", "commentaire": "Trop tôt"})
    assert r.status_code == 422
    assert r.json["message"] == f"Le jury délibère le jour de sa réunion (le {day:%d/%m/%Y})."
    assert "R-JUR" not in r.get_data(as_text=True)
    assert _drafts(db, ins.id) == []


def test_a_closed_jury_refuses_drafts_and_keeps_none(make, db, login_as):  # R-JUR-9
    j, members, (ins,) = _jury(make, db)
    juror = members["CFDT"].user
    client = login_as(juror)
    _, form = _draft_form(client, j, ins)
    assert _autosave(client, form.fill(commentaire="Brouillon oublié")).status_code == 200
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    deliberation.record_decision(P(sec), ins, "partiel")
    db.session.commit()
    deliberation.save_draft(P(juror), ins, "partiel", None, "Relu après la décision",
                            version=deliberation.decision_version(ins))
    db.session.commit()
    assert len(_drafts(db, ins.id)) == 1  # a decision may be revised until the closing
    deliberation.close_jury(P(sec), j)
    db.session.commit()
    assert _drafts(db, ins.id) == []  # closing publishes decisions, never drafts
    ins = db.session.get(InscriptionJury, ins.id)
    with pytest.raises(RuleViolation, match="Le jury est clos"):
        deliberation.save_draft(P(juror), ins, "partiel", None, "Trop tard",
                                version=deliberation.decision_version(ins))
    db.session.rollback()
    r = client.post(f"/jurys/brouillon/{ins.id}", data={"decision": "partiel"})
    assert r.status_code == 422 and r.json["message"].startswith("Le jury est clos")


def test_a_draft_outside_the_referential_or_vocabulary_is_refused(make, db, login_as):
    _, members, (ins,) = _jury(make, db)
    juror = members["CFDT"].user
    for decision, acquis, field in (("certifiee", [], "decision"), ("partiel", ["x"], "acquis"),
                                    ("partiel", [999999], "acquis")):
        with pytest.raises(RuleViolation) as refused:
            deliberation.save_draft(P(juror), ins, decision, acquis, "")
        assert refused.value.field == field
        db.session.rollback()
    assert _drafts(db, ins.id) == []


def test_the_pages_read_the_drafts_in_one_statement_whatever_the_number_of_dossiers(
        make, db, login_as, queries):
    j, members, rows = _jury(make, db, n=4)
    juror = members["CFDT"].user
    client = login_as(juror)
    for n, ins in enumerate(rows, start=1):
        _, form = _draft_form(client, j, ins, n)
        assert _autosave(client, form.fill(commentaire=f"Dossier {n}")).status_code == 200
    for url in (f"/jurys/deliberation/{j.id}", f"/jurys/deliberer/{j.id}/2"):
        open_page(client, url)  # warm-up
        db.session.expunge_all()
        with queries() as statements:
            page = open_page(client, url)
        drafts = [s for s in statements if "brouillon_decision" in s]
        assert len(drafts) == 1, drafts
    page = open_page(client, f"/jurys/deliberation/{j.id}")
    assert page.text.count("Brouillon enregistré à") == 4
    assert [f.get("commentaire") for f in page.forms() if "version_decision" in f.names()] == [
        f"Dossier {n}" for n in range(1, 5)]


# --- the evaluation grid -------------------------------------------------------------------------------
def test_the_grid_autosave_uses_the_draft_verb_and_says_why_it_refuses(make, db, login_as):
    from app.models.candidature import Candidature
    from app.workflow.evaluation import common as evaluations
    c = make.candidature("CLEA")
    user = c.createur
    ev = make.clea_evaluation(c, user, finalise=False)
    first = ev.resultats[0].competence_id
    client = login_as(user)
    page = open_page(client, f"/evaluation/{c.id}")
    form = page.form(id="form-evaluation")
    assert form.attrs["data-brouillon"] == f"/evaluation/{c.id}/brouillon"
    assert 'id="brouillon-statut"' in page.html
    form.fill(**{f"acquis_{first}": "0", f"commentaire_{first}": "À revoir", "conclusion": "En cours"})
    r = client.post(form.attrs["data-brouillon"], data=form.data())  # no button, no file
    assert r.status_code == 200 and r.json["message"].startswith("Brouillon enregistré à ")
    db.session.expire_all()
    ev = evaluations.in_progress(db.session.get(Candidature, c.id))
    row = next(x for x in ev.resultats if x.competence_id == first)
    assert row.acquis is False and row.commentaire == "À revoir" and ev.conclusion == "En cours"
    assert not ev.finalisee
    again = open_page(client, f"/evaluation/{c.id}").form(id="form-evaluation")
    assert again.get(f"acquis_{first}") == "0" and again.get("conclusion") == "En cours"

    # Refused: nothing stored, the message for the status line, no rule id.
    again.fill(date_evaluation="2027-13-45", conclusion="Changée")
    r = client.post(again.attrs["data-brouillon"], data=again.data())
    assert r.status_code == 422 and not r.json["ok"] and r.json["field"] == "date_evaluation"
    assert r.json["message"] and "R-" not in r.json["message"]
    db.session.expire_all()
    assert evaluations.in_progress(db.session.get(Candidature, c.id)).conclusion == "En cours"
    # Someone else's dossier does not exist for this user.
    stranger = make.candidature("CLEA").createur
    assert login_as(stranger).post(f"/evaluation/{c.id}/brouillon",
                                   data=again.data()).status_code == 404


def test_without_script_the_decision_form_still_records_as_before(make, db, login_as):
    j, members, (ins,) = _jury(make, db)
    client = login_as(members["CFDT"].user)
    _, form = _draft_form(client, j, ins)
    page = follow(client, form.fill(commentaire="Sans brouillon").submit())
    assert "Décision enregistrée" in page.text
    assert db.session.get(InscriptionJury, ins.id).commentaire == "Sans brouillon"
