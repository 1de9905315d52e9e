"""Browser: what is typed in the deliberation form and in the evaluation grid is saved while
typing (issue 16 item 1) by app/static/opencertif-brouillon.js — the status line says
« Brouillon enregistré à HH:MM », and a reload (a closed tab, a lost connection) finds it all.
axe-core audits each page (tests/browser/conftest.py)."""
from tests.browser.conftest import sign_in
from tests.test_deliberation_drafts import _jury

SAVED = "Brouillon enregistré à"


def saved_with(page, text):
    """Waits for the autosave that carries `text` (an earlier one may end first)."""
    return page.expect_response(lambda r: "/brouillon" in r.url and r.request.method == "POST"
                                and text in (r.request.post_data or ""))


def test_deliberation_draft_survives_a_reload(make, db, live_server, page):  # R-JUR-8
    j, members, (ins,) = _jury(make, db)
    sign_in(page, live_server, members["CFDT"].user)
    page.goto(f"{live_server}/jurys/deliberer/{j.id}/1")
    status = f"#brouillon-statut-{ins.id}"
    assert page.inner_text(status).strip() == ""
    page.select_option(f"#decision-{ins.id}", "non_valide")
    for box in page.query_selector_all("form.form-decision input[name=acquis]"):
        box.uncheck()
    with saved_with(page, "Présentation orale à retravailler") as sent:
        page.fill(f"#commentaire-{ins.id}", "Présentation orale à retravailler")
    assert sent.value.status == 200
    page.wait_for_selector(f"{status}:has-text('{SAVED}')")
    assert page.get_attribute(status, "data-etat") == "enregistre"

    page.reload()
    assert page.input_value(f"#decision-{ins.id}") == "non_valide"
    assert page.input_value(f"#commentaire-{ins.id}") == "Présentation orale à retravailler"
    assert not any(b.is_checked()
                   for b in page.query_selector_all("form.form-decision input[name=acquis]"))
    assert page.inner_text(status).startswith(SAVED)

    # Recording the decision ends the draft: the page then shows the decision, not a draft.
    with page.expect_navigation():
        page.click("form.form-decision button[type=submit]")
    assert "Décision enregistrée" in page.content()
    page.goto(f"{live_server}/jurys/deliberer/{j.id}/1")
    assert page.inner_text(".decision-enregistree") == "Non validé"
    assert page.inner_text(status).strip() == "" and SAVED not in page.content()


def test_grid_answer_draft_survives_a_reload(make, db, live_server, page):  # R-EVA-5
    c = make.candidature("CLEA")
    user = c.createur
    ev = make.clea_evaluation(c, user, finalise=False)
    first = ev.resultats[0].competence_id
    db.session.commit()
    sign_in(page, live_server, user)
    page.goto(f"{live_server}/evaluation/{c.id}")
    answer = f"input[name=acquis_{first}][value='0']"
    page.check(answer)
    with saved_with(page, "Calcul à revoir") as sent:
        page.fill(f"textarea[name=commentaire_{first}]", "Calcul à revoir")
    assert sent.value.status == 200
    page.wait_for_selector(f"#brouillon-statut:has-text('{SAVED}')")

    page.reload()
    assert page.is_checked(answer)
    assert page.input_value(f"textarea[name=commentaire_{first}]") == "Calcul à revoir"

    # A refused draft says why in the status line and leaves the page as typed.
    page.fill("#evaluateur_nom", "")
    page.eval_on_selector("#date_evaluation", "e => { e.type = 'text'; }")
    page.fill("#date_evaluation", "45/13/2027")
    with saved_with(page, "Saisie en cours") as sent:
        page.fill("#conclusion", "Saisie en cours")
    assert sent.value.status == 422
    page.wait_for_selector("#brouillon-statut:has-text('Brouillon non enregistré :')")
    assert page.get_attribute("#brouillon-statut", "data-etat") == "refuse"
    assert page.input_value("#conclusion") == "Saisie en cours"
