"""Journey tests run with CSRF on, as in production: the forms carry their token and the helper
sends it back like a browser."""
import pytest


@pytest.fixture(autouse=True)
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False
