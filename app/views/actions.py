"""The one seam between HTTP and the domain (DESIGN.md « Layout »): every view and API gets its row
with `load_scoped()` and runs a workflow verb with `run_verb()`; what the domain refuses is
answered here, once:

- `NotAllowed` (the role may not do this at all) → 403;
- `PerimeterViolation` (the row is outside the user's perimeter) → 404, as if it did not exist;
- `AlreadyDone` (a second click) → an information on a screen, 409 under /api/;
- `TooManyRequests` → 429 with Retry-After;
- any other `RuleViolation` → on a screen, the message on the field of the form being re-shown (so
  nothing typed is lost) or a flash; under /api/, JSON 422 with the rule and the field.

One transaction per request: `run_verb()` commits once when the verb succeeds and rolls back
whatever it did when it fails. The exceptions carry no request state (app/errors.py): a screen that
re-shows its form gets the violation back from `run_verb()` itself.
"""
import logging
import sys
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, request, url_for

from app.errors import (
    PerimeterViolation,
    RuleViolation,
    database_message,
    error_response,
    wants_json,
)
from app.extensions import db
from app.security import perimeter
from app.security.account_limits import TooManyRequests
from app.views import fil
from app.workflow.engine import NotAllowed
from app.workflow.jury.composition import AlreadyDone

log = logging.getLogger(__name__)
API_NOT_FOUND = "Introuvable ou hors de votre périmètre."


def load_scoped(model, pk, mode="read"):
    """The row `pk` of `model` as seen through the user's perimeter (R-ACC-5): 404 otherwise,
    whether it does not exist or is someone else's — the answer must not tell which."""
    row = perimeter.scoped_get(model, pk, mode=mode)
    if row is None:
        abort(404)
    fil.through(row)  # its page may head this page's breadcrumb (app/views/fil.py)
    return row


@dataclass
class Outcome:
    """What `run_verb()` did: true when the verb went through (its return value in `result`);
    false with the `violation` a screen already showed (flash or field) when it was refused."""
    result: Any = None
    violation: RuleViolation | None = None

    def __bool__(self):
        return self.violation is None


def run_verb(fn, *args, form=None, success=None, quiet=False, **kwargs) -> Outcome:
    """Run `fn(*args, **kwargs)` in one transaction: commit on success (then flash `success`, a
    text or a function of the result), roll back on any failure.

    Refusals that have one answer whatever the screen (403, 404, 429, and every refusal under
    /api/) go up to the handlers below. On a screen, a rule's refusal is shown — on its field of
    `form` when there is one, else as a flash — and returned in the Outcome, for the view to
    re-show its page with what was typed (`quiet`: the view shows it itself, in its page)."""
    try:
        result = fn(*args, **kwargs)
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        if wants_json() or isinstance(exc, (NotAllowed, PerimeterViolation, TooManyRequests)):
            raise
        log.info("Refusé (%s) : %s", exc.rule, exc.message)
        if not quiet:
            show_violation(exc, form)
        return Outcome(violation=exc)
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        if form is None or wants_json():
            raise
        # A form being saved (a duplicate code…): said above the form, which keeps what was typed.
        message = database_message(exc)[1]
        flash(message, "danger")
        return Outcome(violation=RuleViolation(message))
    except BaseException:
        db.session.rollback()
        raise
    if success:
        flash(success(result) if callable(success) else success, "success")
    return Outcome(result)


def show_violation(exc: RuleViolation, form=None) -> None:
    """A refusal on a screen: on its field of `form` when it names one, else a flash (an already
    done action is an information, not an error)."""
    field = None
    if form is not None and exc.field:  # a rule names the column (`role`, `dispositif`…)
        field = getattr(form, exc.field, None) or getattr(form, f"{exc.field}_id", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors or []) + [exc.message]
    elif isinstance(exc, AlreadyDone):
        flash(exc.message, "info")
    else:
        flash(exc.message, "danger")


# -- the answers -----------------------------------------------------------------------------
def api_refusal(exc: RuleViolation, keys=("rule", "field"), perimeter_status=404):
    """The JSON answer to a refusal under /api/. `keys` are the names an API published for the
    rule and the field (the habilitation API says `regle`/`champ`), `perimeter_status` what it
    answers for a row outside the perimeter."""
    if isinstance(exc, PerimeterViolation) and perimeter_status == 404:
        status, body = 404, {"message": API_NOT_FOUND}
    elif isinstance(exc, PerimeterViolation):  # published as a refusal like the others
        status, body = perimeter_status, {"message": exc.message, keys[0]: exc.rule,
                                          keys[1]: exc.field}
    elif isinstance(exc, NotAllowed):
        status, body = 403, {"message": exc.message}
    elif isinstance(exc, AlreadyDone):  # a second closing or designation: nothing done again
        status, body = 409, {"message": exc.message}
    elif isinstance(exc, TooManyRequests):
        status, body = 429, {"message": exc.message}
    else:
        status, body = 422, {"message": exc.message, keys[0]: exc.rule, keys[1]: exc.field}
    log.info("API : refusé (%s, %s) : %s", status, exc.rule, exc.message)
    response = jsonify(body)
    response.status_code = status
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _screen_refusal(exc: RuleViolation):
    """A refusal raised outside `run_verb()` on a screen (a guard checked before showing a form):
    403/404 pages, or the message on the page the user came from."""
    if isinstance(exc, PerimeterViolation):
        return error_response(404)
    if isinstance(exc, NotAllowed):
        return error_response(403)
    if isinstance(exc, TooManyRequests):
        return error_response(429, exc.message, {"Retry-After": str(exc.retry_after)})
    log.info("Refusé (%s) : %s", exc.rule, exc.message)
    show_violation(exc)
    return redirect(_came_from() or url_for("HomeView.index"))


def _came_from() -> str | None:
    """The page of this site the request came from (path and query), if the browser said so."""
    from urllib.parse import urlsplit

    from app.security.headers import local_path
    ref = urlsplit(request.referrer or "")
    if ref.netloc != request.host:
        return None
    return local_path(ref.path + (f"?{ref.query}" if ref.query else ""), "") or None


def handle_refusal(exc: RuleViolation):
    db.session.rollback()
    return api_refusal(exc) if wants_json() else _screen_refusal(exc)


class AnswersRefusals:
    """Mixin of every API class: FAB's @safe turns any exception of an API method into a 500 by
    calling response_500 inside its `except`; a refusal raised through the seam (run_verb,
    pre_add) is answered there as what it is. `refusal_keys` are the names this API published
    for the rule and the field, `perimeter_status` its status for a row outside the perimeter."""

    refusal_keys = ("rule", "field")
    perimeter_status = 404

    def refusal_answer(self):
        """The answer to the refusal being handled, or None when the error is not one."""
        refusal = sys.exc_info()[1]
        if not isinstance(refusal, RuleViolation):
            return None
        db.session.rollback()
        return api_refusal(refusal, self.refusal_keys, self.perimeter_status)

    def response_500(self, message=None):
        return self.refusal_answer() or super().response_500(message)


class _DomainRefusals(logging.Filter):
    """FAB's @safe logs every exception of an API method with its traceback before handing it to
    response_500 (app/views/base.py): a refused rule is an answer, not an error to page about."""

    def filter(self, record):
        return not (record.exc_info and isinstance(record.exc_info[1], RuleViolation))


def register_handlers(app) -> None:
    """NotAllowed → 403, PerimeterViolation → 404, RuleViolation → flash or JSON 422 (see top)."""
    app.register_error_handler(RuleViolation, handle_refusal)
    logging.getLogger("flask_appbuilder.api").addFilter(_DomainRefusals())
