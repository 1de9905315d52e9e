"""One VAE dossier (CQP des Industries Chimiques) through its screens (issue 13): the secretariat
creates it, decides its recevabilité (R-CAN-8), the evaluators evaluate, the secretariat registers
it to a jury (seed 001: VAE dossiers are registered by the secretariat), the jury decides, the
closing publishes, the certificate is issued and downloaded."""
import datetime as dt

from tests.factories import real_pdf
from tests.journeys.forms import follow, open_page
from tests.journeys.steps import (
    act,
    add_member,
    click,
    create_jury,
    decide,
    dossier,
    emit,
    jury_page,
    link,
    no_error,
    register,
    signed_in,
    statut,
    submit_ok,
)
from tests.journeys.test_journey_chimie import evaluate, upload

TODAY = dt.date.today()


def test_vae_journey(app, db, make):
    chimie = make.ref["CHIMIE"]
    cqp = make.certification("CHIMIE", "CQP-CHIMIE-04")
    make.competences(cqp, count=4)
    make.entreprise(raison_sociale="PHARMA NORD", region="Normandie")
    sec = signed_in(app, make.user("secretariat", dispositif=chimie))
    evaluator = signed_in(app, make.evaluateur(cqp, region="Normandie").user)

    # Candidatures › « Proposer une candidature »: search, then the VAE dossier.
    search = click(sec, open_page(sec, "/candidatures/list/"), r"/candidatures/recherche\?creation=1$")
    found = follow(sec, search.form(id="form-recherche").fill(
        nom="Petit", prenom="Alice", date_naissance="1979-11-20").submit())
    assert "votre candidat n'existe pas" in found.text
    form = click(sec, found, r"/candidatures/nouvelle").form(id="form-candidature")
    form.fill(certification="CQP-CHIMIE-04", entreprise="PHARMA NORD", parcours="3",
              recevabilite_recue_le=(TODAY - dt.timedelta(days=5)).isoformat(),
              civilite="Madame", ville_naissance="Caen", code_postal_naissance="14000",
              email="alice.petit@example.com", adresse="2 rue Écuyère", code_postal="14000",
              ville="Caen", statut_inscription="Salarié", financement="CPF",
              objectifs_professionnels="Faire reconnaître quinze ans d'expérience.")
    assert "vae" not in form.names()  # in chimie, the parcours says VAE (R-CAN-8)
    page = follow(sec, form.submit())
    no_error(page)
    cid = int(page.url.rsplit("/", 1)[1])
    numero = page.html.split("<small>", 1)[1].split("</small>", 1)[0]
    assert statut(page) == "En attente de recevabilité (VAE)"

    # « Décider de la recevabilité » › Recevable (R-CAN-8).
    page = act(sec, cid, "decide_recevabilite", recevable="Recevable",
               decidee_le=TODAY.isoformat())
    assert statut(page) == "En cours d'inscription"
    assert "Recevable" in dossier(sec, cid, "parcours").text

    # Evaluation (the secretariat confirms the évaluateur habilité).
    evaluate(app, db, sec, evaluator, cid, acquis=None, metier_email="chef.atelier@example.com")
    upload(sec, cid, "dossier_vae", real_pdf("livret 2"), "livret2.pdf")

    # The jury of today; the secretariat registers the dossier.
    juror = make.user("jury", dispositif=chimie)
    juror.profil.organisation = "CFDT"
    db.session.commit()
    jury_id = create_jury(sec, "Industries Chimiques", TODAY, TODAY, capacite="5")
    add_member(sec, jury_id, college="president", nom="Président", prenom="Paul",
               email="president@example.com", qualite="France Chimie")
    for i in range(2):
        add_member(sec, jury_id, college="employeurs", nom=f"Patron{i}", prenom="Jean",
                   email=f"patron{i}@example.com", organisation="Entreprise")
    add_member(sec, jury_id, college="salaries", user=str(juror.id), syndicat="CFDT",
               syndicat_email="cfdt@example.com")
    add_member(sec, jury_id, college="salaries", nom="Syndic", prenom="Anne",
               email="anne@example.com", syndicat="CGT", syndicat_email="cgt@example.com")
    page = register(sec, cid)
    assert statut(page) == "En attente de jury"

    # Decision, closing, certificate.
    jur = signed_in(app, juror)
    click(jur, jury_page(jur, jury_id), rf"/jurys/deliberation/{jury_id}$")
    decide(jur, jury_id, numero, "Validé")
    submit_ok(sec, jury_page(sec, jury_id).form(action=f"/jurys/cloturer/{jury_id}"))
    assert statut(dossier(sec, cid)) == "Validé"
    assert "Validé" in dossier(sec, cid, "decision").text
    page = emit(sec, jury_id, "certificat")
    pdf = sec.get(link(page, r"^/documents/pdf/\d+$"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "Pas encore envoyé" in dossier(sec, cid, "envois").text
