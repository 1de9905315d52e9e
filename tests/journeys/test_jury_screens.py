"""The jury screens as a reviewer walked them (issue 16 review): what was typed is kept next to its
error, a complement stays on its page, counts agree with their lists, saves land on the jury, the
wording fits who reads it. Every step submits the page's rendered form (tests/journeys/forms.py)."""
import datetime as dt

from app.models.jury import InscriptionJury
from app.security.perimeter import perimetre_of as P
from app.workflow.dossier import candidatures
from app.workflow.jury import registration
from tests.journeys.forms import follow, open_page
from tests.journeys.steps import alerts, signed_in

TODAY = dt.date.today()


def _today(db, jury):
    jury.date, jury.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    db.session.commit()


def _clea_jury(make, db):
    """A CléA jury of today, its members, one dossier sent to certification and placed in it."""
    j = make.jury("CLEA", capacite=50)
    members = make.jury_compose(j)
    c = make.dossier_pret_jury("CLEA")
    candidatures.send_to_certification(P(c.createur), c)
    db.session.commit()
    ins = db.session.query(InscriptionJury).filter_by(candidature_id=c.id, active=True).one()
    assert ins.jury_id == j.id
    _today(db, j)
    return j, members, ins


def test_a_refused_member_keeps_what_was_typed_with_the_error_beside_its_field(app, make, db):
    j = make.jury("CHIMIE")
    client = signed_in(app, make.user("secretariat", dispositif=make.ref["CHIMIE"]))
    form = open_page(client, f"/jurys/composition/{j.id}").form(id="form-membre")
    form.fill(college="employeurs", nom="Durand", prenom="Paul", email="paul.durand@",
              organisation="UIMM")
    r = form.submit()
    assert r.status_code == 200
    page = follow(client, r)
    again = page.form(id="form-membre")
    assert (again.get("college"), again.get("nom"), again.get("prenom"), again.get("email"),
            again.get("organisation")) == ("employeurs", "Durand", "Paul", "paul.durand@", "UIMM")
    assert 'id="erreur-email">Adresse e-mail invalide.' in page.html
    assert 'aria-describedby="erreur-email"' in page.html
    assert "Le membre n'a pas été ajouté" in page.text and 'href="#email"' in page.html
    assert not j.membres
    # A field the form itself refuses (too long) is kept and shown the same way.
    again.fill(email="paul.durand@uimm.fr", organisation="U" * 250)
    page = follow(client, again.submit())
    assert page.form(id="form-membre").get("organisation") == "U" * 250
    assert 'id="erreur-organisation"' in page.html and not j.membres
    page = follow(client, page.form(id="form-membre").fill(organisation="UIMM").submit())
    assert "Membre ajouté." in alerts(page, "success")
    assert [m.nom for m in j.membres] == ["Durand"]


def test_a_complement_stays_on_its_dossier_page_and_the_jury_counts_agree(app, make, db):
    j, members, ins = _clea_jury(make, db)
    juror = signed_in(app, members["CFDT"].user)
    page = open_page(juror, f"/jurys/deliberer/{j.id}/1")
    assert f'<label for="complement-{ins.id}">' in page.html
    form = page.form(action=f"/jurys/complement/{ins.id}")
    r = form.submit()  # nothing typed
    assert r.status_code == 200
    page = follow(juror, r)
    assert "Dossier 1 sur 1" in page.text
    assert f'id="erreur-complement-{ins.id}"' in page.html
    assert f'aria-describedby="erreur-complement-{ins.id}"' in page.html
    assert "Le complément n'a pas été demandé" in page.text
    form = page.form(action=f"/jurys/complement/{ins.id}")
    form.fill(commentaire="Joindre l'attestation de l'employeur.")
    r = form.submit()
    assert r.headers["Location"].endswith(f"/jurys/deliberer/{j.id}/1")
    page = follow(juror, r)
    said = alerts(page, "success")
    assert any("Complément demandé à l" in a and "reviendra au jury une fois complété" in a for a in said), said
    assert not any("(R-" in a for a in said), said
    # The jury page: the count says what it counts, and the list heading agrees with it.
    sec = signed_in(app, make.user("secretariat", dispositif=make.ref["CLEA"]))
    page = open_page(sec, f"/jurys/show/{j.id}")
    assert "Dossiers inscrits 0 / 50 — et 1 dossier(s) en attente de complément" in page.text
    assert "Dossiers (0 inscrit(s), 1 en attente de complément)" in page.text
    assert page.html.count('id="ins-') == 1


def test_saving_a_jury_lands_on_its_page_named_in_the_message(app, make, db):
    client = signed_in(app, make.user("secretariat", dispositif=make.ref["CHIMIE"]))
    day = TODAY + dt.timedelta(days=70)
    form = open_page(client, "/jurys/add").form(has="date")
    form.fill(date=day.isoformat(), lieu="Lyon", modalite="presentiel", capacite="12")
    r = form.submit()
    assert r.status_code == 302, alerts(follow(client, r))
    from app.models.jury import Jury
    jury = db.session.query(Jury).filter_by(date=day).one()
    assert r.headers["Location"].endswith(f"/jurys/show/{jury.id}")
    assert f"Jury du {day:%d/%m/%Y} créé." in alerts(follow(client, r), "success")
    page = open_page(client, f"/jurys/show/{jury.id}")
    edit = open_page(client, page.links(rf"/jurys/edit/{jury.id}")[0]).form(has="date")
    # Refused by the rule (capacity): the form again, what was typed kept, the error beside it.
    r = edit.fill(lieu="Grenoble", capacite="0").submit()
    assert r.status_code == 200
    page = follow(client, r)
    again = page.form(has="date")
    assert (again.get("lieu"), again.get("capacite")) == ("Grenoble", "0")
    assert "Un jury examine au moins un dossier." in page.text
    assert 'id="erreurs"' in page.html and "1 champ(s) à corriger" in page.text  # the summary
    r = again.fill(capacite="12").submit()
    assert r.headers["Location"].endswith(f"/jurys/show/{jury.id}")
    assert f"Jury du {day:%d/%m/%Y} modifié." in alerts(follow(client, r), "success")


def _chimie_jury(make, db, n, civilites=("MME",)):
    j = make.jury("CHIMIE", anonyme=False)
    members = make.jury_compose(j)
    rows = []
    for i in range(n):
        c = make.dossier_pret_jury("CHIMIE", identite=make.identite(
            civilite=civilites[i % len(civilites)]))
        rows.append(registration.register_to_jury(P(c.createur), c, j).inscription)
        db.session.commit()
    _today(db, j)
    return j, members, rows


def test_after_the_last_decision_a_juror_is_told_the_secretariat_closes(app, make, db):
    j, members, (first, second) = _chimie_jury(make, db, 2)
    juror = signed_in(app, members["CFDT"].user)
    form = open_page(juror, f"/jurys/deliberer/{j.id}/1").form(action=f"/jurys/decision/{first.id}")
    page = follow(juror, form.submit())
    form = page.form(action=f"/jurys/decision/{second.id}")
    page = follow(juror, form.submit())
    said = " ".join(alerts(page, "info"))
    assert "le secrétariat clôt le jury" in said and "clôturez" not in said
    # The organiser keeps the sentence that tells him to close.
    sec = signed_in(app, make.user("secretariat", dispositif=make.ref["CHIMIE"]))
    r = open_page(sec, f"/jurys/deliberer/{j.id}/2").form(
        action=f"/jurys/decision/{second.id}").submit()
    assert "puis clôturez le jury pour les publier" in " ".join(alerts(follow(sec, r), "info"))


def test_deliberation_wording_agrees_with_the_civilite(app, make, db):
    j, members, (madame, monsieur) = _chimie_jury(make, db, 2, civilites=("MME", "M"))
    juror = signed_in(app, members["CFDT"].user)
    page = open_page(juror, f"/jurys/deliberation/{j.id}")
    assert "né(e)" not in page.text
    for ins, word in ((madame, "née"), (monsieur, "né")):
        cand = ins.candidature.candidat
        assert f"{cand.nom_complet}, {word} le {cand.date_naissance:%d/%m/%Y}" in page.text


def test_clea_deliberation_names_the_evaluation_it_takes_up(app, make, db):
    j, members, ins = _clea_jury(make, db)
    page = open_page(signed_in(app, members["CFDT"].user), f"/jurys/deliberer/{j.id}/1")
    ev = ins.candidature.evaluations[-1]
    assert ev.type == "prealable" and ev.resultat == "valide"
    assert (f"reprend les résultats de l'évaluation préalable validée du "
            f"{ev.date_evaluation:%d/%m/%Y}") in page.text
    assert "évaluation finale" not in page.text


def test_the_decision_message_names_the_candidate_unless_the_jury_is_anonymous(app, make, db):
    j, members, (ins,) = _chimie_jury(make, db, 1)
    juror = signed_in(app, members["CFDT"].user)
    form = open_page(juror, f"/jurys/deliberer/{j.id}/1").form(action=f"/jurys/decision/{ins.id}")
    said = " ".join(alerts(follow(juror, form.submit()), "success"))
    name = ins.candidature.candidat.nom_complet
    assert f"Décision enregistrée pour {name} : " in said, said
    assert str(ins.numero_anonyme) not in said
    # An anonymous jury keeps the number (R-JUR-7).
    j2 = make.jury("CHIMIE", anonyme=True)
    members2 = make.jury_compose(j2)
    c = make.dossier_pret_jury("CHIMIE")
    ins2 = registration.register_to_jury(P(c.createur), c, j2).inscription
    db.session.commit()
    _today(db, j2)
    juror = signed_in(app, members2["CFDT"].user)
    form = open_page(juror, f"/jurys/deliberer/{j2.id}/1").form(
        action=f"/jurys/decision/{ins2.id}")
    said = " ".join(alerts(follow(juror, form.submit()), "success"))
    assert f"Décision enregistrée pour le candidat n° {ins2.numero_anonyme} : " in said, said
    assert c.candidat.nom_complet not in said


def test_withdrawing_a_dossier_from_the_jury_page_asks_for_confirmation(app, make, db):
    j, _, (ins,) = _chimie_jury(make, db, 1)
    sec = signed_in(app, make.user("secretariat", dispositif=make.ref["CHIMIE"]))
    page = open_page(sec, f"/jurys/show/{j.id}")
    form = page.form(action=f"/jurys/retirer-dossier/{ins.id}")
    numero = ins.candidature.numero
    assert form.attrs.get("onsubmit", "").startswith(
        f"return confirm('Retirer le dossier {numero} de ce jury ?"), form.attrs
    # Without JavaScript the form is sent as it is, and withdraws the dossier.
    page = follow(sec, form.submit())
    assert any("Dossier retiré du jury" in a for a in alerts(page, "success")), alerts(page)
    db.session.refresh(ins)
    assert ins.etat == "retire" and not ins.active


def test_a_deadline_after_the_jury_says_what_it_must_be(app, make, db):
    client = signed_in(app, make.user("secretariat", dispositif=make.ref["CHIMIE"]))
    day = TODAY + dt.timedelta(days=70)
    form = open_page(client, "/jurys/add").form(has="date")
    form.fill(date=day.isoformat(), date_limite_inscription=(day + dt.timedelta(days=5)).isoformat(),
              lieu="Lyon", modalite="presentiel", capacite="12")
    page = follow(client, form.submit())
    assert "La date limite d'inscription doit précéder la date du jury." in page.text, page.text[:800]
