"""Registering a dossier to a jury (R-JUR-2..4): the one entry the jury screens and API call.

A dossier still before the jury goes through its own move (app/workflow/dossier/candidatures.py),
which locks it and places it (app/workflow/jury/sessions.py); a dossier already waiting is placed.
"""
from app.errors import RuleViolation
from app.models.candidature import Candidature
from app.models.jury import Jury
from app.models.statuts import WAITING_JURY
from app.security.perimeter import Perimetre
from app.workflow.dossier import candidatures
from app.workflow.engine import is_locked, locked_reason, status_reason, workflow_of
from app.workflow.jury.sessions import (
    Registration,
    ensure_may_place,
    entry_move,
    entry_verb,
    place,
    row_of,
)

# The dossier's moves that bring it to the jury (transition tables), by verb.
ENTRY_MOVES = {
    "submit_to_jury": candidatures.submit_to_jury,
    "send_to_certification": candidatures.send_to_certification,
}


def register_to_jury(p: Perimetre, c: Candidature, jury=None, commentaire=None) -> Registration:
    """Register a ready dossier to a jury (R-JUR-2..4) by the actor its dispositif allows: a dossier
    still before the jury goes through the candidature's own move (submit_to_jury: employer in
    chimie, holders in metallurgy; send_to_certification in CléA), which checks that every
    evaluator input is in, then places it; a dossier already waiting (CléA sent, complement
    returned, withdrawn) is placed by its holders or the secretariat, in the jury they choose (or
    the next one). Returns where it landed."""
    jury = row_of(Jury, jury)
    verb_name = entry_verb(c)
    if verb_name is not None:
        reg = ENTRY_MOVES[verb_name](p, c, commentaire=commentaire, jury=jury)
        if reg is None:  # here a jury is required: the move is refused (and rolled back) with it
            raise RuleViolation("Aucun jury n'est ouvert aux inscriptions pour ce dossier.",
                                "R-JUR-4", field="jury")
        return reg
    if c.statut not in WAITING_JURY:
        if is_locked(c):
            raise RuleViolation(locked_reason(c), "R-WF-3")
        raise RuleViolation(status_reason(workflow_of(c), entry_move(c), c.statut), "R-WF-1")
    ensure_may_place(p, c)
    return place(p, c, jury, required=True)
