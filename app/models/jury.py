"""Jurys (DOMAIN.md §8): sessions per certificateur (R-JUR-1..3), their composition (R-JUR-5/6),
the dossiers registered to them (R-JUR-4, R-JUR-7) and what a decision leaves behind: acquired
competences kept for a while (R-DEC-2) and certifications / blocs attributed (R-DEC-3).

The verbs live in app/workflow/jury/sessions.py; nothing here changes a status by itself.
"""
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import backref, relationship

from .base import Choices, Model, utcnow

ETATS_JURY = Choices(
    ("planifie", "Planifié"),
    ("convoque", "Convoqué"),
    ("tenu", "Tenu (délibération en cours)"),
    ("clos", "Clos (décisions publiées)"),
)
# Registrations are taken while the jury is planned or convened and its deadline not passed.
ETATS_OUVERTS = ("planifie", "convoque")
MODALITES = Choices(("presentiel", "Présentiel"), ("distance", "À distance"))
# R-JUR-5 (seed 004 ch. 3 §1): employers' delegation (≤ 5), one member from temporary work when
# needed, the unions' delegation (one voter per union), the president, guests without a vote.
COLLEGES = Choices(
    ("employeurs", "Délégation patronale"),
    ("interim", "Travail temporaire (délégation patronale)"),
    ("salaries", "Délégation syndicale (salariés)"),
    ("president", "Président du jury"),
    ("invite", "Invité (sans voix délibérative)"),
)
ETATS_INSCRIPTION = Choices(
    ("inscrit", "Inscrit"),
    ("complement", "Complément demandé"),
    ("retire", "Retiré du jury"),
    ("publie", "Décision publiée"),
)
NATURES_ATTRIBUTION = Choices(
    ("certification", "Certification"),
    ("bloc", "Bloc de compétences"),
    ("cqpi", "CQPI"),
)


class Jury(Model):
    """One session of a certificateur's jury (R-JUR-1)."""

    __tablename__ = "jury"
    __table_args__ = (
        ETATS_JURY.check("etat", "ck_jury_etat"),
        MODALITES.check("modalite", "ck_jury_modalite"),
        sa.CheckConstraint("capacite > 0", name="ck_jury_capacite"),
        sa.CheckConstraint("date_limite_inscription <= date", name="ck_jury_date_limite"),
        sa.CheckConstraint("etat <> 'clos' OR clos_le IS NOT NULL", name="ck_jury_clos"),
        sa.CheckConstraint("etat <> 'convoque' OR convoque_le IS NOT NULL",
                           name="ck_jury_convoque"),
        # "Next jury of the same certificateur" and the calendar page read this index.
        sa.Index("ix_jury_dispositif_certificateur_date", "dispositif_id", "certificateur",
                 "date", "id"),
        sa.Index("ix_jury_etat_date", "etat", "date"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), nullable=False)
    # The body that holds the jury: the dispositif's certificateur by default, or a regional one
    # (CléA: Transitions Pro of a région, or the CPNE for a socle contextualisé).
    certificateur = sa.Column(sa.String(200), nullable=False)
    region = sa.Column(sa.String(80))  # empty: the jury takes dossiers of every région
    libelle = sa.Column(sa.String(200))
    date = sa.Column(sa.Date, nullable=False)
    lieu = sa.Column(sa.String(200), nullable=False, default="")
    modalite = sa.Column(sa.String(12), nullable=False, default="presentiel")
    capacite = sa.Column(sa.Integer, nullable=False)                      # R-JUR-3
    date_limite_inscription = sa.Column(sa.Date, nullable=False)          # R-JUR-2
    etat = sa.Column(sa.String(12), nullable=False, default="planifie")
    anonyme = sa.Column(sa.Boolean, nullable=False, default=False)        # R-JUR-7
    designations_demandees_le = sa.Column(sa.DateTime)                    # R-JUR-6
    convoque_le = sa.Column(sa.DateTime)                                  # R-JUR-6
    tenu_le = sa.Column(sa.DateTime)
    clos_le = sa.Column(sa.DateTime)                                      # R-JUR-9
    clos_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))

    dispositif = relationship("Dispositif", lazy="joined")
    membres = relationship("JuryMembre", back_populates="jury", cascade="all, delete-orphan",
                           order_by="JuryMembre.id", lazy="selectin")
    inscriptions = relationship("InscriptionJury", back_populates="jury",
                                foreign_keys="InscriptionJury.jury_id",
                                order_by="InscriptionJury.rang", passive_deletes=True)

    @property
    def etat_label(self):
        return ETATS_JURY.label(self.etat)

    @property
    def modalite_label(self):
        return MODALITES.label(self.modalite)

    @property
    def president_membre(self):
        return next((m for m in self.membres if m.college == "president"), None)

    @property
    def president(self) -> str:
        """The president's name as documents print it (R-JUR-8: he signs the PV)."""
        m = self.president_membre
        return m.nom_complet if m else ""

    @property
    def qualite_president(self) -> str:
        m = self.president_membre
        return (m.qualite or m.organisation or "") if m else ""

    @property
    def intitule(self) -> str:
        return self.libelle or f"Jury du {self.date:%d/%m/%Y} — {self.certificateur}"

    def __repr__(self):
        return self.intitule


class JuryMembre(Model):
    """A member (account with role "jury", or a person named here), or a union still to designate
    one (R-JUR-6: the organisation then appears on the attendance sheet)."""

    __tablename__ = "jury_membre"
    __table_args__ = (
        COLLEGES.check("college", "ck_jury_membre_college"),
        sa.CheckConstraint("college <> 'salaries' OR syndicat IS NOT NULL",
                           name="ck_jury_membre_syndicat"),
        sa.CheckConstraint("college <> 'invite' OR NOT votant", name="ck_jury_membre_invite"),
        sa.CheckConstraint("user_id IS NOT NULL OR nom IS NOT NULL OR syndicat IS NOT NULL",
                           name="ck_jury_membre_identite"),
        sa.UniqueConstraint("jury_id", "user_id", name="uq_jury_membre_user"),
        # The perimeter of a jury member ("my juries") is looked up by user.
        sa.Index("ix_jury_membre_user", "user_id", "jury_id"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    jury_id = sa.Column(sa.ForeignKey("jury.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    nom = sa.Column(sa.String(100))
    prenom = sa.Column(sa.String(100))
    email = sa.Column(sa.String(200))
    organisation = sa.Column(sa.String(200))   # company, UIMM, union…
    qualite = sa.Column(sa.String(150))
    college = sa.Column(sa.String(12), nullable=False)
    syndicat = sa.Column(sa.String(120))       # the mandating union (employees' college)
    syndicat_email = sa.Column(sa.String(200))  # gets the designation request and the copy
    votant = sa.Column(sa.Boolean, nullable=False, default=True)
    designation_demandee_le = sa.Column(sa.DateTime)
    convoque_le = sa.Column(sa.DateTime)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    jury = relationship("Jury", back_populates="membres")
    user = relationship(User, lazy="joined")

    @property
    def college_label(self):
        return COLLEGES.label(self.college)

    @property
    def designe(self) -> bool:
        """A person sits (an account or a name); otherwise the union has not designated yet."""
        return self.user_id is not None or bool(self.nom)

    @property
    def nom_complet(self) -> str:
        if self.user is not None:
            return f"{self.user.first_name} {self.user.last_name}"
        if self.nom:
            return f"{self.prenom or ''} {self.nom}".strip()
        return ""

    @property
    def adresse(self) -> str | None:
        return (self.user.email if self.user is not None else None) or self.email

    def __repr__(self):
        return self.nom_complet or f"{self.syndicat} (désignation attendue)"


class InscriptionJury(Model):
    """A dossier registered to a jury, and the jury's decision on it (R-JUR-4, R-JUR-7..9)."""

    __tablename__ = "inscription_jury"
    __table_args__ = (
        ETATS_INSCRIPTION.check("etat", "ck_inscription_jury_etat"),
        sa.CheckConstraint("decision IS NULL OR decide_le IS NOT NULL",
                           name="ck_inscription_jury_decision"),
        sa.CheckConstraint("etat <> 'publie' OR (decision IS NOT NULL AND publiee_le IS NOT NULL)",
                           name="ck_inscription_jury_publiee"),
        sa.UniqueConstraint("jury_id", "numero_anonyme", name="uq_inscription_jury_numero"),
        # A dossier has one active registration at a time (the complement loop and a withdrawal
        # end one; R-JUR-4 moves are new rows).
        sa.Index("uq_inscription_jury_active", "candidature_id", unique=True,
                 postgresql_where=sa.text("active"), sqlite_where=sa.text("active")),
        sa.Index("ix_inscription_jury_jury", "jury_id", "active", "rang"),
        # The dashboard counts the dossiers a jury has taken and not decided yet (issue 9).
        sa.Index("ix_inscription_jury_en_attente", "candidature_id",
                 postgresql_where=sa.text("active AND etat = 'inscrit'"),
                 sqlite_where=sa.text("active AND etat = 'inscrit'")),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    jury_id = sa.Column(sa.ForeignKey("jury.id"), nullable=False)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"),
                               nullable=False, index=True)
    numero_anonyme = sa.Column(sa.Integer, nullable=False)   # R-JUR-7
    rang = sa.Column(sa.Integer, nullable=False)
    etat = sa.Column(sa.String(12), nullable=False, default="inscrit")
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    inscrit_le = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    inscrit_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    # R-JUR-4: set when the dossier landed here because the jury asked for was full or closed.
    report_de_id = sa.Column(sa.ForeignKey("jury.id"))
    decision = sa.Column(sa.String(20))
    # R-DEC-2: ids of the competences (and blocs) the jury declared acquired.
    competences_acquises = sa.Column(sa.JSON, nullable=False, default=list)
    blocs_acquis = sa.Column(sa.JSON, nullable=False, default=list)
    commentaire = sa.Column(sa.Text)
    complement_demande = sa.Column(sa.Text)                  # R-WF-4
    decide_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    decide_le = sa.Column(sa.DateTime)
    publiee_le = sa.Column(sa.DateTime)                      # R-JUR-9

    jury = relationship("Jury", back_populates="inscriptions", foreign_keys=[jury_id],
                        lazy="joined")
    report_de = relationship("Jury", foreign_keys=[report_de_id])
    candidature = relationship("Candidature", lazy="joined", backref=backref(
        "inscriptions_jury", order_by="InscriptionJury.id", passive_deletes=True))
    decide_par = relationship(User, foreign_keys=[decide_par_id])

    @property
    def etat_label(self):
        return ETATS_INSCRIPTION.label(self.etat)

    @property
    def attend_complement(self) -> bool:
        """R-WF-4: the jury asked a complement and the dossier has not come back yet (once re-sent
        to another jury, this row only says what this jury did)."""
        return self.etat == "complement" and self.candidature.statut == "en_attente_complement"

    @property
    def decision_label(self) -> str:
        if not self.decision:
            return ""
        return dict(self.jury.dispositif.decisions).get(self.decision, self.decision)


class BrouillonDecision(Model):
    """What one user is typing in a dossier's decision form, saved as he types (issue 16 item 1):
    shown again when he comes back, deleted once a decision is recorded or the jury closes. Not a
    decision: nothing reads it but the deliberation page of its author."""

    __tablename__ = "brouillon_decision"
    __table_args__ = (
        # One draft per user and dossier; the page reads a user's drafts of its rows at once.
        sa.UniqueConstraint("inscription_id", "user_id", name="uq_brouillon_decision"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    inscription_id = sa.Column(sa.ForeignKey("inscription_jury.id", ondelete="CASCADE"),
                               nullable=False)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    decision = sa.Column(sa.String(20))
    # None when the form had no competences to tick (CléA); else the ids ticked.
    competences_acquises = sa.Column(sa.JSON)
    commentaire = sa.Column(sa.Text)
    enregistre_le = sa.Column(sa.DateTime, nullable=False, default=utcnow)


class AcquisCompetence(Model):
    """R-DEC-2: a competence the jury declared acquired, kept for the candidate and certification
    until `valable_jusqu_au` (None: permanently, unless the referential changes)."""

    __tablename__ = "acquis_competence"
    __table_args__ = (
        sa.UniqueConstraint("inscription_id", "competence_id", name="uq_acquis_competence"),
        sa.Index("ix_acquis_candidat_certification", "candidat_id", "certification_id",
                 "valable_jusqu_au"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    candidat_id = sa.Column(sa.ForeignKey("candidat.id", ondelete="CASCADE"), nullable=False)
    certification_id = sa.Column(sa.ForeignKey("certification.id"), nullable=False)
    competence_id = sa.Column(sa.ForeignKey("competence.id"), nullable=False)
    bloc_id = sa.Column(sa.ForeignKey("bloc.id", ondelete="SET NULL"))
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"),
                               nullable=False, index=True)
    inscription_id = sa.Column(sa.ForeignKey("inscription_jury.id", ondelete="CASCADE"),
                               nullable=False)
    date_jury = sa.Column(sa.Date, nullable=False)
    valable_jusqu_au = sa.Column(sa.Date)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    competence = relationship("Competence", lazy="joined")
    certification = relationship("Certification")
    candidature = relationship("Candidature")


class AttributionCertification(Model):
    """R-DEC-3: what an admitted (or partially validated) candidate receives — the certification,
    the bloc(s) passed, the CQPI when the CQPM is on the CQPI list. The documents feature issues a
    certificate per row."""

    __tablename__ = "attribution_certification"
    __table_args__ = (
        NATURES_ATTRIBUTION.check("nature", "ck_attribution_nature"),
        sa.CheckConstraint("nature <> 'bloc' OR bloc_id IS NOT NULL", name="ck_attribution_bloc"),
        sa.UniqueConstraint("inscription_id", "nature", "certification_id", "bloc_id",
                            name="uq_attribution"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    inscription_id = sa.Column(sa.ForeignKey("inscription_jury.id", ondelete="CASCADE"),
                               nullable=False, index=True)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"),
                               nullable=False, index=True)
    candidat_id = sa.Column(sa.ForeignKey("candidat.id", ondelete="CASCADE"), nullable=False)
    nature = sa.Column(sa.String(14), nullable=False)
    certification_id = sa.Column(sa.ForeignKey("certification.id"), nullable=False)
    bloc_id = sa.Column(sa.ForeignKey("bloc.id"))
    date_jury = sa.Column(sa.Date, nullable=False)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    certification = relationship("Certification", lazy="joined")
    bloc = relationship("Bloc", lazy="joined")
    candidature = relationship("Candidature")
    inscription = relationship("InscriptionJury")

    @property
    def nature_label(self):
        return NATURES_ATTRIBUTION.label(self.nature)


def dossiers_of_member(user_id):
    """SELECT of the candidature ids registered to a jury `user_id` sits on (perimeter of the
    "jury" role, R-ACC-5: jury members see only their juries)."""
    return (sa.select(InscriptionJury.candidature_id)
            .join(JuryMembre, JuryMembre.jury_id == InscriptionJury.jury_id)
            .where(JuryMembre.user_id == user_id))
