"""OpenCertif: create_app() builds everything; nothing happens at import time."""
import importlib
import logging
import os
import re

from flask import Flask, request
from werkzeug.datastructures import ImmutableMultiDict


def create_app(config_object=None) -> Flask:
    from flask_appbuilder import AppBuilder

    from app.extensions import csrf, db, mail, migrate
    from app.security.manager import OpenCertifSecurityManager
    from app.views.index import HomeView
    from config import Config

    app = Flask(__name__, instance_path=str(Config.INSTANCE_DIR))
    app.config.from_mapping((config_object or Config).load())
    os.makedirs(app.config["INSTANCE_DIR"], exist_ok=True)
    logging.basicConfig(level=logging.INFO)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # PostgreSQL's JIT compiles the big report and export statements for 200–250 ms before
        # running them (measured at a million dossiers, issue 9): more than it ever saves here.
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault("options", "-c jit=off")

    from app.i18n import compile_catalogs
    compile_catalogs()  # FAB's strings in French (app/translations), before Babel reads them

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=os.path.join(
        os.path.dirname(os.path.dirname(__file__)), "migrations"))
    mail.init_app(app)
    csrf.init_app(app)

    with app.app_context():
        importlib.import_module("app.models")  # every table on Model.metadata
        # The explicit map of verbs, and with it every verb module and the preconditions they
        # declare: the engine's guard knows them all from here on (the engine imports none).
        importlib.import_module("app.workflow.verbs")
        appbuilder = AppBuilder(security_manager_class=OpenCertifSecurityManager,
                                indexview=HomeView, base_template="opencertif/base.html")
        appbuilder.init_app(app, db.session)
        app.appbuilder = appbuilder
        from app.views import register_views
        register_views(appbuilder)

    from app.security import request_auth, totp_login
    request_auth.install(app)
    totp_login.install(app)

    from app.workflow.mail import dispatch_pending, install_after_commit_hook
    install_after_commit_hook()

    from flask_login import current_user

    from app.formats import format_date_fr, format_datetime_fr
    from app.workflow.notifications import unread_count
    app.jinja_env.globals["unread_notifications"] = (
        lambda: unread_count(current_user.id) if current_user.is_authenticated else 0)
    from app.views.fil import trail
    app.jinja_env.globals["fil_ariane"] = trail  # the breadcrumb of every page (issue 16 item 8)
    app.jinja_env.filters["date_fr"] = format_date_fr
    app.jinja_env.filters["datetime_fr"] = format_datetime_fr
    from app.formats import format_number_fr
    app.jinja_env.filters["nombre_fr"] = format_number_fr
    from app.errors import format_size
    app.jinja_env.filters["taille_fr"] = format_size  # the unit the limits use (Mo = 10^6)
    from app.reports.pdf import accord
    app.jinja_env.filters["accord"] = accord  # « Né » / « Née »: the documents' one helper

    @app.before_request
    def _clamp_page_size():
        # FAB's psize_<view> is unbounded and a non-integer makes a 500 (FAB-NOTES.md).
        if any(k.startswith("psize_") for k in request.args):
            fixed = []
            for key, value in request.args.items(multi=True):
                if key.startswith("psize_"):
                    # "²".isdigit() is True but int("²") raises: ASCII digits only.
                    value = str(min(max(int(value), 1), app.config["LIST_PAGE_SIZE_MAX"])) \
                        if re.fullmatch(r"[0-9]{1,6}", value) else "25"
                fixed.append((key, value))
            request.args = ImmutableMultiDict(fixed)

    @app.after_request
    def _after(response):
        dispatch_pending()
        return response

    from app.security import headers
    headers.register(app)

    from app.errors import register_error_handlers
    register_error_handlers(app, db)

    from app.cli import register_cli
    register_cli(app)
    if os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        # The first document a user asks for would otherwise import xhtml2pdf (≈ 1 s).
        from app.reports.pdf import warm_up_in_background
        warm_up_in_background()
    return app
