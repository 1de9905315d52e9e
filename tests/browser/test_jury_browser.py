"""Browser (Playwright + Debian's Chromium): the secretariat creates a jury of capacity 2, three
dossiers are registered and the third lands in the next jury (R-JUR-3, R-JUR-4), a member
deliberates one partial decision (R-JUR-8, R-DEC-1) and the exported decision sheet, read back with
openpyxl, holds the decisions (R-DOC-6).

Self-contained (its own live server on the test app), so it runs whether or not a shared
tests/browser/conftest.py exists."""
import datetime as dt
import io
from pathlib import Path

from tests.browser.conftest import sign_in

TODAY = dt.date.today()


def test_jury_capacity_deliberation_and_decision_sheet(make, db, live_server, page):  # R-JUR-3 R-JUR-4 R-JUR-8 R-DOC-6
    import openpyxl

    from app.models.jury import InscriptionJury, Jury
    base = live_server
    chimie = make.ref["CHIMIE"]
    sec = make.user("secretariat", dispositif=chimie)
    employer = make.user("employeur", entreprise=make.entreprise(region="Île-de-France"))
    ent = employer.profil.entreprise
    dossiers = [make.dossier_pret_jury("CHIMIE", acquis=2, by=employer, entreprise=ent)
                for _ in range(3)]
    nxt = make.jury("CHIMIE", date=TODAY + dt.timedelta(days=60), lieu="Lyon")
    day = TODAY + dt.timedelta(days=30)

    # The secretariat creates the jury (capacity 2; deadline from the dispositif).
    sign_in(page, base, sec)
    page.goto(f"{base}/jurys/add")
    page.select_option("select[name=dispositif]", str(chimie.id))
    # The datepicker widget owns the field: set its value as the picker would.
    page.eval_on_selector("input[name=date]", "(el, v) => { el.value = v; }", day.isoformat())
    page.fill("input[name=lieu]", "Paris")
    page.fill("input[name=capacite]", "2")
    page.click("form:not(.oc-logout) [type=submit]")
    page.wait_for_load_state()
    db.session.expire_all()
    jury = db.session.query(Jury).filter(Jury.lieu == "Paris").one()
    assert jury.capacite == 2 and jury.date_limite_inscription == day - dt.timedelta(days=21)

    # The employer registers the three dossiers to it: the third goes to the next jury.
    sign_in(page, base, employer)
    messages = []
    for c in dossiers:
        page.goto(f"{base}/inscription-jury/{c.id}")
        page.select_option("select[name=jury]", str(jury.id))
        page.click("#btn-inscrire")
        page.wait_for_load_state()
        messages.append(page.content())
    assert "complet" in messages[2] and "jury suivant" in messages[2]
    db.session.expire_all()
    placed = {i.candidature_id: i.jury_id for i in db.session.query(InscriptionJury)}
    assert [placed[c.id] for c in dossiers] == [jury.id, jury.id, nxt.id]

    # Members deliberate on the day of the jury: one partial decision.
    members = make.jury_compose(jury)
    jury.date, jury.date_limite_inscription = TODAY, TODAY - dt.timedelta(days=1)
    db.session.commit()
    sign_in(page, base, members["CFDT"].user)
    page.goto(f"{base}/jurys/deliberation/{jury.id}")
    first = db.session.query(InscriptionJury).filter_by(candidature_id=dossiers[0].id).one()
    block = page.locator(f"#ins-{first.id}")
    assert "Partiel" in block.locator(".proposition").inner_text()  # R-DEC-1
    block.locator("select[name=decision]").select_option("partiel")
    block.locator("textarea[name=commentaire]").first.fill("Deux compétences à consolider")
    block.locator(".form-decision button[type=submit]").click()
    page.wait_for_load_state()
    assert "Décision enregistrée" in page.content()
    db.session.expire_all()
    assert first.decision == "partiel" and len(first.competences_acquises) == 2

    # The decision sheet, exported from the jury page and read back.
    page.goto(f"{base}/jurys/show/{jury.id}")
    with page.expect_download() as download:
        page.click("#feuille-xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    rows = list(book.active.iter_rows(values_only=True))
    header, lines = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
    assert "Décision" in header and len(lines) == 2
    decided = next(line for line in lines if line["N° anonyme"] == first.numero_anonyme)
    assert decided["Décision"] == "Partiel"
    assert decided["Commentaire"] == "Deux compétences à consolider"
    assert [line["Décision"] for line in lines if line is not decided] == ["À délibérer"]
