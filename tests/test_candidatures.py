"""Candidatures: identity and duplicates (R-CAN-1/2), dossier (R-CAN-3/5, R-DIS-2, R-REF-5),
documents (R-CAN-4), rattachement (R-CAN-6), abandon (R-CAN-7), VAE (R-CAN-8), workflow
(R-WF-1..5), guards over status × role × perimeter, screens, REST and the list's SQL count."""
import datetime as dt
import io
import zipfile

import pytest
import sqlalchemy as sa

from app.errors import PerimeterViolation, RuleViolation
from app.models.candidature import (
    Candidat,
    Candidature,
    Historique,
    HistoryIsAppendOnly,
    RattachementDemande,
)
from app.security.perimeter import perimetre_of as P
from app.workflow import engine as transitions
from app.workflow import pieces as documents
from app.workflow import verbs
from app.workflow.dossier import abandons, candidats, rattachements, vae
from app.workflow.dossier import candidatures as wf
from app.workflow.engine import CHIMIE, CLEA, METALLURGIE, NotAllowed, allowed_actions
from tests.conftest import outbox
from tests.factories import real_pdf

TODAY = dt.date.today()


def ident(make=None, **kw):
    """A valid identity; without `make` (pure tests, no database) a fixed one."""
    if make is not None:
        return make.identite(**kw)
    base = {"civilite": "MME", "nom_naissance": "Martin", "prenom": "Claire", "date_naissance": dt.date(1990, 1, 1),
                "ne_etranger": False, "ne_outre_mer": False, "ville_naissance": "Lyon", "code_postal_naissance": "69003",
                "email": "claire.martin@test.invalid", "adresse": "1 rue de la Paix", "code_postal": "75002", "ville": "Paris"}
    return {**base, **kw}


# --- R-CAN-1 identity -----------------------------------------------------------------------------
def test_identity_is_normalised():  # R-CAN-1
    out = candidats.validate_identity(ident(nom_naissance="  d'Artagnan-Éloi ", prenom="Zoé",
                                            email="Zoe@Exemple.FR", date_naissance="12/03/1990"))
    assert out["nom_naissance"] == "d'Artagnan-Éloi" and out["email"] == "zoe@exemple.fr"
    assert out["date_naissance"] == dt.date(1990, 3, 12) and out["pays_naissance"] is None


@pytest.mark.parametrize("change, field", [
    ({"civilite": ""}, "civilite"),
    ({"nom_naissance": ""}, "nom_naissance"),
    ({"prenom": "J3an"}, "prenom"),
    ({"date_naissance": TODAY + dt.timedelta(days=1)}, "date_naissance"),
    ({"date_naissance": TODAY - dt.timedelta(days=365 * 10)}, "date_naissance"),
    ({"ville_naissance": ""}, "ville_naissance"),
    ({"code_postal_naissance": "6900"}, "code_postal_naissance"),
    ({"ne_etranger": True, "pays_naissance": ""}, "pays_naissance"),
    ({"ne_etranger": True, "ne_outre_mer": True}, "ne_outre_mer"),
    ({"code_postal_naissance": "98800"}, "code_postal_naissance"),  # COM not declared
    ({"ne_outre_mer": True, "code_postal_naissance": "69003"}, "code_postal_naissance"),
    ({"email": "pas-une-adresse"}, "email"),
])
def test_identity_rules(change, field):  # R-CAN-1
    with pytest.raises(RuleViolation) as exc:
        candidats.validate_identity(ident(**change))
    assert exc.value.field == field and exc.value.rule == "R-CAN-1"


def test_born_abroad_or_overseas():  # R-CAN-1
    out = candidats.validate_identity(ident(ne_etranger=True, pays_naissance="Maroc",
                                            ville_naissance="Rabat", code_postal_naissance=""))
    assert out["pays_naissance"] == "Maroc" and out["code_postal_naissance"] is None
    out = candidats.validate_identity(ident(ne_outre_mer=True, ville_naissance="Nouméa",
                                            code_postal_naissance="98800"))
    assert out["ne_outre_mer"] and out["code_postal_naissance"] == "98800"


# --- R-CAN-2 duplicates ---------------------------------------------------------------------------
def test_search_ignores_accents_case_and_finds_usage_names(make, db):  # R-CAN-2
    c = make.candidature("CLEA", identite=ident(make, nom_naissance="Lefèvre", nom_usage="Müller",
                                                prenom="Hélène", date_naissance=dt.date(1985, 5, 4)))
    for kw in ({"nom": "LEFEVRE", "prenom": "helene"}, {"nom": "lef", "date_naissance": "1985-05-04"},
               {"nom": "muller", "prenom": "Hélène"}, {"numero": c.numero.lower()}):
        rows = candidats.search(**kw)
        assert [r[0].id for r in rows] == [c.id], kw
    assert candidats.search(nom="Lefèvre", prenom="Marie") == []


def test_search_unites_birth_and_usage_names_within_the_limit(make, db):  # R-CAN-2
    # Each name column is searched by its own limited branch (issue 9): the union must still
    # list each dossier once, in name order, and count both branches against the limit.
    born = {"prenom": "Jeanne", "date_naissance": dt.date(1990, 1, 1)}
    by_birth = make.candidature("CLEA", identite=ident(make, nom_naissance="Martinez", **born))
    by_usage = make.candidature("CLEA", identite=ident(make, nom_naissance="Bernard",
                                                        nom_usage="Martin", **born))
    both = make.candidature("CLEA", identite=ident(make, nom_naissance="Martineau",
                                                    nom_usage="Martinet", **born))
    rows = candidats.search(nom="martin", prenom="jeanne", limit=3)
    assert [r[0].id for r in rows] == [by_usage.id, both.id, by_birth.id]  # BERNARD, MARTINEAU, MARTINEZ
    with pytest.raises(candidats.SearchTooBroad):
        candidats.search(nom="martin", prenom="jeanne", limit=2)


@pytest.mark.parametrize("kw", [{"nom": "Dupont"}, {"date_naissance": "1985-05-04"},
                                {"nom": "D", "prenom": "Jean"}, {"prenom": "Jean", "ville_naissance": "Lyon"},
                                {}])
def test_search_too_broad_is_refused(kw):  # R-CAN-2
    with pytest.raises(candidats.SearchTooBroad):
        candidats.search(**kw)


def test_short_name_allowed_with_birth_date(db):  # R-CAN-2
    assert candidats.search(nom="D", date_naissance="1985-05-04") == []


def test_search_uses_the_name_index(db):  # R-CAN-2
    if db.engine.dialect.name != "sqlite":
        pytest.skip("plan checked on SQLite")
    from app.models.candidature import cle
    sql = "EXPLAIN QUERY PLAN SELECT id FROM candidat WHERE cle_nom >= :a AND cle_nom < :b"
    plan = " ".join(str(r) for r in db.session.execute(sa.text(sql), {"a": cle("dup"), "b": "DUQ"}))
    assert "ix_candidat_cle_nom" in plan


def test_same_person_is_not_duplicated(make, db):  # R-CAN-2
    identity = ident(make, nom_naissance="Dupré", prenom="Anne")
    first = make.candidature("CLEA", identite=identity)
    other = make.candidature("METALLURGIE", identite={**identity, "nom_naissance": "DUPRE",
                                                      "prenom": "anne", "email": None})
    assert other.candidat_id == first.candidat_id
    assert db.session.query(Candidat).count() == 1


def test_no_second_dossier_in_progress_or_certified(make, db):  # R-CAN-2
    identity = ident(make)
    first = make.candidature("CLEA", identite=identity)
    with pytest.raises(RuleViolation) as exc:
        make.candidature("CLEA", identite=identity)
    # Created from another établissement: the dossier is said to exist, never named (issue 14).
    assert exc.value.rule == "R-CAN-2" and first.numero not in exc.value.message
    assert "rattachement" in exc.value.message
    db.session.rollback()
    abandons.declare_abandon(P(first.createur), first, motif="candidat")
    db.session.commit()
    second = make.candidature("CLEA", identite=identity)  # an abandoned dossier does not block
    with pytest.raises(RuleViolation) as exc:  # … but then the first cannot be reinstated
        abandons.reinstate(P(first.createur), first)
    assert exc.value.rule == "R-CAN-2"
    db.session.rollback()
    second.statut, second.decision, second.decide_le = "certifiee", "certifiee", TODAY
    db.session.commit()
    with pytest.raises(RuleViolation):  # certified: never twice
        make.candidature("CLEA", identite=identity)


def test_search_page_offers_rattachement_outside_perimeter(make, db, login_as):  # R-CAN-2 R-CAN-6
    c = make.candidature("CLEA", identite=ident(make, nom_naissance="Rousseau", prenom="Luc"))
    other_user = make.user("utilisateur_etablissement", etablissement=make.etablissement())
    born = c.candidat.date_naissance.isoformat()
    page = login_as(other_user).get("/candidatures/recherche?nom=rousseau&prenom=luc").get_data(as_text=True)
    assert c.numero not in page and "Demander le rattachement" not in page  # issue 14: no listing
    page = login_as(other_user).get(f"/candidatures/recherche?nom=rousseau&prenom=luc&date_naissance={born}").get_data(as_text=True)
    assert c.numero not in page and "Demander le rattachement" in page and f"/dossier/{c.id}" not in page
    page = login_as(c.createur).get("/candidatures/recherche?nom=rousseau&prenom=luc").get_data(as_text=True)
    assert f"/dossier/{c.id}" in page
    page = login_as(c.createur).get("/candidatures/recherche?nom=rousseau").get_data(as_text=True)
    assert "trop large" in page


# --- creation: R-CAN-3, R-CAN-5, R-DIS-2, R-REF-5 ---------------------------------------------------
def test_number_and_dates(make, db):  # R-CAN-5
    a, b = make.candidature("CLEA"), make.candidature("CLEA")
    year = TODAY.year
    assert a.numero == f"CLEA-{year}-000001" and b.numero == f"CLEA-{year}-000002"
    assert make.candidature("CHIMIE").numero == f"CHIMIE-{year}-000001"
    assert a.created_on.date() == TODAY and a.envoye_le is None


def test_dossier_fields(make, db):  # R-CAN-3
    c = make.candidature("CLEA", statut_inscription="demandeur_emploi", financement="POEI",
                         niveau_formation=3, diplomes="CAP", socle_contextualise="oui")
    assert (c.origine, c.financement, c.niveau_formation, c.socle_contextualise) == ("DE", "POEI", 3, True)
    for bad in ({"financement": "XYZ"}, {"niveau_formation": 9}, {"statut_inscription": ""}):
        with pytest.raises(RuleViolation) as exc:
            make.candidature("CLEA", **bad)
        assert exc.value.rule == "R-CAN-3"
        db.session.rollback()


@pytest.mark.parametrize("dispositif, role, ok", [
    ("CHIMIE", "employeur", True), ("CHIMIE", "secretariat", True),
    ("CHIMIE", "utilisateur_etablissement", False),
    ("CLEA", "utilisateur_etablissement", True), ("CLEA", "admin_reseau", True),
    ("CLEA", "employeur", False), ("CLEA", "secretariat", False),
    ("METALLURGIE", "employeur", True), ("METALLURGIE", "admin_organisme", True),
    ("METALLURGIE", "secretariat", True), ("CLEA", "evaluateur", False), ("CLEA", "jury", False),
])
def test_who_creates_a_dossier(make, db, dispositif, role, ok):  # R-DIS-2
    reseau = make.reseau()
    etab = make.etablissement(organisme=make.organisme(reseau=reseau))
    make.habilitation(etab, make.ref[dispositif])
    perim = {"employeur": {"entreprise": make.entreprise(region="Île-de-France")},
             "secretariat": {"dispositif": make.ref[dispositif]},
             "utilisateur_etablissement": {"etablissement": etab},
             "admin_organisme": {"organisme": etab.organisme}, "admin_reseau": {"reseau": reseau},
             "evaluateur": {}, "jury": {}}[role]
    user = make.user(role, **perim)
    kw = {"etablissement": etab} if role not in ("employeur", "secretariat") else {}
    if role == "secretariat" and dispositif == "CHIMIE":
        kw["parcours"] = "3"
    if ok:
        c = make.candidature(dispositif, by=user, **kw)
        assert c.createur_id == user.id
    else:
        with pytest.raises(RuleViolation) as exc:
            make.candidature(dispositif, by=user, **kw)
        assert exc.value.rule in ("R-DIS-2", "R-ACC-5")


def test_suppressed_certification_takes_no_new_candidates(make, db):  # R-REF-5
    c = make.candidature("CLEA")
    c.certification.date_suppression = TODAY
    db.session.commit()
    with pytest.raises(RuleViolation) as exc:
        make.candidature("CLEA")
    assert exc.value.rule == "R-REF-5"
    db.session.rollback()
    assert "edit" in allowed_actions(P(c.createur), c)  # started before: still worked on


def test_inactive_or_unhabilitated_etablissement_cannot_register(make, db):  # R-ACC-3 R-HAB-2
    etab = make.etablissement()
    user = make.user("utilisateur_etablissement", etablissement=etab)
    with pytest.raises(RuleViolation) as exc:  # no habilitation
        wf.create_candidature(P(user), certification=make.certification("CLEA"),
                              identite=ident(make), etablissement=etab, statut_inscription="salarie")
    assert exc.value.rule == "R-HAB-2"
    db.session.rollback()
    c = make.candidature("CLEA", etablissement=etab, by=user)
    etab.actif = False
    db.session.commit()
    with pytest.raises(RuleViolation) as exc:
        make.candidature("CLEA", etablissement=etab, by=user)
    assert exc.value.rule == "R-ACC-3"
    db.session.rollback()
    assert "edit" not in allowed_actions(P(user), c)  # can no longer complete its dossiers


def test_reseau_told_of_every_new_candidature(make, db):  # R-NOT-2
    from app.models.notification import Notification
    reseau = make.reseau(notifier_candidatures=True)
    admin = make.user("admin_reseau", reseau=reseau)
    c = make.candidature("CLEA", etablissement=make.etablissement(organisme=make.organisme(reseau=reseau)))
    notes = db.session.query(Notification).filter_by(user_id=admin.id).all()
    assert [n.titre for n in notes] == [f"Nouvelle candidature {c.numero}"]


# --- R-CAN-4 documents ----------------------------------------------------------------------------
def _zip(names):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in names:
            z.writestr(n, "x")
    return buf.getvalue()


# A compound-file header (byte order mark, 512-byte sectors), then the directory names.
OLE = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 20 + b"\xfe\xff\x09\x00" + b"\0" * 1000


@pytest.mark.parametrize("data, fmt", [
    (real_pdf("sniff"), "pdf"),
    (_zip(["[Content_Types].xml", "word/document.xml"]), "docx"),
    (_zip(["[Content_Types].xml", "xl/workbook.xml"]), "xlsx"),
    (OLE + "WordDocument".encode("utf-16-le"), "doc"),
    (OLE + "Workbook".encode("utf-16-le"), "xls"),
    (_zip(["scan1.pdf", "scan2.pdf"]), "zip"),
])
def test_formats_recognised_by_content(data, fmt):  # R-CAN-4
    assert documents.sniff(data) == fmt


@pytest.mark.parametrize("data", [b"MZ\x90\x00 exe", b"\x89PNG\r\n\x1a\n", b"plain text.pdf",
                                  b"PK\x03\x04 broken", OLE + b"PowerPoint",
                                  _zip(["word/document.xml", "word/vbaProject.bin"])])
def test_other_contents_refused_whatever_the_name(data):  # R-CAN-4
    with pytest.raises(RuleViolation) as exc:
        documents.sniff(data)
    assert exc.value.rule == "R-CAN-4"


def test_documents_size_once_and_in_database(make, db):  # R-CAN-4
    c = make.candidature("CLEA")
    p = P(c.createur)
    doc = documents.add_document(p, c, filename="diplome.exe", data=real_pdf("diplome"), type_piece="diplome")
    db.session.commit()
    assert doc.nom_fichier == "diplome.exe.pdf" and doc.mimetype == "application/pdf"
    assert len(doc.sha256) == 64 and doc.contenu == real_pdf("diplome")
    with pytest.raises(RuleViolation, match="déjà joint"):
        documents.add_document(p, c, filename="copie.pdf", data=real_pdf("diplome"))
    db.session.rollback()
    with pytest.raises(RuleViolation, match="4 Mo"):
        documents.add_document(p, c, filename="gros.pdf", data=real_pdf("gros") + b" " * 4_000_000)
    db.session.rollback()
    exact = real_pdf("limite") + b"\n" * (4_000_000 - len(real_pdf("limite")))
    assert documents.add_document(p, c, filename="limite.pdf", data=exact).taille == 4_000_000


def test_document_download_only_in_perimeter(make, db, login_as):  # R-CAN-4 R-ACC-5
    c = make.candidature("CLEA")
    doc = documents.add_document(P(c.createur), c, filename="cv.pdf", data=real_pdf("cv"))
    db.session.commit()
    r = login_as(c.createur).get(f"/dossier/document/{doc.id}")
    assert r.status_code == 200 and r.data == real_pdf("cv") and "attachment" in r.headers["Content-Disposition"]
    outsider = make.user("utilisateur_etablissement", etablissement=make.etablissement())
    assert login_as(outsider).get(f"/dossier/document/{doc.id}").status_code == 404


def test_upload_through_the_page(make, db, login_as):  # R-CAN-4
    c = make.candidature("CLEA")
    client = login_as(c.createur)
    r = client.post(f"/dossier/{c.id}/document", data={"type_piece": "diplome",
                    "fichier": (io.BytesIO(b"GIF89a"), "photo.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 200  # the form again, the type kept (issue 16 item 1)
    page = r.get_data(as_text=True)
    assert "Format de fichier non accepté" in page
    client.post(f"/dossier/{c.id}/document", data={"type_piece": "diplome",
                "fichier": (io.BytesIO(real_pdf("ok")), "ok.pdf")}, content_type="multipart/form-data")
    assert db.session.get(Candidature, c.id).documents[0].nom_fichier == "ok.pdf"


# --- R-CAN-6 rattachement --------------------------------------------------------------------------
def test_rattachement_accepted_moves_the_dossier_and_both_sides_hear(make, db):  # R-CAN-6
    from app.models.notification import Notification
    c = make.candidature("CLEA")
    old_user = c.createur
    new_etab = make.etablissement()
    make.habilitation(new_etab, make.ref["CLEA"])
    requester = make.user("utilisateur_etablissement", etablissement=new_etab)
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    with pytest.raises(RuleViolation, match="Précisez"):
        rattachements.request_transfer(P(requester), c, new_etab.id, "autre")
    db.session.rollback()
    d = rattachements.request_transfer(P(requester), c, new_etab.id, "demenagement")
    db.session.commit()
    assert db.session.query(Notification).filter_by(user_id=sec.id, rubrique="demande_rattachement").count() == 1
    with pytest.raises(NotAllowed):
        rattachements.decide_transfer(P(requester), d, True)
    with pytest.raises(RuleViolation, match="raison"):
        rattachements.decide_transfer(P(sec), d, False)
    db.session.rollback()
    rattachements.decide_transfer(P(sec), d, True)
    db.session.commit()
    assert c.etablissement_id == new_etab.id and c.organisme_id == new_etab.organisme_id
    assert "edit" in allowed_actions(P(requester), c) and not transitions.can(P(old_user), c, "edit")
    for user in (requester, old_user):
        assert db.session.query(Notification).filter(
            Notification.user_id == user.id, Notification.titre.like("%accepté%")).count() == 1
    assert c.historique[-1].action == "rattachement"


def test_rattachement_refused_at_the_jury(make, db):  # R-CAN-6
    c = make.candidature("CLEA")
    make.clea_evaluation(c, c.createur)
    wf.send_to_certification(P(c.createur), c)
    db.session.commit()
    etab = make.etablissement()
    make.habilitation(etab, make.ref["CLEA"])
    with pytest.raises(RuleViolation) as exc:
        rattachements.request_transfer(P(make.user("admin_etablissement", etablissement=etab)), c,
                                       etab, "fermeture")
    assert exc.value.rule == "R-CAN-6"


def test_rattachement_pages(make, db, login_as):  # R-CAN-6
    import re
    from html import unescape
    c = make.candidature("CLEA")
    etab = make.etablissement()
    make.habilitation(etab, make.ref["CLEA"])
    requester = make.user("utilisateur_etablissement", etablissement=etab)
    client = login_as(requester)
    cand = c.candidat
    search = client.get(f"/candidatures/recherche?nom={cand.nom_naissance}&prenom={cand.prenom}"
                        f"&date_naissance={cand.date_naissance.isoformat()}").get_data(as_text=True)
    link = unescape(re.search(r'href="(/rattachements/demander/[^"]+)"', search).group(1))
    page = client.get(link).get_data(as_text=True)
    assert c.numero not in page and c.certification.intitule in unescape(page)
    r = client.post(link, data={"etablissement": etab.id, "motif": "souhait_candidat"})
    assert r.status_code == 302
    d = db.session.query(RattachementDemande).one()
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    assert login_as(requester).post(f"/rattachements/decider/{d.id}/accepter").status_code in (403, 404)
    r = login_as(sec).post(f"/rattachements/decider/{d.id}/refuser", data={"reponse": "Incohérent"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(RattachementDemande, d.id).etat == "refusee"


# --- R-CAN-7 abandon ---------------------------------------------------------------------------
def test_abandon_and_reinstatement(make, db):  # R-CAN-7
    c = make.candidature("CLEA")
    make.clea_evaluation(c, c.createur, acquis=False)
    p = P(c.createur)
    with pytest.raises(RuleViolation):
        abandons.declare_abandon(p, c, motif="")
    db.session.rollback()
    abandons.declare_abandon(p, c, motif="autre", precision="Déménagement à l'étranger")
    db.session.commit()
    assert c.statut == "abandonnee" and allowed_actions(p, c) == ["reinstate"]
    abandons.reinstate(p, c)
    db.session.commit()
    assert c.statut == "en_attente_evaluation_finale" and c.abandon_motif is None


def test_abandon_stale_command(make, db, app):  # R-CAN-7
    from app.models.evaluation import Evaluation
    old, recent = make.candidature("CLEA"), make.candidature("CLEA")
    for c in (old, recent):
        make.clea_evaluation(c, c.createur, acquis=False)
    ev = db.session.query(Evaluation).filter_by(candidature_id=old.id).one()
    ev.created_on = dt.datetime.now() - dt.timedelta(days=5 * 366)
    db.session.commit()
    old_id, recent_id = old.id, recent.id  # the command ends its session
    runner = app.test_cli_runner()
    result = runner.invoke(args=["candidatures", "abandon-stale"])
    assert "1 dossier(s)" in result.output, result.output
    assert runner.invoke(args=["candidatures", "abandon-stale"]).output.startswith("0 ")
    db.session.expire_all()
    old, recent = db.session.get(Candidature, old_id), db.session.get(Candidature, recent_id)
    assert (old.statut, old.abandon_auto, old.abandon_motif) == ("abandonnee", True, "automatique")
    assert recent.statut == "en_attente_evaluation_finale"
    assert old.historique[-1].auteur == "Système"


def test_abandoned_list_and_30_day_export(make, db, login_as):  # R-CAN-7
    import csv
    a, b, kept = make.candidature("CLEA"), make.candidature("CLEA"), make.candidature("CLEA")
    etab_user = make.user("admin_organisme", organisme=a.etablissement.organisme)
    for c in (a, b):
        abandons.declare_abandon(P(c.createur), c, motif="candidat")
    b.abandonne_le = dt.datetime.now() - dt.timedelta(days=40)
    db.session.commit()
    client = login_as(a.createur)
    page = client.get("/candidatures-abandonnees/list/").get_data(as_text=True)
    assert a.numero in page and kept.numero not in page and b.numero not in page  # b: other établissement
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    body = login_as(sec).get("/candidatures-abandonnees/export-30-jours/csv/").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert [r[0] for r in rows[1:]] == [a.numero]
    assert etab_user  # an organisme administrator sees them too
    assert a.numero in login_as(etab_user).get("/candidatures-abandonnees/list/").get_data(as_text=True)


# --- R-CAN-8 VAE -----------------------------------------------------------------------------------
@pytest.fixture
def vae_dossier(make, db):
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    c = make.candidature("CHIMIE", by=sec, parcours="3",
                         recevabilite_recue_le=TODAY - dt.timedelta(days=10))
    return c, sec


def test_vae_recevabilite(vae_dossier, make, db):  # R-CAN-8
    c, sec = vae_dossier
    assert c.vae and c.statut == "en_attente_recevabilite"
    assert vae.echeance_recevabilite(c) == TODAY + dt.timedelta(days=50)
    with pytest.raises(RuleViolation) as exc:  # a refusal states its reasons
        vae.decide_recevabilite(P(sec), c, recevable="0")
    assert exc.value.field == "motif"
    db.session.rollback()
    with pytest.raises(RuleViolation) as exc:  # a decision is recorded once taken
        vae.decide_recevabilite(P(sec), c, recevable="1",
                                decidee_le=(TODAY + dt.timedelta(days=40)).isoformat())
    assert exc.value.field == "decidee_le"
    db.session.rollback()
    vae.decide_recevabilite(P(sec), c, recevable="1")
    db.session.commit()
    assert c.statut == "en_cours_inscription" and c.recevabilite_statut == "recevable"
    assert vae.echeance_jury(c) == TODAY + dt.timedelta(days=0) + __import__(
        "dateutil.relativedelta", fromlist=["relativedelta"]).relativedelta(months=18)


def test_vae_refused_is_final(vae_dossier, db):  # R-CAN-8
    c, sec = vae_dossier
    vae.decide_recevabilite(P(sec), c, recevable="0", motif="Expérience insuffisante")
    db.session.commit()
    assert c.statut == "recevabilite_refusee" and c.recevabilite_motif == "Expérience insuffisante"
    assert allowed_actions(P(sec), c) == []


def test_parcours_3_is_created_by_the_secretariat(make, db):  # R-CAN-8
    with pytest.raises(RuleViolation) as exc:
        make.candidature("CHIMIE", parcours="3")
    assert exc.value.rule == "R-CAN-8"


def test_vae_alerts_once_each(vae_dossier, db, app, make):  # R-CAN-8
    from app.models.notification import Notification
    c, sec = vae_dossier
    c.recevabilite_recue_le = TODAY - dt.timedelta(days=50)
    db.session.commit()
    c_id, sec_id, sec_email = c.id, sec.id, sec.email
    runner = app.test_cli_runner()
    assert "1 alerte" in runner.invoke(args=["candidatures", "vae-alerts"]).output
    assert "0 alerte" in runner.invoke(args=["candidatures", "vae-alerts"]).output
    later = (TODAY + dt.timedelta(days=20)).isoformat()
    assert "1 alerte" in runner.invoke(args=["candidatures", "vae-alerts", "--date", later]).output
    assert len(outbox(db, sec_email)) == 2
    # Recevable: 18 months to reach a jury, warned 2 months before.
    from flask_appbuilder.security.sqla.models import User
    c, sec = db.session.get(Candidature, c_id), db.session.get(User, sec_id)
    c.recevabilite_recue_le = TODAY - dt.timedelta(days=520)
    vae.decide_recevabilite(P(sec), c, recevable="1", decidee_le=TODAY - dt.timedelta(days=500))
    db.session.commit()
    assert "1 alerte" in runner.invoke(args=["candidatures", "vae-alerts"]).output
    titles = [n.contenu for n in db.session.query(Notification).filter_by(user_id=sec_id)]
    assert any("passer devant un jury avant" in t for t in titles)


# --- R-WF-1..5 -------------------------------------------------------------------------------------
def test_status_lists_follow_the_sources():  # R-WF-1 R-WF-2
    assert [s for s in CHIMIE.statuses if s not in ("en_attente_recevabilite", "recevabilite_refusee",
                                                    "abandonnee")] == [
        "en_cours_inscription", "en_attente_evaluation", "en_attente_jury", "valide", "partiel", "non_valide"]
    assert CLEA.statuses == [
        "en_attente_evaluation_prealable", "en_attente_evaluation_finale", "en_attente_envoi_certification",
        "en_attente_jury", "en_attente_complement", "candidature_completee", "certifiee", "non_certifiee",
        "abandonnee"]
    assert ("inscription", "evaluation") in METALLURGIE.pairs()
    assert ("evaluation", "en_attente_jury") in METALLURGIE.pairs()


def test_previous_steps_first(make, db):  # R-WF-1
    c = make.candidature("CHIMIE", financement=None)
    p = P(c.createur)
    assert allowed_actions(p, c) == ["edit", "upload_document", "add_amenagement", "declare_abandon"]
    states = {m.verb: r for m, r in transitions.action_states(p, c)}
    # Named as the fiche's field is (« Dispositif de financement »), issue 16 item 6.
    assert "dispositif de financement" in states["confirm_evaluator"]
    with pytest.raises(RuleViolation) as exc:
        wf.submit_to_jury(p, c)
    assert exc.value.rule == "R-WF-1"


def test_locked_after_sending_and_undone_by_reseau_or_certifier(make, db):  # R-WF-3
    reseau = make.reseau()
    etab = make.etablissement(organisme=make.organisme(reseau=reseau))
    c = make.candidature("CLEA", etablissement=etab)
    user = c.createur
    make.clea_evaluation(c, user)
    wf.send_to_certification(P(user), c)
    db.session.commit()
    for verb in ("edit", "upload_document", "declare_abandon", "start_evaluation"):
        with pytest.raises(RuleViolation):
            transitions.check(P(user), c, verb)
    with pytest.raises(RuleViolation):
        wf.update_candidature(P(user), c, diplomes="Bac")
    with pytest.raises(RuleViolation):
        documents.add_document(P(user), c, filename="x.pdf", data=real_pdf("late"))
    db.session.rollback()
    admin_org = make.user("admin_organisme", organisme=etab.organisme)
    with pytest.raises(NotAllowed):
        wf.unlock(P(admin_org), c)
    other_reseau_admin = make.user("admin_reseau", reseau=make.reseau())
    with pytest.raises(PerimeterViolation):
        wf.unlock(P(other_reseau_admin), c)
    wf.unlock(P(make.user("admin_reseau", reseau=reseau)), c, commentaire="Erreur de nom")
    db.session.commit()
    assert c.statut == "en_attente_envoi_certification" and not c.locked and c.envoye_le is None
    assert "edit" in allowed_actions(P(user), c)
    wf.send_to_certification(P(user), c)
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    wf.apply_decision(P(sec), c, "certifiee")
    db.session.commit()
    with pytest.raises(RuleViolation):  # decided: no undo
        wf.unlock(P(sec), c)


def test_identity_shared_with_a_locked_dossier_is_frozen(make, db):  # R-WF-3
    identity = ident(make)
    locked = make.candidature("CLEA", identite=identity)
    make.clea_evaluation(locked, locked.createur)
    wf.send_to_certification(P(locked.createur), locked)
    db.session.commit()
    other = make.candidature("METALLURGIE", identite=identity)
    with pytest.raises(RuleViolation) as exc:
        wf.update_candidature(P(other.createur), other, identite={**identity, "prenom": "Autre"})
    assert exc.value.rule == "R-WF-3"


def test_complement_loop(make, db):  # R-WF-4
    c = make.candidature("CLEA")
    user = c.createur
    make.clea_evaluation(c, user)
    wf.send_to_certification(P(user), c)
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    with pytest.raises(NotAllowed):  # a jury-side move, not a button
        verbs.perform(P(sec), c, "request_complement", commentaire="x")
    wf.request_complement(P(sec), c, "Précisez les objectifs professionnels.")
    db.session.commit()
    assert c.statut == "en_attente_complement" and not c.locked
    assert "Précisez les objectifs" in outbox(db, user.email)[0].corps_texte
    with pytest.raises(RuleViolation, match="compléments"):
        wf.complete_and_resend(P(user), c)
    db.session.rollback()
    wf.update_candidature(P(user), c, objectifs_professionnels="Devenir chef d'équipe en logistique.")
    wf.complete_and_resend(P(user), c)
    db.session.commit()
    assert c.statut == "candidature_completee" and c.locked
    wf.apply_decision(P(sec), c, "certifiee")
    db.session.commit()
    assert c.statut == "certifiee" and c.decision == "certifiee" and c.decide_le == TODAY


def test_history_of_every_move_is_append_only(make, db):  # R-WF-5
    c = make.candidature("CLEA")
    make.clea_evaluation(c, c.createur)
    wf.send_to_certification(P(c.createur), c)
    db.session.commit()
    moves = [(h.statut_avant, h.statut_apres) for h in c.historique if h.statut_avant != h.statut_apres]
    assert moves == [(None, "en_attente_evaluation_prealable"),
                     ("en_attente_evaluation_prealable", "en_attente_envoi_certification"),
                     ("en_attente_envoi_certification", "en_attente_jury")]
    h = c.historique[-1]
    assert h.user_id == c.createur_id and h.auteur.startswith("Prénom") and h.created_on
    h.commentaire = "falsifié"
    with pytest.raises(HistoryIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(HistoryIsAppendOnly):
        db.session.delete(db.session.get(Historique, h.id))
        db.session.flush()
    db.session.rollback()


# --- guards: status × role × perimeter -----------------------------------------------------------------
ROLES = ["same_etab", "other_etab", "admin_organisme", "same_reseau", "other_reseau", "secretariat",
         "other_secretariat", "employeur", "evaluateur", "jury"]
STATUSES = ["en_attente_evaluation_prealable", "en_attente_envoi_certification", "en_attente_jury",
            "abandonnee"]
# verb -> (statuses where it applies, roles allowed there)
EXPECTED = {
    "edit": ({"en_attente_evaluation_prealable", "en_attente_envoi_certification"},
             {"same_etab", "admin_organisme", "same_reseau", "secretariat"}),
    "declare_abandon": ({"en_attente_evaluation_prealable", "en_attente_envoi_certification"},
                        {"same_etab", "admin_organisme", "same_reseau", "secretariat"}),
    "unlock": ({"en_attente_jury"}, {"same_reseau", "secretariat"}),
    "reinstate": ({"abandonnee"}, {"same_etab", "admin_organisme", "same_reseau", "secretariat"}),
    "add_amenagement": ({"en_attente_evaluation_prealable", "en_attente_envoi_certification"},
                        {"same_etab", "admin_organisme", "same_reseau", "secretariat"}),
}


@pytest.fixture
def actors(make, db):
    reseau = make.reseau()
    etab = make.etablissement(organisme=make.organisme(reseau=reseau))
    c = make.candidature("CLEA", etablissement=etab)
    other_etab = make.etablissement(organisme=make.organisme(reseau=make.reseau()))
    users = {
        "same_etab": c.createur,
        "other_etab": make.user("utilisateur_etablissement", etablissement=other_etab),
        "admin_organisme": make.user("admin_organisme", organisme=etab.organisme),
        "same_reseau": make.user("admin_reseau", reseau=reseau),
        "other_reseau": make.user("admin_reseau", reseau=other_etab.organisme.reseau),
        "secretariat": make.user("secretariat", dispositif=make.ref["CLEA"]),
        "other_secretariat": make.user("secretariat", dispositif=make.ref["CHIMIE"]),
        "employeur": make.user("employeur", entreprise=make.entreprise()),
        "evaluateur": make.user("evaluateur"),
        "jury": make.user("jury", dispositif=make.ref["CLEA"]),
    }
    return c, {k: P(u) for k, u in users.items()}


@pytest.mark.parametrize("status", STATUSES)
def test_guard_matrix(actors, db, status):  # R-WF-3 R-ACC-5 R-WF-2
    """Every (verb, role) at this status: the guard, and the buttons, say exactly EXPECTED."""
    c, perims = actors
    c.statut = status
    if status == "abandonnee":
        c.statut_avant_abandon, c.abandon_motif, c.abandonne_le = \
            "en_attente_evaluation_prealable", "candidat", dt.datetime.now()
    db.session.flush()
    for role in ROLES:
        buttons = allowed_actions(perims[role], c)
        for verb, (statuses, roles) in sorted(EXPECTED.items()):
            expected = status in statuses and role in roles
            assert transitions.can(perims[role], c, verb) is expected, (verb, status, role)
            assert (verb in buttons) is expected, (verb, status, role)


def test_guard_refusal_kinds(actors, db):  # R-ACC-5
    c, perims = actors
    with pytest.raises(PerimeterViolation):
        transitions.check(perims["other_etab"], c, "edit")
    with pytest.raises(NotAllowed):
        transitions.check(perims["employeur"], c, "edit")
    with pytest.raises(RuleViolation) as exc:
        transitions.check(perims["same_etab"], c, "unlock")
    assert type(exc.value) is NotAllowed


# --- screens ----------------------------------------------------------------------------------------
def _buttons(html):
    import re
    return set(re.findall(r'data-verb="([a-z_]+)"', html))


def test_page_buttons_are_the_allowed_actions(make, db, login_as):  # R-WF-1 R-WF-3
    c = make.candidature("CLEA")
    make.clea_evaluation(c, c.createur)
    client = login_as(c.createur)
    html = client.get(f"/dossier/{c.id}").get_data(as_text=True)
    from app.views.dossier import PAGES
    expected = {m.verb for m, _ in transitions.action_states(P(c.createur), c)
                if m.button or m.verb in PAGES}
    assert _buttons(html) == expected and "send_to_certification" in expected
    assert client.post(f"/dossier/{c.id}/action/send_to_certification").status_code == 302
    html = client.get(f"/dossier/{c.id}").get_data(as_text=True)
    assert "En attente de jury" in html and "verrouillé" in html and _buttons(html) == set()
    assert client.post(f"/dossier/{c.id}/action/declare_abandon", data={"motif": "candidat"}).status_code == 200  # the page again, with its refusal
    assert db.session.get(Candidature, c.id).statut == "en_attente_jury"  # refused by the same guard
    assert client.post(f"/dossier/{c.id}/action/apply_decision", data={"decision": "certifiee"}).status_code == 403
    assert login_as(make.user("evaluateur")).get(f"/dossier/{c.id}").status_code == 404


def test_actions_need_the_csrf_token(make, db, login_as, app):  # R-WF-3
    import re
    c = make.candidature("CLEA")
    client = login_as(c.createur)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = client.post(f"/dossier/{c.id}/action/declare_abandon", data={"motif": "candidat"})
        assert r.status_code == 400
        html = client.get(f"/dossier/{c.id}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        r = client.post(f"/dossier/{c.id}/action/declare_abandon",
                        data={"motif": "candidat", "csrf_token": token})
        assert r.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(Candidature, c.id).statut == "abandonnee"


def test_creation_flow_search_then_form(make, db, login_as):  # R-CAN-2 R-CAN-5
    etab = make.etablissement()
    make.habilitation(etab, make.ref["CLEA"])
    user = make.user("utilisateur_etablissement", etablissement=etab)
    client = login_as(user)
    assert client.get("/candidatures/add").status_code == 302
    page = client.get("/candidatures/recherche?creation=1&nom=Nouveau&prenom=Paul").get_data(as_text=True)
    assert "Aucun résultat" in page and "Créer un nouveau dossier" in page
    cert = make.certification("CLEA")
    form = {"certification": cert.id, "etablissement": etab.id, "civilite": "M", "nom_naissance": "Nouveau",
            "prenom": "Paul", "date_naissance": "1980-02-03", "ville_naissance": "Lille",
            "code_postal_naissance": "59000", "statut_inscription": "salarie", "parcours": "1"}
    r = client.post("/candidatures/nouvelle", data={**form, "code_postal_naissance": "590"})
    assert r.status_code == 200 and "5 chiffres" in r.get_data(as_text=True)
    r = client.post("/candidatures/nouvelle", data=form)
    assert r.status_code == 302
    c = db.session.query(Candidature).one()
    assert r.headers["Location"].endswith(f"/dossier/{c.id}")
    assert f"Candidature créée le {TODAY:%d/%m/%Y}" in client.get(f"/dossier/{c.id}").get_data(as_text=True)


def test_edit_page(make, db, login_as):  # R-CAN-1 R-WF-3
    c = make.candidature("CLEA")
    client = login_as(c.createur)
    page = client.get(f"/dossier/{c.id}/modifier").get_data(as_text=True)
    assert c.candidat.nom_naissance in page
    data = {k: getattr(c.candidat, k) for k in ("civilite", "nom_naissance", "prenom", "ville_naissance",
                                                "code_postal_naissance", "email", "adresse", "code_postal", "ville")}
    data.update(date_naissance=c.candidat.date_naissance.isoformat(), statut_inscription="salarie",
                financement="CPF", nom_usage="Épouse Durand")
    assert client.post(f"/dossier/{c.id}/modifier", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Candidat, c.candidat_id).cle_nom_usage == "EPOUSE DURAND"


def test_other_perimeter_ids_on_every_way_in(make, db, login_as):  # R-ACC-5
    c = make.candidature("CLEA")
    doc = documents.add_document(P(c.createur), c, filename="a.pdf", data=real_pdf("a"))
    db.session.commit()
    outsider = make.user("admin_etablissement", etablissement=make.etablissement())
    client = login_as(outsider)
    gets = [f"/dossier/{c.id}", f"/dossier/{c.id}/modifier", f"/dossier/document/{doc.id}",
            f"/evaluation/{c.id}", f"/evaluation/{c.id}/formation", f"/api/v1/candidature/{c.id}",
            f"/api/v1/candidature/{c.id}/actions"]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [f"/dossier/{c.id}/action/declare_abandon", f"/dossier/{c.id}/document",
             f"/dossier/document/{doc.id}/retirer", f"/evaluation/{c.id}", f"/evaluation/{c.id}/nouvelle",
             f"/api/v1/candidature/{c.id}/action/declare_abandon"]
    for url in posts:
        assert client.post(url, data={"motif": "candidat"}).status_code == 404, url
    assert client.put(f"/api/v1/candidature/{c.id}", json={"diplomes": "x"}).status_code == 404
    assert c.numero not in client.get("/candidatures/list/").get_data(as_text=True)
    assert c.numero not in client.get("/candidatures/export/csv/").data.decode()
    db.session.expire_all()
    assert db.session.get(Candidature, c.id).statut == "en_attente_evaluation_prealable"


def test_list_filters_counts_and_export(make, db, login_as):  # R-DOC-6
    etab = make.etablissement()
    a = make.candidature("CLEA", etablissement=etab)
    b = make.candidature("CLEA", etablissement=etab)
    abandons.declare_abandon(P(a.createur), a, motif="candidat")
    db.session.commit()
    client = login_as(a.createur)
    page = client.get("/candidatures/list/").get_data(as_text=True)
    assert a.numero in page and b.numero in page and "Candidature abandonnée" in page
    page = client.get("/candidatures/list/?_flt_3_statut=abandonnee").get_data(as_text=True)
    assert a.numero in page and b.numero not in page
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(client.get("/candidatures/export/xlsx/").data))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][0] == "N° de dossier" and {r[0] for r in rows[1:]} == {a.numero, b.numero}


def test_list_statement_count_is_constant(make, db, login_as, queries):  # DESIGN 11
    etab = make.etablissement()
    user = make.user("admin_etablissement", etablissement=etab)
    make.habilitation(etab, make.ref["CLEA"])
    client = login_as(user)
    counts = []
    for total in (5, 50):
        while db.session.query(Candidature).count() < total:
            i = db.session.query(Candidature).count()
            make.candidature("CLEA", etablissement=etab, by=user,
                             entreprise=make.entreprise() if i % 2 else None)
        client.get("/candidatures/list/?psize_CandidatureView=100")
        with queries() as statements:
            r = client.get("/candidatures/list/?psize_CandidatureView=100")
        assert r.status_code == 200 and r.get_data(as_text=True).count("/candidatures/show/") >= total
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 25, counts


# --- REST ----------------------------------------------------------------------------------------------
def test_rest_create_read_act(make, db, login_as):  # R-CAN-5 R-WF-2
    etab = make.etablissement()
    make.habilitation(etab, make.ref["CLEA"])
    user = make.user("utilisateur_etablissement", etablissement=etab)
    client = login_as(user)
    cert = make.certification("CLEA")
    body = {"certification": cert.id, "etablissement": etab.id, "statut_inscription": "salarie",
            "identite": ident(make, date_naissance="1979-09-09")}
    r = client.post("/api/v1/candidature/", json={**body, "identite": {**body["identite"], "civilite": "X"}})
    assert r.status_code == 422 and r.json["rule"] == "R-CAN-1"
    r = client.post("/api/v1/candidature/", json=body)
    assert r.status_code == 201, r.json
    pk = r.json["id"]
    got = client.get(f"/api/v1/candidature/{pk}").json["result"]
    assert got["numero"] == r.json["numero"] and "password" not in str(got)
    acts = client.get(f"/api/v1/candidature/{pk}/actions").json
    assert "start_evaluation" in acts["allowed"] and acts["locked"] is False
    r = client.post(f"/api/v1/candidature/{pk}/action/send_to_certification", json={})
    assert r.status_code == 422
    r = client.post(f"/api/v1/candidature/{pk}/action/declare_abandon", json={"motif": "candidat"})
    assert r.status_code == 200 and r.json["statut"] == "abandonnee"
    assert client.delete(f"/api/v1/candidature/{pk}").status_code == 405
    r = client.put(f"/api/v1/candidature/{pk}", json={"diplomes": "CAP"})
    assert r.status_code == 422  # abandoned: not editable
    assert client.get("/api/v1/candidature/").json["count"] == 1


def test_rest_refuses_garbage_without_error_500(make, db, login_as):  # R-CAN-4 R-WF-2
    c = make.candidature("CLEA")
    client = login_as(c.createur)
    r = client.post(f"/api/v1/candidature/{c.id}/action/upload_document", json={"data": "%PDF-1.4"})
    assert r.status_code == 422 and r.json["rule"] == "R-CAN-4"
    r = client.post(f"/api/v1/candidature/{c.id}/action/start_evaluation", json={"p": 1, "c": 2})
    assert r.status_code == 200
    r = client.post(f"/api/v1/candidature/{c.id}/action/save_evaluation",
                    json={"evaluation": "x", "resultats": {"abc": {"acquis": True}}})
    assert r.status_code == 422
    r = client.post(f"/api/v1/candidature/{c.id}/action/nope", json={})
    assert r.status_code == 403
    r = client.post("/api/v1/candidature/", json={"certification": "x", "self": 1})
    assert r.status_code == 422
