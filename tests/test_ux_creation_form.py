"""Issue 16 item 7: the creation form fitted to the dispositif and the user, the duplicate check
before it. Every screen is driven through its rendered form (tests/journeys/forms.py)."""
import datetime as dt
import html
import re

import pytest

from app.errors import RuleViolation
from app.models import Certification
from app.models.candidature import Candidature
from app.security.perimeter import perimetre_of as P
from app.workflow.dossier.candidatures import create_candidature
from tests.journeys.forms import follow, open_page

CHIMIE_ONLY = {"parcours", "cqpi_demande"}
CLEA_ONLY = {"socle_contextualise", "branche_delegataire"}
VAE_OF_OTHERS = {"vae"}  # metallurgy's VAE box; chimie says VAE by its parcours (R-CAN-8)


def creation_form(client, query=""):
    page = open_page(client, f"/candidatures/nouvelle{query}")
    return page, page.form(id="form-candidature")


def error_of(page, name) -> str:
    found = re.search(rf'id="erreur-{re.escape(name)}">([^<]+)<', page.html)
    return html.unescape(found.group(1)) if found else ""


def certs_of(make, code):
    return make.db.session.query(Certification).filter_by(dispositif_id=make.ref[code].id).all()


def marked_selected(form, name) -> list[str]:
    """The options the page itself marks `selected` (a browser would show the first otherwise)."""
    [ctl] = [c for c in form.controls if c.name == name]
    return [value for value, _, selected in ctl.options if selected]


def cert_ids(form):
    return {int(v) for v, _ in form.options("certification") if v}


@pytest.fixture
def chemical_employer(make):
    company = make.entreprise(raison_sociale="PHARMA SUD", region="Île-de-France")
    company.dispositifs = [make.ref["CHIMIE"]]
    make.db.session.commit()
    return make.user("employeur", entreprise=company)


@pytest.fixture
def clea_user(make):
    etab = make.etablissement()
    make.habilitation(etab, make.ref["CLEA"])
    return make.user("utilisateur_etablissement", etablissement=etab)


# --- what is offered -------------------------------------------------------------------------
def test_employer_sees_its_branch_certifications_and_its_company_preselected(
        make, login_as, chemical_employer):  # R-DIS-2, R-ACC-5
    make.certification("METALLURGIE")
    _, form = creation_form(login_as(chemical_employer))
    chimie = {c.id for c in certs_of(make, "CHIMIE") if c.date_suppression is None}
    assert cert_ids(form) == chimie, "no metallurgy nor CléA certification"
    company = chemical_employer.profil.entreprise
    assert form.options("entreprise") == [(str(company.id), "PHARMA SUD")]
    assert marked_selected(form, "entreprise") == [str(company.id)]
    names = form.names()
    assert "etablissement" not in names  # its company holds the dossier
    assert CHIMIE_ONLY <= names and not (CLEA_ONLY | VAE_OF_OTHERS) & names


def test_employer_of_a_company_without_branch_keeps_every_employer_dispositif(make, login_as):
    # A company recorded before its branch: every dispositif open to employers, as before.
    make.certification("METALLURGIE")
    user = make.user("employeur", entreprise=make.entreprise())
    _, form = creation_form(login_as(user))
    labels = [label for _, label in form.options("certification")]
    assert any(label.startswith("CHIMIE — ") for label in labels)
    assert any(label.startswith("METALLURGIE — ") for label in labels)


def test_clea_user_gets_its_only_etablissement_and_certification_preselected(
        make, login_as, clea_user):  # R-HAB-2, R-DIS-2
    make.certification("METALLURGIE")  # open to établissements, but this one is not habilitated
    _, form = creation_form(login_as(clea_user))
    clea = make.certification("CLEA")
    assert cert_ids(form) == {clea.id} and marked_selected(form, "certification") == [str(clea.id)]
    etab = clea_user.profil.etablissement
    assert [v for v, _ in form.options("etablissement") if v] == [str(etab.id)]
    assert marked_selected(form, "etablissement") == [str(etab.id)]
    names = form.names()
    assert CLEA_ONLY <= names
    assert not (CHIMIE_ONLY | VAE_OF_OTHERS | {"cqpi_detenu", "recevabilite_recue_le"}) & names


def test_organisme_sees_only_its_habilitated_etablissements(make, login_as):  # R-HAB-2
    org = make.organisme()
    lyon, paris = make.etablissement(organisme=org), make.etablissement(organisme=org)
    make.habilitation(lyon, make.ref["CLEA"])
    make.habilitation(paris, make.ref["CHIMIE"])  # chimie: its dossiers come from employers
    user = make.user("admin_organisme", organisme=org)
    _, form = creation_form(login_as(user))
    assert [v for v, _ in form.options("etablissement") if v] == [str(lyon.id)]
    assert cert_ids(form) == {make.certification("CLEA").id}


def test_nothing_to_create_says_why_and_offers_no_button(make, login_as):  # R-DIS-2
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    client = login_as(sec)
    page = open_page(client, "/candidatures/nouvelle")
    assert 'id="form-candidature"' not in page.html and 'id="rien-a-creer"' in page.html
    assert "établissements habilités" in page.text
    found = follow(client, open_page(client, "/candidatures/recherche?creation=1")
                   .form(id="form-recherche").fill(nom="Durand", prenom="Paul").submit())
    assert 'id="creer"' not in found.html
    lone = make.user("utilisateur_etablissement", etablissement=make.etablissement())
    page = open_page(login_as(lone), "/candidatures/nouvelle")
    assert "habilitation" in page.text and 'id="form-candidature"' not in page.html


def test_last_dossier_choices_are_preselected_next_time(make, login_as):
    org = make.organisme()
    sites = [make.etablissement(organisme=org) for _ in range(2)]
    for site in sites:
        make.habilitation(site, make.ref["CLEA"])
        make.habilitation(site, make.ref["METALLURGIE"])
    user = make.user("admin_organisme", organisme=org)
    client = login_as(user)
    _, form = creation_form(client)
    assert form.get("etablissement") == "" and form.get("certification") == ""
    cqpm = make.certification("METALLURGIE")
    make.candidature("METALLURGIE", by=user, etablissement=sites[1], certification=cqpm)
    _, form = creation_form(client)
    assert form.get("etablissement") == str(sites[1].id)
    assert form.get("certification") == str(cqpm.id)


# --- the server refuses what the form does not offer -----------------------------------------
def test_forged_certification_of_another_dispositif_is_refused(make, db, login_as,
                                                               chemical_employer):  # R-DIS-2
    cqpm = make.certification("METALLURGIE")
    client = login_as(chemical_employer)
    _, form = creation_form(client)
    form.fill(civilite="MME", nom_naissance="Faure", prenom="Julie", date_naissance="1991-02-03",
              ville_naissance="Lyon", code_postal_naissance="69003", statut_inscription="salarie")
    data = form.data()
    data["certification"] = [str(cqpm.id)]  # not offered: typed into the request by hand
    r = client.post(form.action, data=data)
    assert r.status_code == 200
    page = follow(client, r)
    assert "n'est pas rattachée au dispositif" in error_of(page, "certification")
    assert "R-DIS" not in page.text
    again = page.form(id="form-candidature")
    assert again.get("nom_naissance") == "Faure" and again.get("prenom") == "Julie"
    assert db.session.query(Candidature).count() == 0


def test_forged_certification_outside_the_habilitations_is_refused(make, db, login_as,
                                                                   clea_user):  # R-HAB-2
    cqpm = make.certification("METALLURGIE")
    client = login_as(clea_user)
    _, form = creation_form(client)
    form.fill(civilite="M", nom_naissance="Girard", prenom="Paul", date_naissance="1985-06-07",
              ville_naissance="Lyon", code_postal_naissance="69003", statut_inscription="salarie")
    data = form.data()
    data["certification"] = [str(cqpm.id)]
    page = follow(client, client.post(form.action, data=data))
    assert "habilitation valide" in error_of(page, "etablissement")
    assert db.session.query(Candidature).count() == 0


def test_workflow_refuses_a_certification_outside_the_company_branch(make, db,
                                                                     chemical_employer):
    # The same rule without the form (REST, imports): the verb itself refuses.
    with pytest.raises(RuleViolation) as refused:
        create_candidature(P(chemical_employer), certification=make.certification("METALLURGIE"),
                           identite=make.identite(), statut_inscription="salarie")
    assert refused.value.rule == "R-DIS-2" and refused.value.field == "certification"
    db.session.rollback()
    c = create_candidature(P(chemical_employer), certification=make.certification("CHIMIE"),
                           identite=make.identite(), statut_inscription="salarie")
    assert c.entreprise == chemical_employer.profil.entreprise


def test_secretariat_records_the_company_branch_on_its_screen(make, db, login_as):  # R-DIS-2
    company = make.entreprise(raison_sociale="CHIMIE NORD")
    client = login_as(make.user("secretariat", dispositif=make.ref["CHIMIE"]))
    form = open_page(client, f"/entrepriseview/edit/{company.id}").form(has="dispositifs")
    form.set("dispositifs", "CQP des Industries Chimiques")
    assert form.submit().status_code == 302
    db.session.expire_all()
    assert company.dispositifs == [make.ref["CHIMIE"]]
    shown = open_page(client, f"/entrepriseview/show/{company.id}")
    assert "Dispositifs de la branche" in shown.text


def test_secretariat_approval_puts_the_company_in_its_branch(make, db):  # R-ACC-6, R-DIS-2
    from app.models import Profil
    from app.workflow.comptes import decide_signup
    company = make.entreprise()
    applicant = make.user("employeur", entreprise=company)
    profil = db.session.query(Profil).filter_by(user_id=applicant.id).one()
    profil.inscription = "a_approuver"
    db.session.commit()
    decide_signup(P(make.user("secretariat", dispositif=make.ref["CHIMIE"])), profil.id, True)
    db.session.commit()
    assert company.dispositifs == [make.ref["CHIMIE"]]


# --- the duplicate check comes before the form -----------------------------------------------
def _search(client, **identity):
    page = open_page(client, "/candidatures/recherche?creation=1")
    return follow(client, page.form(id="form-recherche").fill(**identity).submit())


def _create_from(client, found):
    link = html.unescape(re.search(r'id="creer" href="([^"]+)"', found.html).group(1))
    return creation_form(client, link[len("/candidatures/nouvelle"):])


def test_employer_search_shows_its_dossier_and_prefills_the_form(make, login_as,
                                                                 chemical_employer):  # R-CAN-2
    identity = make.identite(nom_naissance="Lambert", prenom="Chloé")
    mine = make.candidature("CHIMIE", by=chemical_employer,
                            entreprise=chemical_employer.profil.entreprise, identite=identity)
    client = login_as(chemical_employer)
    found = _search(client, nom="lambert", prenom="chloé",
                    date_naissance=identity["date_naissance"].isoformat())
    assert mine.numero in found.text and f"/dossier/{mine.id}" in found.html
    page, form = _create_from(client, found)
    assert form.get("nom_naissance") == "lambert" and form.get("prenom") == "chloé"
    assert form.get("date_naissance") == identity["date_naissance"].isoformat()
    assert 'id="doublon"' in page.html and mine.certification.code in page.text


def test_clea_search_says_elsewhere_without_disclosing_and_prefills(make, login_as,
                                                                   clea_user):  # R-CAN-2
    identity = make.identite(nom_naissance="Mercier", prenom="Inès")
    theirs = make.candidature("CLEA", identite=identity)  # another établissement's dossier
    client = login_as(clea_user)
    found = _search(client, nom="Mercier", prenom="Inès",
                    date_naissance=identity["date_naissance"].isoformat(),
                    ville_naissance="Lyon")
    assert 'id="dossier-ailleurs"' in found.html
    for secret in (theirs.numero, theirs.etablissement.nom, theirs.statut_label):
        assert secret not in found.text
    page, form = _create_from(client, found)
    assert (form.get("nom_naissance"), form.get("prenom"), form.get("ville_naissance")) == \
        ("Mercier", "Inès", "Lyon")
    assert form.get("certification") and form.get("etablissement")  # the only ones, selected
    assert 'id="doublon"' in page.html and theirs.numero not in page.text


def test_chemical_organisme_searches_then_creates_through_the_form(make, db, login_as):
    # R-CAN-2 then R-CAN-3/5: search, nothing found, the form prefilled, one submit, the dossier.
    org = make.organisme()
    site = make.etablissement(organisme=org)
    make.habilitation(site, make.ref["CHIMIE"])
    make.habilitation(site, make.ref["CLEA"])
    user = make.user("admin_organisme", organisme=org)
    client = login_as(user)
    found = _search(client, nom="Roche", prenom="Hugo", date_naissance="1988-04-05")
    assert "votre candidat n'existe pas" in found.text
    _, form = _create_from(client, found)
    assert not any(label.startswith("CQP-CHIMIE") for _, label in form.options("certification"))
    form.fill(civilite="M", ville_naissance="Lyon", code_postal_naissance="69003",
              statut_inscription="salarie", financement="CPF")
    r = form.submit()
    assert r.status_code == 302, error_of(follow(client, r), "certification")
    c = db.session.query(Candidature).one()
    assert c.candidat.nom_naissance.lower() == "roche" and c.candidat.prenom == "Hugo"
    assert c.candidat.date_naissance == dt.date(1988, 4, 5)
    assert c.etablissement_id == site.id and c.dispositif == make.ref["CLEA"]


# --- a refused creation keeps everything, every error at once --------------------------------
def test_refused_creation_keeps_everything_and_says_every_error_at_once(make, db, login_as):
    org = make.organisme()
    sites = [make.etablissement(organisme=org) for _ in range(2)]
    for site in sites:
        make.habilitation(site, make.ref["CLEA"])
    client = login_as(make.user("admin_organisme", organisme=org))
    _, form = creation_form(client)
    assert form.get("etablissement") == ""  # two choices: none imposed
    company = make.entreprise(raison_sociale="LOGISTIQUE OUEST")
    _, form = creation_form(client)
    typed = {"nom_naissance": "Dupont", "prenom": "Jean2", "date_naissance": "1990-05-04",
             "ville_naissance": "Lyon", "code_postal_naissance": "69003",
             "email": "j.d@test.invalid", "statut_inscription": "salarie", "financement": "CPF",
             "entreprise": str(company.id), "branche_delegataire": "Propreté",
             "origine_demarche": "France Travail",
             "objectifs_professionnels": "Devenir chef d'équipe dans la logistique."}
    form.fill(civilite="M", **typed)
    form.check("socle_contextualise")
    page = follow(client, form.submit())
    again = page.form(id="form-candidature")
    for name, value in typed.items():
        assert again.get(name) == value, name
    assert again.get("socle_contextualise") == "y" and again.get("civilite") == "M"
    assert error_of(page, "etablissement") and error_of(page, "prenom")
    assert 'id="erreurs"' in page.html and "2 champ(s)" in page.text
    assert db.session.query(Candidature).count() == 0
