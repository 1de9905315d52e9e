"""Journey tests run with CSRF on, as in production: the forms carry their token and the helper
sends it back like a browser."""
import pytest


@pytest.fixture(autouse=True)
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


# Modules that read the domain's day through `from app.models.base import today`.
_CLOCK_MODULES = ("app.models.base", "app.views.jurys", "app.workflow.jury.composition",
                  "app.workflow.evaluation.common", "app.workflow.dossier.vae", "app.workflow.dossier.abandons",
                  "app.workflow.jury.deliberation", "app.workflow.dossier.candidatures",
                  "app.workflow.dossier.candidats", "app.workflow.jury.sessions", "app.workflow.habilitations",
                  "app.workflow.evaluation.clea")


@pytest.fixture
def clock(monkeypatch):
    """clock(day): the application's day becomes `day` (a journey waits for the jury's date,
    15 days after the convocation, R-JUR-6)."""
    import importlib

    def move_to(day):
        for name in _CLOCK_MODULES:
            module = importlib.import_module(name)
            if hasattr(module, "today"):
                monkeypatch.setattr(module, "today", lambda: day)
    return move_to
