"""The explicit map of the dossier verbs a user runs by name (the generic POST and REST endpoints).

Imported once by create_app(): importing the verb modules here also brings in the preconditions
they declare next to their rules (`@engine.precondition`), so the guard knows every one of them.
The engine itself imports no verb module.
"""
from app.errors import RuleViolation
from app.models.candidature import Candidature
from app.security.perimeter import Perimetre
from app.workflow import pieces
from app.workflow.dossier import abandons, candidatures, vae
from app.workflow.engine import NotAllowed, workflow_of
from app.workflow.evaluation import chimie, clea, commission, common
from app.workflow.jury import sessions  # noqa: F401  (its precondition on submit_to_jury, R-JUR-2)

VERBS = {
    # the dossier (app/workflow/dossier/)
    "edit": candidatures.update_candidature,
    "confirm_evaluator": candidatures.confirm_evaluator,
    "submit_to_jury": candidatures.submit_to_jury,
    "send_to_certification": candidatures.send_to_certification,
    "complete_and_resend": candidatures.complete_and_resend,
    "unlock": candidatures.unlock,
    "declare_abandon": abandons.declare_abandon,
    "reinstate": abandons.reinstate,
    "decide_recevabilite": vae.decide_recevabilite,
    "upload_document": pieces.add_document,
    # evaluations (app/workflow/evaluation/)
    "add_amenagement": common.add_amenagement,
    "plan_evaluation": chimie.plan_evaluation,
    "invite_metier": chimie.invite_metier_evaluator,
    "enter_results": chimie.record_results,
    "start_evaluation": clea.start_evaluation,
    "save_evaluation": clea.save_evaluation,
    "finalize_evaluation": clea.finalize_evaluation,
    "reopen_evaluation": clea.reopen_evaluation,
    "add_formation": clea.add_formation,
    "open_evaluation": commission.open_evaluation,
    "enter_commission_results": commission.record_commission_results,
}
# Files come through the upload routes, never as parameters.
FILE_VERBS = ("upload_document", "upload_evaluation_document")


def perform(p: Perimetre, c: Candidature, verb_name: str, /, **params):
    """Run a verb by name (generic POST and REST endpoints); system moves are never run here."""
    fn = VERBS.get(verb_name)
    move = workflow_of(c).moves.get(verb_name)
    if fn is None or move is None or move.system:
        raise NotAllowed(f"L'action « {verb_name} » n'existe pas pour ce dossier.",
                         workflow_of(c).rule)
    if verb_name in FILE_VERBS:
        raise RuleViolation("Téléversez le fichier depuis l'onglet Documents.", "R-CAN-4")
    params = {k: v for k, v in params.items() if k not in ("p", "c", "self")}
    return fn(p, c, **params)
