"""Issue 16 item 1: nothing typed is ever lost. Each screen is driven through its rendered form
(tests/journeys/forms.py): a refused submit renders the form again with every value typed, the
error next to its field and a summary at the top."""
import datetime as dt
import html
import re

import pytest

from app.models.candidature import Candidature
from app.security.perimeter import perimetre_of as P
from app.workflow.evaluation import chimie, clea
from app.workflow.evaluation import common as evaluations
from tests.journeys.forms import follow, open_page

TODAY = dt.date.today()


def sign_in(app, user):
    client = app.test_client()
    form = open_page(client, "/login/").form(has="username")
    r = form.fill(username=user.username, password="Test-Password-1!").submit()
    assert r.status_code == 302 and "/login" not in r.headers["Location"]
    return client


def error_next_to(page, name) -> str:
    """The error rendered right after the field `name`, before any other field: '' when none."""
    html = page.html
    at = html.find(f'name="{name}"')
    if at < 0:
        return ""
    rest = html[at:]
    error = re.search(rf'<span class="help-block oc-erreur" id="erreur-{re.escape(name)}">([^<]+)<',
                      rest)
    other = re.search(rf'name="(?!{re.escape(name)}")', rest[1:])
    if error is None or (other is not None and other.start() + 1 < error.start()):
        return ""
    return error.group(1)


def _clea_grid(make, db):
    c = make.candidature("CLEA")
    clea.start_evaluation(P(c.createur), c, evaluateur_nom="Durand",
                                 evaluateur_prenom="Paul", evaluateur_email="paul@test.invalid")
    db.session.commit()
    return c


def test_refused_clea_finalisation_keeps_every_answer_and_the_conclusion(app, make, db):
    c = _clea_grid(make, db)
    client = sign_in(app, c.createur)
    form = open_page(client, f"/evaluation/{c.id}").form(has="conclusion")
    rows = list(dict.fromkeys(x.name for x in form.controls if x.name.startswith("acquis_")))
    assert len(rows) == 28
    typed = {}
    for i, name in enumerate(rows[1:]):  # the first row left without a result
        typed[name] = "1" if i % 3 else "0"
        form.set(name, typed[name])
    form.fill(**{f"commentaire_{rows[2][7:]}": "Lecture hésitante", "conclusion": "Bon parcours",
                 "commentaire": "Revoir le calcul", "date_evaluation": TODAY.isoformat()})
    r = form.submit(button="finaliser")
    assert r.status_code == 200, "a refused finalisation renders the grid again"
    page = follow(client, r)
    again = page.form(has="conclusion")
    for name, value in typed.items():
        assert again.get(name) == value, name
    assert again.get(f"commentaire_{rows[2][7:]}") == "Lecture hésitante"
    assert again.get("conclusion") == "Bon parcours" and again.get("commentaire") == "Revoir le calcul"
    assert again.get("date_evaluation") == TODAY.isoformat()
    # The summary at the top, the missing row marked next to its radios and focused.
    assert 'id="erreurs"' in page.html and "sans résultat" in page.text
    assert page.text.count("sans résultat") == 1  # said once, not by the rule and the rows both
    assert error_next_to(page, rows[0]) == "Choisissez « acquis » ou « non acquis »."
    assert re.search(rf'name="{rows[0]}" value="1"[^>]*autofocus', page.html)
    # The draft is kept server-side: the answers and the conclusion are saved.
    db.session.expire_all()
    ev = evaluations.in_progress(db.session.get(Candidature, c.id))
    saved = {f"acquis_{x.competence_id}": x.acquis for x in ev.resultats}
    assert all(saved[n] is (v == "1") for n, v in typed.items())
    assert ev.conclusion == "Bon parcours" and not ev.finalisee
    assert "enregistrées comme brouillon" in page.text


def test_refused_clea_date_error_sits_next_to_the_date(app, make, db):
    c = _clea_grid(make, db)
    client = sign_in(app, c.createur)
    form = open_page(client, f"/evaluation/{c.id}").form(has="conclusion")
    for name in [n for n in form.names() if n.startswith("acquis_")]:
        form.set(name, "1")
    future = (TODAY + dt.timedelta(days=3)).isoformat()
    form.fill(date_evaluation=future, conclusion="Tout acquis")
    page = follow(client, form.submit(button="finaliser"))
    assert page.form(has="conclusion").get("date_evaluation") == future
    assert "futur" in error_next_to(page, "date_evaluation")
    assert re.search(r'id="date_evaluation"[^>]*autofocus', page.html)
    assert page.form(has="conclusion").get("conclusion") == "Tout acquis"


# --- the jury decision ------------------------------------------------------------------------
def _deliberating(make, db):
    from app.workflow.jury import registration
    j = make.jury("CHIMIE")
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CHIMIE", acquis=2)
    ins = registration.register_to_jury(P(c.createur), c, j).inscription
    db.session.commit()
    j.date, j.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    db.session.commit()
    return j, members, c, ins


def test_refused_jury_decision_keeps_the_choice_the_competences_and_the_comment(app, make, db):
    # R-DEC-1: « Validé » with competences left unchecked is refused; nothing typed is lost.
    j, members, _, ins = _deliberating(make, db)
    client = sign_in(app, members["CFDT"].user)
    page = open_page(client, f"/jurys/deliberation/{j.id}")
    form = page.form(action=f"/jurys/decision/{ins.id}")
    boxes = [v for v, _ in form.options("acquis")]
    assert len(boxes) == 4
    for value in boxes:
        form.uncheck("acquis", value)
    form.check("acquis", boxes[3])
    form.fill(decision="valide", commentaire="Très bonne présentation orale")
    r = form.submit()
    assert r.status_code == 200, "a refused decision renders the page again"
    page = follow(client, r)
    again = page.form(action=f"/jurys/decision/{ins.id}")
    assert again.get("decision") == "valide", "not reset to the proposal"
    assert again.get("acquis") == boxes[3]
    assert again.get("commentaire") == "Très bonne présentation orale"
    # The error sits in this dossier's form, next to the competences, and the form is focused.
    block = page.html[page.html.index(f'id="ins-{ins.id}"'):]
    assert block.index('id="erreur-acquis"') < block.index('name="commentaire"')
    assert re.search(rf'id="decision-{ins.id}"[^>]*autofocus', page.html)
    assert 'id="erreurs"' in page.html and f'href="#decision-{ins.id}"' in page.html
    db.session.expire_all()
    assert db.session.get(type(ins), ins.id).decision is None


# --- the upload on the dossier page -----------------------------------------------------------
def test_refused_upload_keeps_the_type_and_puts_the_error_next_to_the_file(app, make, db):
    # R-CAN-4: a file that is not what its name says is refused; the type chosen stays.
    c = make.candidature("CHIMIE")
    client = sign_in(app, c.createur)
    page = open_page(client, f"/dossier/{c.id}?onglet=documents")
    form = page.form(action=f"/dossier/{c.id}/document")
    chosen = form.options("type_piece")[2][0]
    assert chosen != form.get("type_piece")
    form.set("type_piece", chosen)
    form.attach("fichier", b"ceci n'est pas un PDF", "piece.pdf")
    r = form.submit()
    assert r.status_code == 200, "a refused upload renders the page again, not a redirect"
    page = follow(client, r)
    assert page.form(action=f"/dossier/{c.id}/document").get("type_piece") == chosen
    assert error_next_to(page, "fichier")
    assert re.search(r'id="document-fichier"[^>]*autofocus', page.html)
    assert 'id="erreurs"' in page.html
    assert 'class="tab-pane active" id="documents"' in page.html


# --- the candidature form ---------------------------------------------------------------------
def _creation_page(client, identity):
    query = (f"nom_naissance={identity['nom_naissance']}&prenom={identity['prenom']}"
             f"&date_naissance={identity['date_naissance'].isoformat()}")
    return open_page(client, f"/candidatures/nouvelle?{query}")


def test_creation_form_says_at_once_the_person_already_follows_a_certification(app, make, db):
    # R-CAN-2: said when the form opens with the identity given, not after it is filled.
    identity = make.identite()
    first = make.candidature("CLEA", identite=identity)
    other = make.user("utilisateur_etablissement", etablissement=make.etablissement())
    make.habilitation(other.profil.etablissement, make.ref["CLEA"])
    page = _creation_page(sign_in(app, other), identity)
    assert 'id="doublon"' in page.html and first.certification.code in page.text
    assert first.numero not in page.text  # outside the perimeter: the certification only
    fresh = _creation_page(sign_in(app, other), make.identite())
    assert 'id="doublon"' not in fresh.html


def test_refused_candidature_reports_every_error_and_keeps_what_was_typed(app, make, db):
    # R-CAN-1: a first name with digits and no civilité are both said at the first submit.
    etab = make.etablissement()
    make.habilitation(etab, make.ref["CLEA"])
    make.certification("CLEA")
    user = make.user("utilisateur_etablissement", etablissement=etab)
    client = sign_in(app, user)
    form = open_page(client, "/candidatures/nouvelle").form(id="form-candidature")
    cert = next(v for v, _ in form.options("certification") if v)
    form.fill(certification=cert, nom_naissance="Dupont", prenom="Jean2",
              date_naissance="1990-05-04", ville_naissance="Lyon", code_postal_naissance="69003",
              email="jean.dupont@test.invalid", statut_inscription="salarie")
    if "civilite" in form.names():
        form.set("civilite", "")
    r = form.submit()
    assert r.status_code == 200
    page = follow(client, r)
    again = page.form(id="form-candidature")
    assert again.get("nom_naissance") == "Dupont" and again.get("prenom") == "Jean2"
    assert again.get("email") == "jean.dupont@test.invalid" and again.get("certification") == cert
    assert error_next_to(page, "prenom") and error_next_to(page, "civilite")
    assert 'id="erreurs"' in page.html


def test_refused_chimie_finalisation_keeps_the_results_and_saves_them(app, make, db):
    # R-EVA-3: finalising needs the candidate's observations; the results typed stay and are saved.
    from app.workflow.dossier.candidatures import confirm_evaluator
    c = make.candidature("CHIMIE")
    make.competences(c.certification)
    ev_user = make.evaluateur(c.certification, region=c.region).user
    confirm_evaluator(P(c.createur), c, evaluateur=ev_user.id, date_evaluation=TODAY)
    chimie.invite_metier_evaluator(P(ev_user), c, nom="Bernard", prenom="Luc",
                                        email="luc@test.invalid")
    db.session.commit()
    client = sign_in(app, ev_user)
    form = open_page(client, f"/evaluation/{c.id}").form(id="form-evaluation")
    rows = list(dict.fromkeys(x.name for x in form.controls if x.name.startswith("acquis_")))
    assert rows
    typed = {name: ("0" if i == 0 else "1") for i, name in enumerate(rows)}
    form.fill(**typed, commentaire="Bonne prise de poste")
    page = follow(client, form.submit(button="finaliser"))
    again = page.form(id="form-evaluation")
    assert all(again.get(name) == value for name, value in typed.items())
    assert again.get("commentaire") == "Bonne prise de poste"
    assert "observations du candidat" in error_next_to(page, "observations_candidat")
    db.session.expire_all()
    ev = evaluations.latest(db.session.get(Candidature, c.id))
    assert not ev.finalisee
    assert {f"acquis_{r.competence_id}": r.acquis for r in ev.resultats if not r.pre_acquis} == \
        {name: value == "1" for name, value in typed.items()}


def test_creation_form_fitted_to_the_dispositif(make, login_as):  # R-DIS-2 (issue 16 item 7)
    """A chemical employer is not asked CléA's questions, a CléA établissement not the chemical
    CQP's parcours."""
    employer = make.user("employeur", entreprise=make.entreprise(region="Île-de-France"))
    names = open_page(login_as(employer), "/candidatures/nouvelle").form(
        has="certification").names()
    assert "parcours" in names
    assert not {"socle_contextualise", "branche_delegataire"} & names
    etab = make.etablissement()
    make.habilitation(etab, make.ref["CLEA"])
    org = make.user("utilisateur_etablissement", etablissement=etab)
    names = open_page(login_as(org), "/candidatures/nouvelle").form(has="certification").names()
    assert "socle_contextualise" in names and "parcours" not in names


# --- an attachment sent with refused results (one transaction: both or neither) ---------------
def _grid_with_file(app, make, db):
    from tests.factories import real_pdf
    c = _clea_grid(make, db)
    client = sign_in(app, c.createur)
    form = open_page(client, f"/evaluation/{c.id}").form(has="conclusion")
    rows = [n for n in dict.fromkeys(form.names()) if n.startswith("acquis_")]
    for name in rows[1:]:  # the first row left without a result: « Finaliser » is refused
        form.set(name, "1")
    form.attach("fichier", real_pdf("matrice signée"), "matrice.pdf")
    return c, client, form


def _documents(db, c):
    from app.models.candidature import Document
    db.session.expire_all()
    return db.session.query(Document).filter(Document.candidature_id == c.id).all()


def test_refused_finalisation_keeps_the_file_chosen_with_the_draft(app, make, db):
    c, client, form = _grid_with_file(app, make, db)
    form.fill(conclusion="Bon parcours", date_evaluation=TODAY.isoformat())
    page = follow(client, form.submit(button="finaliser"))
    assert "enregistrées comme brouillon" in page.text
    [doc] = _documents(db, c)
    assert doc.nom_fichier == "matrice.pdf" and doc.evaluation_id is not None
    assert "n'a pas été enregistré" not in page.text


def test_refused_draft_stores_neither_the_results_nor_the_file_and_says_so(app, make, db):
    c, client, form = _grid_with_file(app, make, db)
    form.fill(conclusion="Bon parcours", date_evaluation="pas une date")
    page = follow(client, form.submit(button="enregistrer"))
    assert _documents(db, c) == []
    ev = evaluations.in_progress(db.session.get(Candidature, c.id))
    assert ev.conclusion != "Bon parcours"
    assert html.unescape(error_next_to(page, "fichier")) == (
        "Le fichier « matrice.pdf » n'a pas été enregistré : choisissez-le de nouveau.")
    assert page.form(has="conclusion").get("conclusion") == "Bon parcours"


def test_piece_types_are_the_dispositifs_own(app, make, db):  # R-CAN-4
    # A CléA dossier is not offered the chemical tools (outil n°6/7/8) nor the VAE CERFA.
    from app.errors import RuleViolation
    from app.workflow import pieces
    c = make.candidature("CLEA")
    client = sign_in(app, c.createur)
    form = open_page(client, f"/dossier/{c.id}?onglet=documents").form(
        action=f"/dossier/{c.id}/document")
    offered = {v for v, _ in form.options("type_piece")}
    assert "attestation_formation" in offered and "matrice_evaluation" in offered
    assert not offered & {"dossier_candidat", "dossier_vae", "guide_evaluation_vae",
                          "cerfa_12818"}
    with pytest.raises(RuleViolation) as refused:  # the rule is the workflow's, not the form's
        pieces.add_document(P(c.createur), c, filename="x.pdf", type_piece="dossier_vae",
                            data=make.pdf("x"))
    assert refused.value.field == "type_piece"
    db.session.rollback()
    metal = make.candidature("METALLURGIE")
    assert dict(pieces.pieces_for(metal))["guide_evaluation"] == (
        "Grille d'évaluation de la commission complétée")


def test_dossier_names_the_company_sector_in_words(app, make, db):
    ent = make.entreprise(naf="20.14Z", secteur="HM")
    c = make.candidature("CHIMIE", entreprise=ent)
    text = open_page(sign_in(app, c.createur), f"/dossier/{c.id}").text
    assert f"{ent.raison_sociale} (NAF 20.14Z, Hors métaux)" in text
