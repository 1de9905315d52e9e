"""Habilitations of établissements (R-HAB-1..4) and of évaluateurs (R-HAB-5, R-HAB-6)."""
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import relationship

from .base import Choices, Model, utcnow

# R-HAB-1: the three states of a request, as the certifier's screens show them.
ETATS = Choices(
    ("en_attente", "En attente"),
    ("validee", "Validée"),
    ("rejetee", "Rejetée"),
)

# R-HAB-4 (seed 004, « Habilitation des organismes de formation »): 6 criteria × 2 indicators.
CRITERES = [
    ("L'identification de la certification", [
        ("Capacité du prestataire à sélectionner la ou les certification(s) visée(s) en cohérence "
        "avec les compétences à développer et avec les besoins réels de l'entreprise."),
        ("Capacité du prestataire à informer et à solliciter l'UIMM Centre de Certification du "
        "projet de certification."),
    ]),
    ("La mise en œuvre du dispositif de certification", [
        ("Capacité du prestataire à mettre en œuvre les principes et procédures de mise en œuvre du "
        "dispositif de certification de la branche."),
        ("Capacité du prestataire à identifier les processus d'attribution de la certification de "
        "la branche."),
    ]),
    ("L'inscription à la certification", [
        "Capacité du prestataire à utiliser les outils mis à disposition par le certificateur.",
        ("Capacité du prestataire à recueillir les informations requises aux candidats présentés "
        "dans les délais prescrits."),
    ]),
    ("Le choix des modalités d'évaluation", [
        "Capacité du prestataire à choisir les modalités d'évaluation parmi celles préconisées.",
        "Capacité du prestataire à respecter les situations professionnelles imposées.",
    ]),
    ("L'évaluation", [
        ("Capacité du prestataire à planifier et organiser l'évaluation des compétences des "
        "candidats en lien avec l'UIMM centre de certification."),
        ("Capacité du prestataire à mener des actions d'évaluations, sous la responsabilité de "
        "l'UIMM centre de certification, conformes aux référentiels de la certification visée, et "
        "de fournir les résultats dans les formats et les délais imposés."),
    ]),
    ("La pertinence de l'action et le suivi qualité", [
        ("Capacité du prestataire à mettre en œuvre une démarche qualité et d'amélioration continue "
        "contextualisée aux dispositifs de certifications UIMM."),
        ("Capacité du prestataire à mettre en œuvre des mesures de suivi de promotion des candidats "
        "titulaires d'une ou plusieurs certifications."),
    ]),
]
# Every (criterion, indicator) pair, numbered from 1 as in the seed.
INDICATEURS = [(c, i) for c in range(1, len(CRITERES) + 1) for i in (1, 2)]
# The seed names no scale; the certifier's assessment of an indicator uses these three levels.
NIVEAUX = Choices(
    ("satisfaisant", "Satisfaisant"),
    ("a_ameliorer", "À améliorer"),
    ("insatisfaisant", "Insatisfaisant"),
)
# The reminders of `flask habilitations remind`: days before the end date.
PALIERS_RAPPEL = (60, 15)


class Habilitation(Model):
    """A request of an établissement to the certifier of one dispositif, and its decision."""

    __tablename__ = "habilitation"
    __table_args__ = (
        ETATS.check("etat", "ck_habilitation_etat"),
        # R-HAB-1: a validated habilitation has its period; a rejected one its reason.
        sa.CheckConstraint(
            "etat <> 'validee' OR (date_debut IS NOT NULL AND date_fin IS NOT NULL "
            "AND date_fin >= date_debut)", name="ck_habilitation_periode"),
        sa.CheckConstraint(
            "etat <> 'rejetee' OR (motif_rejet IS NOT NULL AND motif_rejet <> '')",
            name="ck_habilitation_motif"),
        sa.Index("ix_habilitation_etab_disp_etat", "etablissement_id", "dispositif_id", "etat"),
        sa.Index("ix_habilitation_fin", "etat", "date_fin"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    etablissement_id = sa.Column(sa.ForeignKey("etablissement.id"), nullable=False)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), nullable=False, index=True)
    etat = sa.Column(sa.String(32), nullable=False, default="en_attente")
    date_debut = sa.Column(sa.Date)
    date_fin = sa.Column(sa.Date)
    motif_rejet = sa.Column(sa.Text)
    commentaire = sa.Column(sa.Text)
    demande_le = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    demande_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    decide_le = sa.Column(sa.DateTime)
    decide_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    renouvellement_de_id = sa.Column(sa.ForeignKey("habilitation.id"), index=True)

    etablissement = relationship("Etablissement", lazy="joined")
    dispositif = relationship("Dispositif", lazy="joined")
    demande_par = relationship(User, foreign_keys=[demande_par_id], lazy="selectin")
    decide_par = relationship(User, foreign_keys=[decide_par_id], lazy="selectin")
    renouvellement_de = relationship("Habilitation", remote_side=[id], lazy="selectin")
    appreciations = relationship("AppreciationHabilitation", back_populates="habilitation",
                                 cascade="all, delete-orphan",
                                 order_by="(AppreciationHabilitation.critere, "
                                          "AppreciationHabilitation.indicateur)")

    @property
    def etat_label(self):
        return ETATS.label(self.etat)

    @property
    def organisme(self):
        return self.etablissement.organisme if self.etablissement else None

    @property
    def est_renouvellement(self) -> bool:
        return self.renouvellement_de_id is not None

    def valide_le(self, day) -> bool:
        """R-HAB-2: validated and `day` within [start, end]."""
        return (self.etat == "validee" and self.date_debut is not None
                and self.date_debut <= day <= self.date_fin)

    def __repr__(self):
        return f"{self.etablissement} — {self.dispositif} ({self.etat_label})"


class AppreciationHabilitation(Model):
    """R-HAB-4: the certifier's assessment of one indicator of one criterion."""

    __tablename__ = "appreciation_habilitation"
    __table_args__ = (
        sa.UniqueConstraint("habilitation_id", "critere", "indicateur", name="uq_appreciation"),
        sa.CheckConstraint(f"critere BETWEEN 1 AND {len(CRITERES)}", name="ck_appreciation_critere"),
        sa.CheckConstraint("indicateur IN (1, 2)", name="ck_appreciation_indicateur"),
        NIVEAUX.check("niveau", "ck_appreciation_niveau"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    habilitation_id = sa.Column(sa.ForeignKey("habilitation.id", ondelete="CASCADE"),
                                nullable=False, index=True)
    critere = sa.Column(sa.Integer, nullable=False)
    indicateur = sa.Column(sa.Integer, nullable=False)
    niveau = sa.Column(sa.String(32), nullable=False)
    commentaire = sa.Column(sa.Text)
    saisi_le = sa.Column(sa.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    habilitation = relationship("Habilitation", back_populates="appreciations")

    @property
    def critere_label(self):
        return CRITERES[self.critere - 1][0]

    @property
    def indicateur_label(self):
        return CRITERES[self.critere - 1][1][self.indicateur - 1]

    @property
    def niveau_label(self):
        return NIVEAUX.label(self.niveau)


class RappelHabilitation(Model):
    """A reminder sent before an end date; the unique key makes the daily command idempotent."""

    __tablename__ = "rappel_habilitation"
    __table_args__ = (
        sa.UniqueConstraint("habilitation_id", "palier", name="uq_rappel_habilitation"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    habilitation_id = sa.Column(sa.ForeignKey("habilitation.id", ondelete="CASCADE"),
                                nullable=False)
    palier = sa.Column(sa.Integer, nullable=False)  # 60 or 15 days before the end
    envoye_le = sa.Column(sa.Date, nullable=False)


class EvaluateurHabilite(Model):
    """R-HAB-5/6: a person with an account, habilitated intuitu personae, and their employer."""

    __tablename__ = "evaluateur_habilite"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False,
                        unique=True)
    # R-HAB-6: the employer, by name (always) and, when it is on the platform, by link or SIRET.
    employeur_nom = sa.Column(sa.String(200))
    employeur_siret = sa.Column(sa.String(14))
    employeur_entreprise_id = sa.Column(sa.ForeignKey("entreprise.id"), index=True)
    employeur_organisme_id = sa.Column(sa.ForeignKey("organisme.id"), index=True)
    reseau_id = sa.Column(sa.ForeignKey("reseau.id"), index=True)  # national network (GRETA…)
    telephone = sa.Column(sa.String(30))
    ville = sa.Column(sa.String(120))
    actif = sa.Column(sa.Boolean, nullable=False, default=True)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    user = relationship(User, lazy="joined")
    employeur_entreprise = relationship("Entreprise", lazy="selectin")
    employeur_organisme = relationship("Organisme", lazy="selectin")
    reseau = relationship("Reseau", lazy="selectin")
    habilitations = relationship("HabilitationEvaluateur", back_populates="evaluateur",
                                 cascade="all, delete-orphan", lazy="selectin",
                                 order_by="HabilitationEvaluateur.date_fin.desc()")

    @property
    def nom_complet(self):
        return f"{self.user.first_name} {self.user.last_name}" if self.user else ""

    @property
    def email(self):
        return self.user.email if self.user else ""

    @property
    def reseau_effectif(self):
        """The evaluator's network: recorded, or else the one of their employing organisme."""
        if self.reseau is not None:
            return self.reseau
        return self.employeur_organisme.reseau if self.employeur_organisme else None

    def __repr__(self):
        return self.nom_complet or f"Évaluateur {self.id}"


class HabilitationEvaluateur(Model):
    """R-HAB-5: one certification × one région, for a period."""

    __tablename__ = "habilitation_evaluateur"
    __table_args__ = (
        sa.CheckConstraint("date_fin >= date_debut", name="ck_habilitation_evaluateur_periode"),
        sa.Index("ix_habilitation_evaluateur_cert_region", "certification_id", "region",
                 "date_fin"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    evaluateur_id = sa.Column(sa.ForeignKey("evaluateur_habilite.id", ondelete="CASCADE"),
                              nullable=False, index=True)
    certification_id = sa.Column(sa.ForeignKey("certification.id"), nullable=False)
    region = sa.Column(sa.String(60), nullable=False)
    date_debut = sa.Column(sa.Date, nullable=False)
    date_fin = sa.Column(sa.Date, nullable=False)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    evaluateur = relationship("EvaluateurHabilite", back_populates="habilitations", lazy="joined")
    certification = relationship("Certification", lazy="joined")

    def valide_le(self, day) -> bool:
        return self.date_debut <= day <= self.date_fin

    def __repr__(self):
        return f"{self.certification} — {self.region}"
