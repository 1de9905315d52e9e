"""The store of the deliberation drafts (issue 16 item 1): what a user types in a dossier's
decision form, kept per dossier and per user until a decision is recorded or the jury closes.

Who may write a draft, and when, is the deliberation's rule: the verb is
`app/workflow/jury/deliberation.py` `save_draft`, which calls `store` once it has checked it.
"""
import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.jury import BrouillonDecision, InscriptionJury


def store(ins: InscriptionJury, user_id: int, decision: str | None, acquis: list[int] | None,
          commentaire: str | None) -> BrouillonDecision:
    """Create or replace the user's draft of this dossier."""
    row = _mine(ins.id, user_id)
    if row is None:
        try:
            # Two saves of the same user at once (two tabs): the second one updates the first.
            with db.session.begin_nested():
                row = BrouillonDecision(inscription_id=ins.id, user_id=user_id)
                db.session.add(row)
                db.session.flush()
        except sa.exc.IntegrityError:
            row = _mine(ins.id, user_id)
    row.decision, row.competences_acquises = decision, acquis
    row.commentaire, row.enregistre_le = commentaire, utcnow()
    return row


def _mine(inscription_id: int, user_id: int) -> BrouillonDecision | None:
    return (db.session.query(BrouillonDecision)
            .filter(BrouillonDecision.inscription_id == inscription_id,
                    BrouillonDecision.user_id == user_id).one_or_none())


def drafts_of(user_id: int | None, inscription_ids) -> dict[int, BrouillonDecision]:
    """{inscription id: draft} of one user for the dossiers of a page, in one statement."""
    ids = list(inscription_ids)
    if user_id is None or not ids:
        return {}
    rows = db.session.query(BrouillonDecision).filter(
        BrouillonDecision.user_id == user_id, BrouillonDecision.inscription_id.in_(ids))
    return {row.inscription_id: row for row in rows}


def discard(inscription_id: int | None = None, jury_id: int | None = None) -> None:
    """Every user's draft of one dossier (its decision is recorded, or it left the jury), or of
    every dossier of a jury (it closed): a draft must never outlive what it was drafting."""
    if inscription_id is None and jury_id is None:
        raise ValueError("discard: a dossier or a jury")
    q = db.session.query(BrouillonDecision)
    if inscription_id is not None:
        q = q.filter(BrouillonDecision.inscription_id == inscription_id)
    else:
        q = q.filter(BrouillonDecision.inscription_id.in_(
            sa.select(InscriptionJury.id).where(InscriptionJury.jury_id == jury_id)))
    q.delete(synchronize_session=False)
