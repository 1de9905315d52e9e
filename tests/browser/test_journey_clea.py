"""Chromium: the CléA journey's key screens clicked through real forms (issue 13) — the
établissement's duplicate search and creation, the 28 sub-domains grid finalised, « Envoyer en
certification », the juror's « Certifiée », closing and « Émettre : Certificats » to a downloadable
certificate."""
import datetime as dt

from tests.browser.conftest import flashes, pdf_at, pick_option, shot, sign_in
from tests.factories import real_pdf

TODAY = dt.date.today()


def test_clea_journey_in_chromium(make, db, live_server, page):
    base = live_server
    clea = make.ref["CLEA"]
    etab = make.etablissement(libelle="Centre Sud")
    make.habilitation(etab, clea)
    of = make.user("utilisateur_etablissement", etablissement=etab)
    sec = make.user("secretariat", dispositif=clea)
    juror = make.user("jury", dispositif=clea)
    jury = make.jury("CLEA", date=TODAY, date_limite_inscription=TODAY, capacite=5)
    from app.security.perimeter import Perimetre
    from app.workflow.jury.composition import add_member
    admin = Perimetre(None, "admin", None, None)
    add_member(admin, jury, "president", nom="Président", prenom="Paul",
               email="president@example.com")
    add_member(admin, jury, "employeurs", user=juror.id)
    db.session.commit()

    # Établissement: « Proposer une candidature » → search → « Créer un nouveau dossier ».
    sign_in(page, base, of)
    page.click("#oc-proposer")
    page.fill("input[name=nom]", "Roux")
    page.fill("input[name=prenom]", "Emma")
    page.fill("input[name=date_naissance]", "1991-03-04")
    page.click("#form-recherche button[type=submit]")
    page.wait_for_selector("#aucun")
    page.click("#creer")
    page.wait_for_selector("select[name=certification]")
    pick_option(page, "select[name=certification]", "CLEA-SOCLE")
    page.select_option("select[name=etablissement]", label=etab.nom)
    page.select_option("select[name=civilite]", label="Madame")
    page.fill("input[name=ville_naissance]", "Nîmes")
    page.fill("input[name=code_postal_naissance]", "30000")
    # The e-mail is printed on the certificate (R-CAN-1): without it « Envoyer en certification »
    # stays disabled with that reason.
    page.fill("input[name=email]", "emma.roux@example.com")
    page.fill("input[name=adresse]", "4 rue de la Madeleine")
    page.fill("input[name=code_postal]", "30000")
    page.fill("input[name=ville]", "Nîmes")
    page.select_option("select[name=financement]", "CPF")
    page.fill("textarea[name=objectifs_professionnels]", "Reprendre un emploi.")
    page.select_option("select[name=statut_inscription]", label="Demandeur d'emploi")
    shot(page, "clea-01-creation")
    page.click("#enregistrer")
    page.wait_for_url("**/dossier/**")
    assert page.inner_text("#statut") == "En attente d'évaluation préalable", flashes(page)
    dossier_url = page.url

    # Évaluations › « Ajouter une évaluation »: every sub-domain acquired, « Finaliser ».
    page.click("#onglet-evaluations")
    page.wait_for_url("**onglet=evaluations")
    page.click("text=Ajouter une évaluation")
    page.fill("#evaluateur_nom", "Durand")
    page.fill("#evaluateur_prenom", "Paul")
    page.fill("#evaluateur_email", "paul.durand@example.com")
    page.fill("#date_evaluation", TODAY.isoformat())
    page.click("#ajouter-evaluation")
    page.wait_for_selector("#form-evaluation")
    radios = page.locator("#form-evaluation input[type=radio][value='1']")
    assert radios.count() == 28
    for i in range(28):
        radios.nth(i).check()
    page.set_input_files("#fichier", files=[{"name": "matrice.pdf", "mimeType": "application/pdf",
                                             "buffer": real_pdf("matrice")}])
    shot(page, "clea-02-grille")
    page.click("#finaliser")
    page.wait_for_url("**/dossier/**")
    assert page.inner_text("#statut") == "En attente d'envoi en certification", flashes(page)

    # « Envoyer en certification » (its confirmation form).
    page.goto(dossier_url)
    assert not page.locator("#raisons").count(), page.inner_text("#raisons")
    page.click("details[data-verb=send_to_certification] summary")
    shot(page, "clea-03-envoi")
    page.click("details[data-verb=send_to_certification] button[type=submit]")
    page.wait_for_selector("#verrou")
    assert page.inner_text("#statut") == "En attente de jury", flashes(page)
    assert "Inscrit au" in page.inner_text("#jury-du-dossier")  # the jury of today (R-JUR-2)

    # The juror records « Certifiée » from the form as shown (issue 13 point 8).
    sign_in(page, base, juror)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.click("#btn-deliberation")
    page.select_option("form.form-decision select[name=decision]", label="Certifiée")
    shot(page, "clea-04-deliberation")
    page.click("form.form-decision button[type=submit]")
    page.wait_for_load_state()
    assert not flashes(page), flashes(page)  # today: « cochez-les toutes (0/28) » (point 8)
    assert "Certifiée" in page.inner_text(".decision-enregistree")

    # The secretariat closes the jury and issues the certificate.
    sign_in(page, base, sec)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.once("dialog", lambda d: d.accept())
    page.click("#btn-cloturer")
    page.wait_for_selector("#emettre-certificat")
    page.click("#emettre-certificat")
    page.wait_for_selector("#documents-jury a[href^='/documents/pdf/']")
    shot(page, "clea-05-documents-jury")
    href = page.get_attribute("#documents-jury a[href^='/documents/pdf/']", "href")
    pdf_at(page, base, href)
    page.goto(dossier_url)
    assert page.inner_text("#statut") == "Certifiée"
