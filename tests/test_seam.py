"""The HTTP seam (app/views/actions.py): one transaction per verb, refusals answered once —
403, 404, a flash or the form's field on screens, JSON under /api/ — and domain exceptions that
leave no state on the request (issue 15, items 1 and 5)."""
import pytest
from flask import g

from app.errors import PerimeterViolation, RuleViolation
from app.models.jury import Jury
from app.models.structures import Reseau
from app.security.perimeter import perimetre_of as P
from app.views.actions import run_verb
from app.workflow.jury import registration
from app.workflow.jury import sessions as jurys


def test_a_violation_leaves_nothing_on_the_request(app):
    with app.test_request_context("/x"):
        RuleViolation("Refusé.", "R-X-1", field="nom")
        PerimeterViolation()
        assert not [k for k in vars(g) if "violation" in k]


def _write_then_refuse(db):
    db.session.add(Reseau(nom="Écrit puis refusé"))
    db.session.flush()
    raise RuleViolation("Refusé après écriture.", "R-X-1")


def test_run_verb_rolls_back_what_a_refused_verb_wrote(app, db):
    with app.test_request_context("/dossier/1"):
        done = run_verb(_write_then_refuse, db)
        assert not done and done.violation.rule == "R-X-1"
    assert db.session.query(Reseau).filter_by(nom="Écrit puis refusé").count() == 0


def test_run_verb_under_the_api_hands_the_refusal_to_its_answer(app, db):
    with app.test_request_context("/api/v1/x"), pytest.raises(RuleViolation):
        run_verb(_write_then_refuse, db)
    assert db.session.query(Reseau).filter_by(nom="Écrit puis refusé").count() == 0


def test_run_verb_commits_once_on_success(app, db):
    with app.test_request_context("/x"):
        done = run_verb(lambda: db.session.add(Reseau(nom="Gardé")) or "fait")
    db.session.rollback()  # what was committed stays
    assert done and done.result == "fait"
    assert db.session.query(Reseau).filter_by(nom="Gardé").count() == 1


def test_a_jury_is_deleted_by_the_workflow_only_while_planned_and_empty(make, db, login_as):
    # R-JUR-1: the rule lives in jurys.delete_jury; FAB's delete route goes through it.
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    busy, empty = make.jury("CHIMIE"), make.jury("CHIMIE")
    c = make.dossier_pret_jury("CHIMIE")
    registration.register_to_jury(P(c.createur), c, busy)
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        jurys.delete_jury(P(sec), busy)
    assert refused.value.rule == "R-JUR-1"
    db.session.rollback()
    client = login_as(sec)
    r = client.post(f"/jurys/delete/{busy.id}")
    assert r.status_code == 302
    with client.session_transaction() as session:
        assert any("ne se supprime pas" in m for _, m in session.get("_flashes", []))
    assert client.post(f"/jurys/delete/{empty.id}").status_code == 302
    db.session.expire_all()
    assert {j.id for j in db.session.query(Jury)} == {busy.id}
    # Another dispositif's secretariat: not even told the jury exists.
    other = login_as(make.user("secretariat", dispositif=make.ref["CLEA"]))
    assert other.post(f"/jurys/delete/{busy.id}").status_code == 404


def test_api_refusal_keeps_the_dossier_api_shape(make, db, login_as):
    # 422 with `rule` and `field` (the habilitation API's `regle`/`champ`: test_habilitations.py).
    c = make.candidature("CHIMIE")
    r = login_as(c.createur).put(f"/api/v1/candidature/{c.id}", json={"financement": "x"})
    body = r.get_json()
    assert r.status_code == 422 and set(body) == {"message", "rule", "field"}, body
    assert body["field"] == "financement" and body["rule"] not in body["message"]
