"""Accounts: role ceiling (R-ACC-1), invitations and password links (R-ACC-2), Actif switch and
operating checks (R-ACC-3/4), employer sign-up (R-ACC-6), and the security switches."""
import html as htmllib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import itsdangerous
import pytest
from flask_appbuilder.security.sqla.models import User

from app.errors import RuleViolation
from app.models import Entreprise, Etablissement, Organisme, Profil
from app.security.perimeter import perimetre_of
from app.workflow import comptes
from tests.conftest import link_in, outbox
from tests.factories import Factories

NEW_PASSWORD = "Nouveau-Mot2passe!"
# R-ACC-1, highest first; the secretariat is above all of them in its dispositif.
OF_ORDER = ["admin_reseau", "superviseur_reseau", "admin_organisme", "utilisateur_organisme",
            "admin_etablissement", "utilisateur_etablissement"]
ALL_TARGETS = OF_ORDER + ["secretariat", "manager", "employeur", "evaluateur", "jury", "admin"]
ACTORS = ["secretariat", "admin_reseau", "admin_organisme", "admin_etablissement",
          "utilisateur_organisme"]


def text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def logs_in(client, username, password) -> bool:
    """FAB redirects after a failed login too: success is a redirect elsewhere than /login/."""
    client.post("/logout/")
    r = client.post("/login/", data={"username": username, "password": password})
    return r.status_code == 302 and "/login" not in r.headers.get("Location", "")


def may_give(actor: str, target: str) -> bool:
    """The expected answer of R-ACC-1, written independently of app.workflow.comptes."""
    if actor == "secretariat":
        return target != "admin"
    if actor not in ("admin_reseau", "admin_organisme", "admin_etablissement"):
        return False  # users without the account administration right create nobody
    return target in OF_ORDER and OF_ORDER.index(target) >= OF_ORDER.index(actor)


@pytest.fixture
def w(db, make, ref):
    s = SimpleNamespace(ref=ref)
    s.ra, s.rb = make.reseau(nom="Réseau A"), make.reseau(nom="Réseau B")
    s.oa, s.ob = make.organisme(reseau=s.ra), make.organisme(reseau=s.rb)
    s.ea, s.eb = make.etablissement(s.oa), make.etablissement(s.ob)
    s.enta = make.entreprise()
    s.actors = {
        "secretariat": make.user("secretariat", dispositif=ref["CHIMIE"]),
        "admin_reseau": make.user("admin_reseau", reseau=s.ra),
        "admin_organisme": make.user("admin_organisme", organisme=s.oa),
        "admin_etablissement": make.user("admin_etablissement", etablissement=s.ea),
        "utilisateur_organisme": make.user("utilisateur_organisme", organisme=s.oa),
    }
    return s


def perimeter_ids(w, role):
    """A perimeter for `role` inside every actor's own perimeter (A side)."""
    return {
        "admin_reseau": {"reseau_id": w.ra.id}, "superviseur_reseau": {"reseau_id": w.ra.id},
        "admin_organisme": {"organisme_id": w.oa.id}, "utilisateur_organisme": {"organisme_id": w.oa.id},
        "admin_etablissement": {"etablissement_id": w.ea.id},
        "utilisateur_etablissement": {"etablissement_id": w.ea.id},
        "secretariat": {"dispositif_id": w.ref["CHIMIE"].id},
        "manager": {"dispositif_id": w.ref["CHIMIE"].id},
        "evaluateur": {"dispositif_id": w.ref["CHIMIE"].id},
        "jury": {"dispositif_id": w.ref["CHIMIE"].id},
        "employeur": {"entreprise_id": w.enta.id},
        "admin": {},
    }[role]


# -- R-ACC-1: role ceiling, on creation and edition, by the workflow and by the form ---------

@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("target", ALL_TARGETS)
def test_role_ceiling_workflow_create(w, db, actor, target):  # R-ACC-1
    p = perimetre_of(w.actors[actor])
    email = f"{actor}.{target}@example.org"
    if may_give(actor, target):
        user = comptes.create_user(p, prenom="Nina", nom="Nouvelle", email=email, role=target,
                                   **perimeter_ids(w, target))
        db.session.commit()
        assert user.profil.role == target
        assert [r.name for r in user.roles] == [
            "Admin" if target == "admin" else comptes.roles.role_name(target)] or target == "admin"
    else:
        with pytest.raises(RuleViolation) as exc:
            comptes.create_user(p, prenom="Nina", nom="Nouvelle", email=email, role=target,
                                **perimeter_ids(w, target))
        assert exc.value.rule == "R-ACC-1"
        db.session.rollback()
        assert db.session.query(User).filter_by(email=email).count() == 0


@pytest.mark.parametrize("actor", ACTORS[:4])
@pytest.mark.parametrize("target", OF_ORDER + ["secretariat", "employeur", "admin"])
def test_role_ceiling_form_create(w, db, login_as, actor, target):  # R-ACC-1
    c = login_as(w.actors[actor])
    email = f"form.{actor}.{target}@example.org"
    data = {"prenom": "Nina", "nom": "Nouvelle", "email": email, "role": target,
            **{k: str(v) for k, v in perimeter_ids(w, target).items()}}
    r = c.post("/utilisateurview/add", data=data)
    db.session.expire_all()
    created = db.session.query(User).filter_by(email=email).one_or_none()
    if may_give(actor, target):
        assert r.status_code == 302, text(r)
        assert r.headers["Location"].endswith("/utilisateurview/list/")  # not the home page
        assert created is not None and created.profil.role == target
    else:
        assert r.status_code == 200  # the form again, with the refusal on it
        assert created is None


@pytest.mark.parametrize("actor", ACTORS[:4])
def test_form_offers_only_roles_up_to_ones_own(w, login_as, actor):  # R-ACC-1
    html = text(login_as(w.actors[actor]).get("/utilisateurview/add"))
    offered = set(re.findall(r'<option[^>]*value="([a-z_]+)"', html))
    expected = {t for t in ALL_TARGETS if may_give(actor, t)}
    assert offered & set(ALL_TARGETS) == expected


def test_user_without_account_right_cannot_open_the_form(w, login_as):  # R-ACC-1
    c = login_as(w.actors["utilisateur_organisme"])
    assert c.get("/utilisateurview/add").status_code == 403
    assert c.post("/utilisateurview/add", data={"prenom": "a", "nom": "b", "email": "x@example.org",
                                               "role": "utilisateur_organisme",
                                               "organisme_id": str(w.oa.id)}).status_code == 403


@pytest.mark.parametrize("actor,role,ids,rule", [
    ("admin_organisme", "utilisateur_etablissement", "eb", "R-ACC-5"),
    ("admin_etablissement", "utilisateur_etablissement", "eb", "R-ACC-5"),
    ("admin_reseau", "admin_organisme", "ob", "R-ACC-5"),
    ("admin_etablissement", "admin_etablissement", "eb", "R-ACC-5"),
    ("secretariat", "secretariat", "CLEA", "R-DIS-1"),
])
def test_new_account_perimeter_inside_creators(w, db, login_as, actor, role, ids, rule):  # R-ACC-1, R-ACC-5
    key = {"eb": ("etablissement_id", w.eb.id), "ob": ("organisme_id", w.ob.id),
           "CLEA": ("dispositif_id", w.ref["CLEA"].id)}[ids]
    with pytest.raises(RuleViolation) as exc:
        comptes.create_user(perimetre_of(w.actors[actor]), prenom="A", nom="B",
                            email="dehors@example.org", role=role, **dict([key]))
    assert exc.value.rule == rule
    db.session.rollback()
    # Same through the form: nothing created (the other perimeter is not even offered).
    c = login_as(w.actors[actor])
    r = c.post("/utilisateurview/add", data={"prenom": "A", "nom": "B", "email": "dehors@example.org",
                                             "role": role, key[0]: str(key[1])})
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.query(User).filter_by(email="dehors@example.org").count() == 0


def test_perimeter_required_for_the_role(w, db, login_as):  # R-ACC-5
    c = login_as(w.actors["admin_organisme"])
    r = c.post("/utilisateurview/add", data={"prenom": "A", "nom": "B", "email": "sans@example.org",
                                             "role": "utilisateur_etablissement"})
    assert r.status_code == 200
    assert "Choisissez le périmètre du compte" in text(r)
    assert 'value="sans@example.org"' in text(r)  # what was typed is kept


def test_stale_perimeter_columns_are_cleared(w, db):  # R-ACC-1: a role gets one perimeter
    user = comptes.create_user(perimetre_of(w.actors["admin_organisme"]), prenom="A", nom="B",
                               email="net@example.org", role="utilisateur_etablissement",
                               etablissement_id=w.ea.id, organisme_id=w.oa.id)
    assert user.profil.organisme_id is None and user.profil.etablissement_id == w.ea.id


@pytest.mark.parametrize("actor", ["admin_reseau", "admin_organisme", "admin_etablissement"])
@pytest.mark.parametrize("new_role", OF_ORDER)
def test_role_ceiling_on_edition(w, db, make, login_as, actor, new_role):  # R-ACC-1
    target = make.user("utilisateur_etablissement", etablissement=w.ea)
    profil_id = target.profil.id
    c = login_as(w.actors[actor])
    data = {"prenom": "Edith", "nom": "Modifiée", "email": "edith@example.org", "role": new_role,
            **{k: str(v) for k, v in perimeter_ids(w, new_role).items()}}
    r = c.post(f"/utilisateurview/edit/{profil_id}", data=data)
    db.session.expire_all()
    role = db.session.get(Profil, profil_id).role
    if may_give(actor, new_role):
        assert r.status_code == 302, text(r)
        assert role == new_role
    else:
        assert r.status_code == 200
        assert role == "utilisateur_etablissement"
        # The workflow refuses too, whatever the form offers.
        with pytest.raises(RuleViolation) as exc:
            comptes.update_user(perimetre_of(w.actors[actor]), db.session.get(Profil, profil_id),
                                prenom="E", nom="M", email="edith@example.org", role=new_role,
                                **perimeter_ids(w, new_role))
        assert exc.value.rule == "R-ACC-1"
        db.session.rollback()


def test_nobody_edits_a_superior_or_their_own_role(w, db, make):  # R-ACC-1
    boss = make.user("admin_organisme", organisme=w.oa)
    with pytest.raises(RuleViolation) as exc:
        comptes.update_user(perimetre_of(w.actors["admin_etablissement"]), boss.profil,
                            prenom="X", nom="Y", email=boss.email, role="admin_organisme",
                            organisme_id=w.oa.id)
    assert exc.value.rule == "R-ACC-1"
    db.session.rollback()
    me = w.actors["admin_organisme"]
    with pytest.raises(RuleViolation) as exc:
        comptes.update_user(perimetre_of(me), me.profil, prenom="X", nom="Y", email=me.email,
                            role="admin_reseau", reseau_id=w.ra.id)
    assert exc.value.rule == "R-ACC-1"
    db.session.rollback()
    with pytest.raises(RuleViolation):
        comptes.toggle_active(perimetre_of(w.actors["admin_etablissement"]), boss.profil)
    db.session.rollback()


def test_edit_form_of_a_lower_user_keeps_the_ceiling_and_perimeter(w, db, make, login_as):  # R-ACC-1
    target = make.user("utilisateur_etablissement", etablissement=w.ea)
    target.email = "paul@example.org"
    db.session.commit()
    c = login_as(w.actors["admin_organisme"])
    page = text(c.get(f"/utilisateurview/edit/{target.profil.id}"))
    assert f'value="{target.email}"' in page
    r = c.post(f"/utilisateurview/edit/{target.profil.id}", data={
        "prenom": "Paul", "nom": "Déplacé", "email": target.email,
        "role": "utilisateur_etablissement", "etablissement_id": str(w.eb.id)})
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Profil, target.profil.id).etablissement_id == w.ea.id


# -- R-ACC-2: invitation and password links --------------------------------------------------

def _invite(c, w, email="invitee@example.org", **extra):
    return c.post("/utilisateurview/add", data={
        "prenom": "Iris", "nom": "Invitée", "email": email, "role": "utilisateur_etablissement",
        "etablissement_id": str(w.ea.id), **extra})


def test_add_form_has_no_password_field(w, login_as):  # R-ACC-2
    html = text(login_as(w.actors["admin_organisme"]).get("/utilisateurview/add"))
    assert 'type="password"' not in html and 'name="password"' not in html
    assert "choisir son mot de passe" in html


def test_invitation_link_sets_password_once(w, db, client, login_as):  # R-ACC-2
    c = login_as(w.actors["admin_organisme"])
    # A password smuggled in the form is ignored: nobody chooses another's password.
    r = _invite(c, w, password=NEW_PASSWORD)
    assert r.status_code == 302
    db.session.expire_all()
    user = db.session.query(User).filter_by(email="invitee@example.org").one()
    assert user.profil.invitation_envoyee_le is not None
    assert not logs_in(client, user.username, NEW_PASSWORD)
    [mail] = outbox(db, "invitee@example.org")
    assert mail.sujet == "Votre compte OpenCertif"
    assert "http://localhost/compte/mot-de-passe/" in mail.corps_texte
    link = link_in(mail)

    page = client.get(link)
    assert page.status_code == 200 and "Choisir votre mot de passe" in text(page)
    weak = client.post(link, data={"password": "court", "confirm": "court"})
    assert weak.status_code == 200
    assert "au moins 10 caractères" in text(weak)
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert "ne sont pas identiques" in text(mismatch)
    ok = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok.status_code == 302 and "/login" in ok.headers["Location"]
    assert logs_in(client, user.username, NEW_PASSWORD)

    again = client.get(link)  # single use
    assert again.status_code == 400
    assert "déjà été utilisé" in text(again)
    again = client.post(link, data={"password": "Autre-Mot2passe!", "confirm": "Autre-Mot2passe!"})
    assert again.status_code == 400


def test_new_invitation_replaces_the_previous_link(w, db, login_as, client):  # R-ACC-2
    c = login_as(w.actors["admin_organisme"])
    _invite(c, w)
    db.session.expire_all()
    profil = db.session.query(User).filter_by(email="invitee@example.org").one().profil
    r = c.post(f"/utilisateurview/action/reinviter/{profil.id}")
    assert r.status_code == 302
    first, second = outbox(db, "invitee@example.org")
    assert client.get(link_in(first)).status_code == 400
    assert client.get(link_in(second)).status_code == 200


def test_expired_invitation_link_is_refused(w, db, login_as, client, monkeypatch):  # R-ACC-2
    _invite(login_as(w.actors["admin_organisme"]), w)
    link = link_in(outbox(db, "invitee@example.org")[0])
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    eight_days = 8 * 24 * 3600
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                        lambda self: real(self) + eight_days)
    r = client.get(link)
    assert r.status_code == 400 and "Ce lien a expiré" in text(r)
    r = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 400


def test_expiry_follows_configuration(w, db, app, login_as, client, monkeypatch):  # R-ACC-2
    _invite(login_as(w.actors["admin_organisme"]), w)
    link = link_in(outbox(db, "invitee@example.org")[0])
    monkeypatch.setitem(app.config, "INVITATION_MAX_AGE", -1)
    assert client.get(link).status_code == 400


def test_tampered_link_is_refused(w, db, login_as, client):  # R-ACC-2
    _invite(login_as(w.actors["admin_organisme"]), w)
    link = link_in(outbox(db, "invitee@example.org")[0])
    r = client.get(link[:-3] + "abc")
    assert r.status_code == 400 and "pas valide" in text(r)
    # An invitation link is not a reset link (another purpose, another signature).
    assert client.get(link + "?reset=1").status_code == 400


def _user_with_real_address(db, make, w):
    user = make.user("admin_etablissement", etablissement=w.ea)
    user.email = f"{user.username}@example.org"  # the form's validator refuses .invalid domains
    db.session.commit()
    return user


def test_forgotten_password_by_mail(w, db, make, client):  # R-ACC-2
    user = _user_with_real_address(db, make, w)
    page = client.get("/compte/mot-de-passe-oublie")
    assert page.status_code == 200 and "Mot de passe oublié" in text(page)
    r = client.post("/compte/mot-de-passe-oublie", data={"email": user.email.upper()})
    assert r.status_code == 302
    [mail] = outbox(db, user.email)
    assert "Réinitialisation" in mail.sujet
    link = link_in(mail)
    assert "reset=1" in link
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert not logs_in(client, user.username, Factories.PASSWORD)
    assert logs_in(client, user.username, NEW_PASSWORD)
    assert client.get(link).status_code == 400  # single use
    # Unknown address: same answer, no mail (nothing to learn about who has an account).
    r = client.post("/compte/mot-de-passe-oublie", data={"email": "inconnu@example.org"})
    assert r.status_code == 302
    assert outbox(db, "inconnu@example.org") == []


def test_expired_reset_link(w, db, make, client, monkeypatch):  # R-ACC-2
    user = _user_with_real_address(db, make, w)
    client.post("/compte/mot-de-passe-oublie", data={"email": user.email})
    link = link_in(outbox(db, user.email)[0])
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                        lambda self: real(self) + 3 * 3600)
    assert client.get(link).status_code == 400


@pytest.mark.parametrize("password,ok", [
    ("Court-1!", False), ("sansmajuscule-12", False), ("SANSMINUSCULE-12", False),
    ("Sans-Chiffre-Ici", False), ("SansSpecial1234", False), ("Complet-Mot2passe", True),
])
def test_password_complexity(password, ok, app):  # R-ACC-2
    if ok:
        comptes.validate_password(password)
    else:
        with pytest.raises(RuleViolation):
            comptes.validate_password(password)


def test_change_own_password_asks_the_current_one(w, db, login_as):  # R-ACC-2
    user = w.actors["admin_etablissement"]
    c = login_as(user)
    r = c.post("/mon-compte/mot-de-passe", data={"ancien": "faux", "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert "Mot de passe actuel incorrect" in text(r)
    r = c.post("/mon-compte/mot-de-passe", data={"ancien": Factories.PASSWORD, "password": "faible",
                                                 "confirm": "faible"})
    assert "au moins 10 caractères" in text(r)
    r = c.post("/mon-compte/mot-de-passe", data={"ancien": Factories.PASSWORD,
                                                 "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302


def test_fab_user_screens_closed_to_administrators_of_structures(w, login_as):  # R-ACC-2
    c = login_as(w.actors["admin_reseau"])
    for url in ("/users/add", "/users/list/", "/resetpassword/form?pk=1", "/resetmypassword/form",
                "/roles/list/"):
        assert c.get(url).status_code in (302, 403, 404), url


# -- R-ACC-3 / R-ACC-4 -------------------------------------------------------------------------

def test_only_secretariat_switches_actif(w, db, login_as):  # R-ACC-3
    sec = login_as(w.actors["secretariat"])
    r = sec.post(f"/etablissementview/action/desactiver/{w.ea.id}")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Etablissement, w.ea.id).actif is False
    r = sec.post("/organismeview/action_post", data={"action": "desactiver",
                                                     "rowid": [str(w.oa.id), str(w.ob.id)]})
    assert r.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Organisme, w.oa.id).actif and not db.session.get(Organisme, w.ob.id).actif
    sec.post(f"/organismeview/action/activer/{w.oa.id}")
    db.session.expire_all()
    assert db.session.get(Organisme, w.oa.id).actif

    for role in ("admin_reseau", "admin_organisme", "admin_etablissement"):
        c = login_as(w.actors[role])
        assert c.post(f"/etablissementview/action/activer/{w.ea.id}").status_code == 403
        assert c.post("/organismeview/action_post", data={
            "action": "activer", "rowid": [str(w.ob.id)]}).status_code == 403
        # Neither through the edit form nor the API: Actif is not among their columns.
        c.post(f"/etablissementview/edit/{w.ea.id}", data={
            "organisme": str(w.oa.id), "libelle": w.ea.libelle, "siret": w.ea.siret,
            "region": "Bretagne", "actif": "y"})
        r = c.put(f"/api/v1/etablissement/{w.ea.id}", json={"actif": True})
        assert r.status_code in (400, 403, 422)
    db.session.expire_all()
    assert db.session.get(Etablissement, w.ea.id).actif is False
    assert db.session.get(Organisme, w.ob.id).actif is False


def test_set_actif_workflow_refuses_others(w, db):  # R-ACC-3
    for role in ("admin_reseau", "admin_organisme", "admin_etablissement"):
        with pytest.raises(RuleViolation) as exc:
            comptes.set_actif(perimetre_of(w.actors[role]), w.ea, False)
        assert exc.value.rule == "R-ACC-3"
    comptes.set_actif(perimetre_of(w.actors["secretariat"]), w.ea, False)
    assert w.ea.actif is False


def test_inactive_structures_cannot_operate(w, db):  # R-ACC-3
    comptes.ensure_can_operate(w.ea)
    w.ea.actif = False
    with pytest.raises(RuleViolation) as exc:
        comptes.ensure_can_operate(w.ea)
    assert exc.value.rule == "R-ACC-3" and "inactif" in exc.value.message
    w.ea.actif, w.oa.actif = True, False
    with pytest.raises(RuleViolation) as exc:
        comptes.ensure_can_operate(w.ea)
    assert exc.value.rule == "R-ACC-3" and "organisme est inactif" in exc.value.message
    assert w.ea.en_activite is False


def test_organisme_without_etablissement_cannot_operate(w):  # R-ACC-4
    with pytest.raises(RuleViolation) as exc:
        comptes.ensure_can_operate(None)
    assert exc.value.rule == "R-ACC-4"


# -- R-ACC-6: employer sign-up -----------------------------------------------------------------

def _signup(client, siret, email, raison="CHIMIE DU NORD"):
    return client.post("/compte/employeur", data={
        "siret": siret, "raison_sociale": raison, "naf": "20.14Z", "prenom": "Eva",
        "nom": "Employeuse", "email": email})


def test_employer_signup_once_per_siret(db, make, client):  # R-ACC-6
    page = client.get("/compte/employeur")
    assert page.status_code == 200 and "Un compte par établissement (SIRET)" in text(page)
    siret = make.siret()
    spaced = " ".join([siret[:3], siret[3:6], siret[6:9], siret[9:]])
    r = _signup(client, spaced, "eva@example.org")
    assert r.status_code == 302
    db.session.expire_all()
    ent = db.session.query(Entreprise).filter_by(siret=siret).one()
    user = db.session.query(User).filter_by(email="eva@example.org").one()
    assert user.profil.role == "employeur" and user.profil.entreprise_id == ent.id
    assert [m.sujet for m in outbox(db, "eva@example.org")] == [
        "Confirmez votre demande de compte employeur OpenCertif"]
    # The same SIRET again: the établissement stays one entreprise; the new request joins it,
    # to be approved by the secretariat or the first account (issue 14).
    r = _signup(client, siret, "autre@example.org", raison="DOUBLON SA")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.query(Entreprise).filter_by(siret=siret).count() == 1
    other = db.session.query(User).filter_by(email="autre@example.org").one()
    assert other.profil.entreprise_id == ent.id and ent.raison_sociale == "CHIMIE DU NORD"


def test_employer_signup_bad_siret_and_taken_email(db, make, client):  # R-ACC-6, R-FMT-1
    r = _signup(client, "12345678901234", "eva@example.org")
    assert r.status_code == 200
    assert "n'est pas valide (clé de contrôle)" in text(r)
    taken = make.user("admin_etablissement", etablissement=make.etablissement())
    taken.email = "prise@example.org"
    db.session.commit()
    siret = make.siret()
    r = _signup(client, siret, taken.email)
    assert "Un compte existe déjà avec cette adresse e-mail" in text(r)
    db.session.expire_all()
    assert db.session.query(Entreprise).filter_by(siret=siret).count() == 0


# -- Security switches ---------------------------------------------------------------------------

def test_csrf_enforced_when_enabled(w, db, app, login_as, monkeypatch):  # R-ACC-5 (CSRF)
    c = login_as(w.actors["secretariat"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = c.post("/etablissementview/action_post", data={"action": "desactiver",
                                                       "rowid": [str(w.ea.id)]})
    assert r.status_code == 400
    r = c.post(f"/etablissementview/action/desactiver/{w.ea.id}")
    assert r.status_code == 400
    r = c.post("/api/v1/etablissement/", json={"organisme": w.oa.id, "libelle": "X",
                                                "siret": "0", "region": "Bretagne"})
    assert r.status_code == 400  # a cookie-authenticated API write needs the token too
    assert c.put(f"/api/v1/etablissement/{w.ea.id}", json={"ville": "Brest"}).status_code == 400
    assert c.post("/compte/mot-de-passe-oublie", data={"email": "x@example.org"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Etablissement, w.ea.id).actif is True
    # With the token (as the pages send it), the same calls pass.
    html = text(c.get("/etablissementview/list/"))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert token, "the list page carries a CSRF token"
    r = c.put(f"/api/v1/etablissement/{w.ea.id}", json={"ville": "Brest"},
              headers={"X-CSRFToken": token.group(1)})
    assert r.status_code == 200, text(r)
    r = c.post(f"/etablissementview/action/desactiver/{w.ea.id}",
               data={"csrf_token": token.group(1)})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Etablissement, w.ea.id).actif is False


def test_login_form_needs_csrf_when_enabled(w, app, client, monkeypatch):  # R-ACC-2 (CSRF)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = client.post("/login/", data={"username": w.actors["secretariat"].username,
                                     "password": Factories.PASSWORD})
    assert r.status_code in (200, 400)
    assert client.get("/mon-compte/").status_code != 200


def test_session_cookie_flags(w, app, client, monkeypatch):  # R-ACC-5 (session hardening)
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    r = client.post("/login/", data={"username": w.actors["secretariat"].username,
                                     "password": Factories.PASSWORD})
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert app.config["PERMANENT_SESSION_LIFETIME"] <= 12 * 3600


@pytest.mark.parametrize("query", [
    "psize_EtablissementView=abc", "psize_EtablissementView=-5", "psize_EtablissementView=1e9",
    "psize_EtablissementView=100000000", "psize_EtablissementView=", "page_EtablissementView=abc",
    "page_EtablissementView=-1", "psize_EtablissementView=%00", "_oc_EtablissementView=nope",
    "_od_EtablissementView=sideways",
])
def test_list_parameters_garbage_is_no_500(w, login_as, query):  # R-ACC-5 (robustness)
    c = login_as(w.actors["admin_organisme"])
    r = c.get(f"/etablissementview/list/?{query}")
    assert r.status_code in (200, 302, 400), r.status_code
    r = c.get(f"/etablissementview/export/csv/?{query}")
    assert r.status_code in (200, 302, 400), r.status_code


def test_page_size_is_clamped(w, db, make, login_as):  # R-ACC-5 (robustness)
    for _ in range(3):
        make.etablissement(w.oa)
    c = login_as(w.actors["admin_organisme"])
    html = text(c.get("/etablissementview/list/?psize_EtablissementView=1"))
    assert html.count("/etablissementview/show/") >= 1


API_RESOURCES = ["etablissement", "organisme", "entreprise", "certification", "notification"]


def test_password_hashes_never_in_rest_responses(w, db, login_as):  # R-ACC-2, R-ACC-5
    from app.workflow.notifications import notify
    admin_user = w.actors["secretariat"]
    for role, user in w.actors.items():
        notify([user], "compte", "Bienvenue")
    db.session.commit()
    leaks = ("pbkdf2:", "scrypt:", "password", "changed_by", "created_by")
    for role, user in w.actors.items():
        c = login_as(user)
        for resource in API_RESOURCES:
            r = c.get(f"/api/v1/{resource}/?q=" + json.dumps({"page_size": 100}))
            if r.status_code != 200:
                continue
            body = text(r)
            assert not any(s in body for s in leaks), (role, resource)
            for pk in json.loads(body)["ids"][:3]:
                body = text(c.get(f"/api/v1/{resource}/{pk}"))
                assert not any(s in body for s in leaks), (role, resource, pk)
            info = text(c.get(f"/api/v1/{resource}/_info"))
            assert not any(s in info for s in ("pbkdf2:", "scrypt:")), (role, resource)
        menu = text(c.get("/api/v1/menu/"))
        assert "pbkdf2:" not in menu
    assert admin_user.password.startswith("pbkdf2:")  # the marker we look for is the real one


RATE_LIMIT_SCRIPT = textwrap.dedent('''
    import json, os, sys, tempfile
    sys.path.insert(0, os.getcwd())
    from config import TestConfig

    class LimitedConfig(TestConfig):
        RATELIMIT_ENABLED = True
        AUTH_RATE_LIMIT = "3 per minute"
        SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "rl.db")
        INSTANCE_DIR = tempfile.mkdtemp()

    from app import create_app
    from app.extensions import db
    app = create_app(LimitedConfig)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    web = [client.post("/login/", data={"username": "x", "password": "y"}).status_code
           for _ in range(5)]
    api = [client.post("/api/v1/security/login", json={"username": "x", "password": "y",
                                                      "provider": "db"}).status_code
           for _ in range(5)]
    print(json.dumps({"web": web, "api": api}))
''')


def test_login_rate_limited_on_web_form_and_api(tmp_path):  # R-ACC-2 (brute force)
    """The limiter is set up by create_app; a second app in this process misbehaves
    (FAB-NOTES.md), so a child process builds one with RATELIMIT_ENABLED."""
    script = tmp_path / "ratelimit.py"
    script.write_text(RATE_LIMIT_SCRIPT)
    env = {**os.environ, "OPENCERTIF_INSTANCE": str(tmp_path)}
    env.pop("DATABASE_URL_TEST_EFFECTIVE", None)
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(script)], cwd=root, env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert 429 not in result["web"][:3] and result["web"][3:] == [429, 429], result
    assert 429 not in result["api"][:3] and result["api"][3:] == [429, 429], result


def test_accounts_are_deactivated_not_deleted(w, db, make, login_as):  # R-ACC-1
    target = make.user("utilisateur_etablissement", etablissement=w.ea)
    c = login_as(w.actors["admin_organisme"])
    assert "/utilisateurview/delete/" not in text(c.get("/utilisateurview/list/"))
    assert c.post(f"/utilisateurview/delete/{target.profil.id}").status_code == 403
    admin = login_as(make.user("admin"))
    admin.post(f"/utilisateurview/delete/{target.profil.id}")
    db.session.expire_all()
    assert db.session.get(Profil, target.profil.id) is not None
    r = c.post(f"/utilisateurview/action/desactiver/{target.profil.id}")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False
    assert not logs_in(c, target.username, Factories.PASSWORD)


# -- Issue 14: employer accounts that are someone's -----------------------------------------------

def _confirm_link(db, email):
    from html import unescape
    body = outbox(db, email)[-1].corps_texte
    return unescape(re.search(r"(/compte/inscription/\S+)", body).group(1))


def test_public_signup_takeover_sees_nothing_until_approved(db, make, app, client, login_as):
    # R-ACC-6 (issue 14): a stranger with a valid unused SIRET gets no access before approval
    victim_ent = make.entreprise(region="Île-de-France")
    victim_dossier = make.candidature("CHIMIE", entreprise=victim_ent)
    siret = make.siret()
    assert _signup(client, siret, "intrus@example.org").status_code == 302
    db.session.expire_all()
    user = db.session.query(User).filter_by(email="intrus@example.org").one()
    assert user.profil.inscription == "email_a_confirmer" and not user.active and user.roles == []
    link = _confirm_link(db, "intrus@example.org")
    r = client.post(link, data={"password": "Motdepasse-1", "confirm": "Motdepasse-1"})
    assert r.status_code == 200 and "transmise au secrétariat" in text(r)
    assert client.post(link, data={"password": "Motdepasse-1", "confirm": "Motdepasse-1"}
                       ).status_code == 400  # single use
    db.session.expire_all()
    assert db.session.get(User, user.id).profil.inscription == "a_approuver"
    # Neither the login form nor the token API opens it.
    assert not logs_in(app.test_client(), "intrus@example.org", "Motdepasse-1")
    r = app.test_client().post("/api/v1/security/login", json={
        "username": "intrus@example.org", "password": "Motdepasse-1", "provider": "db"})
    assert r.status_code == 401
    # Even switched on by mistake, it has no role and no perimeter.
    from app.security.perimeter import perimetre_of
    assert perimetre_of(db.session.get(User, user.id)).niveau == "none"
    admin = login_as(make.user("admin"))
    r = admin.post(f"/utilisateurview/action/desactiver/{user.profil.id}")
    db.session.expire_all()
    assert db.session.get(User, user.id).active is False  # R-ACC-6: approve, don't switch on
    db.session.get(User, user.id).active = True  # forced in the database
    db.session.commit()
    c = app.test_client()
    assert logs_in(c, "intrus@example.org", "Motdepasse-1")
    assert c.get("/candidatures/list/").status_code == 403
    assert c.get(f"/candidatures/recherche?numero={victim_dossier.numero}").status_code == 403
    assert c.get("/api/v1/candidature/").status_code == 403
    assert victim_dossier.numero not in text(c.get("/"))


def test_signup_approved_by_the_secretariat_opens_the_account(db, make, app, client, login_as):
    # R-ACC-6, R-FMT-1 (issue 14)
    siret = make.siret()
    _signup(client, siret, "eva@example.org")
    link = _confirm_link(db, "eva@example.org")
    sec_user = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    client.post(link, data={"password": "Motdepasse-1", "confirm": "Motdepasse-1"})
    assert [m.sujet for m in outbox(db, sec_user.email)] == ["Demande de compte employeur à examiner"]
    sec = login_as(sec_user)
    page = text(sec.get("/inscriptions-employeur/"))
    assert "eva@example.org" in page and siret in page and siret[:9] in page
    assert page.count("clé valide") == 2
    profil = db.session.query(User).filter_by(email="eva@example.org").one().profil
    # Another employer (not of this SIRET) neither sees nor decides it.
    other = login_as(make.user("employeur", entreprise=make.entreprise()))
    assert "eva@example.org" not in text(other.get("/inscriptions-employeur/"))
    assert other.post(f"/inscriptions-employeur/decider/{profil.id}/approuver").status_code == 403
    r = sec.post(f"/inscriptions-employeur/decider/{profil.id}/refuser", data={"motif": ""})
    assert "Indiquez la raison du refus" in text(sec.get("/inscriptions-employeur/")) or r.status_code == 302
    assert sec.post(f"/inscriptions-employeur/decider/{profil.id}/approuver").status_code == 302
    assert [m.sujet for m in outbox(db, "eva@example.org")][-1] == \
        "Votre compte employeur OpenCertif est ouvert"
    assert logs_in(app.test_client(), "eva@example.org", "Motdepasse-1")
    # Decided once: a second decision is refused.
    sec.post(f"/inscriptions-employeur/decider/{profil.id}/refuser", data={"motif": "Non"})
    db.session.expire_all()
    assert db.session.get(Profil, profil.id).inscription == "approuvee"


def test_signup_for_a_known_siret_is_approved_by_its_account_or_refused(db, make, client,
                                                                        login_as):  # R-ACC-6
    ent = make.entreprise()
    owner = make.user("employeur", entreprise=ent)
    _signup(client, ent.siret, "collegue@example.org", raison="AUTRE NOM")
    client.post(_confirm_link(db, "collegue@example.org"),
                data={"password": "Motdepasse-1", "confirm": "Motdepasse-1"})
    db.session.expire_all()
    assert db.session.query(Entreprise).filter_by(siret=ent.siret).count() == 1
    profil = db.session.query(User).filter_by(email="collegue@example.org").one().profil
    assert profil.entreprise_id == ent.id
    c = login_as(owner)
    assert "collegue@example.org" in text(c.get("/inscriptions-employeur/"))
    assert c.post(f"/inscriptions-employeur/decider/{profil.id}/refuser",
                  data={"motif": "Inconnu chez nous"}).status_code == 302
    mail = outbox(db, "collegue@example.org")[-1]
    assert mail.sujet == "Votre demande de compte employeur OpenCertif"
    assert "Inconnu chez nous" in mail.corps_texte
    db.session.expire_all()
    assert db.session.get(Profil, profil.id).inscription == "refusee"
    assert db.session.get(User, profil.user_id).active is False
