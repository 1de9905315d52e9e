"""What a form saved while the user types (issue 16 item 1) answers to the page's script
(app/static/opencertif-brouillon.js): the status line's words, in Paris time. The deliberation
and the evaluation grid use them both, and their templates show the same line on load."""
from flask import jsonify

from app.formats import format_date_fr, to_paris
from app.models.base import utcnow


def saved_text(moment) -> str:
    """« Brouillon enregistré à 14:32 » (Paris time); the day too when it is not today."""
    local = to_paris(moment)
    day = "" if local.date() == to_paris(utcnow()).date() else f" le {format_date_fr(local)}"
    return f"Brouillon enregistré{day} à {local:%H:%M}"


def answer(done, moment=None):
    """The JSON answer to one autosave: 200 with the status line, or 422 with the refusal's
    French message (the script writes « Brouillon non enregistré : » before it)."""
    if done:
        return jsonify(ok=True, message=saved_text(moment or utcnow()))
    refused = done.violation
    response = jsonify(ok=False, message=refused.message, field=refused.field)
    response.status_code = 422
    return response
