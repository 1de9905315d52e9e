"""Habilitations of établissements and evaluators (issue 3): R-HAB-1…6, R-ACC-3, R-ACC-4.

The world: réseau R1 (national) ⊃ organisme A ⊃ établissements A1, A2; réseau R2 ⊃ organisme B ⊃ B1.
The CléA secretariat decides CléA requests; the chemistry secretariat is another certifier.
"""
import csv
import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy.exc import IntegrityError

from app.errors import PerimeterViolation, RuleViolation
from app.models.habilitation import (
    INDICATEURS,
    AppreciationHabilitation,
    Habilitation,
    RappelHabilitation,
)
from app.models.notification import Notification
from app.security.perimeter import perimetre_of
from app.workflow import habilitations as wf
from tests.conftest import outbox

TODAY = dt.date.today()
DAY = dt.timedelta(days=1)
ALL_OK = {k: "satisfaisant" for k in INDICATEURS}


class World:
    pass


@pytest.fixture(autouse=True)
def _fast_password_hash(monkeypatch):
    """Factories hash the same password for every user: hash it once (scrypt is slow)."""
    import functools

    import tests.factories
    monkeypatch.setattr(tests.factories, "generate_password_hash",
                        functools.lru_cache(maxsize=4)(tests.factories.generate_password_hash))


@pytest.fixture
def w(make, ref):
    x = World()
    x.ref = ref
    x.clea, x.chimie, x.metal = ref["CLEA"], ref["CHIMIE"], ref["METALLURGIE"]
    x.r1 = make.reseau(nom="GRETA", national=True)
    x.r2 = make.reseau(nom="Réseau régional")
    x.A = make.organisme(reseau=x.r1, nom="LA BOETIE")
    x.A1 = make.etablissement(organisme=x.A, libelle="Marseille", region="Provence-Alpes-Côte d'Azur")
    x.A2 = make.etablissement(organisme=x.A, libelle="Dijon")
    x.B = make.organisme(reseau=x.r2, nom="AUTRE OF")
    x.B1 = make.etablissement(organisme=x.B, libelle="Lille")
    x.sec = make.user("secretariat", dispositif=x.clea)
    x.sec_metal = make.user("secretariat", dispositif=x.metal)
    x.sec_other = make.user("secretariat", dispositif=x.chimie)
    x.admin_reseau = make.user("admin_reseau", reseau=x.r1)
    x.superviseur = make.user("superviseur_reseau", reseau=x.r1)
    x.admin_org = make.user("admin_organisme", organisme=x.A)
    x.user_org = make.user("utilisateur_organisme", organisme=x.A)
    x.admin_etab = make.user("admin_etablissement", etablissement=x.A1)
    x.user_etab = make.user("utilisateur_etablissement", etablissement=x.A1)
    x.admin_etab2 = make.user("admin_etablissement", etablissement=x.A2)
    x.admin_org_b = make.user("admin_organisme", organisme=x.B)
    x.employeur = make.user("employeur", entreprise=make.entreprise())
    x.manager = make.user("manager", dispositif=x.clea)
    return x


def P(user):
    return perimetre_of(user)


def notes(db, user, rubrique=None):
    q = db.session.query(Notification).filter(Notification.user_id == user.id)
    if rubrique:
        q = q.filter(Notification.rubrique == rubrique)
    return q.all()


# ---------------------------------------------------------------------------------------------
# R-HAB-1: request → validated (dates) | rejected (reason); renewal; notifications and mails
# ---------------------------------------------------------------------------------------------
def test_request_one_per_dispositif_notifies_requester_and_certifier(db, w):  # R-HAB-1
    habs = wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea, w.metal], "Première demande")
    db.session.commit()
    assert [(h.dispositif.code, h.etat) for h in habs] == [("CLEA", "en_attente"),
                                                           ("METALLURGIE", "en_attente")]
    assert all(h.demande_par_id == w.admin_org.id and h.renouvellement_de is None for h in habs)
    # Requester side: the requester and the établissement's administrator; certifier: its secretariat.
    assert {n.rubrique for n in notes(db, w.admin_org)} == {"demande_habilitation"}
    assert len(notes(db, w.admin_etab, "demande_habilitation")) == 2
    assert len(notes(db, w.sec, "dossier_habilitation")) == 1
    assert len(notes(db, w.sec_metal, "dossier_habilitation")) == 1
    assert notes(db, w.sec_other) == [] and notes(db, w.admin_etab2) == []
    [mail] = outbox(db, w.sec.email)
    assert mail.sujet.startswith("Demande d'habilitation — LA BOETIE Marseille")
    assert "valider ou la rejeter" in mail.corps_texte and f"/habilitationview/show/{habs[0].id}" in mail.corps_texte
    assert len(outbox(db, w.admin_org.email)) == 2


def test_duplicate_pending_request_is_refused(db, w):  # R-HAB-1
    wf.demander_habilitation(P(w.admin_etab), w.A1, [w.clea])
    with pytest.raises(RuleViolation) as exc:
        wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea])
    assert exc.value.rule == "R-HAB-1" and "déjà en attente" in exc.value.message


def test_request_needs_a_dispositif_and_an_administrator(db, w):  # R-HAB-1
    with pytest.raises(RuleViolation, match="au moins un dispositif"):
        wf.demander_habilitation(P(w.admin_org), w.A1, [])
    for user in (w.user_org, w.user_etab, w.superviseur, w.sec, w.employeur):
        with pytest.raises(RuleViolation):
            wf.demander_habilitation(P(user), w.A1, [w.clea])
    with pytest.raises(PerimeterViolation):
        wf.demander_habilitation(P(w.admin_etab), w.A2, [w.clea])
    with pytest.raises(PerimeterViolation):
        wf.demander_habilitation(P(w.admin_org_b), w.A1, [w.clea])


def test_validate_sets_period_and_tells_both_sides(db, w):  # R-HAB-1
    [hab] = wf.demander_habilitation(P(w.admin_etab), w.A1, [w.clea])
    db.session.commit()
    wf.validate_habilitation(P(w.sec), hab, TODAY, TODAY + dt.timedelta(days=1095))
    db.session.commit()
    assert (hab.etat, hab.date_debut, hab.decide_par_id) == ("validee", TODAY, w.sec.id)
    [note] = [n for n in notes(db, w.admin_etab, "demande_habilitation")
              if n.titre == "Demande d'habilitation acceptée"]
    assert "est acceptée" in note.contenu and TODAY.strftime("%d/%m/%Y") in note.contenu
    assert any(n.titre == "Demande d'habilitation acceptée" for n in notes(db, w.sec))
    subjects = [m.sujet for m in outbox(db, w.admin_etab.email)]
    assert "Habilitation accordée — LA BOETIE Marseille (CléA)" in subjects


def test_validate_needs_dates_in_order(db, w):  # R-HAB-1
    [hab] = wf.demander_habilitation(P(w.admin_etab), w.A1, [w.clea])
    with pytest.raises(RuleViolation) as exc:
        wf.validate_habilitation(P(w.sec), hab, TODAY, TODAY - DAY)
    assert exc.value.field == "date_fin"
    with pytest.raises(RuleViolation):
        wf.validate_habilitation(P(w.sec), hab, None, TODAY)


def test_reject_needs_a_reason_the_requester_reads(db, w, login_as):  # R-HAB-1
    [hab] = wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea])
    db.session.commit()
    with pytest.raises(RuleViolation) as exc:
        wf.reject_habilitation(P(w.sec), hab, "   ")
    assert exc.value.field == "motif_rejet"
    c = login_as(w.sec)
    r = c.post(f"/habilitationview/rejeter/{hab.id}", data={"motif_rejet": "Locaux non conformes"})
    assert r.status_code == 302
    db.session.expire_all()
    assert (hab.etat, hab.motif_rejet) == ("rejetee", "Locaux non conformes")
    page = login_as(w.admin_org).get(f"/habilitationview/show/{hab.id}").get_data(as_text=True)
    assert "Rejetée" in page and "Locaux non conformes" in page
    [mail] = [m for m in outbox(db, w.admin_org.email) if "rejetée" in m.sujet]
    assert "Motif du rejet : Locaux non conformes" in mail.corps_texte
    assert any("Motif : Locaux non conformes" in n.contenu for n in notes(db, w.admin_org))


def test_decided_request_cannot_be_decided_again(db, w):  # R-HAB-1
    [hab] = wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea])
    wf.reject_habilitation(P(w.sec), hab, "Non")
    with pytest.raises(RuleViolation, match="déjà rejetée"):
        wf.validate_habilitation(P(w.sec), hab, TODAY, TODAY + DAY)


def test_database_enforces_period_and_reason(db, w):  # R-HAB-1
    db.session.add(Habilitation(etablissement=w.A1, dispositif=w.clea, etat="validee"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(Habilitation(etablissement=w.A1, dispositif=w.clea, etat="rejetee"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(Habilitation(etablissement=w.A1, dispositif=w.clea, etat="suspendue"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("days_left, renewal", [(30, True), (90, True), (91, False), (400, False)])
def test_renewal_of_an_expiring_habilitation(db, w, make, days_left, renewal):  # R-HAB-1
    old = make.habilitation(w.A1, w.clea, fin=TODAY + dt.timedelta(days=days_left))
    if not renewal:
        with pytest.raises(RuleViolation, match="renouvellement se demande"):
            wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea])
        return
    new = wf.renouveler(P(w.admin_org), old)
    db.session.commit()
    assert new.renouvellement_de_id == old.id and new.etat == "en_attente"
    assert notes(db, w.admin_org, "renouvellement_habilitation")
    assert "renouvellement" in notes(db, w.sec, "dossier_habilitation")[0].titre
    assert outbox(db, w.sec.email)[0].sujet.startswith("Demande de renouvellement")
    # The new period follows the old one; the guard keeps working across the change.
    wf.validate_habilitation(P(w.sec), new, old.date_fin + DAY, old.date_fin + dt.timedelta(days=1095))
    assert wf.habilitation_valide(w.A1, w.clea, old.date_fin + DAY).id == new.id


def test_no_second_renewal_once_renewed_ahead(db, w, make):  # R-HAB-1
    old = make.habilitation(w.A1, w.clea, fin=TODAY + dt.timedelta(days=20))
    make.habilitation(w.A1, w.clea, debut=old.date_fin + DAY, fin=old.date_fin + DAY * 1095,
                      renouvellement_de=old)
    with pytest.raises(RuleViolation, match="renouvellement se demande"):
        wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea])


def test_renew_button_and_ui_request(db, w, make, login_as):  # R-HAB-1
    old = make.habilitation(w.A1, w.clea, fin=TODAY + dt.timedelta(days=20))
    c = login_as(w.admin_etab)
    assert "Demander le renouvellement" in c.get(f"/habilitationview/show/{old.id}").get_data(as_text=True)
    r = c.post(f"/habilitationview/renouveler/{old.id}")
    assert r.status_code == 302
    new = db.session.query(Habilitation).filter_by(renouvellement_de_id=old.id).one()
    assert "Demander le renouvellement" not in c.get(f"/habilitationview/show/{old.id}").get_data(as_text=True)
    # The request form: one établissement of the perimeter, several certifiers at once.
    r = c.post("/habilitationview/demander", data={"etablissement_id": w.A1.id,
                                                   "dispositifs": [w.chimie.id, w.metal.id]})
    assert r.status_code == 302 and r.location.endswith(f"/habilitationview/etablissement/{w.A1.id}")
    assert db.session.query(Habilitation).filter_by(etablissement_id=w.A1.id, etat="en_attente").count() == 3
    # Same again: the form shows the French refusal, nothing is created.
    r = c.post("/habilitationview/demander", data={"etablissement_id": w.A1.id, "dispositifs": [w.chimie.id]})
    assert r.status_code == 200 and "déjà en attente" in r.get_data(as_text=True)
    r = c.post("/habilitationview/demander", data={"etablissement_id": w.A1.id})
    assert r.status_code == 200 and "Choisissez au moins un certificateur." in r.get_data(as_text=True)
    # Another établissement (A2) is not offered and cannot be posted.
    r = c.post("/habilitationview/demander", data={"etablissement_id": w.A2.id, "dispositifs": [w.clea.id]})
    assert r.status_code == 200
    assert db.session.query(Habilitation).filter_by(etablissement_id=w.A2.id).count() == 0
    assert new.id


# ---------------------------------------------------------------------------------------------
# R-HAB-2 (+ R-ACC-3, R-ACC-4): the one guard later features call
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("etat, debut, fin, day, ok", [
    ("validee", -10, 10, 0, True),
    ("validee", 0, 10, 0, True),          # first day included
    ("validee", -10, 0, 0, True),         # last day included
    ("validee", 1, 10, 0, False),         # not started
    ("validee", -10, -1, 0, False),       # ended yesterday
    ("en_attente", None, None, 0, False),
    ("rejetee", None, None, 0, False),
])
def test_guard_needs_a_habilitation_valid_that_day(db, w, make, etat, debut, fin, day, ok):  # R-HAB-2
    make.habilitation(w.A1, w.clea, etat=etat,
                      debut=TODAY + dt.timedelta(days=debut) if debut is not None else None,
                      fin=TODAY + dt.timedelta(days=fin) if fin is not None else None)
    if ok:
        assert wf.ensure_habilitated(w.A1, w.clea).etablissement_id == w.A1.id
    else:
        with pytest.raises(RuleViolation) as exc:
            wf.ensure_habilitated(w.A1.id, w.clea.id)
        assert exc.value.rule == "R-HAB-2" and "n'a pas d'habilitation valide" in exc.value.message


def test_guard_is_per_dispositif_and_per_etablissement(db, w, make):  # R-HAB-2
    make.habilitation(w.A1, w.clea)
    wf.ensure_habilitated(w.A1, w.clea)
    for etab, disp in ((w.A1, w.chimie), (w.A2, w.clea)):
        with pytest.raises(RuleViolation, match="R-HAB-2|habilitation"):
            wf.ensure_habilitated(etab, disp)
    # `on` lets a job check another day.
    with pytest.raises(RuleViolation):
        wf.ensure_habilitated(w.A1, w.clea, on=TODAY + dt.timedelta(days=800))


@pytest.mark.parametrize("what", ["etablissement", "organisme"])
def test_guard_refuses_inactive_structures(db, w, make, what):  # R-ACC-3
    make.habilitation(w.A1, w.clea)
    (w.A1 if what == "etablissement" else w.A).actif = False
    db.session.commit()
    with pytest.raises(RuleViolation) as exc:
        wf.ensure_habilitated(w.A1, w.clea)
    assert exc.value.rule == "R-ACC-3" and "inactif" in exc.value.message
    with pytest.raises(RuleViolation) as exc:
        wf.demander_habilitation(P(w.admin_org), w.A1, [w.chimie])
    assert exc.value.rule == "R-ACC-3"


def test_guard_refuses_an_organisme_without_etablissement(db, w):  # R-ACC-4
    with pytest.raises(RuleViolation) as exc:
        wf.ensure_habilitated(None, w.clea)
    assert exc.value.rule == "R-ACC-4" and "sans établissement" in exc.value.message


def _roles(w):
    return {"admin_reseau": w.admin_reseau, "superviseur_reseau": w.superviseur,
            "admin_organisme": w.admin_org, "utilisateur_organisme": w.user_org,
            "admin_etablissement": w.admin_etab, "utilisateur_etablissement": w.user_etab,
            "secretariat": w.sec}


ROLES = ["admin_reseau", "superviseur_reseau", "admin_organisme", "utilisateur_organisme",
         "admin_etablissement", "utilisateur_etablissement", "secretariat"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", ["none", "validee", "expiree", "inactif"])
def test_guard_through_ui_and_rest_for_each_role(db, w, make, login_as, role, state):  # R-HAB-2 R-ACC-3 R-ACC-5
    if state == "validee" or state == "inactif":
        make.habilitation(w.A1, w.clea)
    if state == "expiree":
        make.habilitation(w.A1, w.clea, debut=TODAY - dt.timedelta(days=400), fin=TODAY - DAY)
    if state == "inactif":
        w.A1.actif = False
        db.session.commit()
    c = login_as(_roles(w)[role])
    r = c.get(f"/api/v1/habilitation/acces?etablissement_id={w.A1.id}&dispositif_id={w.clea.id}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["autorise"] is (state == "validee")
    if state != "validee":
        assert body["regle"] == ("R-ACC-3" if state == "inactif" else "R-HAB-2")
    page = c.get(f"/habilitationview/etablissement/{w.A1.id}").get_data(as_text=True)
    assert ("<strong>CléA</strong> : ouvert" in page) is (state == "validee")
    # The other perimeter's établissement: not even its existence is disclosed.
    other = w.B1.id
    expected = 200 if role == "secretariat" else 404
    assert c.get(f"/api/v1/habilitation/acces?etablissement_id={other}&dispositif_id={w.clea.id}").status_code == expected
    assert c.get(f"/habilitationview/etablissement/{other}").status_code == expected


@pytest.mark.parametrize("role, habilitated, visible", [
    ("admin_reseau", False, False), ("admin_reseau", True, True),
    ("admin_organisme", False, False), ("admin_organisme", True, True),
    ("utilisateur_etablissement", False, False), ("utilisateur_etablissement", True, True),
    ("secretariat", False, True),
])
def test_menu_condition_hides_evaluation_screens(db, w, make, role, habilitated, visible):  # R-HAB-2
    make.habilitation(w.B1, w.clea)  # another perimeter's habilitation never counts
    if habilitated:
        make.habilitation(w.A1, w.clea)
    assert wf.menu_visible_for_evaluations(P(_roles(w)[role])) is visible
    assert wf.menu_visible_for_evaluations(P(w.admin_etab2)) is False  # A2 is not habilitated


def test_menus_follow_role_and_condition(db, w, make, login_as):  # R-HAB-2 R-HAB-5
    """The navbar honours add_view(menu_cond=…), which R-HAB-2 uses to hide screens."""
    ev = make.evaluateur()
    pages = {u: login_as(u).get("/").get_data(as_text=True)
             for u in (w.admin_org, w.sec, ev.user, w.superviseur, w.employeur)}
    assert "Demander une habilitation" in pages[w.admin_org]
    assert "Demander une habilitation" not in pages[w.sec]
    assert "Demander une habilitation" not in pages[w.superviseur]
    assert "Gestion des évaluateurs" in pages[w.sec] and "Gestion des évaluateurs" not in pages[w.admin_org]
    assert "Mes habilitations" in pages[ev.user] and "Mes habilitations" not in pages[w.sec]
    assert "Demandes d&#39;habilitation" not in pages[ev.user] and "Demandes d'habilitation" not in pages[ev.user]
    assert all("Évaluateurs habilités" in page for page in pages.values())


# ---------------------------------------------------------------------------------------------
# Who decides; perimeters on every way in (R-ACC-5, R-DIS-1)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["admin_reseau", "superviseur_reseau", "admin_organisme",
                                  "utilisateur_organisme", "admin_etablissement",
                                  "utilisateur_etablissement"])
def test_only_the_certifier_decides_ui_and_rest(db, w, login_as, role):  # R-HAB-1 R-ACC-5
    [hab] = wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea])
    db.session.commit()
    user = _roles(w)[role]
    with pytest.raises(RuleViolation):
        wf.validate_habilitation(P(user), hab, TODAY, TODAY + DAY)
    c = login_as(user)
    assert c.get(f"/habilitationview/valider/{hab.id}").status_code == 403
    assert c.post(f"/habilitationview/rejeter/{hab.id}", data={"motif_rejet": "x"}).status_code == 403
    body = {"date_debut": TODAY.isoformat(), "date_fin": (TODAY + DAY).isoformat()}
    assert c.post(f"/api/v1/habilitation/{hab.id}/valider", json=body).status_code == 403
    assert c.post(f"/api/v1/habilitation/{hab.id}/rejeter", json={"motif": "x"}).status_code == 403
    db.session.expire_all()
    assert hab.etat == "en_attente"


def test_other_certifier_gets_404_everywhere(db, w, login_as):  # R-DIS-1 R-ACC-5
    [hab] = wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea])
    db.session.commit()
    with pytest.raises(PerimeterViolation):
        wf.validate_habilitation(P(w.sec_other), hab, TODAY, TODAY + DAY)
    c = login_as(w.sec_other)
    assert c.get(f"/habilitationview/show/{hab.id}").status_code == 404
    assert c.get(f"/habilitationview/valider/{hab.id}").status_code == 404
    assert c.post(f"/habilitationview/valider/{hab.id}", data={
        "date_debut": TODAY.isoformat(), "date_fin": TODAY.isoformat()}).status_code == 404
    assert c.post(f"/habilitationview/rejeter/{hab.id}", data={"motif_rejet": "x"}).status_code == 404
    assert c.get(f"/api/v1/habilitation/{hab.id}").status_code == 404
    assert c.post(f"/api/v1/habilitation/{hab.id}/valider", json={
        "date_debut": TODAY.isoformat(), "date_fin": TODAY.isoformat()}).status_code == 404
    assert c.post(f"/api/v1/habilitation/{hab.id}/rejeter", json={"motif": "x"}).status_code == 404
    db.session.expire_all()
    assert hab.etat == "en_attente"


@pytest.mark.parametrize("role", ["admin_organisme", "admin_etablissement", "utilisateur_etablissement",
                                  "admin_reseau", "superviseur_reseau"])
def test_other_perimeter_ids_are_404_on_every_way_in(db, w, make, login_as, role):  # R-ACC-5
    hab_b = make.habilitation(w.B1, w.clea, fin=TODAY + dt.timedelta(days=10))
    pending_b = make.habilitation(w.B1, w.chimie, etat="en_attente")
    c = login_as(_roles(w)[role])
    for url in (f"/habilitationview/show/{hab_b.id}", f"/habilitationview/edit/{hab_b.id}",
                f"/habilitationview/etablissement/{w.B1.id}", f"/api/v1/habilitation/{hab_b.id}",
                f"/habilitationview/valider/{pending_b.id}"):
        assert c.get(url).status_code in (403, 404), url
    assert c.post(f"/habilitationview/renouveler/{hab_b.id}").status_code in (403, 404)
    assert c.post(f"/api/v1/habilitation/{hab_b.id}/renouveler").status_code in (403, 404)
    assert c.post(f"/habilitationview/delete/{hab_b.id}").status_code in (403, 404)
    r = c.post("/api/v1/habilitation/", json={"etablissement_id": w.B1.id, "dispositif_ids": [w.metal.id]})
    assert r.status_code == 403
    r = c.post("/habilitationview/demander", data={"etablissement_id": w.B1.id, "dispositifs": [w.metal.id]})
    assert r.status_code in (200, 403)
    assert db.session.query(Habilitation).filter_by(etablissement_id=w.B1.id).count() == 2
    # Lists, REST lists, exports and the periods table show nothing of B.
    assert "AUTRE OF" not in c.get("/habilitationview/list/").get_data(as_text=True)
    assert c.get("/api/v1/habilitation/").get_json()["count"] == 0
    assert "AUTRE OF" not in c.get("/habilitationview/export/csv/").get_data(as_text=True)
    assert "AUTRE OF" not in c.get("/habilitationview/periodes/").get_data(as_text=True)


def test_lists_are_scoped(db, w, make, login_as):  # R-ACC-5 R-DIS-1 R-HAB-3
    make.habilitation(w.A1, w.clea)
    make.habilitation(w.A2, w.chimie, etat="en_attente")
    make.habilitation(w.B1, w.clea, etat="rejetee")
    counts = {"secretariat": 2, "admin_reseau": 2, "superviseur_reseau": 2, "admin_organisme": 2,
              "utilisateur_organisme": 2, "admin_etablissement": 1, "utilisateur_etablissement": 1}
    for role, n in counts.items():
        c = login_as(_roles(w)[role])
        assert c.get("/api/v1/habilitation/").get_json()["count"] == n, role
        assert c.get("/habilitationview/list/").status_code == 200
    assert login_as(w.sec_other).get("/api/v1/habilitation/").get_json()["count"] == 1
    page = login_as(w.sec).get("/habilitationview/list/?_flt_0_etat=rejetee").get_data(as_text=True)
    assert "AUTRE OF Lille" in page and "LA BOETIE Marseille" not in page
    # Roles without the area: 403.
    for user in (w.employeur, w.manager):
        assert login_as(user).get("/api/v1/habilitation/").status_code == 403


def test_superviseur_reads_but_cannot_request(db, w, make, login_as):  # R-HAB-1 R-ACC-5
    hab = make.habilitation(w.A1, w.clea, fin=TODAY + dt.timedelta(days=10))
    c = login_as(w.superviseur)
    assert c.get(f"/habilitationview/show/{hab.id}").status_code == 200
    assert c.get("/habilitationview/demander").status_code == 403
    assert c.post(f"/habilitationview/renouveler/{hab.id}").status_code == 403
    assert c.post("/api/v1/habilitation/", json={"etablissement_id": w.A1.id,
                                                 "dispositif_ids": [w.chimie.id]}).status_code == 403
    assert "Demander le renouvellement" not in c.get(f"/habilitationview/show/{hab.id}").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# REST API: POST through the workflow; no PUT/DELETE of `etat`
# ---------------------------------------------------------------------------------------------
def test_rest_request_and_decisions(db, w, login_as):  # R-HAB-1
    c = login_as(w.admin_reseau)
    r = c.post("/api/v1/habilitation/", json={"etablissement_id": w.A2.id,
                                              "dispositif_ids": [w.clea.id], "commentaire": "API"})
    assert r.status_code == 201, r.get_json()
    [pk] = r.get_json()["ids"]
    assert r.get_json()["result"][0]["etat"] == "en_attente"
    r = c.post("/api/v1/habilitation/", json={"etablissement_id": w.A2.id, "dispositif_ids": [w.clea.id]})
    assert r.status_code == 422 and r.get_json()["regle"] == "R-HAB-1"
    assert c.put(f"/api/v1/habilitation/{pk}", json={"etat": "validee"}).status_code == 405
    assert c.delete(f"/api/v1/habilitation/{pk}").status_code == 405
    s = login_as(w.sec)
    r = s.post(f"/api/v1/habilitation/{pk}/valider", json={"date_debut": "2026-01-01", "date_fin": "2025-01-01"})
    assert r.status_code == 422 and r.get_json()["champ"] == "date_fin"
    r = s.post(f"/api/v1/habilitation/{pk}/valider", json={"date_debut": TODAY.isoformat(),
                                                           "date_fin": (TODAY + DAY * 365).isoformat()})
    assert r.status_code == 200 and r.get_json()["result"]["etat"] == "validee"
    assert s.put(f"/api/v1/habilitation/{pk}", json={"etat": "rejetee"}).status_code == 405
    db.session.expire_all()
    assert db.session.get(Habilitation, pk).etat == "validee"
    r = c.get(f"/api/v1/habilitation/{pk}").get_json()["result"]
    assert r["date_fin"] == (TODAY + DAY * 365).isoformat() and "password" not in str(r)


# ---------------------------------------------------------------------------------------------
# R-HAB-3: history per établissement, periods per organisme
# ---------------------------------------------------------------------------------------------
def test_history_and_periods_tables(db, w, make, login_as):  # R-HAB-3
    make.habilitation(w.A1, w.clea, debut=dt.date(2018, 11, 23), fin=dt.date(2021, 11, 22))
    make.habilitation(w.A1, w.clea, debut=dt.date(2021, 11, 23), fin=TODAY + dt.timedelta(days=400))
    make.habilitation(w.A1, w.clea, etat="rejetee", motif_rejet="Pièces manquantes")
    make.habilitation(w.A2, w.chimie, debut=dt.date(2024, 1, 1), fin=dt.date(2026, 12, 31))
    c = login_as(w.admin_org)
    page = c.get(f"/habilitationview/etablissement/{w.A1.id}").get_data(as_text=True)
    assert page.count("<tr><td>Certif Pro — CléA</td>") == 3
    assert "23/11/2018" in page and "Pièces manquantes" in page and "Faire une demande" in page
    page = c.get("/habilitationview/periodes/").get_data(as_text=True)
    assert "LA BOETIE Marseille" in page and "LA BOETIE Dijon" in page
    assert "22/11/2021" in page and "31/12/2026" in page and "Pièces manquantes" not in page
    assert "Faire une demande" not in login_as(w.user_org).get(
        f"/habilitationview/etablissement/{w.A1.id}").get_data(as_text=True)


def test_secretariat_list_export_and_query_count(db, w, make, login_as, queries):  # R-HAB-1 R-DOC-6
    for i in range(3):
        make.habilitation(make.etablissement(organisme=w.A), w.clea, etat="en_attente")
    c = login_as(w.sec)
    c.get("/habilitationview/list/")
    with queries() as few:
        assert c.get("/habilitationview/list/").status_code == 200
    for i in range(10):
        make.habilitation(make.etablissement(organisme=w.B), w.clea, etat="en_attente")
    with queries() as many:
        page = c.get("/habilitationview/list/").get_data(as_text=True)
    assert "En attente" in page and "Demander une habilitation" not in page
    ours = lambda statements: [s for s in statements if "ab_" not in s.split("FROM")[1][:40]]
    assert len(ours(many)) == len(ours(few))  # no statement per row
    data = c.get("/habilitationview/export/xlsx/").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.max_row == 14 and sheet.cell(1, 7).value == "État de la demande"


# ---------------------------------------------------------------------------------------------
# R-HAB-4: metallurgy assessment, 6 criteria × 2 indicators, shown with the decision
# ---------------------------------------------------------------------------------------------
def test_metallurgy_validation_needs_the_12_indicators(db, w):  # R-HAB-4
    [hab] = wf.demander_habilitation(P(w.admin_org), w.A1, [w.metal])
    db.session.commit()
    partial = {k: v for k, v in list(ALL_OK.items())[:11]}
    with pytest.raises(RuleViolation) as exc:
        wf.validate_habilitation(P(w.sec_metal), hab, TODAY, TODAY + DAY * 365, partial)
    assert exc.value.rule == "R-HAB-4" and "1 manquant" in exc.value.message
    db.session.rollback()
    wf.apprecier(P(w.sec_metal), hab, {(6, 2): ("a_ameliorer", "Suivi à formaliser")})
    wf.validate_habilitation(P(w.sec_metal), hab, TODAY, TODAY + DAY * 365,
               {k: "satisfaisant" for k in INDICATEURS if k != (6, 2)})
    assert hab.etat == "validee"
    assert db.session.query(AppreciationHabilitation).filter_by(habilitation_id=hab.id).count() == 12
    mail = next(m for m in outbox(db, w.admin_org.email) if "accordée" in m.sujet)
    assert "La pertinence de l'action et le suivi qualité : À améliorer (Suivi à formaliser)" in mail.corps_texte
    # Other schemes do not use this grid.
    [clea] = wf.demander_habilitation(P(w.admin_org), w.A1, [w.clea])
    wf.validate_habilitation(P(w.sec), clea, TODAY, TODAY + DAY)
    with pytest.raises(RuleViolation):
        wf.apprecier(P(w.sec_metal), hab, {(1, 1): "inconnu"})


def test_metallurgy_assessment_through_the_form_and_shown(db, w, login_as):  # R-HAB-4
    [hab] = wf.demander_habilitation(P(w.admin_org), w.A1, [w.metal])
    db.session.commit()
    c = login_as(w.sec_metal)
    form = c.get(f"/habilitationview/valider/{hab.id}").get_data(as_text=True)
    assert "L&#39;identification de la certification" in form or "L'identification de la certification" in form
    assert form.count('name="c') >= 24
    data = {"date_debut": TODAY.isoformat(), "date_fin": (TODAY + DAY * 700).isoformat()}
    r = c.post(f"/habilitationview/valider/{hab.id}", data=data)
    assert r.status_code == 200 and "Appréciez cet indicateur" in r.get_data(as_text=True)
    data.update({f"c{k[0]}_i{k[1]}": "satisfaisant" for k in INDICATEURS})
    data["c5_i2_commentaire"] = "Résultats transmis dans les délais"
    r = c.post(f"/habilitationview/valider/{hab.id}", data=data)
    assert r.status_code == 302
    page = login_as(w.admin_etab).get(f"/habilitationview/show/{hab.id}").get_data(as_text=True)
    assert "Validée" in page and "Résultats transmis dans les délais" in page
    assert page.count("Satisfaisant") == 12


# ---------------------------------------------------------------------------------------------
# R-HAB-5 / R-HAB-6: évaluateurs habilités and independence
# ---------------------------------------------------------------------------------------------
def _cert(db, dispositif):
    from app.models import Certification
    return db.session.query(Certification).filter_by(dispositif_id=dispositif.id).order_by(Certification.id).first()


def test_evaluator_must_be_habilitated_for_certification_and_region(db, w, make):  # R-HAB-5
    cert, other = _cert(db, w.chimie), _cert(db, w.clea)
    ev = make.evaluateur(cert, region="Normandie", debut=TODAY - DAY * 10, fin=TODAY + DAY * 10)
    assert wf.ensure_evaluator_allowed(ev.user, cert, "Normandie").certification_id == cert.id
    cases = [(other, "Normandie", None), (cert, "Bretagne", None),
             (cert, "Normandie", TODAY + DAY * 11), (cert, "Normandie", TODAY - DAY * 11)]
    for c, region, on in cases:
        with pytest.raises(RuleViolation) as exc:
            wf.ensure_evaluator_allowed(ev.user.id, c, region, on=on)
        assert exc.value.rule == "R-HAB-5"
    with pytest.raises(RuleViolation, match="pas un évaluateur habilité"):
        wf.ensure_evaluator_allowed(w.admin_org, cert, "Normandie")
    ev.actif = False
    with pytest.raises(RuleViolation, match="R-HAB-5|actif"):
        wf.ensure_evaluator_allowed(ev, cert, "Normandie")
    ev.actif = True
    make.evaluateur(cert, region="Bretagne")
    expired = make.evaluateur(cert, region="Normandie", debut=TODAY - DAY * 100, fin=TODAY - DAY)
    assert [e.id for e in wf.evaluateurs_possibles(cert, "Normandie")] == [ev.id]
    assert expired.id in [e.id for e in wf.evaluateurs_possibles(cert, "Normandie", on=TODAY - DAY * 2)]


def test_evaluator_independence(db, w, make):  # R-HAB-6
    cert = _cert(db, w.chimie)
    ent = make.entreprise(raison_sociale="CHIMIE SA")
    same_company_other_site = make.entreprise(siret=make.siret(ent.siret[:9]))
    ev_ent = make.evaluateur(cert, employeur_entreprise=ent, employeur_nom="CHIMIE SA")
    ev_siret = make.evaluateur(cert, employeur_siret=ent.siret)
    ev_of = make.evaluateur(cert, employeur_organisme=w.B)
    ev_greta = make.evaluateur(cert, reseau=w.r1)                   # national network GRETA
    ev_greta_by_employer = make.evaluateur(cert, employeur_organisme=make.organisme(reseau=w.r1))
    ev_regional = make.evaluateur(cert, reseau=w.r2)                # not national
    region = "Île-de-France"

    def refused(ev, **kw):
        with pytest.raises(RuleViolation) as exc:
            wf.ensure_evaluator_allowed(ev.user, cert, region, **kw)
        assert exc.value.rule == "R-HAB-6" and exc.value.field == "evaluateur"
        return exc.value.message

    assert "salarié(e) de l'entreprise CHIMIE SA" in refused(ev_ent, entreprise=ent)
    refused(ev_siret, entreprise=ent)
    refused(ev_siret, entreprise=same_company_other_site)           # same SIREN = same employer
    assert "organisme de formation AUTRE OF" in refused(ev_of, organisme=w.B1)  # établissement given
    refused(ev_of, organisme=w.B)
    assert "réseau national GRETA" in refused(ev_greta, organisme=w.A)
    refused(ev_greta_by_employer, organisme=w.A1)
    ent_greta = make.entreprise(reseau=w.r1)
    refused(ev_greta, entreprise=ent_greta)
    # Independent cases pass.
    other = make.entreprise()
    for ev, kw in [(ev_ent, {"entreprise": other, "organisme": w.A}), (ev_of, {"organisme": w.A}),
                   (ev_greta, {"organisme": w.B, "entreprise": other}),
                   (ev_regional, {"organisme": w.B})]:
        assert wf.ensure_evaluator_allowed(ev.user, cert, region, **kw)


def test_public_list_per_certification_and_region_with_export(db, w, make, client, login_as):  # R-HAB-5
    cert, cert2 = _cert(db, w.chimie), _cert(db, w.clea)
    a = make.evaluateur(cert, region="Normandie", employeur_nom="Cabinet Durand", ville="Rouen")
    b = make.evaluateur(cert2, region="Bretagne")
    make.evaluateur(cert, region="Normandie", debut=TODAY - DAY * 100, fin=TODAY - DAY)  # expired
    page = client.get(f"/evaluateurs-habilites/?certification_id={cert.id}&region=Normandie").get_data(as_text=True)
    assert a.user.last_name in page and b.user.last_name not in page and "Cabinet Durand" in page
    assert a.user.email not in page  # public facts only
    r = client.get(f"/evaluateurs-habilites/export/csv?certification_id={cert.id}&region=Normandie")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Certification", "Intitulé", "Région"] and len(rows) == 2
    assert rows[1][3] == a.user.last_name
    x = client.get("/evaluateurs-habilites/export/xlsx")
    assert openpyxl.load_workbook(io.BytesIO(x.data)).active.max_row == 3
    for user in (w.employeur, w.admin_etab, w.manager):
        assert login_as(user).get("/evaluateurs-habilites/").status_code == 200


def test_evaluator_sees_own_habilitations(db, w, make, login_as, client):  # R-HAB-5
    cert = _cert(db, w.chimie)
    mine = make.evaluateur(cert, region="Normandie", debut=TODAY - DAY * 900, fin=TODAY - DAY * 100)
    other = make.evaluateur(cert, region="Corse")
    page = login_as(mine.user).get("/evaluateurs-habilites/mes-habilitations").get_data(as_text=True)
    assert "Normandie" in page and "Expirée" in page and "Corse" not in page
    assert "Corse" in login_as(other.user).get("/evaluateurs-habilites/mes-habilitations").get_data(as_text=True)
    assert client.get("/evaluateurs-habilites/mes-habilitations").status_code in (302, 401)


def test_secretariat_registers_evaluators_within_its_dispositif(db, w, make, login_as):  # R-HAB-5 R-DIS-1
    from app.models.habilitation import EvaluateurHabilite, HabilitationEvaluateur
    person = make.user("evaluateur")
    c = login_as(w.sec)
    r = c.post("/evaluateurhabiliteview/add", data={"user": w.admin_org.id, "employeur_nom": "X"})
    assert r.status_code == 200 and "Évaluateur habilité" in r.get_data(as_text=True)
    r = c.post("/evaluateurhabiliteview/add", data={"user": person.id, "employeur_nom": "Indépendant",
                                                     "employeur_siret": "123", "actif": "y"})
    assert r.status_code == 200 and db.session.query(EvaluateurHabilite).count() == 0
    r = c.post("/evaluateurhabiliteview/add", data={"user": person.id, "employeur_nom": "Indépendant",
                                                     "reseau": w.r1.id, "actif": "y"})
    assert r.status_code == 302
    ev = db.session.query(EvaluateurHabilite).one()
    clea_cert, chimie_cert = _cert(db, w.clea), _cert(db, w.chimie)
    data = {"evaluateur": ev.id, "region": "Normandie", "date_debut": TODAY.isoformat(),
            "date_fin": (TODAY + DAY * 365).isoformat()}
    r = c.post("/habilitationevaluateurview/add", data={**data, "certification": chimie_cert.id})
    assert r.status_code == 200 and db.session.query(HabilitationEvaluateur).count() == 0
    r = c.post("/habilitationevaluateurview/add", data={**data, "certification": clea_cert.id})
    assert r.status_code == 302 and db.session.query(HabilitationEvaluateur).count() == 1
    # Read-only for the other roles.
    for user in (w.admin_org, w.evaluateur if hasattr(w, "evaluateur") else person):
        assert login_as(user).post("/evaluateurhabiliteview/add", data={"user": person.id}).status_code == 403


def test_a_period_added_on_the_screen_is_made_by_the_workflow(db, w, make, login_as):  # R-HAB-5
    # The screen calls habiliter_evaluateur: its refusal (worded by the workflow) is shown on
    # the form, which keeps what was typed, and nothing is stored.
    from app.models.habilitation import HabilitationEvaluateur
    cert = _cert(db, w.clea)
    ev = make.evaluateur()
    db.session.commit()
    r = login_as(w.sec).post("/habilitationevaluateurview/add", data={
        "evaluateur": ev.id, "certification": cert.id, "region": "Normandie",
        "date_debut": TODAY.isoformat(), "date_fin": (TODAY - DAY).isoformat()})
    page = r.get_data(as_text=True).replace("&#39;", "'")
    assert r.status_code == 200
    assert "Indiquez une période valide (la fin suit le début)." in page
    assert db.session.query(HabilitationEvaluateur).count() == 0


# ---------------------------------------------------------------------------------------------
# `flask habilitations remind`: 60 and 15 days before the end, once each
# ---------------------------------------------------------------------------------------------
def test_reminders_60_and_15_days_before_end_once(db, w, make):  # R-HAB-1 R-NOT-1
    day0 = dt.date(2026, 3, 1)
    hab = make.habilitation(w.A1, w.clea, debut=dt.date(2023, 5, 1), fin=day0 + dt.timedelta(days=60))
    make.habilitation(w.A2, w.clea, debut=dt.date(2023, 5, 1), fin=day0 + dt.timedelta(days=200))
    assert wf.remind_expiring(day0 - DAY) == 0            # 61 days left
    assert wf.remind_expiring(day0) == 1                   # 60 days left
    assert wf.remind_expiring(day0) == 0                   # same day again
    assert wf.remind_expiring(day0 + DAY * 10) == 0        # 50 days: the 60-day one is done
    [note] = notes(db, w.admin_etab, "renouvellement_habilitation")
    assert "fin dans 60 jour(s)" in note.titre and note.lien == f"/habilitationview/show/{hab.id}"
    assert notes(db, w.sec, "renouvellement_habilitation")
    assert notes(db, w.admin_etab2) == []
    [mail] = outbox(db, w.admin_etab.email)
    assert mail.sujet.startswith("Habilitation à renouveler") and "Il reste 60 jour(s)" in mail.corps_texte
    assert wf.remind_expiring(day0 + DAY * 45) == 1        # 15 days left
    assert wf.remind_expiring(day0 + DAY * 46) == 0
    assert sorted(r.palier for r in db.session.query(RappelHabilitation)) == [15, 60]
    assert wf.remind_expiring(day0 + DAY * 61) == 0        # ended: nothing


def test_no_reminder_once_renewal_requested(db, w, make):  # R-HAB-1
    day0 = TODAY
    hab = make.habilitation(w.A1, w.clea, fin=day0 + dt.timedelta(days=15))
    wf.renouveler(P(w.admin_org), hab)
    db.session.commit()
    assert wf.remind_expiring(day0) == 0


def test_remind_cli_command(app, db, w, make):  # R-HAB-1
    make.habilitation(w.A1, w.clea, debut=dt.date(2024, 1, 1), fin=dt.date(2026, 6, 30))
    runner = app.test_cli_runner()
    r = runner.invoke(args=["habilitations", "remind", "--date", "2026-06-15"])
    assert r.exit_code == 0 and "1 rappel(s) envoyé(s)" in r.output
    r = runner.invoke(args=["habilitations", "remind", "--date", "2026-06-15"])
    assert "0 rappel(s) envoyé(s)" in r.output


def test_api_request_outside_the_perimeter_keeps_its_published_shape(w, login_as):  # R-ACC-5
    # This API publishes 403 with `regle`/`champ` for a row outside the perimeter (an unknown
    # établissement is answered the same), not the 404 of the other APIs.
    r = login_as(w.admin_etab).post("/api/v1/habilitation/", json={
        "etablissement_id": 2**31 - 2, "dispositif_ids": [w.clea.id]})
    body = r.get_json()
    assert r.status_code == 403 and body["regle"] == "R-ACC-5" and "champ" in body, body
