"""Chromium: the CQPM (Métallurgie) journey's key screens clicked through real forms (issue 13) —
the établissement's inscription, the commission d'évaluation with the company's avis, « Présenter
au jury », the jury paritaire composed on its composition page, designations asked and members
convened (R-JUR-5/6), « Admis » on the jury's day, closing, then the PV, the attendance sheet and the certificate issued
from the jury page and downloaded."""
import datetime as dt
import re

from tests.browser.conftest import flashes, pdf_at, pick_option, shot, sign_in
from tests.factories import real_pdf

TODAY = dt.date.today()
JURY_DAY = TODAY + dt.timedelta(days=20)


def add_member(page, **fields):
    """The composition page's « Ajouter un membre ou une organisation syndicale » form."""
    form = "#form-membre"
    for name, value in fields.items():
        if name in ("college", "user", "votant"):
            page.select_option(f"{form} select[name={name}]", value)
        else:
            page.fill(f"{form} input[name={name}]", value)
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(".alert-success >> text=Membre ajouté")


def test_cqpm_journey_in_chromium(make, db, live_server, page, clock):
    base = live_server
    metal = make.ref["METALLURGIE"]
    cqpm = make.certification("METALLURGIE")
    etab = make.etablissement(libelle="Pôle Formation Est")
    make.habilitation(etab, metal)
    entreprise = make.entreprise(raison_sociale="FORGES DE L'EST")
    adm = make.user("admin_etablissement", etablissement=etab)
    sec = make.user("secretariat", dispositif=metal)
    juror = make.user("jury", dispositif=metal)
    juror.profil.organisation = "CFDT"
    jury = make.jury("METALLURGIE", date=JURY_DAY,
                     date_limite_inscription=TODAY + dt.timedelta(days=1), capacite=20)
    db.session.commit()

    # Établissement: inscription of an employee (duplicate search first, R-CAN-2).
    sign_in(page, base, adm)
    page.click("#oc-proposer")
    page.fill("input[name=nom]", "Klein")
    page.fill("input[name=prenom]", "Sarah")
    page.fill("input[name=date_naissance]", "1992-09-09")
    page.click("#form-recherche button[type=submit]")
    page.wait_for_selector("#aucun")
    page.click("#creer")
    page.wait_for_selector("#form-candidature")
    pick_option(page, "select[name=certification]", cqpm.code)
    page.select_option("select[name=etablissement]", label=etab.nom)
    page.select_option("select[name=entreprise]", label=entreprise.raison_sociale)
    page.select_option("select[name=civilite]", label="Madame")
    page.fill("input[name=ville_naissance]", "Metz")
    page.fill("input[name=code_postal_naissance]", "57000")
    page.fill("input[name=email]", "sarah.klein@example.com")
    page.fill("input[name=adresse]", "1 rue Serpenoise")
    page.fill("input[name=code_postal]", "57000")
    page.fill("input[name=ville]", "Metz")
    page.select_option("select[name=financement]", "CPF")
    page.fill("textarea[name=objectifs_professionnels]", "Évoluer vers la maintenance.")
    page.select_option("select[name=statut_inscription]", label="Salarié")
    page.click("#enregistrer")
    page.wait_for_url(re.compile(r".*/dossier/\d+$"))
    assert page.inner_text("#statut") == "Inscrit, évaluation à ouvrir", flashes(page)
    dossier_url = page.url

    # « Ouvrir l'évaluation », then the commission's grid with the company's avis (R-EVA-8).
    page.click("details[data-verb=open_evaluation] summary")
    page.fill("#open_evaluation-date_evaluation", TODAY.isoformat())
    page.click("details[data-verb=open_evaluation] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.inner_text("#statut") == "En cours d'évaluation", flashes(page)
    page.click("a[data-verb=enter_commission_results]")
    page.wait_for_selector("#form-evaluation")
    radios = page.locator("#form-evaluation input[type=radio][value='1']")
    assert radios.count() > 0, "the commission's grid has no competence"
    for i in range(radios.count()):
        radios.nth(i).check()
    page.fill("#date_evaluation", TODAY.isoformat())
    page.select_option("#avis_entreprise", label="Favorable")
    page.fill("textarea[name=avis_entreprise_commentaire]", "Salariée impliquée.")
    page.fill("#commentaire", "Commission du jour.")
    page.set_input_files("#fichier", files=[{"name": "grille.pdf", "mimeType": "application/pdf",
                                             "buffer": real_pdf("grille")}])
    shot(page, "cqpm-01-commission")
    page.click("#finaliser")
    page.wait_for_selector(".alert-success")
    assert any("Évaluation finalisée" in a for a in flashes(page, "success")), flashes(page)

    # « Présenter au jury »: the jury paritaire in 20 days (registrations until tomorrow).
    page.goto(dossier_url)
    page.click("a[data-verb=submit_to_jury]")
    page.wait_for_selector("#form-inscription")
    page.select_option("#form-inscription select[name=jury]", str(jury.id))
    page.click("#btn-inscrire")
    page.wait_for_url(re.compile(r".*/dossier/\d+$"))
    assert page.inner_text("#statut") == "En attente de jury", flashes(page)

    # The secretariat composes the jury paritaire (R-JUR-5), asks the unions to designate,
    # records the designations and convenes everyone 20 days ahead (R-JUR-6).
    sign_in(page, base, sec)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.click(f"a[href$='/jurys/composition/{jury.id}']")
    add_member(page, college="president", nom="Président", prenom="Paul",
               email="president@example.com", qualite="UIMM")
    for i in range(2):
        add_member(page, college="employeurs", nom=f"Patron{i}", prenom="Jean",
                   email=f"patron{i}@example.com", organisation="Entreprise")
    add_member(page, college="salaries", syndicat="CFDT", syndicat_email="cfdt@example.com")
    add_member(page, college="salaries", syndicat="CGT", syndicat_email="cgt@example.com")
    page.click("#btn-designations")
    page.wait_for_selector(".alert-success >> text=2 organisation(s)")
    add_member(page, college="salaries", user=str(juror.id), syndicat="CFDT",
               syndicat_email="cfdt@example.com")
    add_member(page, college="salaries", nom="Syndic", prenom="Anne", email="anne@example.com",
               syndicat="CGT", syndicat_email="cgt@example.com")
    page.wait_for_selector("#composition-ok")
    shot(page, "cqpm-02-composition")
    page.click("#btn-convoquer")
    page.wait_for_selector(".alert-success >> text=convoqué")
    assert not flashes(page), flashes(page)

    # The jury's day: the CFDT's juror records « Admis » (R-DEC-3).
    clock(JURY_DAY)
    sign_in(page, base, juror)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.click("#btn-deliberation")
    page.select_option("form.form-decision select[name=decision]", label="Admis")
    shot(page, "cqpm-03-deliberation")
    page.click("form.form-decision button[type=submit]")
    page.wait_for_load_state()
    assert not flashes(page), flashes(page)
    assert "Admis" in page.inner_text(".decision-enregistree")

    # Closing publishes (R-JUR-9); the PV and the certificate from the jury page (R-DOC-1..4).
    sign_in(page, base, sec)
    page.goto(f"{base}/jurys/show/{jury.id}")
    page.once("dialog", lambda d: d.accept())
    page.click("#btn-cloturer")
    page.wait_for_selector("#emettre-pv")
    assert not flashes(page), flashes(page)
    for kind in ("pv", "emargement", "certificat"):
        page.click(f"#emettre-{kind}")
        page.wait_for_load_state()
        assert not flashes(page), (kind, flashes(page))
    shot(page, "cqpm-04-documents-jury")
    rows = page.locator("#documents-jury tr:has(a[href^='/documents/pdf/'])")
    issued = {rows.nth(i).locator("td").first.inner_text(): rows.nth(i).locator("a").get_attribute(
        "href") for i in range(rows.count())}
    assert {"Procès-verbal du jury", "Feuille d'émargement", "Certificat"} <= set(issued), issued
    for href in issued.values():
        pdf_at(page, base, href)
    page.goto(dossier_url)
    assert page.inner_text("#statut") == "Admis"
