"""No English error page: every HTTP error a user can meet is answered in French, in the app's
layout, or as French JSON under /api/ (issue 16, item 4)."""
import math
import re
import time

from flask import current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

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


def error_response(code: int):
    title, message = PAGES.get(code, PAGES[500])
    if code == 429:
        message = f"{message} {_wait_text()}"
    if is_api(request.path):
        response = jsonify(message=message)
        response.status_code = code
        return response
    if "user" not in g:
        # Refused before FAB's before_request (CSRF, size): its menu reads g.user.
        from flask_login import current_user
        g.user = current_user
    appbuilder = current_app.appbuilder
    body = render_template("appbuilder/error.html", code=code, title=title, message=message,
                           base_template=appbuilder.base_template, appbuilder=appbuilder)
    return body, code


def register_error_pages(app) -> None:
    from app.extensions import db

    def handle(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        if exc.code >= 500:
            db.session.rollback()
        response = error_response(exc.code if exc.code in PAGES else
                                  (500 if exc.code >= 500 else 400))
        # Keep what the exception says about retrying or allowed methods (429, 405).
        headers = dict(exc.get_headers()) if hasattr(exc, "get_headers") else {}
        if isinstance(response, tuple):
            body, code = response
            return body, code, {k: v for k, v in headers.items() if k != "Content-Type"}
        for key, value in headers.items():
            if key != "Content-Type":
                response.headers[key] = value
        return response

    app.register_error_handler(HTTPException, handle)

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
