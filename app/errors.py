"""Every error a user or an API client can provoke answers 4xx in French (JSON under /api/),
never a database message: no table, column or constraint name leaves the server (issue 14)."""
import math
import re
import sys

import sqlalchemy as sa
from flask import abort, current_app, g, jsonify, render_template, request

PK_MAX = 2**31 - 1  # PostgreSQL `integer`: a larger key is a DataError, not "not found"
_KEY_ARG = re.compile(r"^(pk\d*|id|\w+_id)$")
_ASCII_INT = re.compile(r"^[0-9]{1,10}$")

TITLES = {400: "Requête invalide", 403: "Accès refusé", 404: "Page introuvable",
          405: "Méthode non permise", 409: "Conflit", 413: "Fichier trop volumineux",
          422: "Données refusées", 429: "Trop de requêtes", 500: "Erreur"}
MESSAGES = {
    400: "La requête est invalide : vérifiez les paramètres envoyés.",
    401: "Authentification requise.",
    403: "Vous n'avez pas accès à cette page.",
    404: "Cette page n'existe pas ou n'est pas dans votre périmètre.",
    405: "Cette méthode n'est pas permise ici.",
    413: "Le fichier envoyé est trop volumineux.",
    500: "Une erreur inattendue s'est produite. Rien n'a été enregistré ; réessayez ou contactez "
         "le secrétariat.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def check_key_args():
    """before_request: a key in the URL (`<pk>`, `<doc_id>`…) that is not a plain number within
    the database's integer range is an unknown row (404), not a database error."""
    for name, value in (request.view_args or {}).items():
        if _KEY_ARG.match(name) and not (
                _ASCII_INT.match(str(value)) and int(str(value)) <= PK_MAX):
            abort(404)


def too_large_message() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return (f"Le fichier envoyé est trop volumineux : {format_size(limit)} au plus par envoi."
            if limit else MESSAGES[413])


def format_size(size: int) -> str:
    """Sizes in the unit the limits use: decimal (1 Mo = 1 000 000 octets, 1 Ko = 1 000)."""
    if size >= 1_000_000:
        value, unit = size / 1_000_000, "Mo"
    elif size >= 1000:
        value, unit = size / 1000, "Ko"
    else:
        return f"{size} octets"
    text = f"{math.floor(value * 10) / 10:.1f}".replace(".", ",")  # never rounds up past a limit
    return f"{text.removesuffix(',0')} {unit}"


# -- database errors turned into sentences ------------------------------------------------------
def database_message(exc: BaseException) -> tuple[int, str]:
    """(status, French message) for a database error, with the API field when it can be told."""
    orig = getattr(exc, "orig", None)
    text = str(orig or exc)
    diag = getattr(orig, "diag", None)
    column = getattr(diag, "column_name", None)
    if column is None:
        found = re.search(r"NOT NULL constraint failed: \w+\.(\w+)", text)
        column = found.group(1) if found else None
    field = column[:-3] if column and column.endswith("_id") else column
    kind = type(orig).__name__ if orig is not None else ""
    if isinstance(exc, sa.exc.IntegrityError):
        if kind == "NotNullViolation" or "NOT NULL" in text:
            return 422, (f"Le champ « {field} » est obligatoire." if field
                         else "Un champ obligatoire n'est pas renseigné.")
        if kind == "UniqueViolation" or "UNIQUE" in text:
            return 409, "Cet enregistrement existe déjà (valeur en double)."
        if kind == "ForeignKeyViolation" or "FOREIGN KEY" in text:
            return 422, "Un enregistrement lié est introuvable ou encore utilisé ailleurs."
        return 422, "Ces données ne respectent pas les règles de l'application."
    if isinstance(exc, sa.exc.DataError):
        return 400, "Une valeur envoyée est invalide ou hors des limites acceptées."
    return 500, MESSAGES[500]


def current_database_error() -> BaseException | None:
    """The database error being handled (FAB's @safe and DatabaseException wrap it)."""
    exc = sys.exc_info()[1]
    while exc is not None and not isinstance(exc, sa.exc.SQLAlchemyError):
        exc = exc.__cause__ or exc.__context__
    return exc if isinstance(exc, (sa.exc.IntegrityError, sa.exc.DataError)) else None


# -- handlers -------------------------------------------------------------------------------
def error_response(code: int, message: str | None = None, headers=None):
    message = message or MESSAGES.get(code) or MESSAGES[400]
    if wants_json():
        response = jsonify(message=message)
        response.status_code = code
    else:
        app = current_app
        if not hasattr(g, "user"):  # an error before FAB's before_request (CSRF, 413) has none
            from flask_login import current_user
            g.user = current_user
        body = render_template("opencertif/error.html", code=code, message=message,
                               title=TITLES.get(code, "Erreur"),
                               base_template=app.appbuilder.base_template,
                               appbuilder=app.appbuilder)
        response = app.response_class(body, status=code, mimetype="text/html")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app, db):
    app.before_request(check_key_args)

    for code in (400, 403, 404, 405):
        app.register_error_handler(code, lambda exc, code=code: error_response(code))

    @app.errorhandler(413)
    def _too_large(_):
        return error_response(413, too_large_message())

    @app.errorhandler(sa.exc.IntegrityError)
    @app.errorhandler(sa.exc.DataError)
    def _database(exc):
        db.session.rollback()
        status, message = database_message(exc)
        return error_response(status, message)

    @app.errorhandler(500)
    def _error(_):
        db.session.rollback()
        return error_response(500)
