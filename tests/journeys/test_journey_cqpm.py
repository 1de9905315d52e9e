"""CQPM (Métallurgie) from the établissement's habilitation to the jury's documents, every screen
through its form as rendered (issue 13): habilitation requested and validated with the 12
indicators (R-HAB-4) → inscription → commission d'évaluation with the company's avis → jury
paritaire (designation requests, convocation 15 days before, R-JUR-5/6) → A and NA → closing →
PV, attendance sheet, GTP letter, certificates, letters."""
import datetime as dt

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
JURY_DAY = TODAY + dt.timedelta(days=20)


def commission(client, cid, *, non_acquis: int):
    """« Ouvrir l'évaluation » then the commission's grid, the company's avis, « Finaliser »."""
    act(client, cid, "open_evaluation", date_evaluation=TODAY.isoformat())
    page = click(client, dossier(client, cid, "evaluations"), rf"^/evaluation/{cid}$")
    form = page.form(id="form-evaluation")
    radios = sorted({n for n in form.names() if n.startswith("acquis_")},
                    key=lambda n: int(n.split("_")[1]))
    assert radios, "the commission's grid has no competence"
    for i, name in enumerate(radios):
        form.set(name, "0" if i < non_acquis else "1")
    form.fill(date_evaluation=TODAY.isoformat(), avis_entreprise="Favorable",
              avis_entreprise_commentaire="Salarié impliqué.", commentaire="Commission du jour.")
    form.attach("fichier", real_pdf(f"grille {cid}"), f"grille-{cid}.pdf")
    landed = follow(client, form.submit(button="Finaliser l'évaluation"))
    assert any("Évaluation finalisée" in a for a in alerts(landed, "success")), \
        (alerts(landed), alerts(landed, "warning"))
    assert "avis de l'entreprise : favorable" in dossier(client, cid, "evaluations").text.lower()


def test_cqpm_journey(app, db, make, clock):
    metal = make.ref["METALLURGIE"]
    cqpm = make.certification("METALLURGIE")
    etab = make.etablissement(libelle="Pôle Formation Est")
    entreprise = make.entreprise(raison_sociale="FORGES DE L'EST")
    secretariat = make.user("secretariat", dispositif=metal)
    sec = signed_in(app, secretariat)

    # The secretariat invites the établissement's administrator.
    invite(sec, prenom="Nina", nom="Admin", email="nina.admin@pole-est.fr",
           role="admin_etablissement", etablissement_id=str(etab.id))
    adm = first_connection(app, db, "nina.admin@pole-est.fr")

    # Habilitations › « Demander une habilitation » for the Métallurgie (R-HAB-1).
    page = click(adm, open_page(adm, "/habilitationview/list/"), r"/habilitationview/demander$")
    form = page.form(id="demande-habilitation")
    form.fill(etablissement_id=etab.nom)
    form.check("dispositifs", str(metal.id))
    no_error(follow(adm, form.submit()))

    # The secretariat opens the request, « Valider », appreciates the 12 indicators (R-HAB-4).
    listing = open_page(sec, "/habilitationview/list/")
    assert list_total(listing) == 1
    show = click(sec, listing, r"/habilitationview/show/\d+$")
    page = click(sec, show, r"/habilitationview/valider/\d+$")
    form = page.form(has="date_debut")
    for name in sorted(n for n in form.names() if n.startswith("c") and n.endswith(
            ("_i1", "_i2"))):
        form.set(name, "Satisfaisant")
    landed = follow(sec, form.submit())
    no_error(landed)
    assert "Validée" in open_page(adm, "/habilitationview/list/").text

    # Inscription of two employees by the établissement.
    ids = {}
    for nom, prenom in (("Klein", "Sarah"), ("Weber", "Tom")):
        search = click(adm, open_page(adm, "/"), r"^/candidatures/add$")
        found = follow(adm, search.form(id="form-recherche").fill(
            nom=nom, prenom=prenom, date_naissance="1992-09-09").submit())
        form = click(adm, found, r"/candidatures/nouvelle").form(id="form-candidature")
        form.fill(certification=cqpm.code, etablissement=etab.nom,
                  entreprise=entreprise.raison_sociale, civilite="Madame",
                  ville_naissance="Metz", code_postal_naissance="57000",
                  email=f"{prenom.lower()}@example.com", adresse="1 rue Serpenoise",
                  code_postal="57000", ville="Metz", statut_inscription="Salarié",
                  financement="CPF", objectifs_professionnels="Évoluer vers la maintenance.")
        page = follow(adm, form.submit())
        no_error(page)
        ids[prenom] = (int(page.url.rsplit("/", 1)[1]),
                       page.html.split("<small>", 1)[1].split("</small>", 1)[0])
    assert counters_match_lists(adm) == {"Inscrit, évaluation à ouvrir": 2}

    # Commission d'évaluation: Sarah acquires everything, Tom misses one competence.
    commission(adm, ids["Sarah"][0], non_acquis=0)
    commission(adm, ids["Tom"][0], non_acquis=1)

    # The jury paritaire, 20 days ahead; registrations until tomorrow.
    jury_id = create_jury(sec, "Métallurgie", JURY_DAY, TODAY + dt.timedelta(days=1),
                          capacite="20")
    for cid, _ in ids.values():
        page = register(adm, cid)
        assert statut(page) == "En attente de jury"
    assert "2 / 20" in jury_page(sec, jury_id).text

    # Composition: president, two employers, two unions asked to designate (R-JUR-5/6).
    juror = make.user("jury", dispositif=metal)
    juror.profil.organisation = "CFDT"
    db.session.commit()
    add_member(sec, jury_id, college="president", nom="Président", prenom="Paul",
               email="president@example.com", qualite="UIMM")
    for i in range(2):
        add_member(sec, jury_id, college="employeurs", nom=f"Patron{i}", prenom="Jean",
                   email=f"patron{i}@example.com", organisation="Entreprise")
    add_member(sec, jury_id, college="salaries", syndicat="CFDT",
               syndicat_email="cfdt@example.com")
    add_member(sec, jury_id, college="salaries", syndicat="CGT",
               syndicat_email="cgt@example.com")
    page = open_page(sec, f"/jurys/composition/{jury_id}")
    landed = submit_ok(sec, page.form(action=f"/jurys/designations/{jury_id}"))
    assert any("2 organisation(s)" in a for a in alerts(landed, "success"))
    assert outbox(db, to="cfdt@example.com") and outbox(db, to="cgt@example.com")
    # The unions designate: the CFDT its member's account, the CGT a person by name.
    add_member(sec, jury_id, college="salaries", user=str(juror.id), syndicat="CFDT",
               syndicat_email="cfdt@example.com")
    add_member(sec, jury_id, college="salaries", nom="Syndic", prenom="Anne",
               email="anne@example.com", syndicat="CGT", syndicat_email="cgt@example.com")
    page = open_page(sec, f"/jurys/composition/{jury_id}")
    assert 'id="composition-ok"' in page.html
    landed = submit_ok(sec, page.form(action=f"/jurys/convoquer/{jury_id}"))
    assert any("convoqué" in a for a in alerts(landed, "success")), alerts(landed, "success")
    assert outbox(db, to=juror.email) and outbox(db, to="president@example.com")

    # The jury's day: A for Sarah, NA for Tom.
    clock(JURY_DAY)
    jur = signed_in(app, juror)
    click(jur, jury_page(jur, jury_id), rf"/jurys/deliberation/{jury_id}$")
    decide(jur, jury_id, ids["Sarah"][1], "Admis")
    decide(jur, jury_id, ids["Tom"][1], "Non admis")

    page = jury_page(sec, jury_id)
    submit_ok(sec, page.form(action=f"/jurys/cloturer/{jury_id}"))
    assert statut(dossier(adm, ids["Sarah"][0])) == "Admis"
    assert statut(dossier(adm, ids["Tom"][0])) == "Non admis"

    # PV, attendance sheet, GTP letter (point 4), certificates, letters — from the jury page.
    for kind in ("pv", "emargement", "certificat", "lettre_decision"):
        emit(sec, jury_id, kind)
    page = jury_page(sec, jury_id)
    gtp = [f for f in page.forms() if "GTP" in " ".join(c.label for c in f.controls)
           or "gtp" in f.action.lower()]
    assert len(gtp) == 1, "no « Émettre : lettre au GTP » on the jury page (issue 13 point 4)"
    no_error(follow(sec, gtp[0].submit()))
    page = jury_page(sec, jury_id)
    for label in ("Procès-verbal", "Feuille d'émargement", "Lettre au GTP", "Certificat"):
        assert label.lower() in page.text.lower(), label
    for href in page.links(r"^/documents/pdf/\d+$"):
        r = sec.get(href)
        assert r.status_code == 200 and r.data.startswith(b"%PDF"), href

    # The établissement downloads Sarah's certificate (point 7).
    docs = open_page(adm, "/documents/list/")
    assert list_total(docs) >= 2
    show = open_page(adm, docs.links(r"/documents/show/\d+$")[0])
    pdf = adm.get(link(show, r"/documents/pdf/\d+$"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
