"""Every error a user or an API client can meet is answered in French, in the app's layout, or as
French JSON under /api/ (issue 16, item 4), and never with a database message: no table, column or
constraint name leaves the server (issue 14)."""
import math
import re
import sys
import time

import sqlalchemy as sa
from flask import abort, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


# The domain's exceptions: raised by app/workflow, answered at the HTTP seam
# (app/views/actions.py). They are plain values: raising one changes no request state, so the code
# that catches it (the seam, a screen re-showing its form) is the only one that decides what
# the user sees.
class RuleViolation(Exception):
    """A move the rules do not allow: a French message for the user and the rule's id."""

    def __init__(self, message: str, rule: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field

    def __str__(self):
        # What a user reads (flashes, form errors, API messages): never the rule id, which
        # stays on .rule for logs, history and the API's separate field.
        return self.message


class PerimeterViolation(RuleViolation):
    """The row is outside the user's perimeter (R-ACC-5): views answer 404 or 403."""

    def __init__(self, message="Cet enregistrement est hors de votre périmètre.", rule="R-ACC-5"):
        super().__init__(message, rule)


PAGES = {
    400: ("Requête incorrecte", ("La demande n'a pas pu être traitée. Si vous veniez d'un "
                                 "formulaire, la page avait peut-être expiré : rechargez-la et "
                                 "recommencez.")),
    401: ("Connexion nécessaire", "Connectez-vous pour accéder à cette page."),
    403: ("Accès refusé", "Vous n'avez pas accès à cette page."),
    404: ("Page introuvable", "Cette page n'existe pas ou n'est pas dans votre périmètre."),
    405: ("Action impossible", ("Cette adresse ne s'utilise pas ainsi : revenez à la page "
                                "précédente et utilisez ses boutons.")),
    413: ("Fichier trop volumineux", "Le fichier envoyé est trop volumineux."),
    429: ("Trop de tentatives", "Trop de demandes en peu de temps."),
    500: ("Erreur inattendue", ("Une erreur inattendue s'est produite. Rien n'a été "
                                "enregistré ; réessayez ou contactez le secrétariat.")),
}

# FAB's and marshmallow's English API messages (flask_appbuilder/api/__init__.py, marshmallow
# fields), turned into French; anything else (ours, already French) is left as it is.
API_MESSAGES = {
    "Not found": "Introuvable.",
    "Forbidden": "Accès refusé.",
    "Not authorized": "Authentification nécessaire.",
    "Arguments are not correct": "Paramètres incorrects.",
    "Could not process entity": "Données refusées.",
    "Internal error": "Erreur inattendue : rien n'a été enregistré.",
    "Fatal error": "Erreur inattendue : rien n'a été enregistré.",
    "Request is not JSON": "Le corps de la requête doit être du JSON.",
    "Not a valid rison argument": "Paramètre q illisible.",
    "Not a valid rison/json argument": "Paramètre q illisible.",
    "Missing data for required field.": "Champ obligatoire.",
    "Field may not be null.": "Ce champ ne peut pas être vide.",
    "Unknown field.": "Champ inconnu.",
    "Not a valid integer.": "Nombre entier attendu.",
    "Not a valid number.": "Nombre attendu.",
    "Not a valid string.": "Texte attendu.",
    "Not a valid boolean.": "Vrai ou faux attendu.",
    "Not a valid date.": "Date attendue (AAAA-MM-JJ).",
    "Not a valid datetime.": "Date et heure attendues (ISO 8601).",
    "Not a valid email address.": "Adresse e-mail non valide.",
    "Invalid input type.": "Type de donnée non valide.",
    "Invalid value.": "Valeur non valide.",
    "Not a valid choice.": "Choix non valide.",
    "Invalid login": "Identifiant ou mot de passe incorrect.",
    "Not a valid list.": "Liste attendue.",
}
_API_PATTERNS = [
    (re.compile(r"^Database exception occurred.*", re.DOTALL),
     "Enregistrement refusé par la base de données (doublon ou donnée liée manquante)."),
    (re.compile(r"^Not a valid rison schema.*", re.DOTALL), "Paramètre q non valide."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"Au plus \1 caractères."),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"Au moins \1 caractères."),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"Entre \1 et \2 caractères."),
    (re.compile(r"^Must be one of: .*$"), "Choix non valide."),
    (re.compile(r"^Related object .* not found.*$"), "Objet lié introuvable."),
]


def french_api_message(message):
    """The French wording of an API error message (a string, or marshmallow's dict/list)."""
    if isinstance(message, dict):
        return {k: french_api_message(v) for k, v in message.items()}
    if isinstance(message, list):
        return [french_api_message(v) for v in message]
    if not isinstance(message, str):
        return message
    if message in API_MESSAGES:
        return API_MESSAGES[message]
    for pattern, replacement in _API_PATTERNS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def _wait_text() -> str:
    """« Réessayez dans N minutes » from the limit that was hit, when Flask-Limiter knows it."""
    limiter = getattr(getattr(current_app, "appbuilder", None), "sm", None)
    limiter = getattr(limiter, "limiter", None)
    try:
        seconds = max(1, int(limiter.current_limit.reset_at - time.time()))
    except Exception:  # noqa: BLE001 — no limiter, no limit recorded for this request, storage unavailable
        return "Patientez quelques minutes avant de réessayer."
    if seconds < 60:
        return f"Réessayez dans {seconds} secondes."
    minutes = math.ceil(seconds / 60)
    return f"Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."


def is_api(path: str) -> bool:
    return path.startswith("/api/")


PK_MAX = 2**31 - 1  # PostgreSQL `integer`: a larger key is a DataError, not "not found"
_KEY_ARG = re.compile(r"^(pk\d*|id|\w+_id)$")
_ASCII_INT = re.compile(r"^[0-9]{1,10}$")

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
    """The French answer to an error: JSON under /api/, else a page in the app's layout."""
    title, page_message = PAGES.get(code, PAGES[500] if code >= 500 else PAGES[400])
    if wants_json():
        response = jsonify(message=message or MESSAGES.get(code) or page_message)
        response.status_code = code
    else:
        if message is None:
            message = f"{page_message} {_wait_text()}" if code == 429 else page_message
        if "user" not in g:
            # Refused before FAB's before_request (CSRF, size): its menu reads g.user.
            from flask_login import current_user
            g.user = current_user
        appbuilder = current_app.appbuilder
        body = render_template("appbuilder/error.html", code=code, title=title, message=message,
                               base_template=appbuilder.base_template, appbuilder=appbuilder)
        response = current_app.response_class(body, status=code, mimetype="text/html")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app, db) -> None:
    app.before_request(check_key_args)

    def handle(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        if exc.code >= 500:
            db.session.rollback()
        code = exc.code if exc.code in PAGES else (500 if exc.code >= 500 else 400)
        message = too_large_message() if code == 413 else None
        # Keep what the exception says about retrying or allowed methods (429, 405).
        headers = {k: v for k, v in (exc.get_headers() if hasattr(exc, "get_headers") else [])
                   if k != "Content-Type"}
        return error_response(code, message, headers)

    app.register_error_handler(HTTPException, handle)

    @app.errorhandler(sa.exc.IntegrityError)
    @app.errorhandler(sa.exc.DataError)
    def _database(exc):
        db.session.rollback()
        status, message = database_message(exc)
        return error_response(status, message)

    @app.after_request
    def _french_api_errors(response):
        # FAB's own answers (404 « Not found », 401, marshmallow 422…) bypass error handlers.
        if (response.status_code >= 400 and is_api(request.path)
                and response.mimetype == "application/json"):
            data = response.get_json(silent=True)
            if isinstance(data, dict) and "message" in data:
                data["message"] = french_api_message(data["message"])
                response.set_data(current_app.json.dumps(data))
        return response
