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
