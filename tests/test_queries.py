"""The SQL statement count of the main lists does not grow with their rows (issue 2 §11).

Each list is read once to warm up, then counted with few rows and with many rows (and with a
small and a large page): a related column without eager loading would add one SELECT per row.
"""
import pytest

from app.models import Bloc, Certification, Competence, Passerelle
from app.workflow.notifications import notify

SMALL, LARGE = 5, 60


def _count(queries, client, url):
    assert client.get(url).status_code == 200  # warm-up (permissions, templates)
    with queries() as statements:
        r = client.get(url)
    assert r.status_code == 200
    return len(statements)


def _grow(make, kind, n, ctx):
    for _ in range(n):
        if kind == "etablissement" or kind == "organisme":  # each under its own organisme (a related column)
            make.etablissement(make.organisme(reseau=ctx["reseau"]))
        elif kind == "profil":  # each in its own établissement: the perimeter column varies
            make.user("utilisateur_etablissement",
                      etablissement=make.etablissement(ctx["organisme"]))
        elif kind == "notification":
            notify([ctx["user"]], "dossier_candidature", "Dossier", "x", lien="/")
        elif kind == "certification":
            k = ctx.setdefault("k", [0])
            k[0] += 1
            make.db.session.add(Certification(
                dispositif=ctx["ref"]["CLEA"], type="CQP", code=f"CQP-Q-{k[0]}", intitule="Q"))
        elif kind in ("bloc", "competence", "passerelle"):  # each on its own certification
            k = ctx.setdefault("k", [0])
            k[0] += 1
            cert = Certification(dispositif=ctx["ref"]["CLEA"], type="CQP", code=f"CQP-R-{k[0]}",
                                 intitule="R")
            bloc = Bloc(certification=cert, code="1", intitule="Bloc")
            make.db.session.add_all([cert, bloc, Competence(certification=cert, bloc=bloc, code="1.1",
                                                            intitule="Compétence"),
                                     Passerelle(certification=cert, autre_branche="Pharmacie",
                                                certification_autre="CQP P", nature="totale")])
    make.db.session.commit()


LISTS = {
    "etablissement": ("/etablissementview/list/", "EtablissementView", "admin_reseau"),
    "organisme": ("/organismeview/list/", "OrganismeView", "admin_reseau"),
    "profil": ("/utilisateurview/list/", "UtilisateurView", "admin_reseau"),
    "notification": ("/notificationview/list/", "NotificationView", "admin_reseau"),
    "certification": ("/certificationview/list/", "CertificationView", "secretariat"),
    "bloc": ("/blocview/list/", "BlocView", "secretariat"),
    "competence": ("/competenceview/list/", "CompetenceView", "secretariat"),
    "passerelle": ("/passerelleview/list/", "PasserelleView", "secretariat"),
}


@pytest.fixture
def world(make, ref):
    reseau = make.reseau()
    organisme = make.organisme(reseau=reseau)
    etab = make.etablissement(organisme)
    users = {"admin_reseau": make.user("admin_reseau", reseau=reseau),
             "secretariat": make.user("secretariat", dispositif=ref["CLEA"])}
    return {"reseau": reseau, "organisme": organisme, "etab": etab, "ref": ref, "users": users,
            "user": users["admin_reseau"]}


@pytest.mark.parametrize("kind", sorted(LISTS))
def test_list_statement_count_does_not_grow_with_rows(make, world, login_as, queries, kind):
    # R-ACC-5 lists stay usable at any size (no N+1)
    url, view, role = LISTS[kind]
    c = login_as(world["users"][role])
    page = f"{url}?psize_{view}=100"
    _grow(make, kind, SMALL, world)
    few = _count(queries, c, page)
    _grow(make, kind, LARGE - SMALL, world)
    many = _count(queries, c, page)
    assert many == few, f"{kind}: {few} statements with {SMALL} rows, {many} with {LARGE}"
    # The page size does not change it either.
    small_page = _count(queries, c, f"{url}?psize_{view}=10")
    large_page = _count(queries, c, f"{url}?psize_{view}=50")
    assert small_page == large_page, f"{kind}: psize 10 → {small_page}, psize 50 → {large_page}"


@pytest.mark.parametrize("kind", ["etablissement", "profil"])
def test_export_statement_count_does_not_grow_with_rows(make, world, login_as, queries, kind):
    # R-ACC-5 exports of the perimeter stay linear in rows, constant in statements
    url, _, role = LISTS[kind]
    export = url.replace("/list/", "/export/csv/")
    c = login_as(world["users"][role])
    _grow(make, kind, SMALL, world)
    few = _count(queries, c, export)
    _grow(make, kind, LARGE - SMALL, world)
    many = _count(queries, c, export)
    assert many == few, f"{kind} export: {few} statements with {SMALL} rows, {many} with {LARGE}"
