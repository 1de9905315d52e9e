"""The domain: verb functions that check a rule, change rows, record history and queue messages."""


class RuleViolation(Exception):
    """A move the rules do not allow: a French message for the user and the rule's id."""

    def __init__(self, message: str, rule: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field
        _remember(self)

    def __str__(self):
        # What a user reads (flashes, form errors, API messages): never the rule id, which
        # stays on .rule for logs, history and the API's separate field.
        return self.message


class PerimeterViolation(RuleViolation):
    """The row is outside the user's perimeter (R-ACC-5): views answer 404 or 403."""

    def __init__(self, message="Cet enregistrement est hors de votre périmètre.", rule="R-ACC-5"):
        super().__init__(message, rule)


def _remember(violation):
    """Screens re-show the form with this message on its field instead of losing what was typed."""
    from flask import g, has_request_context
    if has_request_context():
        g._violation = violation
