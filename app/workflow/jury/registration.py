"""Registering a dossier to a jury (R-JUR-2..4): the one entry the jury screens and API call.

A dossier still before the jury goes through its own move (app/workflow/dossier/candidatures.py),
which locks it and places it (app/workflow/jury/sessions.py); a dossier already waiting is placed.
"""
import logging
from dataclasses import dataclass, field

from app.errors import RuleViolation
from app.extensions import db
from app.models.candidature import Candidature
from app.models.jury import Jury
from app.models.statuts import WAITING_JURY
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.workflow.dossier import candidatures
from app.workflow.engine import is_locked, locked_reason, status_reason, workflow_of
from app.workflow.jury.sessions import (
    Registration,
    ensure_may_place,
    ensure_organiser,
    entry_move,
    entry_verb,
    place,
    ready_for_jury,
    row_of,
    unavailable_reason,
)

log = logging.getLogger(__name__)

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


@dataclass
class BatchRegistration:
    """What register_ready did: the dossiers registered to the jury, and those refused with why
    (in the user's words; the rule id goes to the log)."""
    registered: list = field(default_factory=list)   # numéros of the dossiers
    refused: list = field(default_factory=list)      # (numéro, reason)

    def message(self) -> str:
        parts = []
        if self.registered:
            parts.append(f"{len(self.registered)} dossier(s) inscrit(s) à ce jury : "
                         + ", ".join(self.registered) + ".")
        if self.refused:
            parts.append(f"{len(self.refused)} dossier(s) non inscrit(s) : " + " ; ".join(
                f"{numero} — {reason}" for numero, reason in self.refused) + ".")
        return " ".join(parts) or "Aucun dossier coché."


def register_ready(p: Perimetre, jury: Jury, candidature_ids) -> BatchRegistration:
    """The jury page's « Inscrire à ce jury »: register each checked dossier to THIS jury through
    register_to_jury (every rule of R-JUR-2..4 applies, capacity included). Each dossier is tried
    in its own savepoint, so one refusal keeps the others; a dossier the rules would put in the
    next jury (this one full or closed) is refused here, since the organiser asked for this one.
    Only dossiers of sessions.ready_for_jury are taken: anything else is refused as not ready."""
    ensure_organiser(p, jury.dispositif_id)
    wanted = []
    for value in candidature_ids:
        try:
            wanted.append(int(value))
        except (TypeError, ValueError):
            continue
    ready = {c.id: c for c in ready_for_jury(p, jury)}
    out = BatchRegistration()
    for cid in dict.fromkeys(wanted):  # order kept, a repeated id once
        c = ready.get(cid)
        if c is None:
            # outside the perimeter, it is not named (as if it did not exist)
            other = perimeter.scoped_get(Candidature, cid, p)
            out.refused.append((other.numero if other is not None else f"n° {cid}",
                                "ce dossier n'est pas (ou plus) prêt pour ce jury"))
            continue
        numero = c.numero
        savepoint = db.session.begin_nested()
        try:
            reg = register_to_jury(p, c, jury)
            if reg.jury.id != jury.id:
                raise RuleViolation(unavailable_reason(jury) or "ce jury ne peut pas le recevoir",
                                    "R-JUR-4")
        except RuleViolation as exc:
            savepoint.rollback()
            log.info("Inscription de %s au jury %s refusée (%s) : %s", c.numero, jury.id,
                     exc.rule, exc.message)
            out.refused.append((numero, exc.message[:1].lower() + exc.message[1:].rstrip(".")))
            continue
        savepoint.commit()
        out.registered.append(numero)
    return out
