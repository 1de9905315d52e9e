"""Browser tests: the session's test app served on a free localhost port (werkzeug, threaded) and
Debian's Chromium driven by Playwright's sync API, headless.

Without Chromium (or Playwright) the browser tests are skipped — except under CI=true, where they
fail: the acceptance needs them to run. The server reads the same database as the test body, so a
test commits its data before the browser acts (tables are emptied after each test)."""
import os
import threading

import pytest

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


@pytest.fixture
def browser():
    """Per test: two sync Playwright instances cannot live in one thread, and other browser tests
    start their own."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"Chromium absent ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright n'est pas installé")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
