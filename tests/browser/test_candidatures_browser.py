"""Browser journeys (Playwright + Chromium) of the dossier workflow:
chimie — the employer creates the dossier and confirms the évaluateur habilité, who invites the
évaluateur métier; the métier link (no account) takes the observations; the evaluator enters the
results; the employer registers the candidate for the jury (R-EVA-1..4, R-NOT-3, R-WF-1);
CléA — préalable Non validé, formation, finale Validée, envoyer en certification, locked
(R-EVA-5..7, R-WF-2, R-WF-3)."""
import datetime as dt
import re

from app.models.candidature import Candidature
from app.models.notification import MailMessage
from tests.browser.conftest import sign_in
from tests.factories import real_pdf

TODAY = dt.date.today()
PDF = {"name": "piece.pdf", "mimeType": "application/pdf", "buffer": real_pdf("browser piece")}


def _reload(db, pk):
    db.session.expire_all()
    return db.session.get(Candidature, pk)


def _logout(page, base):
    from tests.browser.conftest import sign_out
    sign_out(page, base)


def _action(page, label):
    """Open a button's small form (<details>) and confirm it."""
    page.click(f"summary:has-text(\"{label}\")")
    page.click(f"button:has-text(\"Confirmer : {label}\")")
    page.wait_for_load_state()


def test_chimie_journey(make, db, live_server, page):  # R-EVA-1 R-EVA-2 R-EVA-3 R-NOT-3 R-WF-1
    base = live_server
    cert = make.certification("CHIMIE")
    employer = make.user("employeur", entreprise=make.entreprise(region="Île-de-France"))
    evaluateur = make.evaluateur(cert, region="Île-de-France").user
    db.session.commit()

    # The employer searches the candidate first, then creates the dossier.
    sign_in(page, base, employer)
    page.goto(f"{base}/candidatures/recherche?creation=1")
    page.fill("input[name=nom]", "Lemoine")
    page.fill("input[name=prenom]", "Julie")
    page.fill("input[name=date_naissance]", "1988-06-15")
    page.click("button:has-text('Rechercher')")
    page.wait_for_selector("#aucun")
    page.click("#creer")
    page.select_option("select[name=certification]", str(cert.id))
    page.select_option("select[name=civilite]", "MME")
    page.fill("input[name=ville_naissance]", "Lyon")
    page.fill("input[name=code_postal_naissance]", "69003")
    page.fill("input[name=email]", "julie.lemoine@test.invalid")
    page.fill("input[name=adresse]", "3 rue des Lilas")
    page.fill("input[name=code_postal]", "75011")
    page.fill("input[name=ville]", "Paris")
    page.select_option("select[name=statut_inscription]", "salarie")
    page.select_option("select[name=financement]", "PDC")
    page.click("#enregistrer")
    page.wait_for_selector("#statut")
    assert "En cours d'inscription" in page.inner_text("#statut")
    pk = int(re.search(r"/dossier/(\d+)", page.url).group(1))

    # The employer confirms the évaluateur habilité (R-HAB-5), who is e-mailed (R-NOT-3).
    page.click("summary:has-text(\"Confirmer l'évaluateur habilité\")")
    page.select_option("select[name=evaluateur]", str(evaluateur.id))
    page.fill("input[name=date_evaluation]", TODAY.isoformat())
    page.click("button:has-text(\"Confirmer : Confirmer l'évaluateur habilité\")")
    page.wait_for_load_state()
    assert "En attente d'évaluation" in page.inner_text("#statut")
    assert db.session.query(MailMessage).filter_by(destinataire=evaluateur.email).count() == 1

    # The evaluator invites the évaluateur métier first (R-EVA-1).
    _logout(page, base)
    sign_in(page, base, evaluateur)
    page.goto(f"{base}/dossier/{pk}")
    blocked = page.locator("button[data-verb=enter_results]")  # shown disabled, with the reason
    assert blocked.is_disabled() and "Invitez d'abord" in blocked.get_attribute("title")
    page.click("summary:has-text(\"Inviter l'évaluateur métier\")")
    page.fill("#invite_metier-prenom", "Marc")
    page.fill("#invite_metier-nom", "Durand")
    page.fill("#invite_metier-email", "marc.durand@test.invalid")
    page.click("button:has-text(\"Confirmer : Inviter l'évaluateur métier\")")
    page.wait_for_load_state()
    mail = db.session.query(MailMessage).filter_by(destinataire="marc.durand@test.invalid").one()
    link = re.search(r"(/evaluation-metier/\S+)", mail.corps_texte).group(1)

    # The métier evaluator, without an account, writes his observations through the link.
    _logout(page, base)
    page.goto(f"{base}{link}")
    page.locator("textarea[name^=observation_]").first.fill("Gestes maîtrisés en situation réelle.")
    page.fill("textarea[name=commentaire]", "Candidate autonome.")
    page.click("#envoyer")
    page.wait_for_selector("text=Observations enregistrées")
    page.goto(f"{base}{link}")
    assert "déjà été utilisé" in page.content()

    # The evaluator enters the results on the evaluation day, uploads outil n°4 and finalises.
    sign_in(page, base, evaluateur)
    page.goto(f"{base}/evaluation/{pk}")
    c = _reload(db, pk)
    for r in c.evaluations[0].resultats:
        page.check(f"input[name=acquis_{r.competence_id}][value='1']")
    page.fill("#observations_candidat", "La candidate est satisfaite de l'entretien.")
    page.set_input_files("#fichier", files=[{**PDF, "name": "outil4.pdf"}])
    page.click("#finaliser")
    page.wait_for_load_state()
    assert _reload(db, pk).evaluations[0].resultat == "valide"
    # Both evaluators have written: the company is e-mailed (R-EVA-3, R-NOT-3).
    assert db.session.query(MailMessage).filter_by(destinataire=employer.email).count() == 1

    # The employer registers the candidate for the jury: the dossier is locked.
    _logout(page, base)
    sign_in(page, base, employer)
    page.goto(f"{base}/dossier/{pk}")
    page.click("a:has-text('Inscrire au jury')")  # the page where the jury is chosen
    page.click("#btn-inscrire")
    page.wait_for_load_state()
    assert "En attente de jury" in page.inner_text("#statut")
    assert page.locator("#verrou").count() == 1
    assert _reload(db, pk).statut == "en_attente_jury"


def test_clea_journey(make, db, live_server, page):  # R-EVA-5 R-EVA-6 R-EVA-7 R-WF-2 R-WF-3
    base = live_server
    c = make.candidature("CLEA")
    user, pk = c.createur, c.id
    sign_in(page, base, user)

    def evaluate(day, one_missing):
        page.goto(f"{base}/dossier/{pk}?onglet=evaluations")
        page.click("a:has-text('Ajouter une évaluation')")
        page.fill("#evaluateur_nom", "Durand")
        page.fill("#evaluateur_prenom", "Paul")
        page.fill("#evaluateur_email", "paul.durand@test.invalid")
        page.fill("#date_evaluation", day.isoformat())
        page.click("#ajouter-evaluation")
        page.wait_for_selector("#form-evaluation")
        ev = next(e for e in _reload(db, pk).evaluations if e.statut == "en_cours")
        for i, r in enumerate(ev.resultats):
            value = "0" if (one_missing and i == 0) else "1"
            page.check(f"input[name=acquis_{r.competence_id}][value='{value}']")
        page.click("#enregistrer")  # « enregistrer et reprendre plus tard »
        page.wait_for_selector("#form-evaluation")
        page.set_input_files("#fichier", files=[{**PDF, "name": f"matrice-{ev.id}.pdf",
                                                 "buffer": real_pdf(f"matrice {ev.id}")}])
        page.click("#finaliser")
        page.wait_for_load_state()

    # Évaluation préalable: 27/28 → Non validé, the dossier waits for a final evaluation.
    evaluate(TODAY - dt.timedelta(days=30), one_missing=True)
    assert "Non validé" in page.content()
    assert "En attente d'évaluation finale" in page.inner_text("#statut")

    # A new evaluation needs a formation with an attendance certificate in between (R-EVA-6).
    page.goto(f"{base}/evaluation/{pk}")
    assert "formation" in page.content() and page.locator("#ajouter-evaluation").count() == 0
    page.goto(f"{base}/dossier/{pk}?onglet=formations")
    page.click("a:has-text('Ajouter une formation')")
    page.fill("input[name=intitule]", "Remise à niveau en français")
    page.fill("input[name=date_debut]", (TODAY - dt.timedelta(days=20)).isoformat())
    page.fill("input[name=date_fin]", (TODAY - dt.timedelta(days=2)).isoformat())
    page.fill("input[name=duree_heures]", "35")
    page.select_option("select[name=domaines]", index=0)
    page.set_input_files("input[name=attestation]", files=[{**PDF, "name": "attestation.pdf",
                                                            "buffer": real_pdf("attestation")}])
    page.click("#enregistrer")
    page.wait_for_selector("#liste-formations")
    assert "attestation.pdf" in page.content()

    # Évaluation finale: 28/28 → Validé, then « Envoyer en certification » locks the dossier.
    evaluate(TODAY, one_missing=False)
    assert "En attente d'envoi en certification" in page.inner_text("#statut")
    _action(page, "Envoyer en certification")
    assert "En attente de jury" in page.inner_text("#statut")
    assert page.locator("#verrou").count() == 1 and page.locator("button[data-verb]").count() == 0
    c = _reload(db, pk)
    assert c.statut == "en_attente_jury" and c.envoye_le is not None
    assert [e.resultat for e in c.evaluations] == ["non_valide", "valide"]
