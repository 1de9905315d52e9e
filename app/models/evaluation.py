"""Evaluations (R-EVA-*): per-competence results, formations (R-EVA-7), accommodations (R-EVA-8)
and the invitation of the évaluateur métier (R-EVA-1)."""
import secrets

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import relationship

from .base import Choices, Model, utcnow

TYPES_EVALUATION = Choices(
    ("prealable", "Évaluation préalable"),
    ("finale", "Évaluation finale"),
    ("unique", "Évaluation des compétences"),
    ("commission", "Commission d'évaluation"),
)
STATUTS_EVALUATION = Choices(("en_cours", "En cours de saisie"), ("finalisee", "Finalisée"))
# CléA shows Validé / Non validé (R-EVA-5); the CQP scheme proposes Validé / Partiel / Non validé
# to the jury from the acquired competences (R-EVA-4, R-DEC-1).
RESULTATS = Choices(("valide", "Validé"), ("partiel", "Partiel"), ("non_valide", "Non validé"))
AVIS_ENTREPRISE = Choices(
    ("favorable", "Favorable"), ("reserve", "Favorable avec réserves"),
    ("defavorable", "Défavorable"),
)
NATURES_AMENAGEMENT = Choices(
    ("temps_majore", "Temps majoré"),
    ("assistance", "Assistance humaine"),
    ("adaptation_support", "Adaptation des supports"),
    ("materiel", "Matériel adapté"),
    ("autre", "Autre"),
)

formation_domaine = sa.Table(
    "formation_domaine",
    Model.metadata,
    sa.Column("formation_id", sa.ForeignKey("formation.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("bloc_id", sa.ForeignKey("bloc.id", ondelete="CASCADE"), primary_key=True),
)


class Evaluation(Model):
    __tablename__ = "evaluation"
    __table_args__ = (
        TYPES_EVALUATION.check("type", "ck_evaluation_type"),
        STATUTS_EVALUATION.check("statut", "ck_evaluation_statut"),
        sa.CheckConstraint("resultat IS NULL OR resultat IN ('valide', 'partiel', 'non_valide')",
                           name="ck_evaluation_resultat"),
        sa.CheckConstraint("avis_entreprise IS NULL OR avis_entreprise IN "
                           "('favorable', 'reserve', 'defavorable')", name="ck_evaluation_avis"),
        # A finalised evaluation has its result, its date and its finalisation time (R-EVA-5).
        sa.CheckConstraint("statut <> 'finalisee' OR (resultat IS NOT NULL AND finalisee_le IS NOT NULL "
                           "AND date_evaluation IS NOT NULL)", name="ck_evaluation_finalisee"),
        sa.Index("ix_evaluation_candidature", "candidature_id", "statut"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"), nullable=False)
    type = sa.Column(sa.String(12), nullable=False)
    statut = sa.Column(sa.String(12), nullable=False, default="en_cours")
    resultat = sa.Column(sa.String(12))
    date_evaluation = sa.Column(sa.Date)
    # CléA: the établissement's evaluator, typed in; chimie: the évaluateur habilité's account.
    evaluateur_nom = sa.Column(sa.String(100))
    evaluateur_prenom = sa.Column(sa.String(100))
    evaluateur_email = sa.Column(sa.String(200))
    evaluateur_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    conclusion = sa.Column(sa.String(200))
    commentaire = sa.Column(sa.Text)
    observations_candidat = sa.Column(sa.Text)       # R-EVA-3
    observations_metier = sa.Column(sa.Text)         # R-EVA-1: the métier evaluator's general word
    metier_termine_le = sa.Column(sa.DateTime)       # métier observations submitted
    resultats_saisis_le = sa.Column(sa.DateTime)     # first save of the habilité's results
    avis_entreprise = sa.Column(sa.String(12))       # metallurgy
    avis_entreprise_commentaire = sa.Column(sa.Text)
    finalisee_le = sa.Column(sa.DateTime)
    finalisee_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    rouverte_le = sa.Column(sa.DateTime)
    rouverte_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    # The dossier status before a finalisation moved it, restored by a reopening (R-EVA-5).
    statut_dossier_avant = sa.Column(sa.String(40))
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    candidature = relationship("Candidature", back_populates="evaluations")
    evaluateur = relationship(User, foreign_keys=[evaluateur_id])
    resultats = relationship("ResultatCompetence", back_populates="evaluation",
                             cascade="all, delete-orphan", lazy="selectin",
                             order_by="ResultatCompetence.ordre")
    invitations = relationship("InvitationMetier", back_populates="evaluation",
                               cascade="all, delete-orphan", order_by="InvitationMetier.id")
    documents = relationship("Document", foreign_keys="Document.evaluation_id",
                             order_by="Document.id")

    @property
    def type_label(self):
        return TYPES_EVALUATION.label(self.type)

    @property
    def statut_label(self):
        return STATUTS_EVALUATION.label(self.statut)

    @property
    def resultat_label(self):
        return RESULTATS.label(self.resultat) if self.resultat else ""

    @property
    def finalisee(self) -> bool:
        return self.statut == "finalisee"

    @property
    def invitation_envoyee(self) -> bool:
        return any(i.envoyee_le is not None for i in self.invitations)

    def compte(self):
        """(acquired, evaluated, total) over the result rows."""
        acquis = sum(1 for r in self.resultats if r.acquis)
        saisis = sum(1 for r in self.resultats if r.acquis is not None)
        return acquis, saisis, len(self.resultats)


class ResultatCompetence(Model):
    """One competence (or CléA sub-domain) of one evaluation."""

    __tablename__ = "resultat_competence"
    __table_args__ = (sa.UniqueConstraint("evaluation_id", "competence_id", name="uq_resultat"),)
    id = sa.Column(sa.Integer, primary_key=True)
    evaluation_id = sa.Column(sa.ForeignKey("evaluation.id", ondelete="CASCADE"), nullable=False)
    competence_id = sa.Column(sa.ForeignKey("competence.id"), nullable=False)
    ordre = sa.Column(sa.Integer, nullable=False, default=0)
    acquis = sa.Column(sa.Boolean)  # None = not entered yet
    commentaire = sa.Column(sa.Text)
    observation_metier = sa.Column(sa.Text)
    # R-CAN-9: acquired through another CQP of the branch: shown, not evaluated again.
    pre_acquis = sa.Column(sa.Boolean, nullable=False, default=False)
    source = sa.Column(sa.String(200))

    evaluation = relationship("Evaluation", back_populates="resultats")
    competence = relationship("Competence", lazy="joined")


class Formation(Model):
    """R-EVA-7: a training between evaluations (domains, dates, hours, proofs)."""

    __tablename__ = "formation"
    __table_args__ = (
        sa.CheckConstraint("date_fin >= date_debut", name="ck_formation_dates"),
        sa.CheckConstraint("duree_heures > 0", name="ck_formation_duree"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"), nullable=False,
                               index=True)
    intitule = sa.Column(sa.String(200), nullable=False)
    organisme_formation = sa.Column(sa.String(200))
    date_debut = sa.Column(sa.Date, nullable=False)
    date_fin = sa.Column(sa.Date, nullable=False)
    duree_heures = sa.Column(sa.Numeric(7, 2), nullable=False)
    commentaire = sa.Column(sa.Text)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))

    candidature = relationship("Candidature", back_populates="formations")
    domaines = relationship("Bloc", secondary=formation_domaine, lazy="selectin",
                            order_by="Bloc.ordre")
    documents = relationship("Document", foreign_keys="Document.formation_id",
                             order_by="Document.id")

    @property
    def attestation(self):
        return next((d for d in self.documents if d.type_piece == "attestation_formation"), None)


class Amenagement(Model):
    """R-EVA-8: a reasonable accommodation for a disabled candidate."""

    __tablename__ = "amenagement"
    __table_args__ = (NATURES_AMENAGEMENT.check("nature", "ck_amenagement_nature"),)
    id = sa.Column(sa.Integer, primary_key=True)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"), nullable=False,
                               index=True)
    nature = sa.Column(sa.String(20), nullable=False)
    description = sa.Column(sa.Text, nullable=False)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))

    candidature = relationship("Candidature", back_populates="amenagements")

    @property
    def nature_label(self):
        return NATURES_AMENAGEMENT.label(self.nature)


class InvitationMetier(Model):
    """R-EVA-1: the link e-mailed to the évaluateur métier; the nonce makes it single-use."""

    __tablename__ = "invitation_metier"
    id = sa.Column(sa.Integer, primary_key=True)
    evaluation_id = sa.Column(sa.ForeignKey("evaluation.id", ondelete="CASCADE"), nullable=False,
                              index=True)
    nom = sa.Column(sa.String(100), nullable=False)
    prenom = sa.Column(sa.String(100), nullable=False)
    email = sa.Column(sa.String(200), nullable=False)
    fonction = sa.Column(sa.String(150))
    nonce = sa.Column(sa.String(32), nullable=False, default=lambda: secrets.token_hex(8))
    envoyee_le = sa.Column(sa.DateTime)
    expire_le = sa.Column(sa.DateTime)
    utilisee_le = sa.Column(sa.DateTime)
    created_by_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))

    evaluation = relationship("Evaluation", back_populates="invitations")
