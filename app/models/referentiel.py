"""Dispositifs (certification schemes as settings) and the certifications' referential."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from .base import Choices, Model, utcnow

# R-DIS table: how dossiers are evaluated in each scheme.
STRUCTURES_EVALUATION = Choices(
    ("competences", "Compétences du CQP (acquis / non acquis)"),
    ("domaines_clea", "Domaines et sous-domaines CléA (préalable, formations, finale)"),
    ("blocs", "Compétences groupées en blocs (commission d'évaluation)"),
)
VOCABULAIRES_DECISION = Choices(
    ("valide_partiel", "Validé / Partiel / Non validé"),
    ("certifie", "Certifiée / Non certifiée"),
    ("admis", "Admis (A) / Non admis (NA)"),
)
DECISIONS = {
    "valide_partiel": [("valide", "Validé"), ("partiel", "Partiel"), ("non_valide", "Non validé")],
    "certifie": [("certifiee", "Certifiée"), ("non_certifiee", "Non certifiée")],
    "admis": [("admis", "Admis"), ("non_admis", "Non admis")],
}
# Every dispositif's decisions by code (the codes never collide), for lists and exports.
DECISION_LABELS = [pair for pairs in DECISIONS.values() for pair in pairs]
# Issue 16: one PV model per dispositif; the models themselves are app/reports/pv_models.py.
MODELES_PV = Choices(
    ("metallurgie", "Métallurgie — Annexe 14 (origine, financement, code NACE, secteur M/HM)"),
    ("chimie", "Industries chimiques — CQP/CQPI (parcours, évaluateur, compétences validées)"),
    ("clea", "CléA — numéro de dossier, établissement d'évaluation, socle"),
)
TYPES_CERTIFICATION = Choices(
    ("CQP", "CQP"), ("CQPI", "CQPI"), ("CQPM", "CQPM"), ("CCPM", "CCPM"), ("CCPI", "CCPI"),
    ("CLEA", "CléA"),
)
# Who may create a dossier (R-DIS-2): any combination, stored as a comma-separated list.
CREATEURS = Choices(
    ("employeur", "Employeur"),
    ("etablissement", "Établissement d'un organisme habilité"),
    ("secretariat", "Secrétariat (VAE)"),
    ("candidat", "Candidat (VAE, par le centre de certification)"),
)

certification_equivalence = sa.Table(
    "certification_equivalence",
    Model.metadata,
    sa.Column("cqpi_id", sa.ForeignKey("certification.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("cqp_id", sa.ForeignKey("certification.id", ondelete="CASCADE"), primary_key=True),
)


class Dispositif(Model):
    """A certifier's scheme; every rule that differs between schemes is a column here (R-DIS-2)."""

    __tablename__ = "dispositif"
    __table_args__ = (
        STRUCTURES_EVALUATION.check("structure_evaluation", "ck_dispositif_structure"),
        VOCABULAIRES_DECISION.check("vocabulaire_decision", "ck_dispositif_vocabulaire"),
        MODELES_PV.check("modele_pv", "ck_dispositif_modele_pv"),
        sa.CheckConstraint("capacite_jury_defaut > 0", name="ck_dispositif_capacite"),
        sa.UniqueConstraint("prefixe_numero", name="uq_dispositif_prefixe_numero"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(30), unique=True, nullable=False)
    nom = sa.Column(sa.String(150), nullable=False)
    certificateur = sa.Column(sa.String(200), nullable=False)
    structure_evaluation = sa.Column(sa.String(32), nullable=False, default="competences")
    vocabulaire_decision = sa.Column(sa.String(32), nullable=False, default="valide_partiel")
    createurs = sa.Column(sa.String(120), nullable=False, default="employeur")
    # Partial benefit (R-DEC-2): months; None = permanent unless the referential changes.
    duree_acquis_mois = sa.Column(sa.Integer)
    duree_acquis_rncp_mois = sa.Column(sa.Integer)
    capacite_jury_defaut = sa.Column(sa.Integer, nullable=False, default=30)
    delai_inscription_jury_jours = sa.Column(sa.Integer, nullable=False, default=21)
    delai_saisie_resultats_jours = sa.Column(sa.Integer, nullable=False, default=8)
    delai_convocation_jours = sa.Column(sa.Integer, nullable=False, default=15)
    # Whether juries follow the paritaire composition (R-JUR-5): employers' and unions'
    # delegations. Without it (CléA) a jury needs its president only (he signs the PV).
    jury_paritaire = sa.Column(sa.Boolean, nullable=False, default=True,
                               server_default=sa.true())
    delai_recevabilite_jours = sa.Column(sa.Integer, nullable=False, default=60)
    delai_vae_jury_mois = sa.Column(sa.Integer, nullable=False, default=18)
    delai_abandon_annees = sa.Column(sa.Integer, nullable=False, default=5)
    id_client_cdc = sa.Column(sa.String(40))
    id_contrat_cdc = sa.Column(sa.String(40))
    # R-DOC-4: certificates are numbered <prefix><year><6 digits> (MC… for the metallurgy); the
    # other documents <PV|EM|GTP|LD>-<prefix><year><6 digits>. Letters only and unique across the
    # platform, so that no two dispositifs can ever print the same number.
    prefixe_numero = sa.Column(sa.String(8), nullable=False)
    # R-DOC-3: the metallurgy's letter to the GTP « Certifications » (Annexe 12) after each jury.
    lettre_gtp = sa.Column(sa.Boolean, nullable=False, default=False)
    # Issue 19 item 3: the PV is approved by the jury in the platform (app/workflow/jury/
    # approval.py) unless the dispositif keeps the president's handwritten signature on paper.
    pv_signature_papier = sa.Column(sa.Boolean, nullable=False, default=False,
                                    server_default=sa.false())
    # Issue 16: the jury's PV follows the dispositif's own model (app/reports/pv_models.py:
    # metallurgie = Annexe 14, chimie, clea), and the certificates name the certifier's signatory
    # beside the president of the jury.
    modele_pv = sa.Column(sa.String(20), nullable=False, default="metallurgie",
                          server_default="metallurgie")
    signataire_certificats = sa.Column(sa.String(150))
    actif = sa.Column(sa.Boolean, nullable=False, default=True)
    changed_on = sa.Column(sa.DateTime, default=utcnow, onupdate=utcnow)

    certifications = relationship("Certification", back_populates="dispositif")

    def allows_creator(self, kind: str) -> bool:
        return kind in (self.createurs or "").split(",")

    @property
    def decisions(self):
        return DECISIONS[self.vocabulaire_decision]

    def __repr__(self):
        return self.nom


class Certification(Model):
    __tablename__ = "certification"
    __table_args__ = (
        sa.UniqueConstraint("dispositif_id", "code", name="uq_certification_code"),
        TYPES_CERTIFICATION.check("type", "ck_certification_type"),
        sa.CheckConstraint("niveau IS NULL OR (niveau BETWEEN 1 AND 8)", name="ck_certification_niveau"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), nullable=False, index=True)
    type = sa.Column(sa.String(8), nullable=False)
    code = sa.Column(sa.String(40), nullable=False)
    intitule = sa.Column(sa.String(250), nullable=False)
    filiere = sa.Column(sa.String(150))
    coefficient = sa.Column(sa.String(30))
    niveau = sa.Column(sa.Integer)
    rncp_code = sa.Column(sa.String(20))
    rs_code = sa.Column(sa.String(20))
    date_enregistrement_rncp = sa.Column(sa.Date)
    date_suppression = sa.Column(sa.Date)
    description = sa.Column(sa.Text)
    # R-REF-2: for a CQPI, whether the branch joined it and how it is obtained.
    membre_branche = sa.Column(sa.Boolean, nullable=False, default=True)
    obtention = sa.Column(sa.String(20))
    demo = sa.Column(sa.Boolean, nullable=False, default=False)

    dispositif = relationship("Dispositif", back_populates="certifications", lazy="joined")
    blocs = relationship("Bloc", back_populates="certification", order_by="Bloc.ordre",
                         cascade="all, delete-orphan")
    competences = relationship("Competence", back_populates="certification",
                               order_by="Competence.ordre", cascade="all, delete-orphan")
    equivalences = relationship(
        "Certification", secondary=certification_equivalence,
        primaryjoin=id == certification_equivalence.c.cqpi_id,
        secondaryjoin=id == certification_equivalence.c.cqp_id,
    )
    passerelles = relationship("Passerelle", back_populates="certification",
                               cascade="all, delete-orphan")

    def is_open_to_new_candidates(self, on=None) -> bool:
        """R-REF-5: a suppressed certification takes no new candidates."""
        from .base import today
        return self.date_suppression is None or (on or today()) < self.date_suppression

    @property
    def enregistree(self) -> bool:
        return bool(self.rncp_code or self.rs_code)

    def __repr__(self):
        return f"{self.code} — {self.intitule}"


class Bloc(Model):
    """A bloc de compétences (CQPM, BDCxxxx) or a CléA domain."""

    __tablename__ = "bloc"
    __table_args__ = (sa.UniqueConstraint("certification_id", "code", name="uq_bloc_code"),)
    id = sa.Column(sa.Integer, primary_key=True)
    certification_id = sa.Column(sa.ForeignKey("certification.id", ondelete="CASCADE"),
                                 nullable=False, index=True)
    code = sa.Column(sa.String(20), nullable=False)
    intitule = sa.Column(sa.String(250), nullable=False)
    ordre = sa.Column(sa.Integer, nullable=False, default=0)

    certification = relationship("Certification", back_populates="blocs", lazy="joined")
    competences = relationship("Competence", back_populates="bloc", order_by="Competence.ordre")

    def __repr__(self):
        return f"{self.code} {self.intitule}"


class Competence(Model):
    """A compétence (CQP, CQPM, CCPM) or a CléA sub-domain."""

    __tablename__ = "competence"
    __table_args__ = (sa.UniqueConstraint("certification_id", "code", name="uq_competence_code"),)
    id = sa.Column(sa.Integer, primary_key=True)
    certification_id = sa.Column(sa.ForeignKey("certification.id", ondelete="CASCADE"),
                                 nullable=False, index=True)
    bloc_id = sa.Column(sa.ForeignKey("bloc.id", ondelete="SET NULL"), index=True)
    code = sa.Column(sa.String(20), nullable=False)
    intitule = sa.Column(sa.String(300), nullable=False)
    ordre = sa.Column(sa.Integer, nullable=False, default=0)
    # R-CAN-9: only branch-specific competences are evaluated for a CQPI holder.
    specifique_branche = sa.Column(sa.Boolean, nullable=False, default=False)

    # Joined: shown in every list of blocs, compétences and passerelles (no SELECT per row).
    certification = relationship("Certification", back_populates="competences", lazy="joined")
    bloc = relationship("Bloc", back_populates="competences", lazy="joined")

    def __repr__(self):
        return f"{self.code} {self.intitule}"


class Passerelle(Model):
    """R-REF-6: equivalence with another branch's certification, decided by each certifier."""

    __tablename__ = "passerelle"
    id = sa.Column(sa.Integer, primary_key=True)
    certification_id = sa.Column(sa.ForeignKey("certification.id", ondelete="CASCADE"),
                                 nullable=False, index=True)
    autre_branche = sa.Column(sa.String(150), nullable=False)
    certification_autre = sa.Column(sa.String(250), nullable=False)
    nature = sa.Column(sa.String(10), nullable=False, default="totale")
    __table_args__ = (sa.CheckConstraint("nature IN ('totale', 'partielle')", name="ck_passerelle_nature"),)

    certification = relationship("Certification", back_populates="passerelles", lazy="joined")

    def __repr__(self):
        return f"{self.autre_branche} : {self.certification_autre} ({self.nature})"
