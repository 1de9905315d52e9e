"""Issue 19 item 3, through the rendered screens: the secretariat closes the jury and issues the
PV; each voting member finds « PV à approuver » on their home (the count opens a list of that
many), downloads the PV and clicks « Approuver le PV »; the president, whose account has a second
factor, approves last with his code; the secretariat's jury page shows who approved; the approved
PV downloaded from it is declared sealed, intact and valid by the public verification page."""
from app.models.approbation_pv import ApprobationPV
from tests.journeys.forms import follow, open_page
from tests.journeys.steps import (
    alerts,
    click,
    emit,
    home_counts_match_lists,
    jury_page,
    no_error,
    signed_in,
)
from tests.test_documents_issue13 import text_of
from tests.test_pv_approval import approval_world, enable_totp

MEMBERS = ("cfdt", "employeur0", "employeur1")


def download(client, page) -> bytes:
    """« Télécharger le procès-verbal » (the jury's valid PV: the draft, then the approved one)."""
    found = sorted(set(page.links(r"/approbation-pv/\d+/pdf$")))
    assert len(found) == 1, found
    r = client.get(found[0])
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    return r.data


def approve_on_page(client, page, **fields):
    form = page.form(id="form-approbation")
    if fields:
        form.fill(**fields)
    return follow(client, form.submit())


def test_pv_approved_by_the_jury_then_sealed_and_verified(app, make, db):  # R-JUR-8 R-DOC-1
    w = approval_world(make, db, close=False)
    jury_id = w["jury"].id
    sec = signed_in(app, w["sec"])
    # Closing and issuing the PV from the jury page, as the secretariat does.
    page = jury_page(sec, jury_id)
    no_error(follow(sec, page.form(action=f"/jurys/cloturer/{jury_id}").submit()))
    emit(sec, jury_id, "pv")
    page = jury_page(sec, jury_id)
    # Who is waited for, by name (issue 16 review item 3).
    waited = ", ".join(f"{w[k].first_name} {w[k].last_name}" for k in ("employeur0", "employeur1", "cfdt"))
    president = f"{w['president'].first_name} {w['president'].last_name}"
    assert (f"en attente de l'approbation de {waited} (3 membre(s) votant(s)), puis de "
            f"l'approbation du président, {president}") in page.text
    assert page.html.count('class="approbation-ligne en-attente"') == 4
    assert "Papier" in page.text and "Sans compte dans la plateforme" in page.text
    assert 'id="form-approbation"' not in page.html          # the secretariat does not approve

    # The president, before the members: the page says he approves last, no button.
    president = signed_in(app, w["president"])
    assert home_counts_match_lists(president)["pv_a_approuver"] == 0
    page = open_page(president, f"/approbation-pv/{jury_id}")
    assert "Vous approuvez le procès-verbal en dernier" in page.text
    assert 'id="form-approbation"' not in page.html

    # A guest sees the jury's PV state but has nothing to approve.
    guest = signed_in(app, w["invite"])
    assert home_counts_match_lists(guest)["pv_a_approuver"] == 0
    assert 'id="form-approbation"' not in open_page(guest, f"/approbation-pv/{jury_id}").html

    for k in MEMBERS:
        member = signed_in(app, w[k])
        assert home_counts_match_lists(member)["pv_a_approuver"] == 1
        home = open_page(member, "/")
        todo = click(member, home, r"/approbation-pv/$")
        assert "Nombre de résultats : 1" in todo.text
        page = click(member, todo, rf"/approbation-pv/{jury_id}$")
        draft = download(member, page)
        assert "Projet soumis à l'approbation des membres du jury" in text_of(draft)
        assert 'name="code"' not in page.html                 # no second factor on this account
        stale = page.form(id="form-approbation")
        landed = follow(member, stale.submit())
        assert "Procès-verbal approuvé." in alerts(landed, "success")
        assert "Vous avez approuvé ce procès-verbal le" in landed.text
        # The same form sent again (a second click): nothing more recorded.
        again = follow(member, stale.submit())
        assert any("déjà approuvé" in a for a in alerts(again, "info")), alerts(again, "info")
        assert home_counts_match_lists(member)["pv_a_approuver"] == 0
    assert db.session.query(ApprobationPV).count() == 3

    # The president approves last, with the code of his authenticator app.
    totp = enable_totp(db, w["president"])
    assert home_counts_match_lists(president)["pv_a_approuver"] == 1
    page = open_page(president, f"/approbation-pv/{jury_id}")
    refused = approve_on_page(president, page, code="12")
    assert any("6 chiffres" in a for a in alerts(refused)), alerts(refused)
    landed = approve_on_page(president, refused, code=totp.now())
    message = " ".join(alerts(landed, "success"))
    assert "le procès-verbal approuvé n°" in message and "est émis et scellé" in message
    assert home_counts_match_lists(president)["pv_a_approuver"] == 0

    # The secretariat sees every approval, downloads the approved PV and has it verified.
    page = jury_page(sec, jury_id)
    assert "Procès-verbal approuvé" in page.text
    assert page.html.count('class="approbation-ligne approuve"') == 4
    # The draft reads « Remplacé » next to the approved « Valide », on every screen that shows it.
    documents = page.html.split('id="documents-jury"', 1)[1]
    assert "<td>Remplacé</td>" in documents and "<td>Valide</td>" in documents
    assert "Révoqué" not in documents
    draft_id = min(int(u.rsplit("/", 1)[1]) for u in page.links(r"^/documents/pdf/\d+$"))
    shown = open_page(sec, f"/documents/show/{draft_id}")
    assert 'id="statut">Remplacé<' in shown.html
    assert "Remplacé" in open_page(sec, "/documents/list/").text
    approved = download(sec, page)
    text = text_of(approved)
    assert "Approbation du procès-verbal par le jury" in text
    assert "Code de l'application d'authentification" in text
    check = open_page(sec, "/verifier/").form(has="fichier")
    check.attach("fichier", approved, "pv-approuve.pdf")
    verdict = follow(sec, check.submit())
    assert "intact" in verdict.text and "Document authentique et valide" in verdict.text
    # The draft stays in history, revoked as replaced.
    check = open_page(sec, "/verifier/").form(has="fichier")
    check.attach("fichier", draft, "projet.pdf")
    verdict = follow(sec, check.submit())
    assert "Document révoqué" in verdict.text and "remplacé" in verdict.text
