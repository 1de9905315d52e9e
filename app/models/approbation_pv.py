"""Approval of a jury's procès-verbal in the platform (issue 19 item 3, R-JUR-8, R-DOC-1).

Issued documents never change (DESIGN practice 9): the PV issued after closing is the draft the
jury approves. Each voting member, then the president, approves it from their account; a row
records who (the seat and the account), when, the SHA-256 of the exact file approved and the
second factor used. The president's approval issues the approved PV (a new document carrying the
approvals on its last page, sealed) that replaces the draft: `pv_emis_id` on the president's row
points to it. A president without an account signs the printed draft on paper: the secretariat
records it (`signe_sur_papier_le`, who recorded it), the same row and the same path as his
approval in the platform. The workflow is app/workflow/jury/approval.py.
"""
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import relationship

from .base import Choices, Model, utcnow

SECONDS_FACTEURS = Choices(("totp", "Code de l'application d'authentification"),
                           ("secours", "Code de secours"))


class ApprobationPV(Model):
    __tablename__ = "approbation_pv"
    __table_args__ = (
        # One approval per seat and PV: a second click, or two at once, records nothing more
        # (the workflow also locks the jury row before looking).
        sa.UniqueConstraint("document_id", "membre_id", name="uq_approbation_pv_membre"),
        SECONDS_FACTEURS.check("second_facteur", "ck_approbation_pv_second_facteur"),
        # Only the president's approval issues the approved PV.
        sa.CheckConstraint("pv_emis_id IS NULL OR president", name="ck_approbation_pv_emis"),
        # Only the president signs on paper, and the row says who recorded his signature.
        sa.CheckConstraint("signe_sur_papier_le IS NULL OR (president AND enregistre_par IS NOT "
                           "NULL)", name="ck_approbation_pv_papier"),
        # « PV à approuver » of a member is looked up by account.
        sa.Index("ix_approbation_pv_user", "user_id", "document_id"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    jury_id = sa.Column(sa.ForeignKey("jury.id"), nullable=False, index=True)
    # The draft PV approved (kept, revoked as replaced, once the approved PV is issued).
    document_id = sa.Column(sa.ForeignKey("document_emis.id"), nullable=False)
    sha256 = sa.Column(sa.String(64), nullable=False)   # of the draft's file, as approved
    membre_id = sa.Column(sa.ForeignKey("jury_membre.id"), nullable=False)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    # Frozen as printed on the approved PV: the seat may be edited or the account renamed later.
    nom = sa.Column(sa.String(200), nullable=False)
    qualite = sa.Column(sa.String(200), nullable=False, default="")
    president = sa.Column(sa.Boolean, nullable=False, default=False)
    second_facteur = sa.Column(sa.String(10))           # NULL: the account has no second factor
    approuve_le = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    pv_emis_id = sa.Column(sa.ForeignKey("document_emis.id"), unique=True)
    # Signed on paper by a president without an account: the day he signed, who recorded it
    # (the account, and its name frozen as printed on the approved PV).
    signe_sur_papier_le = sa.Column(sa.Date)
    enregistre_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    enregistre_par = sa.Column(sa.String(200))

    membre = relationship("JuryMembre")
    user = relationship(User, foreign_keys=[user_id])

    @property
    def second_facteur_label(self) -> str:
        return SECONDS_FACTEURS.label(self.second_facteur) if self.second_facteur else "Non"
