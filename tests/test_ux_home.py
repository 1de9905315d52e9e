"""Issue 16 item 2: the home page is the user's to-do list; every count equals the list it opens
(open the link, count the rows); evaluated dossiers are « prêts pour le jury », not waiting for
their evaluation; the manager sees key figures; the greeting has no « — — »."""
import re

from app.security.perimeter import perimetre_of as P
from app.workflow.jury import registration
from tests.journeys.forms import open_page
from tests.test_ux_forms import sign_in


def home_counts(client) -> dict[str, tuple[int, str]]:
    """{to-do code: (count shown, link)} of the home page."""
    page = open_page(client, "/")
    found = re.findall(r'id="oc-bucket-([a-z_]+)">\s*<div class="oc-count">(?:<a href="([^"]*)">)?'
                       r'(\d+)', page.html)
    return {code: (int(n), url.replace("&amp;", "&")) for code, url, n in found}


def rows_of(client, url) -> int:
    return len(re.findall(r'class="oc-a-faire-ligne"', open_page(client, url).html))


def assert_counts_equal_lists(client) -> dict[str, int]:
    shown = home_counts(client)
    assert shown, "no to-do count on the home page"
    for code, (n, url) in shown.items():
        assert url, code
        assert rows_of(client, url) == n, (code, n, url)
    return {code: n for code, (n, _) in shown.items()}


def test_evaluated_dossiers_are_ready_for_the_jury_and_each_count_equals_its_list(app, make, db):
    # R-STA-1: the chemical dossier whose evaluation is finalised waits for the jury, not for an
    # evaluation; a dossier a jury has taken no longer waits for an assignment.
    sec = make.user("secretariat", dispositif=make.ref["CHIMIE"])
    ready = [make.dossier_pret_jury("CHIMIE") for _ in range(2)]
    waiting = make.candidature("CHIMIE")
    jury = make.jury("CHIMIE")
    taken = make.dossier_pret_jury("CHIMIE")
    registration.register_to_jury(P(taken.createur), taken, jury)
    db.session.commit()
    counts = assert_counts_equal_lists(sign_in(app, sec))
    assert counts["pret_jury"] == len(ready)
    assert counts["evaluation_initiale"] == 0, "evaluated dossiers are not waiting for it"
    assert counts["affectation_jury"] == 0, "the registered dossier is taken by its jury"
    assert waiting.statut == "en_cours_inscription"


def test_a_complement_asked_by_the_jury_is_on_the_organisme_users_home(app, make, db):
    # R-WF-4: the organisme's users (not only its administrators) hear of it and see it to do.
    from app.workflow.engine import holders
    org = make.organisme()
    site = make.etablissement(organisme=org)
    make.habilitation(site, make.ref["CLEA"])
    user = make.user("utilisateur_organisme", organisme=org)
    c = make.candidature("CLEA", etablissement=site)
    c.statut = "en_attente_complement"
    db.session.commit()
    assert user in holders(c)
    counts = assert_counts_equal_lists(sign_in(app, user))
    assert counts["complement"] == 1


def test_clea_holder_counts_equal_their_lists(app, make, db):
    c = make.candidature("CLEA")
    make.clea_evaluation(c, c.createur)  # validated: to send to the certification
    other = make.candidature("CLEA", etablissement=c.etablissement)
    counts = assert_counts_equal_lists(sign_in(app, c.createur))
    assert counts["pret_jury"] == 1 and counts["evaluation_initiale"] == 1
    assert other.statut in ("en_attente_evaluation_prealable", "inscription")


def test_manager_home_shows_key_figures(app, make, db):
    make.candidature("CLEA")
    manager = make.user("manager", dispositif=make.ref["CLEA"])
    page = open_page(sign_in(app, manager), "/")
    figures = re.search(r'id="oc-chiffres">(.*?)</div>\s*</div>\s*</div>\s*(?:{%|<)', page.html,
                        re.DOTALL)
    assert 'id="oc-chiffres"' in page.html and "Chiffres clés" in page.text
    assert "Dossiers" in page.text and "Certifiés" in page.text and figures is not None
    # Each figure opens what it counts, a page the manager may read (not the dossier list).
    client = sign_in(app, manager)
    cards = re.findall(r'<div class="oc-count"><a href="([^"]+)">(\d+)<span class="sr-only"> : '
                       r'([^<]+)</span>', open_page(client, "/").html)
    assert {label for _, _, label in cards} == {"Dossiers", "En cours", "Certifiés", "Abandonnés"}
    for url, n, label in cards:
        opened = open_page(client, url.replace("&amp;", "&"))
        total = re.search(r'id="oc-total">(\d+)<', opened.html)
        assert total is not None and total.group(1) == n, (label, url)


def test_greeting_of_evaluator_and_jury_has_no_empty_perimeter(app, make, db):
    for role in ("evaluateur", "jury"):
        user = make.user(role) if role == "evaluateur" else make.user(
            role, dispositif=make.ref["CHIMIE"])
        page = open_page(sign_in(app, user), "/")
        assert "— —" not in page.text, role
        assert re.search(r'id="oc-role">[^<]*\S', page.html)
