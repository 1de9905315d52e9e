"""CQP des Industries Chimiques from the employer's invitation to the downloaded certificate, every
screen through its form as rendered (issue 13): duplicate search, creation, évaluateur habilité
confirmed, évaluateur métier invited and answering through the e-mailed link, results through the
grid, jury registration and composition, deliberation (a Validé with the CQPI asked for by
equivalence, a Partiel whose acquired competences a second dossier reuses), closing, certificates
and letters from the jury page, the employer's download."""
import datetime as dt
import re

from tests.conftest import outbox
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
    invite,
    jury_page,
    link,
    list_total,
    no_error,
    register,
    signed_in,
    statut,
    submit_ok,
)

TODAY = dt.date.today()


def propose(client, *, nom, prenom, naissance, cqp_label, cqpi=False, existing=None):
    """Home › « Proposer une candidature » › search › « Créer un nouveau dossier » › the form."""
    search = click(client, open_page(client, "/"), r"^/candidatures/add$")
    found = follow(client, search.form(id="form-recherche").fill(
        nom=nom, prenom=prenom, date_naissance=naissance).submit())
    if existing:
        assert existing in found.text  # R-CAN-2: the earlier dossier is shown first
    else:
        assert "votre candidat n'existe pas" in found.text
    form = click(client, found, r"/candidatures/nouvelle").form(id="form-candidature")
    form.fill(certification=cqp_label, civilite="Monsieur", parcours="1",
              ville_naissance="Rouen", code_postal_naissance="76000",
              email=f"{prenom.lower()}.{nom.lower()}@example.com", adresse="5 quai Ouest",
              code_postal="76000", ville="Rouen", statut_inscription="Salarié", financement="CPF",
              objectifs_professionnels="Être reconnu opérateur de fabrication.")
    if cqpi:
        # Point 5: the chemical form asks whether the candidate wants the CQPI by equivalence.
        boxes = [c for c in form.controls if c.kind == "checkbox" and "CQPI" in c.label]
        assert boxes, "the creation form offers no « demande du CQPI » box (issue 13 point 5)"
        form.check(boxes[0].name)
    page = follow(client, form.submit())
    no_error(page)
    return int(page.url.rsplit("/", 1)[1]), page


def upload(client, cid, type_piece, content, name):
    form = dossier(client, cid, "documents").form(id="form-document")
    form.fill(type_piece=type_piece)
    form.attach("fichier", content, name)
    landed = submit_ok(client, form)
    assert name in dossier(client, cid, "documents").text
    return landed


def evaluate(app, db, employer, evaluator, cid, *, acquis: int | None, metier_email: str):
    """Employer confirms the évaluateur habilité; the evaluator invites the métier evaluator, who
    answers through the e-mailed link; the evaluator fills the grid and finalises (R-EVA-1..3)."""
    act(employer, cid, "confirm_evaluator", evaluateur="Nom",  # the evaluator's name in the list
        date_evaluation=TODAY.isoformat())
    act(evaluator, cid, "invite_metier", prenom="Luc", nom="Bernard", email=metier_email,
        fonction="Chef d'équipe")
    mail = outbox(db, to=metier_email)[-1]
    token_link = re.search(r"(/evaluation-metier/\S+)", mail.corps_texte).group(1)
    anonymous = app.test_client()
    page = open_page(anonymous, token_link)
    form = page.form(id="form-metier")
    for name in [n for n in form.names() if n.startswith("observation_")]:
        form.fill(**{name: "Gestes sûrs, bonne connaissance du poste."})
    form.fill(commentaire="Candidat autonome.")
    done = follow(anonymous, form.submit())
    assert "Observations enregistrées" in done.text

    page = click(evaluator, dossier(evaluator, cid, "evaluations"), rf"^/evaluation/{cid}$")
    form = page.form(id="form-evaluation")
    radios = sorted({n for n in form.names() if n.startswith("acquis_")},
                    key=lambda n: int(n.split("_")[1]))
    assert radios, "the grid has no competence to evaluate"
    for i, name in enumerate(radios):
        form.set(name, "1" if acquis is None or i < acquis else "0")
    form.fill(observations_candidat="Le candidat est satisfait de l'évaluation.")
    form.attach("fichier", real_pdf(f"outil 4 {cid}"), f"outil4-{cid}.pdf")
    landed = follow(evaluator, form.submit(button="Finaliser mes résultats"))
    assert any("Évaluation finalisée" in a for a in alerts(landed, "success")), \
        (alerts(landed), alerts(landed, "warning"))
    return radios


def test_chimie_journey(app, db, make):
    chimie = make.ref["CHIMIE"]
    cqp = make.certification("CHIMIE", "CQP-CHIMIE-04")
    make.competences(cqp, count=4)
    # The référentiel says CQPI-07 is delivered by equivalence with CQP-04 (app/seed_data).
    cqpi = make.certification("CHIMIE", "CQPI-07")
    assert cqp in cqpi.equivalences
    cqp_label = "CQP-CHIMIE-04"
    entreprise = make.entreprise(raison_sociale="CHIMIE ROUEN SA", region="Normandie")
    secretariat = make.user("secretariat", dispositif=chimie)
    evaluator_account = make.evaluateur(cqp, region="Normandie").user
    evaluator = signed_in(app, evaluator_account)
    sec = signed_in(app, secretariat)

    # The secretariat invites the employer; first connection through the e-mailed link.
    invite(sec, prenom="Marc", nom="Patron", email="marc.patron@chimie-rouen.fr", role="employeur",
           entreprise_id=str(entreprise.id))
    emp = first_connection(app, db, "marc.patron@chimie-rouen.fr")

    # Two candidates: Hugo asks for the CQPI; Théo will get a partial validation.
    hugo, page = propose(emp, nom="Moreau", prenom="Hugo", naissance="1990-06-01",
                         cqp_label=cqp_label, cqpi=True)
    numero_hugo = page.html.split("<small>", 1)[1].split("</small>", 1)[0]
    theo, page = propose(emp, nom="Girard", prenom="Theo", naissance="1988-02-03",
                         cqp_label=cqp_label)
    numero_theo = page.html.split("<small>", 1)[1].split("</small>", 1)[0]
    assert counters_match_lists(emp) == {"En cours d'inscription": 2}

    evaluate(app, db, emp, evaluator, hugo, acquis=None, metier_email="luc.bernard@example.com")
    grid = evaluate(app, db, emp, evaluator, theo, acquis=2,
                    metier_email="luc.bernard2@example.com")
    home_counts_match_lists(emp)

    # The secretariat's jury of today, composed as R-JUR-5 asks.
    juror = make.user("jury", dispositif=chimie)
    juror.profil.organisation = "CFDT"
    db.session.commit()
    jury_id = create_jury(sec, "Industries Chimiques", TODAY, TODAY, capacite="10")
    add_member(sec, jury_id, college="president", nom="Président", prenom="Paul",
               email="president@example.com", qualite="France Chimie")
    for i in range(2):
        add_member(sec, jury_id, college="employeurs", nom=f"Patron{i}", prenom="Jean",
                   email=f"patron{i}@example.com", organisation="Entreprise")
    add_member(sec, jury_id, college="salaries", user=str(juror.id), syndicat="CFDT",
               syndicat_email="cfdt@example.com")
    add_member(sec, jury_id, college="salaries", nom="Syndic", prenom="Anne",
               email="anne@example.com", syndicat="CGT", syndicat_email="cgt@example.com")
    assert 'id="composition-ok"' in open_page(sec, f"/jurys/composition/{jury_id}").html

    # The employer adds the dossier candidat and registers both dossiers (« Inscrire au jury »).
    for cid in (hugo, theo):
        upload(emp, cid, "dossier_candidat", real_pdf(f"dossier {cid}"),
               f"dossier-{cid}.pdf")
        page = register(emp, cid)
        assert statut(page) == "En attente de jury"
    assert "2 / 10" in jury_page(sec, jury_id).text

    # Deliberation by a juror: Validé for Hugo, Partiel (two competences) for Théo (R-DEC-1/2).
    jur = signed_in(app, juror)
    click(jur, jury_page(jur, jury_id), rf"/jurys/deliberation/{jury_id}$")
    decide(jur, jury_id, numero_hugo, "Validé")
    acquired = [name.split("_")[1] for name in grid[:2]]
    decide(jur, jury_id, numero_theo, "Partiel", acquis=acquired)

    # Closing publishes; the documents from the jury page.
    page = jury_page(sec, jury_id)
    submit_ok(sec, page.form(action=f"/jurys/cloturer/{jury_id}"))
    assert statut(dossier(emp, hugo)) == "Validé"
    assert statut(dossier(emp, theo)) == "Partiel"
    emit(sec, jury_id, "certificat")
    page = emit(sec, jury_id, "lettre_decision")
    issued = page.text
    assert "CQPI" in issued, "no CQPI certificate issued by equivalence (issue 13 point 5)"
    assert len(page.links(r"^/documents/pdf/\d+$")) >= 3  # CQP, CQPI, partial letter

    # The employer gets Hugo's certificate from « Documents émis » (point 7).
    docs = open_page(emp, "/documents/list/")
    assert list_total(docs) >= 2
    show = click(emp, docs, r"/documents/show/\d+$") if len(docs.links(
        r"/documents/show/\d+$")) == 1 else open_page(emp, docs.links(r"/documents/show/\d+$")[0])
    pdf = emp.get(link(show, r"/documents/pdf/\d+$"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    # Théo's second dossier for the same CQP reuses the two acquired competences (R-DEC-2).
    theo2, _ = propose(emp, nom="Girard", prenom="Theo", naissance="1988-02-03",
                       cqp_label=cqp_label, existing=numero_theo)
    act(emp, theo2, "confirm_evaluator", evaluateur="Nom", date_evaluation=TODAY.isoformat())
    # The evaluator's Évaluations tab shows them « déjà acquis », outside the grid to fill.
    page = dossier(evaluator, theo2, "evaluations")
    assert page.text.count("déjà acquis") == 2, page.text[-1500:]
