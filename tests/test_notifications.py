"""In-app notifications (R-NOT-1): notify(), the bell, filters, mark read, open the link."""
import html as htmllib
import re

import pytest

from app.models.notification import RUBRIQUES, Notification
from app.workflow.notifications import mark_read, notify, unread_count


def text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def bell(page: str) -> int:
    match = re.search(r'id="oc-unread">(\d+)<', page)
    return int(match.group(1)) if match else 0


@pytest.fixture
def people(db, make):
    etab = make.etablissement()
    me = make.user("admin_etablissement", etablissement=etab)
    other = make.user("utilisateur_etablissement", etablissement=etab)
    notify([me], "dossier_candidature", "Dossier 42 à compléter", "Pièce manquante : CNI",
           lien="/candidatureview/show/42")
    notify([me, other], "decision_jury", "Décision du jury du 12/03", "Validé")
    notify([me.id], "demande_habilitation", "Nouvelle demande", "Organisme ALPHA")
    db.session.commit()
    return me, other


def test_notify_adds_one_per_user_and_checks_the_rubric(db, make):  # R-NOT-1
    a = make.user("jury")
    assert notify([a, a.id, None], "jury", "Convocation") == 1
    with pytest.raises(ValueError):
        notify([a], "inconnue", "x")
    db.session.commit()
    assert unread_count(a.id) == 1
    # Every rubric of R-NOT-1 exists.
    labels = dict(RUBRIQUES)
    for rubric in ("Changement de certificateur", "Demande d'habilitation", "Demande de rattachement",
                   "Dossier d'habilitation", "Dossier de candidature", "Décision du jury",
                   "Envoi en certification", "Pli non distribué", "Renouvellement d'habilitation"):
        assert rubric in labels.values()


def test_bell_shows_unread_count(db, people, login_as):  # R-NOT-1
    me, other = people
    c = login_as(me)
    page = text(c.get("/"))
    assert bell(page) == 3
    assert 'title="Notifications non lues : 3"' in page
    assert bell(text(login_as(other).get("/"))) == 1
    mark_read(me.id)
    assert bell(text(c.get("/"))) == 0


def test_list_filters_by_rubric_title_content_and_read(db, people, login_as):  # R-NOT-1
    me, _ = people
    c = login_as(me)
    page = text(c.get("/notificationview/list/"))
    assert all(t in page for t in ("Dossier 42 à compléter", "Décision du jury du 12/03",
                                   "Nouvelle demande"))
    assert "Dossier de candidature" in page  # the rubric's label, not its code

    def titles(query):
        html = text(c.get(f"/notificationview/list/?{query}"))
        return {t for t in ("Dossier 42 à compléter", "Décision du jury du 12/03", "Nouvelle demande")
                if t in html}

    assert titles("_flt_0_rubrique=decision_jury") == {"Décision du jury du 12/03"}
    assert titles("_flt_2_titre=demande") == {"Nouvelle demande"}
    assert titles("_flt_2_contenu=CNI") == {"Dossier 42 à compléter"}
    first = db.session.query(Notification).filter_by(user_id=me.id, rubrique="demande_habilitation").one()
    mark_read(me.id, [first.id])
    assert titles("_flt_0_lu=y") == {"Nouvelle demande"}
    assert titles("_flt_1_lu=y") == {"Dossier 42 à compléter", "Décision du jury du 12/03"}
    # The rubric filter offers the French labels (inside the search widget's script).
    raw = c.get("/notificationview/list/").get_data(as_text=True)
    assert 'pli_non_distribue' in raw and "Pli non distribu" in raw


def test_mark_one_read_by_action(db, people, login_as):  # R-NOT-1
    me, _ = people
    c = login_as(me)
    n = db.session.query(Notification).filter_by(user_id=me.id, rubrique="decision_jury").one()
    r = c.post(f"/notificationview/action/marquer_lu/{n.id}")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Notification, n.id).lu is True
    assert unread_count(me.id) == 2
    ids = [str(x.id) for x in db.session.query(Notification).filter_by(user_id=me.id)]
    r = c.post("/notificationview/action_post", data={"action": "marquer_lu", "rowid": ids})
    assert r.status_code == 302
    assert unread_count(me.id) == 0


def test_mark_all_read(db, people, login_as):  # R-NOT-1
    me, other = people
    c = login_as(me)
    page = text(c.get("/notificationview/list/"))
    assert "Tout marquer comme lu" in page and "/notificationview/tout-lire" in page
    r = c.post("/notificationview/tout-lire")
    assert r.status_code == 302 and r.headers["Location"].endswith("/notificationview/list/")
    assert unread_count(me.id) == 0
    assert unread_count(other.id) == 1  # only one's own rows
    assert c.get("/notificationview/tout-lire").status_code == 405


def test_open_marks_read_and_follows_the_link(db, people, login_as):  # R-NOT-1
    me, _ = people
    c = login_as(me)
    n = db.session.query(Notification).filter_by(user_id=me.id, rubrique="dossier_candidature").one()
    r = c.get(f"/notificationview/ouvrir/{n.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith("/candidatureview/show/42")
    db.session.expire_all()
    assert db.session.get(Notification, n.id).lu is True
    # Without a link, the notification itself is shown.
    other = db.session.query(Notification).filter_by(user_id=me.id, rubrique="decision_jury").one()
    r = c.get(f"/notificationview/ouvrir/{other.id}")
    assert r.headers["Location"].endswith(f"/notificationview/show/{other.id}")


def test_open_never_redirects_off_site(db, make, login_as):  # R-NOT-1
    me = make.user("jury")
    for lien in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        notify([me], "jury", "Lien", lien=lien)
    db.session.commit()
    c = login_as(me)
    for n in db.session.query(Notification).filter_by(user_id=me.id):
        location = c.get(f"/notificationview/ouvrir/{n.id}").headers["Location"]
        assert location.endswith("/notificationview/list/"), (n.lien, location)


def test_other_users_notification_is_404(db, people, login_as):  # R-NOT-1, R-ACC-5
    me, other = people
    theirs = db.session.query(Notification).filter_by(user_id=other.id).one()
    c = login_as(me)
    assert c.get(f"/notificationview/ouvrir/{theirs.id}").status_code == 404
    assert c.get(f"/notificationview/show/{theirs.id}").status_code == 404
    assert c.post(f"/notificationview/action/marquer_lu/{theirs.id}").status_code == 404
    assert c.get(f"/api/v1/notification/{theirs.id}").status_code == 404
    assert c.put(f"/api/v1/notification/{theirs.id}", json={"lu": True}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).lu is False
    assert "Décision du jury du 12/03" in text(c.get("/notificationview/list/"))
    assert text(c.get("/notificationview/list/")).count("Décision du jury du 12/03") == 1


def test_notifications_cannot_be_forged_or_rewritten(db, people, login_as):  # R-NOT-1
    me, _ = people
    c = login_as(me)
    mine = db.session.query(Notification).filter_by(user_id=me.id, rubrique="decision_jury").one()
    assert c.post("/notificationview/add", data={"rubrique": "compte", "titre": "Forgée",
                                                 "contenu": "x"}).status_code == 404
    assert c.post(f"/notificationview/edit/{mine.id}", data={
        "rubrique": "compte", "titre": "Réécrite", "contenu": "x"}).status_code == 404
    listing = c.get("/notificationview/list/").get_data(as_text=True)
    assert "/notificationview/add" not in listing and "/notificationview/edit/" not in listing
    db.session.expire_all()
    assert db.session.query(Notification).filter_by(titre="Forgée").count() == 0
    assert db.session.get(Notification, mine.id).titre == "Décision du jury du 12/03"
    # The API changes only the read flag.
    r = c.put(f"/api/v1/notification/{mine.id}", json={"lu": True})
    assert r.status_code == 200
    assert c.put(f"/api/v1/notification/{mine.id}", json={"titre": "X"}).status_code in (400, 422)
    assert c.post("/api/v1/notification/", json={"titre": "X"}).status_code in (404, 405)
