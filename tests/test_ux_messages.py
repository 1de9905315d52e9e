"""Issue 16 item 6: each workflow verb answers what happened and where the dossier stands now,
and the reasons of the actions not available yet are written on the dossier page."""
import re

from app.workflow import engine as transitions
from tests.journeys.forms import follow, open_page
from tests.journeys.steps import alerts
from tests.test_ux_forms import sign_in


def test_every_button_of_every_workflow_has_its_own_success_message():
    workflows = [w for w in vars(transitions).values() if isinstance(w, transitions.Workflow)]
    assert len(workflows) == 3
    missing = {m.verb for w in workflows for m in w.moves.values()
               if not m.system and m.verb not in transitions.DONE}
    assert not missing, missing
    assert len(set(transitions.DONE.values())) == len(transitions.DONE), "one message per verb"


def test_abandon_answers_what_happened_and_the_status(app, make, db):  # R-WF-2
    c = make.candidature("CLEA")
    client = sign_in(app, c.createur)
    form = open_page(client, f"/dossier/{c.id}").form(action=f"/dossier/{c.id}/action/declare_abandon")
    form.fill(motif="injoignable")
    page = follow(client, form.submit())
    said = alerts(page, "success")
    assert said and "Action effectuée" not in said[0]
    assert said[0].startswith("Dossier abandonné") and "Statut du dossier : Candidature abandonnée." in said[0]


def test_reasons_of_unavailable_actions_are_written_on_the_page(app, make, db):  # R-WF-1
    c = make.dossier_pret_jury("CHIMIE")
    ev_user = c.evaluateur
    from app.security.perimeter import perimetre_of as P
    from app.workflow.evaluation import clea
    clea.reopen_evaluation(P(make.user("secretariat", dispositif=make.ref["CHIMIE"])), c)
    db.session.commit()
    assert ev_user is not None
    page = open_page(sign_in(app, c.createur), f"/dossier/{c.id}")
    reasons = re.search(r'<ul class="oc-raisons" id="raisons">(.*?)</ul>', page.html, re.DOTALL)
    assert reasons and 'data-verb="submit_to_jury"' in reasons.group(1)
    assert "n'a pas finalisé" in " ".join(reasons.group(1).split()).replace("&#39;", "'")
