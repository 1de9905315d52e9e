"""Issue 16 item 1 in Chromium: a refused « Finaliser », jury decision, upload, candidature and
dossier action keep everything typed, with the error in view next to its field."""
import datetime as dt

from app.security.perimeter import perimetre_of as P
from app.workflow.evaluation import clea
from app.workflow.jury import registration
from tests.browser.conftest import sign_in

TODAY = dt.date.today()


def test_refused_finalisation_keeps_the_grid(make, db, live_server, page):  # R-EVA-5
    c = make.candidature("CLEA")
    clea.start_evaluation(P(c.createur), c, evaluateur_nom="Durand",
                                 evaluateur_prenom="Paul", evaluateur_email="paul@test.invalid")
    db.session.commit()
    sign_in(page, live_server, c.createur)
    page.goto(f"{live_server}/evaluation/{c.id}")
    radios = page.locator("#form-evaluation input[type=radio][value='1']")
    total = radios.count()
    assert total == 28
    for i in range(1, total):  # the first row left empty
        radios.nth(i).check()
    page.fill("#conclusion", "Parcours solide")
    page.fill("#commentaire", "À revoir : le calcul")
    with page.expect_navigation():
        page.click("#finaliser")
    assert page.locator("#erreurs").is_visible()
    assert page.locator("#form-evaluation input[type=radio][value='1']:checked").count() == total - 1
    assert page.input_value("#conclusion") == "Parcours solide"
    assert page.input_value("#commentaire") == "À revoir : le calcul"
    first = page.locator("#form-evaluation input[type=radio][value='1']").first
    assert first.evaluate("el => el === document.activeElement"), "the missing row is focused"
    assert page.locator(".oc-erreur").first.is_visible()


def test_refused_jury_decision_keeps_the_choice_and_the_comment(make, db, live_server, page):
    # R-DEC-1: « Validé » while a competence is left unchecked.
    j = make.jury("CHIMIE")
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CHIMIE", acquis=2)
    ins = registration.register_to_jury(P(c.createur), c, j).inscription
    db.session.commit()
    j.date, j.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    db.session.commit()
    sign_in(page, live_server, members["CFDT"].user)
    page.goto(f"{live_server}/jurys/deliberation/{j.id}")
    form = page.locator(f"form[action$='/jurys/decision/{ins.id}']")
    form.locator("select[name=decision]").select_option("valide")
    form.locator("textarea[name=commentaire]").fill("Très bonne présentation")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    form = page.locator(f"form[action$='/jurys/decision/{ins.id}']")
    assert form.locator("select[name=decision]").input_value() == "valide"
    assert form.locator("textarea[name=commentaire]").input_value() == "Très bonne présentation"
    error = page.locator(f"#erreur-dossier-{ins.id}")
    assert error.is_visible()
    select = page.locator(f"#decision-{ins.id}")
    assert select.evaluate("el => el === document.activeElement")
    box = select.bounding_box()
    viewport = page.viewport_size
    assert box and 0 <= box["y"] <= viewport["height"], "the refused form is scrolled into view"


def test_refused_upload_keeps_the_chosen_type(make, db, live_server, page, tmp_path):  # R-CAN-4
    c = make.candidature("CHIMIE")
    sign_in(page, live_server, c.createur)
    page.goto(f"{live_server}/dossier/{c.id}?onglet=documents")
    options = page.locator("#document-type option")
    chosen = options.nth(2).get_attribute("value")
    page.select_option("#document-type", chosen)
    fake = tmp_path / "piece.pdf"
    fake.write_bytes(b"ceci n'est pas un PDF")
    page.set_input_files("#document-fichier", str(fake))
    with page.expect_navigation():
        page.click("#form-document button[type=submit]")
    assert page.input_value("#document-type") == chosen
    error = page.locator("#erreur-fichier")
    assert error.is_visible() and error.inner_text().strip()
    assert page.locator("#document-fichier").evaluate("el => el === document.activeElement")


def test_refused_candidature_keeps_everything_typed(make, db, live_server, page):  # R-CAN-3
    # Two établissements: none imposed; left empty, the server refuses and keeps the rest.
    org = make.organisme()
    for _ in range(2):
        make.habilitation(make.etablissement(organisme=org), make.ref["CLEA"])
    user = make.user("admin_organisme", organisme=org)
    company = make.entreprise(raison_sociale="LOGISTIQUE OUEST")
    db.session.commit()
    sign_in(page, live_server, user)
    page.goto(f"{live_server}/candidatures/recherche?creation=1")
    page.fill("#form-recherche [name=nom]", "Dupont")
    page.fill("#form-recherche [name=prenom]", "Jeanne")
    page.fill("#form-recherche [name=date_naissance]", "1990-05-04")
    with page.expect_navigation():
        page.click("#form-recherche [type=submit]")
    with page.expect_navigation():
        page.click("#creer")
    form = "#form-candidature"
    page.select_option(f"{form} [name=civilite]", "MME")
    page.fill(f"{form} [name=ville_naissance]", "Lyon")
    page.fill(f"{form} [name=code_postal_naissance]", "69003")
    page.fill(f"{form} [name=email]", "j.dupont@test.invalid")
    page.select_option(f"{form} [name=statut_inscription]", "salarie")
    page.select_option(f"{form} [name=financement]", "CPF")
    page.select_option(f"{form} [name=entreprise]", str(company.id))
    page.fill(f"{form} [name=objectifs_professionnels]",
              "Devenir cheffe d'équipe dans la logistique.")
    page.evaluate("document.querySelectorAll('#form-candidature [required]')"
                  ".forEach(e => e.removeAttribute('required'))")  # the server's own check
    with page.expect_navigation():
        page.click(f"{form} [type=submit]")
    assert page.locator("#erreurs").is_visible()
    for name, value in (("nom_naissance", "Dupont"), ("prenom", "Jeanne"),
                        ("date_naissance", "1990-05-04"), ("ville_naissance", "Lyon"),
                        ("email", "j.dupont@test.invalid"), ("financement", "CPF"),
                        ("entreprise", str(company.id)), ("civilite", "MME"),
                        ("objectifs_professionnels",
                         "Devenir cheffe d'équipe dans la logistique.")):
        assert page.input_value(f"{form} [name={name}]") == value, name
    assert page.locator("#erreur-etablissement").is_visible()  # next to its field


def test_refused_action_form_reopens_with_what_was_typed(make, db, live_server, page):  # R-EVA-1
    from app.workflow.evaluation import chimie
    c = make.candidature("CHIMIE")
    ev_user = make.evaluateur(c.certification, region=c.region).user
    chimie.create_skills_evaluation(c, ev_user, TODAY)
    c.evaluateur_id, c.statut = ev_user.id, "en_attente_evaluation"
    db.session.commit()
    sign_in(page, live_server, ev_user)
    page.goto(f"{live_server}/dossier/{c.id}")
    page.click("details[data-verb=invite_metier] summary")
    page.fill("#invite_metier-prenom", "Marie")
    page.fill("#invite_metier-nom", "Dupuis")
    page.fill("#invite_metier-fonction", "Cheffe d'équipe")
    page.evaluate("document.getElementById('invite_metier-email').type = 'text'")
    page.fill("#invite_metier-email", "pas-une-adresse")
    with page.expect_navigation():
        page.click("details[data-verb=invite_metier] button[type=submit]")
    assert page.locator("details[data-verb=invite_metier]").get_attribute("open") is not None
    assert page.input_value("#invite_metier-prenom") == "Marie"
    assert page.input_value("#invite_metier-fonction") == "Cheffe d'équipe"
    assert page.input_value("#invite_metier-email") == "pas-une-adresse"
    assert page.locator("#invite_metier-email-erreur").is_visible()
    assert page.locator("#invite_metier-email").evaluate("el => el === document.activeElement")


def test_cqpi_request_box_shows_only_for_a_cqp_giving_one(make, db, live_server, page):
    # R-REF-2: « Le candidat demande le CQPI… » applies to a CQP with an equivalence only.
    from app.models import Certification
    from app.workflow.jury.acquis import cqpi_by_equivalence
    company = make.entreprise(raison_sociale="PHARMA SUD", region="Île-de-France")
    company.dispositifs = [make.ref["CHIMIE"]]
    db.session.commit()
    employer = make.user("employeur", entreprise=company)
    certs = db.session.query(Certification).filter_by(dispositif=make.ref["CHIMIE"],
                                                      type="CQP").all()
    giving = next(c for c in certs if cqpi_by_equivalence(c))
    plain = next(c for c in certs if not cqpi_by_equivalence(c))
    sign_in(page, live_server, employer)
    page.goto(f"{live_server}/candidatures/nouvelle")
    box = page.locator("input[name=cqpi_demande]")
    page.select_option("select[name=certification]", str(plain.id))
    assert not box.is_visible()
    page.select_option("select[name=certification]", str(giving.id))
    assert box.is_visible()


def test_each_home_count_equals_the_list_it_opens(make, db, live_server, page):  # R-STA-1
    from app.workflow.jury import registration as reg_wf
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    for _ in range(2):
        make.dossier_pret_jury("CHIMIE")
    make.candidature("CHIMIE")
    jury = make.jury("CHIMIE")
    taken = make.dossier_pret_jury("CHIMIE")
    reg_wf.register_to_jury(P(taken.createur), taken, jury)
    db.session.commit()
    sign_in(page, live_server, sec)
    links = page.eval_on_selector_all(
        ".oc-bucket .oc-count a", "els => els.map(a => [a.getAttribute('href'), "
        "parseInt(a.textContent, 10)])")
    assert links and any(n for _, n in links), links
    for href, n in links:
        page.goto(f"{live_server}{href}")
        assert page.locator("tr.oc-a-faire-ligne").count() == n, (href, n)
