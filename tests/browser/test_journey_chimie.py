"""Chromium: the chemical CQP journey's key screens clicked through real forms (issue 13) — the
employer's duplicate search and creation, « Confirmer l'évaluateur habilité », the evaluator's
invitation of the évaluateur métier, the métier observations through the e-mailed link, the results
grid finalised, « Inscrire au jury » on the jury of the day, the juror's « Validé », closing and
« Émettre : Certificats » to a downloadable certificate, which the employer also gets."""
import datetime as dt
import re

from tests.browser.conftest import flashes, pdf_at, pick_option, shot, sign_in
from tests.conftest import outbox
from tests.factories import real_pdf

TODAY = dt.date.today()
PDF = {"mimeType": "application/pdf"}


def _pdf(name):
    return {"name": name, "buffer": real_pdf(f"{name}"), **PDF}


def test_chimie_journey_in_chromium(make, db, live_server, page):
    base = live_server
    chimie = make.ref["CHIMIE"]
    cqp = make.certification("CHIMIE", "CQP-CHIMIE-04")
    make.competences(cqp, count=4)
    entreprise = make.entreprise(raison_sociale="CHIMIE ROUEN SA", region="Normandie")
    employer = make.user("employeur", entreprise=entreprise)
    evaluator = make.evaluateur(cqp, region="Normandie").user
    sec = make.user("secretariat", dispositif=chimie)
    jury = make.jury("CHIMIE", date=TODAY, date_limite_inscription=TODAY, capacite=5)
    members = make.jury_compose(jury)  # R-JUR-5: president, two employers, two unions
    juror = members["CFDT"].user
    db.session.commit()

    # Employer: « Proposer une candidature » → search → « Créer un nouveau dossier » (R-CAN-2).
    sign_in(page, base, employer)
    page.click("#oc-proposer")
    page.fill("input[name=nom]", "Moreau")
    page.fill("input[name=prenom]", "Hugo")
    page.fill("input[name=date_naissance]", "1990-06-01")
    page.click("#form-recherche button[type=submit]")
    page.wait_for_selector("#aucun")
    page.click("#creer")
    page.wait_for_selector("#form-candidature")
    pick_option(page, "select[name=certification]", "CQP-CHIMIE-04")
    page.select_option("select[name=civilite]", label="Monsieur")
    page.select_option("select[name=parcours]", "1")
    page.fill("input[name=ville_naissance]", "Rouen")
    page.fill("input[name=code_postal_naissance]", "76000")
    page.fill("input[name=email]", "hugo.moreau@example.com")
    page.fill("input[name=adresse]", "5 quai Ouest")
    page.fill("input[name=code_postal]", "76000")
    page.fill("input[name=ville]", "Rouen")
    page.select_option("select[name=financement]", "CPF")
    page.fill("textarea[name=objectifs_professionnels]", "Être reconnu opérateur de fabrication.")
    page.select_option("select[name=statut_inscription]", label="Salarié")
    shot(page, "chimie-01-creation")
    page.click("#enregistrer")
    page.wait_for_url(re.compile(r".*/dossier/\d+$"))
    assert page.inner_text("#statut") == "En cours d'inscription", flashes(page)
    dossier_url = page.url

    # « Confirmer l'évaluateur habilité » (R-EVA-1): the habilitated evaluator of the region.
    page.click("details[data-verb=confirm_evaluator] summary")
    pick_option(page, "#confirm_evaluator-evaluateur", evaluator.last_name)
    page.fill("#confirm_evaluator-date_evaluation", TODAY.isoformat())
    shot(page, "chimie-02-confirmer-evaluateur")
    page.click("details[data-verb=confirm_evaluator] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.inner_text("#statut") == "En attente d'évaluation", flashes(page)

    # The evaluator invites the évaluateur métier (R-EVA-3).
    sign_in(page, base, evaluator)
    page.goto(dossier_url)
    page.click("details[data-verb=invite_metier] summary")
    page.fill("#invite_metier-prenom", "Luc")
    page.fill("#invite_metier-nom", "Bernard")
    page.fill("#invite_metier-email", "luc.bernard@example.com")
    page.fill("#invite_metier-fonction", "Chef d'équipe")
    page.click("details[data-verb=invite_metier] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert not flashes(page), flashes(page)

    # The métier evaluator opens the e-mailed link, without an account, and writes observations.
    db.session.rollback()  # read what the server committed
    mail = outbox(db, to="luc.bernard@example.com")[-1]
    token_link = re.search(r"(/evaluation-metier/\S+)", mail.corps_texte).group(1)
    page.goto(f"{base}/logout/")
    page.goto(f"{base}{token_link}")
    boxes = page.locator("#form-metier textarea[name^=observation_]")
    assert boxes.count() == 4
    for i in range(boxes.count()):
        boxes.nth(i).fill("Gestes sûrs, bonne connaissance du poste.")
    page.fill("#form-metier #commentaire", "Candidat autonome.")
    shot(page, "chimie-03-evaluateur-metier")
    page.click("#envoyer")
    page.wait_for_selector("text=Observations enregistrées")

    # The evaluator fills the grid (every competence acquired) and finalises with outil n°4.
    sign_in(page, base, evaluator)
    page.goto(dossier_url)
    page.click("a[data-verb=enter_results]")
    page.wait_for_selector("#form-evaluation")
    radios = page.locator("#form-evaluation input[type=radio][value='1']")
    assert radios.count() == 4
    for i in range(4):
        radios.nth(i).check()
    page.fill("#observations_candidat", "Le candidat est satisfait de l'évaluation.")
    page.set_input_files("#fichier", files=[_pdf("outil4.pdf")])
    shot(page, "chimie-04-grille")
    page.click("#finaliser")
    page.wait_for_selector(".alert-success")
    assert any("Évaluation finalisée" in a for a in flashes(page, "success")), flashes(page)

    # Employer: the dossier candidat in Documents, then « Inscrire au jury » on the jury of today.
    sign_in(page, base, employer)
    page.goto(f"{dossier_url}?onglet=documents")
    page.select_option("#form-document select[name=type_piece]", "dossier_candidat")
    page.set_input_files("#form-document input[name=fichier]", files=[_pdf("dossier.pdf")])
    page.click("#form-document button[type=submit]")
    page.wait_for_selector("#liste-documents >> text=dossier.pdf")
    page.click("a[data-verb=submit_to_jury]")
    page.wait_for_selector("#form-inscription")
    page.select_option("#form-inscription select[name=jury]", str(jury.id))
    shot(page, "chimie-05-inscription-jury")
    page.click("#btn-inscrire")
    page.wait_for_url(re.compile(r".*/dossier/\d+$"))
    assert page.inner_text("#statut") == "En attente de jury", flashes(page)
    assert "Inscrit au" in page.inner_text("#jury-du-dossier")

    # The juror (a union's voting account) records « Validé » from the deliberation form.
    sign_in(page, base, juror)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.click("#btn-deliberation")
    page.select_option("form.form-decision select[name=decision]", label="Validé")
    shot(page, "chimie-06-deliberation")
    page.click("form.form-decision button[type=submit]")
    page.wait_for_selector(".decision-enregistree")
    assert "Validé" in page.inner_text(".decision-enregistree"), flashes(page)

    # The secretariat closes the jury (R-JUR-9) and issues the certificate.
    sign_in(page, base, sec)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.once("dialog", lambda d: d.accept())
    page.click("#btn-cloturer")
    page.wait_for_selector("#emettre-certificat")
    page.click("#emettre-certificat")
    page.wait_for_selector("#documents-jury a[href^='/documents/pdf/']")
    shot(page, "chimie-07-documents-jury")
    href = page.get_attribute("#documents-jury a[href^='/documents/pdf/']", "href")
    pdf_at(page, base, href)
    page.goto(dossier_url)
    assert page.inner_text("#statut") == "Validé"

    # The employer finds it in « Documents émis » and downloads it (issue 13 point 7).
    sign_in(page, base, employer)
    page.goto(f"{base}/documents/list/")
    shot(page, "chimie-08-documents-employeur")
    listed = page.locator(f"a[href$='/documents/show/{href.rsplit('/', 1)[1]}']")
    assert listed.count() == 1, "the employer's « Documents émis » does not list the certificate"
    listed.click()
    pdf_at(page, base, page.get_attribute("a[href^='/documents/pdf/']", "href"))
