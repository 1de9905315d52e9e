"""CléA from the établissement's account to the mailed certificate, every screen through its form
as rendered (issue 13, « Journey tests that use the forms as rendered »): préalable Non validée →
formation with its attestation → finale Validée → envoi en certification → the jury asks a
complement → the OF completes and re-sends → « Certifiée » → certificate → « Courrier envoyé »."""
import datetime as dt

from tests.factories import real_pdf
from tests.journeys.forms import follow, open_page
from tests.journeys.steps import (
    act,
    add_member,
    alerts,
    click,
    counters_match_lists,
    create_jury,
    decide,
    dossier,
    emit,
    first_connection,
    home_counts_match_lists,
    ins_of,
    invite,
    jury_page,
    link,
    list_total,
    no_error,
    signed_in,
    statut,
    submit_ok,
)

TODAY = dt.date.today()
PDF = real_pdf("matrice")


def evaluate(client, cid, *, acquis_all: bool, matrice: bytes, day=TODAY):
    """Évaluations tab › « Ajouter une évaluation » › the 28 sub-domains › « Finaliser »."""
    tab = dossier(client, cid, "evaluations")
    page = click(client, tab, rf"^/evaluation/{cid}$")
    start = page.form(action=f"/evaluation/{cid}/nouvelle")
    start.fill(evaluateur_nom="Durand", evaluateur_prenom="Paul",
               evaluateur_email="paul.durand@test.invalid", date_evaluation=day.isoformat())
    grid = follow(client, start.submit())
    no_error(grid)
    form = grid.form(id="form-evaluation")
    radios = sorted({n for n in form.names() if n.startswith("acquis_")},
                    key=lambda n: int(n.split("_")[1]))
    assert len(radios) == 28, f"CléA grid has {len(radios)} sub-domains"
    for i, name in enumerate(radios):
        form.set(name, "1" if acquis_all or i else "0")
    if not acquis_all:
        form.fill(**{f"commentaire_{radios[0].split('_')[1]}": "À retravailler"})
    form.fill(date_evaluation=day.isoformat())
    form.attach("fichier", matrice, "matrice.pdf")
    landed = follow(client, form.submit(button="Finaliser l'évaluation"))
    assert any("Évaluation finalisée" in a for a in alerts(landed, "success")), \
        (landed.url, alerts(landed), alerts(landed, "warning"), landed.text[:3000])
    return landed


def test_clea_journey(app, db, make):
    clea = make.ref["CLEA"]
    etab = make.etablissement(libelle="Centre Nord")
    make.habilitation(etab, clea)
    secretariat = make.user("secretariat", dispositif=clea)
    sec = signed_in(app, secretariat)

    # The secretariat invites the établissement's user; the user's first connection.
    invite(sec, prenom="Léa", nom="Formatrice", email="lea.formatrice@of-nord.fr", role="utilisateur_etablissement",
           etablissement_id=str(etab.id))
    of = first_connection(app, db, "lea.formatrice@of-nord.fr")

    # « Proposer une candidature » from the home page: duplicate search first (R-CAN-2).
    home = open_page(of, "/")
    search = click(of, home, r"^/candidatures/add$")
    found = follow(of, search.form(id="form-recherche").fill(
        nom="Lambert", prenom="Inès", date_naissance="1985-04-12").submit())
    assert "votre candidat n'existe pas" in found.text
    creation = click(of, found, r"/candidatures/nouvelle")
    form = creation.form(id="form-candidature")
    assert form.get("nom_naissance") == "Lambert"
    form.fill(certification="CLEA-SOCLE", etablissement=etab.nom, civilite="Madame",
              ville_naissance="Lille", code_postal_naissance="59000", email="ines@test.invalid",
              adresse="3 rue Nationale", code_postal="59000", ville="Lille",
              statut_inscription="Demandeur d'emploi", financement="CPF",
              objectifs_professionnels="Reprendre un emploi dans la logistique.")
    page = follow(of, form.submit())
    no_error(page)
    numero = page.html.split("<small>", 1)[1].split("</small>", 1)[0]
    cid = int(page.url.rsplit("/", 1)[1])
    assert statut(page) == "En attente d'évaluation préalable"

    # The list's counts open the lists they count.
    assert counters_match_lists(of) == {"En attente d'évaluation préalable": 1}
    assert home_counts_match_lists(of)

    # Évaluation préalable: one sub-domain not acquired → Non validée, finale expected.
    evaluate(of, cid, acquis_all=False, matrice=PDF, day=TODAY - dt.timedelta(days=10))
    assert statut(dossier(of, cid)) == "En attente d'évaluation finale"

    # Formation on the missing domain, with its attendance certificate (R-EVA-7).
    tab = dossier(of, cid, "formations")
    page = click(of, tab, rf"^/evaluation/{cid}/formation$")
    form = page.form(id="form-candidature")
    form.fill(intitule="Remise à niveau écrit", organisme_formation="OF Nord",
              date_debut=(TODAY - dt.timedelta(days=8)).isoformat(),
              date_fin=(TODAY - dt.timedelta(days=2)).isoformat(),
              duree_heures="14")
    form.set("domaines", [form.options("domaines")[0][0]])
    form.attach("attestation", real_pdf("attestation"), "attestation.pdf")
    landed = follow(of, form.submit())
    assert any("Formation enregistrée" in a for a in alerts(landed, "success")), alerts(landed)
    assert "attestation.pdf" in dossier(of, cid, "formations").text

    # Évaluation finale: everything acquired → en attente d'envoi en certification.
    evaluate(of, cid, acquis_all=True, matrice=real_pdf("matrice finale"))
    assert statut(dossier(of, cid)) == "En attente d'envoi en certification"

    # The secretariat's jury of today (registrations until today), a president and a juror.
    juror = make.user("jury", dispositif=clea)
    jury_id = create_jury(sec, "CléA", TODAY, TODAY, capacite="10")
    add_member(sec, jury_id, college="president", nom="Président", prenom="Paul",
               email="president@test.invalid", qualite="Transitions Pro")
    add_member(sec, jury_id, college="employeurs", user=str(juror.id))

    # « Envoyer en certification » (confirm form): locked, registered to the jury of today.
    page = act(of, cid, "send_to_certification")
    assert statut(page) == "En attente de jury"
    # The message says where it landed, not that it waits for an assignment.
    assert any(f"inscrit au jury de certification CléA du {TODAY:%d/%m/%Y}" in a
               for a in alerts(page, "success")), alerts(page)
    assert 'id="verrou"' in page.html
    assert "1 / 10" in jury_page(sec, jury_id).text

    # The juror asks a complement from the deliberation page (R-WF-4).
    jur = signed_in(app, juror)
    delib = click(jur, jury_page(jur, jury_id), rf"/jurys/deliberation/{jury_id}$")
    ins_id = ins_of(delib, numero, open_for="/jurys/complement/")
    form = delib.form(action=f"/jurys/complement/{ins_id}")
    form.fill(commentaire="Joindre l'attestation signée par le candidat.")
    landed = follow(jur, form.submit())
    assert any("Complément demandé" in a for a in alerts(landed, "success")), alerts(landed)

    # The OF reads the request on the dossier page (issue 13 point 11) and re-sends.
    page = dossier(of, cid)
    assert statut(page) == "En attente de complément"
    assert "Joindre l'attestation signée par le candidat." in page.text  # point 11
    upload = page.form(id="form-document")
    upload.fill(type_piece="complement")
    upload.attach("fichier", real_pdf("complement"), "complement.pdf")
    submit_ok(of, upload)
    page = act(of, cid, "complete_and_resend")
    assert statut(page) == "Candidature complétée"

    # Back at the jury of today: « Certifiée » from the form as shown (point 8).
    decide(jur, jury_id, numero, "Certifiée")

    # Closing, then the certificate from the jury page.
    page = jury_page(sec, jury_id)
    submit_ok(sec, page.form(action=f"/jurys/cloturer/{jury_id}"))
    assert statut(dossier(of, cid)) == "Certifiée"
    # Back in the jury that asked the complement: one row, no complement still awaited.
    page = jury_page(sec, jury_id)
    assert page.html.count('id="ins-') == 1, page.text
    assert "en attente de complément" not in page.text
    assert "Dossiers (1 inscrit(s))" in page.text and "1 / 10" in page.text
    page = emit(sec, jury_id, "certificat")
    cert_link = link(page, r"^/documents/pdf/\d+$")
    pdf = sec.get(cert_link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    # The mailing (R-ENV-2): document page › « Enregistrer l'envoi », then the lists say it.
    doc_id = int(cert_link.rsplit("/", 1)[1])
    page = open_page(sec, f"/documents/show/{doc_id}")
    form = page.form(action=f"/documents/envoi/{doc_id}")
    form.fill(statut="Envoyé", canal="Lettre suivie", numero_suivi="1A2345")
    submit_ok(sec, form)
    assert "1A2345" in dossier(sec, cid, "envois").text
    listing = open_page(sec, "/candidatures/list/")
    assert "Courrier envoyé" in listing.text  # point 16
    # The établissement finds the certificate in « Documents émis » and downloads it (point 7).
    docs = open_page(of, "/documents/list/")
    assert list_total(docs) == 1
    show = click(of, docs, rf"/documents/show/{doc_id}$")
    pdf = of.get(link(show, rf"/documents/pdf/{doc_id}$"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
