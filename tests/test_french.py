"""French everywhere and Paris time (issue 16, items 4 and 5): FAB's strings from our catalog,
French error pages, « — » for empty values, labels for codes, typed French dates, no rule id in a
user's message, times shown in Europe/Paris while stored in UTC."""
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from tests.conftest import login

DEMO_PASSWORD = "Demo-OpenCertif-2026!"
DEMO_ACCOUNTS = [
    "admin", "secretariat.chimie", "secretariat.clea", "secretariat.metallurgie", "admin.reseau",
    "superviseur.reseau", "admin.organisme", "utilisateur.organisme", "admin.etablissement",
    "utilisateur.etablissement", "employeur", "evaluateur", "jury", "manager", "jury.clea",
    "jury.metallurgie",
]
# FAB's English (or broken French) strings seen on the screens before the catalog (issue 16).
ENGLISH = [
    "Record", "Show", "Edit", "Delete", "Add Filter", "Ajouter un filter", "User confirmation needed",
    "Detail", "Created On", "Changed On", "Cancel", "Not In", "Relation", "Afficer", "Login invalide",
    "List Groups", "List Users", "Select a State", "No row selected", "Page size", "Order by",
    "Search", "Equal to", "Contains", "Starts with", "Greater than", "Smaller than", "Refresh",
    "Not a valid", "This field is required", "Back", "Save",
]
ENGLISH_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in ENGLISH) + r")\b")
RULE_ID = re.compile(r"R-[A-Z]+-\d+")
SKIP = re.compile(r"/logout|/export/|/download|/api/|/swagger|/lang/|/telecharger|\.pdf|\.xlsx|"
                  r"\.csv|/pdf|/imprimer|/lot|/delete/|/action"
                  # FAB's screens that are not registered or refused to everyone (issue 16
                  # item 4): their links never show. /users/ and /roles/ are crawled (admin).
                  r"|^/userstatschartview/|^/registeruser|^/permissions|"
                  r"^/viewmenus|^/permissionviews|^/groups/|^/resetpassword|^/resetmypassword")


class _Text(HTMLParser):
    """What a person reads: text outside scripts and styles, and the words of buttons, titles,
    placeholders and options."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.links, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for key in ("title", "placeholder", "aria-label", "alt"):
            if a.get(key):
                self.parts.append(a[key])
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.parts.append(a["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def read(html: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts), parser.links


def problems(url: str, response) -> list[str]:
    if response.status_code >= 500:
        return [f"{url}: {response.status_code}"]
    if response.status_code != 200 or "text/html" not in response.content_type:
        return []
    html = response.get_data(as_text=True)
    text, _ = read(html)
    found = skeleton(url, html)
    for label, pattern in (("None", re.compile(r"\bNone\b|\[\]|__None")), ("rule id", RULE_ID),
                           ("English", ENGLISH_RE)):
        for match in pattern.finditer(text):
            if label == "rule id" and _record_cell(text, match):
                continue
            line = text[max(0, match.start() - 60):match.end() + 60].replace("\n", " | ")
            found.append(f"{url}: {label} « {match.group(0)} » in …{line}…")
    return found


def skeleton(url: str, html: str) -> list[str]:
    """Issue 16 item 9 (RGAA 8.3, 8.5, 8.6, 9.1, 12.6): French page language, main landmark,
    one h1 and a title naming the page, not only the platform."""
    found = []
    if '<html lang="fr">' not in html:
        found.append(f"{url}: no lang=fr")
    if "<main" not in html:
        found.append(f"{url}: no <main>")
    h1 = len(re.findall(r"<h1[\s>]", html))
    if h1 != 1:
        found.append(f"{url}: {h1} h1")
    title = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    if not title or " — " not in title.group(1):
        found.append(f"{url}: title « {title.group(1).strip() if title else ''} »")
    return found


FIL = re.compile(r"<nav[^>]*aria-label=\"Fil d'Ariane\"[^>]*>(.*?)</nav>", re.DOTALL)


def breadcrumb(url: str, html: str) -> tuple[list[str], list[str]]:
    """Issue 16 item 8 (RGAA 12.2): « Accueil › … › the page », an ordered list whose last item is
    the current page; returns (problems, the trail's links)."""
    found = FIL.findall(html)
    if len(found) != 1:
        return [f"{url}: {len(found)} breadcrumb"], []
    trail = found[0]
    links = re.findall(r'href="([^"]+)"', trail)
    current = re.findall(r'aria-current="page"[^>]*>([^<]*)<', trail)
    problems = []
    if "<ol>" not in trail or len(current) != 1 or not current[0].strip():
        problems.append(f"{url}: breadcrumb without an <ol> or one current page")
    if not links or links[0] != "/" or not re.search(r">\s*Accueil\s*<", trail):
        problems.append(f"{url}: breadcrumb not starting at Accueil")
    return problems, links


def _record_cell(text: str, match) -> bool:
    """A rule id alone in its cell is the legal basis kept on a record (purge log, retention
    schedule), as in history; inside a sentence it is a message, which must not carry it."""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start:end if end >= 0 else None] == match.group(0)


def _local(href: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIP.search(href):
        return None
    return href


ACTION_LINK = re.compile(r"/edit/|/add(?:$|\?)").search
# Pages open to visitors, whose layout has no breadcrumb (the home page has none either).
PUBLIC = re.compile(r"^/(?:$|accessibilite|verifier|login|compte/)").match


@pytest.fixture
def demo(app, db):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("username", DEMO_ACCOUNTS)
def test_crawl_each_demo_account_reads_french(app, demo, username):
    """Every page of the account's menu, the first show, edit and add page of each list: no 5xx,
    no « None », no rule id, none of FAB's English strings; lang, main, one h1, a page title; a
    breadcrumb whose links open (200: inside the account's perimeter, whose rows answer 404); no
    menu entry answering 403/404 and no « Modifier » / « Ajouter » link that does not open."""
    client = login(app.test_client(), username, DEMO_PASSWORD)
    home = client.get("/")
    found = problems("/", home)
    _, links = read(home.get_data(as_text=True))
    menu = list(dict.fromkeys(u for u in map(_local, links) if u))
    seen, crumbs = set(), {}

    def visit(url):
        page = client.get(url)
        found.extend(problems(url, page))
        if page.status_code == 200 and "text/html" in page.content_type and not PUBLIC(url):
            bad, links = breadcrumb(url, page.get_data(as_text=True))
            found.extend(bad)
            for link in links:
                crumbs.setdefault(link, url)
        return page

    for url in menu:
        if url in seen:
            continue
        seen.add(url)
        page = visit(url)
        if page.status_code in (403, 404):  # a menu entry offered must open (issue 16)
            found.append(f"menu link {url} answers {page.status_code}")
        if page.status_code != 200 or "text/html" not in page.content_type:
            continue
        _, inner = read(page.get_data(as_text=True))
        # Every « Modifier » / « Ajouter » a list offers opens its form: a button follows the
        # permission and the perimeter its route applies.
        for target in dict.fromkeys(u for u in map(_local, inner) if u and ACTION_LINK(u)):
            status = client.get(target, follow_redirects=True).status_code
            if status != 200:
                found.append(f"{url}: action link {target} answers {status}")
        for kind in ("/show/", "/edit/", "/add", "/dossier/", "/deliber", "/evaluation"):
            target = next((u for u in map(_local, inner) if u and kind in u and u not in seen), None)
            if target:
                seen.add(target)
                visit(target)
    for link, origin in crumbs.items():
        status = client.get(link).status_code
        if _local(link) is None and link != "/" or status != 200:
            found.append(f"{origin}: breadcrumb link {link} answers {status}")
    assert len(seen) > 3
    assert not found, "\n".join(found)


# -- a) FAB's strings come from our catalog ------------------------------------------------------
@pytest.mark.parametrize("english, french", [
    ("Record Count", "Nombre de résultats"), ("Add Filter", "Ajouter un filtre"),
    ("In", "Parmi"), ("Not In", "Hors de"), ("Relation", "Est"), ("Show record", "Voir la fiche"),
    ("User confirmation needed", "Confirmation"), ("Detail", "Fiche"), ("Show", "Voir"),
    ("Edit", "Modifier"), ("Delete", "Supprimer"), ("Add", "Ajouter"), ("List Groups", "Groupes"),
    ("Invalid login. Please try again.", "Identifiant ou mot de passe incorrect. Réessayez."),
])
def test_fab_strings_read_from_our_catalog(app, english, french):
    from flask_babel import gettext
    with app.test_request_context("/"):
        assert gettext(english) == french


def test_catalog_compiled_when_missing_or_stale(tmp_path):
    """A fresh clone has no .mo: the app compiles it (make venv does too)."""
    from app.i18n import compile_catalogs
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text('msgid "Show"\nmsgstr "Voir"\n', encoding="utf-8")
    assert compile_catalogs(tmp_path) == [folder / "messages.mo"]
    assert compile_catalogs(tmp_path) == []  # up to date: not rewritten
    from babel.support import Translations
    assert Translations.load(str(tmp_path), ["fr"]).gettext("Show") == "Voir"


def test_failed_login_and_list_page_in_french(app, make):
    client = app.test_client()
    r = client.post("/login/", data={"username": "personne", "password": "faux"},
                    follow_redirects=True)
    assert "Identifiant ou mot de passe incorrect" in r.get_data(as_text=True)
    sec = make.user("secretariat")
    client = login(app.test_client(), sec)
    text, _ = read(client.get("/certificationview/list/").get_data(as_text=True))
    assert "Nombre de résultats" in text and "Ajouter un filtre" in text and "Annuler" in text
    assert not ENGLISH_RE.search(text), ENGLISH_RE.search(text)


def test_api_labels_french(app, make):
    client = login(app.test_client(), make.user("secretariat"))
    info = client.get("/api/v1/certification/_info?q=(keys:!(add_columns))").get_json()
    body = client.get("/api/v1/certification/?q=(page_size:1)").get_json()
    labels = body["label_columns"]
    assert labels["rncp_code"] == "Code RNCP" and "Created On" not in str(labels)
    assert "add_columns" in info


# -- b) no English error page --------------------------------------------------------------------
def _error_text(response):
    text, _ = read(response.get_data(as_text=True))
    assert "OpenCertif" in text  # the app's layout
    assert not re.search(r"Not Found|Method Not Allowed|Bad Request|Too Many|Internal Server|"
                         r"Forbidden|Request Entity", text), text
    return text


def test_404_405_400_413_french_pages(app, make):
    client = login(app.test_client(), make.user("secretariat"))
    r = client.get("/nulle-part")
    assert r.status_code == 404 and "Page introuvable" in _error_text(r)
    r = client.post("/certificationview/list/")
    assert r.status_code == 405 and "Action impossible" in _error_text(r)
    assert "GET" in r.headers["Allow"]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = app.test_client().post("/login/", data={"username": "x", "password": "y"})
        signed_in = client.post("/jurys/convoquer/1")  # refused before FAB sets g.user
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert r.status_code == 400 and "Requête incorrecte" in _error_text(r)
    assert signed_in.status_code == 400 and "Requête incorrecte" in _error_text(signed_in)
    r = app.test_client().post("/login/", data={
        "username": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})
    assert r.status_code == 413 and "Fichier trop volumineux" in _error_text(r)


@pytest.mark.parametrize("code, title", [(403, "Accès refusé"), (429, "Trop de tentatives"),
                                         (500, "Erreur inattendue")])
def test_403_429_500_french_pages_and_api_json(app, code, title):
    """Answered by the same handlers as a real abort, a rate limit or a crash."""
    from werkzeug.exceptions import Forbidden, InternalServerError, TooManyRequests
    exc = {403: Forbidden(), 429: TooManyRequests(), 500: InternalServerError()}[code]
    with app.test_request_context("/candidatures/list/"):
        r = app.make_response(app.handle_user_exception(exc))
        assert r.status_code == code and title in _error_text(r)
    with app.test_request_context("/api/v1/candidature/"):
        r = app.make_response(app.handle_user_exception(exc))
        assert r.status_code == code and r.is_json
        message = r.get_json()["message"]
        assert message and not re.search(r"[A-Z][a-z]+ [A-Z][a-z]+", message)


def test_unhandled_exception_french_500(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production (tests re-raise)
    try:
        with app.test_request_context("/candidatures/list/"):
            r = app.make_response(app.handle_exception(RuntimeError("boom")))
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert r.status_code == 500 and "Erreur inattendue" in _error_text(r)
    assert "boom" not in r.get_data(as_text=True)


def test_api_errors_french_json(app, make):
    client = login(app.test_client(), make.user("secretariat"))
    r = client.get("/api/v1/certification/999999")
    assert r.status_code == 404 and r.get_json()["message"].startswith("Introuvable")
    r = client.get("/api/v1/nulle-part")
    assert r.status_code == 404 and r.get_json()["message"].startswith("Cette page n'existe pas")
    r = client.post("/api/v1/certification/", json={"code": "X"})
    assert r.status_code in (400, 422)
    assert "Missing data" not in r.get_data(as_text=True)


# -- c) « — » for empty values, labels for codes -------------------------------------------------
def test_every_coded_column_shows_its_label_and_empty_shows_dash(app):
    from app.views.base import ScopedModelView
    from app.views.french import EMPTY, choices_of
    checked = 0
    for view in app.appbuilder.baseviews:
        if not isinstance(view, ScopedModelView):
            continue
        codes = choices_of(view.datamodel.obj)
        for name in set(view.list_columns) | set(view.show_columns):
            formatter = view.formatters_columns[name]
            assert formatter(None) == EMPTY and formatter([]) == EMPTY, (view, name)
            if name in codes:
                code, label = codes[name].pairs[-1]
                assert formatter(code) == label, (type(view).__name__, name)
                checked += 1
    assert checked >= 3


def test_show_page_dash_and_blank_option(app, make, db):
    from app.views.french import EMPTY
    sec = make.user("secretariat")
    cert = make.certification("CHIMIE")
    client = login(app.test_client(), sec)
    text, _ = read(client.get(f"/certificationview/show/{cert.id}").get_data(as_text=True))
    assert EMPTY in text and "None" not in text
    html = client.get(f"/certificationview/edit/{cert.id}").get_data(as_text=True)
    assert "__None</option>" not in html


# -- d) dates typed dd/mm/yyyy -------------------------------------------------------------------
def test_date_typed_by_hand_through_the_rendered_form(app, make, db):  # R-FMT-4
    import datetime as dt

    from app.models import Certification
    from tests.journeys.forms import open_page
    sec = make.user("secretariat")
    cert = make.certification("CHIMIE")
    client = login(app.test_client(), sec)
    url = f"/certificationview/edit/{cert.id}"
    page = open_page(client, url)
    form = page.form(has="date_enregistrement_rncp")
    form.fill(date_enregistrement_rncp="12/01/2027")
    r = form.submit()
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Certification, cert.id).date_enregistrement_rncp == dt.date(2027, 1, 12)
    html = client.get(url).get_data(as_text=True)
    assert 'value="12/01/2027"' in html and "appbuilder_date" in html
    form = open_page(client, url).form(has="date_enregistrement_rncp")
    form.fill(date_enregistrement_rncp="31/02/2027")
    r = form.submit()
    assert r.status_code == 200 and "jj/mm/aaaa" in r.get_data(as_text=True)
    assert db.session.get(Certification, cert.id).date_enregistrement_rncp == dt.date(2027, 1, 12)


def test_datetime_field_typed_in_paris_stored_in_utc():
    import datetime as dt

    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    from app.views.french import ParisDateTimeField

    class F(Form):
        quand = ParisDateTimeField("Quand")
    form = F(MultiDict({"quand": "14/07/2026 09:29"}))
    assert form.validate() and form.quand.data == dt.datetime(2026, 7, 14, 7, 29)
    shown = F(data={"quand": dt.datetime(2027, 1, 12, 8, 29)})
    assert shown.quand._value() == "12/01/2027 09:29"


def test_filter_date_typed_french_is_read_day_first(app):
    from flask import request

    from app.views.french import iso_filter_dates
    with app.test_request_context("/x?_flt_0_date=12/01/2027&_flt_1_nom=a/b&page_x=1"):
        iso_filter_dates()
        assert request.args["_flt_0_date"] == "2027-01-12"
        assert request.args["_flt_1_nom"] == "a/b"


# -- e) no rule id in what a user reads ----------------------------------------------------------
def test_rule_violation_message_has_no_rule_id_but_keeps_it():  # R-CAN-2 as an example
    from app.errors import RuleViolation
    exc = RuleViolation("Ce candidat a déjà un dossier en cours.", "R-CAN-2")
    assert str(exc) == "Ce candidat a déjà un dossier en cours." and exc.rule == "R-CAN-2"


def test_refused_convocation_flash_without_rule_id(app, make, db, caplog):  # R-JUR-5
    jury = make.jury("CHIMIE")
    client = login(app.test_client(), make.user("secretariat"))
    r = client.post(f"/jurys/convoquer/{jury.id}")
    assert r.status_code == 302
    with client.session_transaction() as session:
        flashes = [m for _, m in session.get("_flashes", [])]
    assert any("Composition du jury non conforme" in m for m in flashes), flashes
    assert not any(RULE_ID.search(m) for m in flashes), flashes


# -- f) Paris time --------------------------------------------------------------------------------
@pytest.mark.parametrize("stored, shown", [
    ("2027-01-12 08:29", "12/01/2027 09:29"),   # winter: UTC+1
    ("2026-07-14 07:29", "14/07/2026 09:29"),   # summer: UTC+2
])
def test_times_shown_in_paris_on_lists_pages_and_exports(app, make, db, stored, shown):
    import datetime as dt

    from app.formats import format_datetime_fr
    from app.reports.exports import cell, csv_text
    when = dt.datetime.fromisoformat(stored)
    assert format_datetime_fr(when) == shown
    assert csv_text(cell(when)) == shown  # the csv for French Excel
    with app.test_request_context("/"):
        assert app.jinja_env.from_string("{{ d|datetime_fr }}").render(d=when) == shown
    from app.views.french import display
    assert display(when) == shown
    # the same time on a FAB list (formatter) and a custom page (filter): one function
    sec = make.user("secretariat")
    jury = make.jury("CHIMIE")
    jury.convoque_le = when
    db.session.commit()
    client = login(app.test_client(), sec)
    assert shown in client.get(f"/jurys/show/{jury.id}").get_data(as_text=True)


def test_sql_export_cells_in_paris_time(app, db):
    import datetime as dt

    import sqlalchemy as sa

    from app.formats import format_datetime_fr
    from app.reports import sql_cells
    values = [dt.datetime(2027, 1, 12, 8, 29), dt.datetime(2026, 7, 14, 7, 29),
              dt.datetime(2026, 3, 29, 0, 59), dt.datetime(2026, 3, 29, 1, 0),
              dt.datetime(2026, 10, 25, 0, 59), dt.datetime(2026, 10, 25, 1, 0),
              dt.datetime(2026, 12, 31, 23, 30)]
    from app.reports.xlsx_stream import serial
    for value in values:
        cell = sql_cells.datetime(sa.literal(value, sa.DateTime))
        assert db.session.execute(sa.select(cell)).scalar() == value  # Python writes it
        if db.engine.dialect.name != "postgresql":
            continue
        # PostgreSQL writes the large exports (COPY): the French csv's text, the sheet's serial
        text = db.session.execute(sql_cells.csv_cells(sa.select(cell))).scalar()
        assert text == format_datetime_fr(value), value
        row = db.session.execute(sql_cells.xml_rows(sa.select(cell))).scalar()
        number = row.removeprefix('<row><c s="3"><v>').removesuffix("</v></c></row>")
        assert float(number) == serial(value), (value, row)
