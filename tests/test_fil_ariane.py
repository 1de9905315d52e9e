"""The breadcrumb of every page (issue 16 item 8, RGAA 12.2): « Accueil › section › row › page »,
built once by app/views/fil.py; the crawler of tests/test_french.py checks it on every page of the
demo accounts, these tests the trails named in the issue."""
import re

from tests.conftest import login
from tests.test_french import FIL, breadcrumb


def _trail(html: str) -> list[str]:
    nav = FIL.findall(html)
    assert len(nav) == 1, "one breadcrumb"
    return [re.sub(r"<[^>]+>", "", item).strip()
            for item in re.findall(r"<li>(.*?)</li>", nav[0], re.DOTALL)]


def test_dossier_and_its_evaluation(app, make):
    sec = make.user("secretariat", dispositif=make.ref["CLEA"])
    c = make.candidature("CLEA")
    client = login(app.test_client(), sec)
    page = client.get(f"/dossier/{c.id}").get_data(as_text=True)
    assert _trail(page) == ["Accueil", "Toutes les candidatures", f"Dossier {c.numero}"]
    assert '<span aria-current="page">Dossier ' in page
    page = client.get(f"/evaluation/{c.id}").get_data(as_text=True)
    assert _trail(page) == ["Accueil", "Toutes les candidatures", f"Dossier {c.numero}",
                            "Évaluation"]
    problems, links = breadcrumb("/evaluation", page)
    assert not problems and links == ["/", "/candidatures/list/", f"/dossier/{c.id}"]


def test_jury_and_its_deliberation(app, make):
    import datetime as dt
    sec = make.user("secretariat")
    jury = make.jury(date=dt.date(2027, 1, 12))
    client = login(app.test_client(), sec)
    page = client.get(f"/jurys/show/{jury.id}").get_data(as_text=True)
    assert _trail(page) == ["Accueil", "Jurys", "Jury du 12/01/2027"]
    page = client.get(f"/jurys/deliberation/{jury.id}").get_data(as_text=True)
    assert _trail(page) == ["Accueil", "Jurys", "Jury du 12/01/2027", "Délibération"]
    page = client.get(f"/jurys/composition/{jury.id}").get_data(as_text=True)
    assert _trail(page) == ["Accueil", "Jurys", "Jury du 12/01/2027", "Composition"]


def test_list_page_and_no_breadcrumb_at_home_or_signed_out(app, make):
    client = login(app.test_client(), make.user("secretariat"))
    assert _trail(client.get("/jurys/list/").get_data(as_text=True)) == ["Accueil", "Jurys"]
    assert not FIL.findall(client.get("/").get_data(as_text=True))
    assert not FIL.findall(app.test_client().get("/accessibilite").get_data(as_text=True))


def test_row_outside_the_perimeter_gives_no_crumb(app, make):
    """A page reached by a row outside the perimeter is a 404: its row never heads a trail."""
    other = make.candidature("CLEA")
    client = login(app.test_client(), make.user("secretariat"))  # chimie
    r = client.get(f"/dossier/{other.id}")
    assert r.status_code == 404 and other.numero not in r.get_data(as_text=True)
