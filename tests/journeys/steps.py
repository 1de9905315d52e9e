"""Steps shared by the journeys: what a person does on a screen, through tests/journeys/forms.py.

Every step opens the page a user would be on, takes the form it shows and submits exactly that;
the only URLs typed are the ones a user reaches from a link they were sent (an e-mail) or the
menu. A step returns the page the submit lands on, so the journey reads what the user reads."""
from __future__ import annotations

import html as html_lib
import re

from tests.conftest import link_in, outbox
from tests.factories import Factories
from tests.journeys.forms import Page, follow, open_page

PASSWORD = Factories.PASSWORD


# -- reading a page ----------------------------------------------------------------------------
def alerts(page: Page, kind: str = "danger") -> list[str]:
    """The flashed messages of one kind (danger, warning, success) as the user reads them."""
    blocks = re.findall(rf'<div[^>]*class="[^"]*alert-{kind}[^"]*"[^>]*>(.*?)</div>',
                        page.html, flags=re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", " ", b).replace("&times;", "").split()) for b in blocks]


def no_error(page: Page) -> Page:
    assert not alerts(page), f"{page.url}: {alerts(page)}"
    return page


def link(page: Page, pattern: str) -> str:
    """The one link of the page whose address matches `pattern` (what the user clicks)."""
    found = sorted(set(page.links(pattern)))
    assert len(found) == 1, f"{page.url}: links matching {pattern!r}: {found}"
    return found[0]


def click(client, page: Page, pattern: str) -> Page:
    return open_page(client, link(page, pattern))


def list_total(page: Page) -> int:
    """The record count a FAB list prints above its rows."""
    m = re.search(r"(?:Record Count|Nombre de record|Nombre d'enregistrements|Nombre de résultats)\s*:?\s*(\d+)", page.text)
    assert m, f"{page.url}: no record count in the list: {page.text[-1500:]}"
    return int(m.group(1))


def counters_match_lists(client, url: str = "/candidatures/list/") -> dict[str, int]:
    """Each status counter above the dossier list opens a list with as many dossiers as it says,
    and the counters add up to the list's total. Returns {label: n}."""
    page = open_page(client, url)
    block = re.search(r'id="compteurs">(.*?)</div>', page.html, re.DOTALL)
    assert block, f"{url}: no counters"
    seen = {}
    for href, label, n in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>\s*([^<]*?)\s*<span class="badge">'
                                     r'(\d+)</span>', block.group(1)):
        target = open_page(client, html_lib.unescape(href))
        assert list_total(target) == int(n), f"counter {label} = {n}, its list shows " \
                                             f"{list_total(target)}"
        seen[html_lib.unescape(label)] = int(n)
    assert sum(seen.values()) == (list_total(page) if seen else 0), (seen, list_total(page))
    return seen


def home_counts_match_lists(client) -> dict[str, int]:
    """The home page's numbers (dossiers waiting for…) open lists of that many dossiers."""
    page = open_page(client, "/")
    seen = {}
    for bucket, href, n in re.findall(r'id="oc-bucket-([\w-]+)">\s*<div class="oc-count">'
                                      r'<a href="([^"]+)">(\d+)(?:<span class="sr-only">[^<]*</span>)?</a>',
                                      page.html):
        target = open_page(client, html_lib.unescape(href))
        assert list_total(target) == int(n) if int(n) else True, \
            f"home « {bucket} » says {n}, its list shows {list_total(target)}"
        seen[bucket] = int(n)
    return seen


def list_rows(page: Page) -> int:
    """Rows of the list's table (one per record on the first page)."""
    table = re.search(r'<table[^>]*class="[^"]*table[^"]*"[^>]*>(.*?)</table>', page.html, re.DOTALL)
    assert table, f"{page.url}: no table"
    body = table.group(1)
    return len(re.findall(r"<tr\b", body)) - 1  # the header row


# -- accounts ------------------------------------------------------------------------------------
def sign_in(client, username: str, password: str = PASSWORD):
    client.get("/logout/")
    form = open_page(client, "/login/").form(has="username")
    r = form.fill(username=username, password=password).submit()
    assert r.status_code == 302 and "/login" not in r.headers["Location"], \
        f"login failed for {username}"
    return client


def signed_in(app, user_or_name, password: str = PASSWORD):
    return sign_in(app.test_client(), getattr(user_or_name, "username", user_or_name), password)


def invite(client, **fields) -> None:
    """The secretariat (or an administrator) fills « Inviter un utilisateur »."""
    page = open_page(client, "/utilisateurview/add")
    form = page.form(has="email")
    form.fill(**fields)
    landed = follow(client, form.submit())
    assert any("Invitation envoyée" in a for a in alerts(landed, "success")), \
        f"invitation refused: {alerts(landed)} {alerts(landed, 'warning')} {landed.text[:2000]}"


def first_connection(app, db, email: str, password: str = PASSWORD):
    """The invited person opens the e-mailed link, chooses a password, then signs in."""
    mails = outbox(db, to=email)
    assert mails, f"no invitation mailed to {email}"
    client = app.test_client()
    page = open_page(client, link_in(mails[-1]))
    form = page.form(has="password")
    form.fill(password=password, confirm=password)
    r = form.submit()
    assert r.status_code == 302, page.text[:500]
    return sign_in(client, email, password)


# -- the dossier page ------------------------------------------------------------------------------
def dossier(client, cid: int, onglet: str | None = None) -> Page:
    return open_page(client, f"/dossier/{cid}" + (f"?onglet={onglet}" if onglet else ""))


def act(client, cid: int, verb: str, expect_ok: bool = True, **fields) -> Page:
    """Click a button of the dossier page (open its small form when it has one) and confirm."""
    page = dossier(client, cid)
    disabled = re.search(rf'<button[^>]*disabled title="([^"]*)" data-verb="{verb}"', page.html)
    assert disabled is None, f"« {verb} » is disabled: {html_lib.unescape(disabled.group(1))}"
    form = page.form(action=f"/dossier/{cid}/action/{verb}")
    form.fill(**fields)
    landed = follow(client, form.submit())
    if expect_ok:
        assert alerts(landed, "success"), \
            f"{verb} refused: {alerts(landed)} {alerts(landed, 'warning')}"
    return landed


def register(client, cid: int, jury_label: str | None = None) -> Page:
    """« Inscrire au jury » on the dossier page, then the jury chosen on its page (R-JUR-2..4);
    without a label, the form's default (the next open jury)."""
    page = click(client, dossier(client, cid), rf"/inscription-jury/{cid}$")
    form = page.form(id="form-inscription")
    if jury_label:
        form.fill(jury=jury_label)
    landed = follow(client, form.submit())
    no_error(landed)
    return landed


def statut(page: Page) -> str:
    m = re.search(r'id="statut">([^<]*)<', page.html)
    assert m, page.url
    return html_lib.unescape(m.group(1).strip())


def submit_ok(client, form, button: str | None = None) -> Page:
    landed = follow(client, form.submit(button=button))
    return no_error(landed)


def jury_page(client, jury_id: int) -> Page:
    return open_page(client, f"/jurys/show/{jury_id}")


def emit(client, jury_id: int, kind: str) -> Page:
    """« Émettre : … » on the jury page."""
    page = jury_page(client, jury_id)
    form = page.form(action=f"/jurys/emettre/{jury_id}/{kind}")
    return submit_ok(client, form)


def decide(client, jury_id: int, numero: str, decision: str, acquis=None, commentaire=None) -> Page:
    """The juror's deliberation form of one dossier (found by its number on the page)."""
    page = open_page(client, f"/jurys/deliberation/{jury_id}")
    ins_id = _ins_of(page, numero, open_for="/jurys/decision/")
    form = page.form(action=f"/jurys/decision/{ins_id}")
    form.set("decision", decision)
    if acquis is not None:
        form.uncheck("acquis")
        for value in acquis:
            form.check("acquis", value)
    if commentaire:
        form.fill(commentaire=commentaire)
    landed = follow(client, form.submit())
    assert any("Décision enregistrée" in a for a in alerts(landed, "success")), alerts(landed)
    return landed


def _ins_of(page: Page, label: str, open_for: str | None = None) -> int:
    """The inscription id of the deliberation panel that names `label` (number or name); with
    `open_for`, the one that still shows that form (a dossier back from a complement has two)."""
    for m in re.finditer(r'<div class="panel panel-default dossier-jury" id="ins-(\d+)">(.*?)'
                         r'(?=<div class="panel panel-default dossier-jury"|\Z)', page.html, re.DOTALL):
        if label in m.group(2) and (open_for is None or f'{open_for}{m.group(1)}"' in m.group(2)):
            return int(m.group(1))
    raise AssertionError(f"{page.url}: no dossier « {label} » in the deliberation")


def ins_of(page: Page, label: str, open_for: str | None = None) -> int:
    return _ins_of(page, label, open_for)


# -- juries ---------------------------------------------------------------------------------------
def create_jury(sec, dispositif_label, day, deadline, **extra):
    """Jurys › Jurys › « + » : the secretariat's calendar form."""
    page = open_page(sec, "/jurys/add")
    form = page.form(has="date")
    form.fill(dispositif=dispositif_label, date=day.isoformat(),
              date_limite_inscription=deadline.isoformat(), lieu="Salle 2", **extra)
    landed = follow(sec, form.submit())
    no_error(landed)
    listing = open_page(sec, "/jurys/list/")
    return max(int(h.rsplit("/", 1)[1]) for h in listing.links(r"/jurys/show/\d+$"))


def add_member(sec, jury_id, **fields):
    page = click(sec, jury_page(sec, jury_id), rf"/jurys/composition/{jury_id}$")
    form = page.form(action=f"/jurys/composition/{jury_id}/ajouter")
    form.fill(**fields)
    landed = follow(sec, form.submit())
    assert any("Membre ajouté" in a for a in alerts(landed, "success")), alerts(landed)
    return landed
