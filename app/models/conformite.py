"""Retention of personal data (R-ARC-1…3) and the holders' declaration to the Caisse des Dépôts
(R-ARC-4).

RetentionRule: how long each class of record is kept, per dispositif and outcome, editable by
the secretariat. PurgeLog: what a purge run removed (counts, never content). PurgeTrace: the
tombstone of one removed item, so the dossier can say what was removed and when.
DeclarationCDC / DeclarationTitulaire: the XML files sent to the Caisse des Dépôts and, per holder,
the answer of its processing report.
"""
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import deferred, relationship

from .base import Choices, Model, utcnow

# -- retention (R-ARC-1…3) -----------------------------------------------------------------------
CLASSES = Choices(
    ("piece_identite", "Pièce d'identité du candidat"),
    ("documents_evaluation", "Documents du processus d'évaluation"),
    ("appreciations", "Appréciations de la commission d'évaluation"),
    ("certificat", "Copie du certificat"),
    ("pv", "Procès-verbal du jury"),
    ("emargement", "Feuille d'émargement du jury"),
    ("attribution", "Attributions des certifications"),
)
ISSUES = Choices(
    ("toutes", "Quelle que soit la décision"),
    ("reussite", "Certification obtenue"),
    ("partiel", "Validation partielle"),
    ("echec", "Échec"),
)
# What each class holds and from when its duration runs (shown on the schedule).
CLASS_DETAILS = {
    "piece_identite": ("Pièce « Pièce d'identité » du dossier", "décision du jury"),
    "documents_evaluation": (
        ("Pièces du dossier : CERFA, dossier candidat ou VAE, diplômes, attestations et preuves "
         "de formation, compléments, autres"), "décision du jury"),
    "appreciations": (
        ("Guides et matrices d'évaluation, commentaires et observations des évaluateurs (les "
         "résultats acquis / non acquis sont conservés)"), "décision du jury"),
    "certificat": (
        ("PDF et données figées du certificat (numéro, intitulé, date et empreinte sont "
         "conservés)"), "date du jury (à défaut, d'émission)"),
    "pv": ("PDF et données figées du procès-verbal", "date du jury (à défaut, d'émission)"),
    "emargement": ("PDF et données figées de la feuille d'émargement",
                   "date du jury (à défaut, d'émission)"),
    "attribution": (("Attributions enregistrées par le jury (certification, blocs, CQPI), lettres "
                    "au GTP Certifications et lettres de décision"),
                    "date du jury (à défaut, d'émission)"),
}
# The schedule of the sources (004 chapitre 6), seeded for every dispositif:
# (classe, issue, months, rule). 0 months = removed as soon as the decision is made.
DEFAULT_RULES = [
    ("piece_identite", "toutes", 0, "R-ARC-1"),
    ("documents_evaluation", "toutes", 0, "R-ARC-2"),
    # A holder's appraisals are evaluation documents: kept for the preparation only; a partial
    # validation or a failure keeps them for the candidate's return (5 / 2 years).
    ("appreciations", "reussite", 0, "R-ARC-2"),
    ("appreciations", "partiel", 60, "R-ARC-2"),
    ("appreciations", "echec", 24, "R-ARC-2"),
    ("certificat", "toutes", 42 * 12, "R-ARC-2"),
    ("pv", "toutes", 20 * 12, "R-ARC-3"),
    ("emargement", "toutes", 20 * 12, "R-ARC-3"),
    ("attribution", "toutes", 20 * 12, "R-ARC-3"),
]
MAX_MOIS = 100 * 12


def duree_label(mois: int | None) -> str:
    if mois is None:
        return "Conservation illimitée"
    if mois == 0:
        return "Supprimé dès la décision"
    if mois % 12 == 0:
        years = mois // 12
        return f"{years} an{'s' if years > 1 else ''}"
    return f"{mois} mois"


class RetentionRule(Model):
    """One line of the retention schedule of a dispositif (R-ARC-1…3)."""

    __tablename__ = "retention_rule"
    __table_args__ = (
        sa.UniqueConstraint("dispositif_id", "classe", "issue", name="uq_retention_rule"),
        CLASSES.check("classe", "ck_retention_classe"),
        ISSUES.check("issue", "ck_retention_issue"),
        sa.CheckConstraint(f"duree_mois IS NULL OR duree_mois BETWEEN 0 AND {MAX_MOIS}",
                           name="ck_retention_duree"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id", ondelete="CASCADE"), nullable=False,
                              index=True)
    classe = sa.Column(sa.String(32), nullable=False)
    issue = sa.Column(sa.String(12), nullable=False, default="toutes")
    duree_mois = sa.Column(sa.Integer)  # None: kept without limit (purge skips the rule)
    regle = sa.Column(sa.String(12), nullable=False)
    changed_on = sa.Column(sa.DateTime, default=utcnow, onupdate=utcnow)

    dispositif = relationship("Dispositif", lazy="joined")

    @property
    def classe_label(self):
        return CLASSES.label(self.classe)

    @property
    def issue_label(self):
        return ISSUES.label(self.issue)

    @property
    def duree_label(self):
        return duree_label(self.duree_mois)

    @property
    def contenu_label(self):
        return CLASS_DETAILS[self.classe][0]

    @property
    def depart_label(self):
        return CLASS_DETAILS[self.classe][1]

    def __repr__(self):
        return f"{self.classe_label} — {self.issue_label} : {self.duree_label}"


class PurgeLog(Model):
    """One class purged (or counted, dry run) for one dispositif by one run: counts only."""

    __tablename__ = "purge_log"
    __table_args__ = (
        CLASSES.check("classe", "ck_purge_log_classe"),
        ISSUES.check("issue", "ck_purge_log_issue"),
        sa.Index("ix_purge_log_dispositif", "dispositif_id", "executee_le"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id", ondelete="CASCADE"), nullable=False)
    executee_le = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    date_reference = sa.Column(sa.Date, nullable=False)  # the run's "today" (replayable)
    classe = sa.Column(sa.String(32), nullable=False)
    issue = sa.Column(sa.String(12), nullable=False)
    nombre = sa.Column(sa.Integer, nullable=False)
    dry_run = sa.Column(sa.Boolean, nullable=False, default=False)
    regle = sa.Column(sa.String(12))

    dispositif = relationship("Dispositif", lazy="joined")

    @property
    def classe_label(self):
        return CLASSES.label(self.classe)

    @property
    def issue_label(self):
        return ISSUES.label(self.issue)

    @property
    def mode_label(self):
        return "Simulation" if self.dry_run else "Suppression"


class PurgeTrace(Model):
    """The tombstone of one removed item: what it was and when it went, never its content."""

    __tablename__ = "purge_trace"
    __table_args__ = (
        CLASSES.check("classe", "ck_purge_trace_classe"),
        sa.Index("ix_purge_trace_candidature", "candidature_id", "id"),
        sa.Index("ix_purge_trace_document_emis", "document_emis_id"),
        sa.Index("ix_purge_trace_dispositif", "dispositif_id", "purge_le"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id", ondelete="CASCADE"), nullable=False)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"))
    document_emis_id = sa.Column(sa.ForeignKey("document_emis.id", ondelete="CASCADE"))
    classe = sa.Column(sa.String(32), nullable=False)
    element = sa.Column(sa.String(60), nullable=False)   # piece type, document type, "commentaires"
    libelle = sa.Column(sa.String(255))                 # file name or document number
    purge_le = sa.Column(sa.Date, nullable=False)
    regle = sa.Column(sa.String(12), nullable=False)

    candidature = relationship("Candidature")

    @property
    def classe_label(self):
        return CLASSES.label(self.classe)

    @property
    def element_label(self):
        from .candidature import TYPES_PIECE
        from .document import TYPES_DOCUMENT
        if self.element == "commentaires":
            return "Commentaires et observations des évaluateurs"
        if self.element == "attribution_certification":
            return "Attribution de la certification (décision du jury)"
        if self.element in TYPES_PIECE.codes:
            return TYPES_PIECE.label(self.element)
        return TYPES_DOCUMENT.label(self.element)


# -- declaration to the Caisse des Dépôts (R-ARC-4) ---------------------------------------------
STATUTS_DECLARATION = Choices(
    ("generated", "Générée (à déposer)"),
    ("sent", "Déposée, en attente du compte rendu"),
    ("processed", "Compte rendu intégré"),
)
STATUTS_TITULAIRE = Choices(
    ("declared", "Déclaré"),
    ("accepted", "Accepté"),
    ("rejected", "Rejeté"),
)


class DeclarationCDC(Model):
    """One XML file (flux) of holders for the Caisse des Dépôts, validated against its XSD."""

    __tablename__ = "declaration_cdc"
    __table_args__ = (
        STATUTS_DECLARATION.check("statut", "ck_declaration_cdc_statut"),
        sa.Index("ix_declaration_cdc_dispositif", "dispositif_id", "generee_le"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), nullable=False)
    id_flux = sa.Column(sa.String(50), nullable=False, unique=True)
    date_reference = sa.Column(sa.Date, nullable=False)
    generee_le = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    generee_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    xml = deferred(sa.Column(sa.LargeBinary, nullable=False))
    statut = sa.Column(sa.String(12), nullable=False, default="generated")
    deposee_le = sa.Column(sa.DateTime)
    traitee_le = sa.Column(sa.DateTime)
    compte_rendu_nom = sa.Column(sa.String(255))
    nb_certifications = sa.Column(sa.Integer, nullable=False, default=0)
    nb_titulaires = sa.Column(sa.Integer, nullable=False, default=0)
    nb_acceptes = sa.Column(sa.Integer, nullable=False, default=0)
    nb_rejetes = sa.Column(sa.Integer, nullable=False, default=0)

    dispositif = relationship("Dispositif", lazy="joined")
    generee_par = relationship(User)
    titulaires = relationship("DeclarationTitulaire", back_populates="declaration",
                              order_by="DeclarationTitulaire.id", passive_deletes=True)

    @property
    def statut_label(self):
        return STATUTS_DECLARATION.label(self.statut)

    @property
    def nom_fichier(self):
        return f"{self.id_flux}.xml"

    def __repr__(self):
        return self.id_flux


class DeclarationTitulaire(Model):
    """One holder (dossier) in one file. A dossier is never declared twice: at most one line per
    dossier that is not rejected (partial unique index); a rejected one may be declared again."""

    __tablename__ = "declaration_titulaire"
    __table_args__ = (
        STATUTS_TITULAIRE.check("statut", "ck_declaration_titulaire_statut"),
        sa.CheckConstraint("statut <> 'rejected' OR erreur IS NOT NULL",
                           name="ck_declaration_titulaire_erreur"),
        sa.UniqueConstraint("declaration_id", "candidature_id", name="uq_declaration_titulaire"),
        sa.Index("uq_titulaire_declare_une_fois", "candidature_id", unique=True,
                 sqlite_where=sa.text("statut <> 'rejected'"),
                 postgresql_where=sa.text("statut <> 'rejected'")),
        sa.Index("ix_declaration_titulaire_id_technique", "declaration_id", "id_technique"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    declaration_id = sa.Column(sa.ForeignKey("declaration_cdc.id", ondelete="CASCADE"),
                               nullable=False)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"), nullable=False)
    id_technique = sa.Column(sa.String(255), nullable=False)   # the dossier number sent
    certification_code = sa.Column(sa.String(100), nullable=False)  # RNCP… / RS… sent
    date_jury = sa.Column(sa.Date, nullable=False)
    statut = sa.Column(sa.String(12), nullable=False, default="declared")
    erreur = sa.Column(sa.Text)
    traite_le = sa.Column(sa.DateTime)

    declaration = relationship("DeclarationCDC", back_populates="titulaires")
    candidature = relationship("Candidature", lazy="joined")

    @property
    def statut_label(self):
        return STATUTS_TITULAIRE.label(self.statut)
