"""Browser tests: the session's test app served on a free localhost port (werkzeug, threaded) and
Debian's Chromium driven by Playwright's sync API, headless.

Without Chromium (or Playwright) the browser tests are skipped — except under CI=true, where they
fail: the acceptance needs them to run. The server reads the same database as the test body, so a
test commits its data before the browser acts (tables are emptied after each test).

Accessibility (issue 16 item 9): every page a browser test loads, in any context it opens, is
audited by axe-core (node_modules/axe-core, pinned by package-lock.json, `npm ci`) on its load
event, against the WCAG 2.0/2.1 A and AA rules; the test then fails listing every serious or
critical violation with the page's address."""
import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} : les tests navigateur sont obligatoires en CI.")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(app):
    """Base URL of the app served in a background thread."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """async (tags) => {
  if (!window.axe || document.contentType !== 'text/html') return null;
  const r = await window.axe.run(document, {runOnly: {type: 'tag', values: tags},
                                            resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' : ' +
      (n.failureSummary || '').split('\\n').slice(1).join(' ').trim())}));
}"""


class AxeAudit:
    """Runs axe-core on each page load of the contexts it watches; keeps the serious and critical
    violations by rule and page. A page left before its audit ends (a test clicking on at once)
    is counted, not hidden: `skipped` lists it."""

    def __init__(self):
        self.source = AXE.read_text(encoding="utf-8")
        self.violations = {}   # (rule id, path) -> violation
        self.audited, self.skipped = [], []

    def watch(self, context):
        context.add_init_script(script=self.source)
        context.on("page", self._watch_page)
        return context

    def _watch_page(self, tab):
        tab.on("load", lambda: self.audit(tab))

    def audit(self, tab):
        url = tab.url
        try:
            found = tab.evaluate(AXE_RUN, AXE_TAGS)
        except PlaywrightError as exc:  # navigation during the audit, closed page
            self.skipped.append(f"{url} ({str(exc).splitlines()[0][:80]})")
            return
        if found is None:
            return
        self.audited.append(url)
        path = url.split("://", 1)[-1].split("/", 1)[-1]
        for v in found:
            self.violations.setdefault((v["id"], "/" + path), v)

    def report(self):
        lines = []
        for (rule, path), v in sorted(self.violations.items()):
            lines.append(f"[{v['impact']}] {rule} sur {path} — {v['help']}")
            lines += [f"      {n}" for n in v["nodes"]]
        return "\n".join(lines)


@pytest.fixture
def browser():
    """Per test: two sync Playwright instances cannot live in one thread, and other browser tests
    start their own. Every context it opens is watched by axe-core (see the module's docstring)."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"Chromium absent ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright n'est pas installé")
    if not AXE.exists():
        _unavailable(f"axe-core absent ({AXE}) : lancer `npm ci` (ou `make dev-deps`)")
    audit = AxeAudit()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        new_context = chromium.new_context
        chromium.new_context = lambda *a, **kw: audit.watch(new_context(*a, **kw))
        chromium.oc_axe = audit  # for the test that checks the audit itself
        yield chromium
        chromium.close()
    # Shown with -s (or on failure): how many loads were audited, how many left too early.
    never = sorted({u.split(" (")[0] for u in audit.skipped} - set(audit.audited))
    print(f"\naxe-core : {len(audit.audited)} chargement(s) de page audités, "
          f"{len(audit.skipped)} quittés avant la fin de l'audit, dont jamais audités : {never}")
    if audit.violations:
        pytest.fail("Accessibilité (axe-core, WCAG 2.1 A/AA) : violations graves ou critiques\n"
                    + audit.report(), pytrace=False)


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def sign_out(page, base_url):
    """Logout is a POST (issue 14): GET /logout/ shows the button when someone is signed in."""
    page.goto(f"{base_url}/logout/")
    button = page.locator("#oc-logout-page button[type=submit]")
    if button.count():
        with page.expect_navigation():
            button.click()


def sign_in(page, base_url, user, password=None):
    """Log in through the French login form, as a person would."""
    from tests.factories import Factories
    sign_out(page, base_url)  # whoever was signed in before
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password or Factories.PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert "/login" not in page.url, f"login failed for {user.username}"


SHOTS = "/tmp/shots"


def shot(page, name):
    """A full-page screenshot in /tmp/shots/<name>.png, to look at the screens as a user would."""
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def flashes(page, kind="danger"):
    """The flashed messages of one kind on the current page (for assertion messages)."""
    return [t.strip() for t in page.locator(f".alert-{kind}").all_inner_texts()]


def pick_option(page, selector, text):
    """Select the option of `selector` whose label contains `text` (labels carry codes + titles)."""
    value = page.eval_on_selector(
        selector, "(s, t) => { const o = [...s.options].find(o => o.text.includes(t));"
                  " return o ? o.value : null; }", text)
    assert value is not None, f"no option « {text} » in {selector}"
    page.select_option(selector, value)


def pdf_at(page, base_url, href):
    """Download a document link with the page's session; returns the bytes after checking PDF."""
    response = page.request.get(f"{base_url}{href}")
    assert response.status == 200, f"{href}: HTTP {response.status}"
    body = response.body()
    assert body.startswith(b"%PDF"), f"{href}: not a PDF"
    return body


@pytest.fixture
def clock(monkeypatch):
    """clock(day): the application's day becomes `day` — for the live server too, which runs in
    this process (a journey waits for its jury, convened 15 days before, R-JUR-6)."""
    import importlib

    from tests.journeys.conftest import _CLOCK_MODULES

    def move_to(day):
        for name in _CLOCK_MODULES:
            module = importlib.import_module(name)
            if hasattr(module, "today"):
                monkeypatch.setattr(module, "today", lambda: day)
    return move_to
