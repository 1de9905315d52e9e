"""Candidat (R-CAN-1/2), Candidature (R-CAN-3/5, R-WF-*), Document (R-CAN-4), Historique (R-WF-5),
RattachementDemande (R-CAN-6) and the dossier number sequence."""
import re
import unicodedata

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import deferred, relationship

from .base import Choices, Model, utcnow
from .statuts import LOCKED

# --- statuses ----------------------------------------------------------------------------------
# The union of every dispositif's statuses; app/workflow/dossier/candidatures.py says which belongs to
# which workflow and which moves are allowed. Labels are those the users read in the sources.
STATUTS = Choices(
    # shared by the VAE of every scheme (R-CAN-8)
    ("en_attente_recevabilite", "En attente de recevabilité (VAE)"),
    ("recevabilite_refusee", "Recevabilité refusée (VAE)"),
    # chimie, R-WF-1
    ("en_cours_inscription", "En cours d'inscription"),
    ("en_attente_evaluation", "En attente d'évaluation"),
    # CléA, R-WF-2
    ("en_attente_evaluation_prealable", "En attente d'évaluation préalable"),
    ("en_attente_evaluation_finale", "En attente d'évaluation finale"),
    ("en_attente_envoi_certification", "En attente d'envoi en certification"),
    # metallurgy
    ("inscription", "Inscrit, évaluation à ouvrir"),
    ("evaluation", "En cours d'évaluation"),
    # shared
    ("en_attente_jury", "En attente de jury"),
    ("en_attente_complement", "En attente de complément"),
    ("candidature_completee", "Candidature complétée"),
    ("valide", "Validé"),
    ("partiel", "Partiel"),
    ("non_valide", "Non validé"),
    ("certifiee", "Certifiée"),
    ("non_certifiee", "Non certifiée"),
    ("admis", "Admis"),
    ("non_admis", "Non admis"),
    ("abandonnee", "Candidature abandonnée"),
)
CIVILITES = Choices(("M", "Monsieur"), ("MME", "Madame"))
STATUTS_INSCRIPTION = Choices(
    ("salarie", "Salarié"),
    ("demandeur_emploi", "Demandeur d'emploi"),
    ("independant", "Travailleur indépendant"),
    ("agent_public", "Agent public"),
    ("autre", "Autre"),
)
# R-CAN-3: origin of the candidate in the PV (SL salarié / DE demandeur d'emploi).
ORIGINES = Choices(("SL", "Salarié (SL)"), ("DE", "Demandeur d'emploi (DE)"))
CREATEURS_DOSSIER = Choices(
    ("employeur", "Employeur"), ("etablissement", "Établissement"),
    ("secretariat", "Secrétariat"), ("candidat", "Candidat (VAE)"),
)
PARCOURS = Choices(
    ("1", "Parcours n°1 — développement des compétences"),
    ("2", "Parcours n°2 — VAE simplifiée (salariés de la branche)"),
    ("3", "Parcours n°3 — VAE de droit commun"),
)
RECEVABILITE = Choices(("en_attente", "En attente"), ("recevable", "Recevable"),
                       ("refusee", "Refusée"))
MOTIFS_ABANDON = Choices(
    ("candidat", "Abandon du candidat"),
    ("injoignable", "Candidat injoignable"),
    ("emploi", "Reprise d'emploi / changement de situation"),
    ("sante", "Raisons de santé"),
    ("automatique", "Abandon automatique (évaluation préalable trop ancienne)"),
    ("autre", "Autre"),
)
TYPES_PIECE = Choices(
    ("piece_identite", "Pièce d'identité"),
    ("diplome", "Diplôme"),
    ("cerfa_12818", "CERFA n°12818*02"),
    ("dossier_candidat", "Dossier candidat (outil n°6)"),
    ("dossier_vae", "Dossier VAE (outil n°7)"),
    ("guide_evaluation", "Guide d'évaluation des compétences (outil n°4)"),
    ("guide_evaluation_vae", "Guide d'évaluation VAE (outil n°8)"),
    ("matrice_evaluation", "Matrice d'évaluation complétée"),
    ("attestation_formation", "Attestation de formation"),
    ("preuve_formation", "Autre preuve de formation"),
    ("complement", "Complément demandé par le jury"),
    ("autre", "Autre document"),
)
MOTIFS_RATTACHEMENT = Choices(
    ("demenagement", "Déménagement du candidat"),
    ("fermeture", "Fermeture de l'établissement"),
    ("souhait_candidat", "Souhait motivé du candidat"),
    ("autre", "Autre (préciser)"),
)
ETATS_RATTACHEMENT = Choices(("en_attente", "En attente"), ("acceptee", "Acceptée"),
                             ("refusee", "Refusée"))
# Collectivités d'outre-mer: their postal codes start with these (R-CAN-1 "born in an overseas
# collectivity"). Départements d'outre-mer (971-974, 976) are ordinary French birthplaces.
CP_OUTRE_MER = ("975", "977", "978", "986", "987", "988")


def cle(value: str | None) -> str:
    """Search key: no accents, upper case, letters and digits separated by single spaces."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    text = text.replace("Œ", "OE").replace("Æ", "AE").replace("ß", "SS")
    return " ".join(re.findall(r"[A-Z0-9]+", text))


# On PostgreSQL the keys use the C collation so that the prefix range of a search uses the
# btree index (ordering is then plain byte order, like SQLite's BINARY).
KeyString = sa.String(120).with_variant(sa.String(120, collation="C"), "postgresql")


class Candidat(Model):
    """A person, once: dossiers of the same person share this row (R-CAN-1, R-CAN-2)."""

    __tablename__ = "candidat"
    __table_args__ = (
        CIVILITES.check("civilite", "ck_candidat_civilite"),
        sa.CheckConstraint("NOT (ne_etranger AND ne_outre_mer)", name="ck_candidat_naissance"),
        sa.Index("ix_candidat_cle_nom", "cle_nom", "cle_prenom", "date_naissance"),
        sa.Index("ix_candidat_cle_nom_usage", "cle_nom_usage", "cle_prenom"),
        sa.Index("ix_candidat_naissance", "date_naissance", "cle_nom"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    civilite = sa.Column(sa.String(3), nullable=False)
    nom_naissance = sa.Column(sa.String(100), nullable=False)
    nom_usage = sa.Column(sa.String(100))
    prenom = sa.Column(sa.String(100), nullable=False)
    date_naissance = sa.Column(sa.Date, nullable=False)
    ne_etranger = sa.Column(sa.Boolean, nullable=False, default=False)
    ne_outre_mer = sa.Column(sa.Boolean, nullable=False, default=False)
    ville_naissance = sa.Column(sa.String(120))
    code_postal_naissance = sa.Column(sa.String(5))
    pays_naissance = sa.Column(sa.String(80))
    email = sa.Column(sa.String(200))
    telephone = sa.Column(sa.String(30))
    adresse = sa.Column(sa.String(250))
    code_postal = sa.Column(sa.String(10))
    ville = sa.Column(sa.String(120))
    pays = sa.Column(sa.String(80), default="France")
    # Normalised keys (R-CAN-2), kept in step by the mapper events below.
    cle_nom = sa.Column(KeyString, nullable=False, default="")
    cle_nom_usage = sa.Column(KeyString)
    cle_prenom = sa.Column(KeyString, nullable=False, default="")
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    candidatures = relationship("Candidature", back_populates="candidat")

    def refresh_keys(self):
        self.cle_nom = cle(self.nom_naissance)
        self.cle_nom_usage = cle(self.nom_usage) or None
        self.cle_prenom = cle(self.prenom)

    @property
    def nom_complet(self):
        usage = f" ({self.nom_usage})" if self.nom_usage and cle(self.nom_usage) != self.cle_nom else ""
        return f"{(self.nom_naissance or '').upper()}{usage} {self.prenom or ''}".strip()

    @property
    def civilite_label(self):
        return CIVILITES.label(self.civilite)

    @property
    def lieu_naissance(self):
        if self.ne_etranger:
            return ", ".join(x for x in (self.ville_naissance, self.pays_naissance) if x)
        return " ".join(x for x in (self.code_postal_naissance, self.ville_naissance) if x)

    def __repr__(self):
        return self.nom_complet


@sa.event.listens_for(Candidat, "before_insert")
@sa.event.listens_for(Candidat, "before_update")
def _candidat_keys(mapper, connection, target):
    target.refresh_keys()


class NumeroSequence(Model):
    """Last number given per (dispositif code, year); incremented atomically (R-CAN-5)."""

    __tablename__ = "numero_sequence"
    cle = sa.Column(sa.String(40), primary_key=True)
    dernier = sa.Column(sa.Integer, nullable=False, default=0)


class Candidature(Model):
    """A dossier: one candidate, one certification, one workflow (R-CAN-3, R-CAN-5, R-WF-*)."""

    __tablename__ = "candidature"
    __table_args__ = (
        STATUTS.check("statut", "ck_candidature_statut"),
        sa.CheckConstraint("origine IS NULL OR origine IN ('SL', 'DE')", name="ck_candidature_origine"),
        sa.CheckConstraint("parcours IS NULL OR parcours IN ('1', '2', '3')",
                           name="ck_candidature_parcours"),
        sa.CheckConstraint("niveau_formation IS NULL OR niveau_formation BETWEEN 1 AND 8",
                           name="ck_candidature_niveau"),
        # A decided dossier has its decision date; an abandoned one its reason (R-CAN-7);
        # a refused recevabilité its reasons (R-CAN-8).
        sa.CheckConstraint("decision IS NULL OR decide_le IS NOT NULL", name="ck_candidature_decision"),
        sa.CheckConstraint("statut <> 'abandonnee' OR (abandon_motif IS NOT NULL AND abandonne_le IS NOT NULL)",
                           name="ck_candidature_abandon"),
        sa.CheckConstraint("recevabilite_statut IS NULL OR recevabilite_statut IN "
                           "('en_attente', 'recevable', 'refusee')", name="ck_candidature_recevabilite"),
        sa.CheckConstraint("recevabilite_statut IS NULL OR recevabilite_statut <> 'refusee' "
                           "OR recevabilite_motif IS NOT NULL", name="ck_candidature_recevabilite_motif"),
        sa.Index("ix_candidature_dispositif_statut", "dispositif_id", "statut", "created_on"),
        # Issue 9: each perimeter level (one column, app/security/perimeter.py) has its list
        # order (created_on, id: deep pages read ids from the index alone), the dashboard's "last
        # modified" (updated_on) and "last certified" (decide_le, decided dossiers only).
        sa.Index("ix_candidature_dispositif_created", "dispositif_id", "created_on", "id"),
        sa.Index("ix_candidature_etablissement", "etablissement_id", "created_on", "id"),
        sa.Index("ix_candidature_organisme_created", "organisme_id", "created_on", "id"),
        sa.Index("ix_candidature_reseau_created", "reseau_id", "created_on", "id"),
        sa.Index("ix_candidature_entreprise_created", "entreprise_id", "created_on", "id"),
        sa.Index("ix_candidature_dispositif_updated", "dispositif_id", "updated_on"),
        sa.Index("ix_candidature_etablissement_updated", "etablissement_id", "updated_on"),
        sa.Index("ix_candidature_organisme_updated", "organisme_id", "updated_on"),
        sa.Index("ix_candidature_reseau_updated", "reseau_id", "updated_on"),
        # The managers' report of a dispositif reads every column it needs from this index alone.
        sa.Index("ix_candidature_dispositif_rapport", "dispositif_id", "certification_id", "statut",
                 "decision", "created_on", "envoye_le", "decide_le", "etape_evaluation_le",
                 "etape_jury_le", "etape_certificat_le", "etablissement_id", "entreprise_id"),
        *[sa.Index(f"ix_candidature_{level}_decide", f"{level}_id", "decide_le",
                   postgresql_where=sa.text("decide_le IS NOT NULL"),
                   sqlite_where=sa.text("decide_le IS NOT NULL"))
          for level in ("dispositif", "etablissement", "organisme", "reseau")],
        sa.Index("ix_candidature_candidat_cert", "candidat_id", "certification_id"),
        sa.Index("ix_candidature_created", "created_on", "id"),
        sa.Index("ix_candidature_abandon", "statut", "abandonne_le"),
        # The creation form's defaults: the last dossier its user created (issue 16 item 7).
        sa.Index("ix_candidature_createur", "createur_id", "id"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    numero = sa.Column(sa.String(50), nullable=False, unique=True)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    updated_on = sa.Column(sa.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    envoye_le = sa.Column(sa.DateTime)  # R-CAN-5: sent to certification / registered for the jury

    candidat_id = sa.Column(sa.ForeignKey("candidat.id"), nullable=False)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), nullable=False)
    certification_id = sa.Column(sa.ForeignKey("certification.id"), nullable=False, index=True)
    # Denormalised from the établissement so that every perimeter filter is one indexed column.
    etablissement_id = sa.Column(sa.ForeignKey("etablissement.id"))
    organisme_id = sa.Column(sa.ForeignKey("organisme.id"))
    reseau_id = sa.Column(sa.ForeignKey("reseau.id"))
    entreprise_id = sa.Column(sa.ForeignKey("entreprise.id"))
    # Chimie: the training organisation named by the employer (R-HAB-6 independence), no access.
    organisme_formation_id = sa.Column(sa.ForeignKey("organisme.id"))
    evaluateur_id = sa.Column(sa.ForeignKey("ab_user.id"), index=True)
    evaluateur_confirme_le = sa.Column(sa.DateTime)
    createur_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    createur_type = sa.Column(sa.String(20), nullable=False, default="etablissement")

    # R-CAN-3
    financement = sa.Column(sa.String(10))
    statut_inscription = sa.Column(sa.String(32))
    origine = sa.Column(sa.String(2))
    type_public = sa.Column(sa.String(120))
    niveau_formation = sa.Column(sa.Integer)
    branche_delegataire = sa.Column(sa.String(150))
    socle_contextualise = sa.Column(sa.Boolean, nullable=False, default=False)
    origine_demarche = sa.Column(sa.String(150))
    diplomes = sa.Column(sa.Text)
    objectifs_professionnels = sa.Column(sa.Text)
    objectifs_extra_professionnels = sa.Column(sa.Text)
    # Metallurgy: the company's opinion does not apply to an employee-initiated dossier.
    initiative_salarie = sa.Column(sa.Boolean, nullable=False, default=False)
    parcours = sa.Column(sa.String(1))
    vae = sa.Column(sa.Boolean, nullable=False, default=False)
    cqpi_detenu_id = sa.Column(sa.ForeignKey("certification.id"))  # R-CAN-9
    # R-REF-2: the candidate asks, in the dossier, for the CQPI a chemical CQP gives by equivalence.
    cqpi_demande = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())

    statut = sa.Column(sa.String(40), nullable=False)
    statut_avant_abandon = sa.Column(sa.String(40))
    abandon_motif = sa.Column(sa.String(20))
    abandon_precision = sa.Column(sa.Text)
    abandonne_le = sa.Column(sa.DateTime)
    abandon_auto = sa.Column(sa.Boolean, nullable=False, default=False)

    # VAE (R-CAN-8)
    recevabilite_recue_le = sa.Column(sa.Date)
    recevabilite_statut = sa.Column(sa.String(12))
    recevabilite_decidee_le = sa.Column(sa.Date)
    recevabilite_motif = sa.Column(sa.Text)
    vae_alertes = sa.Column(sa.String(200), nullable=False, default="")

    # Set by the jury's decision (the jury feature calls apply_decision).
    decision = sa.Column(sa.String(20))
    decide_le = sa.Column(sa.Date)
    # Step dates for the managers' reports, recomputed from their sources (app/models/etapes.py).
    etape_evaluation_le = sa.Column(sa.Date)
    etape_jury_le = sa.Column(sa.Date)
    etape_certificat_le = sa.Column(sa.DateTime)

    candidat = relationship("Candidat", back_populates="candidatures", lazy="selectin")
    dispositif = relationship("Dispositif", lazy="selectin")
    certification = relationship("Certification", foreign_keys=[certification_id], lazy="selectin")
    cqpi_detenu = relationship("Certification", foreign_keys=[cqpi_detenu_id])
    etablissement = relationship("Etablissement", lazy="selectin")
    organisme = relationship("Organisme", foreign_keys=[organisme_id])
    organisme_formation = relationship("Organisme", foreign_keys=[organisme_formation_id])
    reseau = relationship("Reseau")
    entreprise = relationship("Entreprise", lazy="selectin")
    evaluateur = relationship(User, foreign_keys=[evaluateur_id], lazy="selectin")
    createur = relationship(User, foreign_keys=[createur_id])
    documents = relationship("Document", back_populates="candidature", order_by="Document.id",
                             passive_deletes=True)
    historique = relationship("Historique", back_populates="candidature",
                              order_by="Historique.id", passive_deletes=True)
    evaluations = relationship("Evaluation", back_populates="candidature",
                               order_by="Evaluation.id", passive_deletes=True)
    formations = relationship("Formation", back_populates="candidature",
                              order_by="Formation.date_debut", passive_deletes=True)
    amenagements = relationship("Amenagement", back_populates="candidature",
                                order_by="Amenagement.id", passive_deletes=True)

    @property
    def statut_label(self):
        return STATUTS.label(self.statut)

    @property
    def statut_inscription_label(self):
        return STATUTS_INSCRIPTION.label(self.statut_inscription) if self.statut_inscription else ""

    @property
    def financement_label(self):
        from app.seed_data.referentiels import FINANCEMENTS
        return dict(FINANCEMENTS).get(self.financement, self.financement or "")

    @property
    def origine_label(self):
        return ORIGINES.label(self.origine) if self.origine else ""

    @property
    def decision_label(self):
        from app.models.referentiel import DECISION_LABELS
        return dict(DECISION_LABELS).get(self.decision, self.decision or "")

    @property
    def abandon_motif_label(self):
        return MOTIFS_ABANDON.label(self.abandon_motif) if self.abandon_motif else ""

    @property
    def locked(self) -> bool:
        """R-WF-3: sent to certification (or decided): the organisation can no longer modify it."""
        return self.statut in LOCKED

    @property
    def titulaire(self) -> str:
        """Who holds the dossier: its établissement, else its company."""
        if self.etablissement is not None:
            return self.etablissement.nom
        return self.entreprise.raison_sociale if self.entreprise is not None else ""

    @property
    def region(self):
        """The dossier's région (R-HAB-5): its établissement's, else its company's."""
        if self.etablissement is not None and self.etablissement.region:
            return self.etablissement.region
        return self.entreprise.region if self.entreprise is not None else None

    def __repr__(self):
        return self.numero or f"Candidature {self.id}"


class Document(Model):
    """An attachment stored in the database (shared by every worker), R-CAN-4."""

    __tablename__ = "document"
    __table_args__ = (
        sa.UniqueConstraint("candidature_id", "sha256", name="uq_piece_sha256"),
        TYPES_PIECE.check("type_piece", "ck_piece_type"),
        sa.CheckConstraint("taille > 0 AND taille <= 4194304", name="ck_piece_taille"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"), nullable=False,
                               index=True)
    evaluation_id = sa.Column(sa.ForeignKey("evaluation.id", ondelete="SET NULL"), index=True)
    formation_id = sa.Column(sa.ForeignKey("formation.id", ondelete="SET NULL"), index=True)
    type_piece = sa.Column(sa.String(32), nullable=False, default="autre")
    nom_fichier = sa.Column(sa.String(255), nullable=False)
    mimetype = sa.Column(sa.String(120), nullable=False)
    format = sa.Column(sa.String(10), nullable=False)
    taille = sa.Column(sa.Integer, nullable=False)
    sha256 = sa.Column(sa.String(64), nullable=False)
    contenu = deferred(sa.Column(sa.LargeBinary, nullable=False))
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))

    candidature = relationship("Candidature", back_populates="documents")
    created_by = relationship(User)

    @property
    def type_label(self):
        return TYPES_PIECE.label(self.type_piece)


class Historique(Model):
    """R-WF-5: one line per move or notable event; never updated, never deleted through the ORM."""

    __tablename__ = "historique"
    __table_args__ = (sa.Index("ix_historique_candidature", "candidature_id", "id"),)
    id = sa.Column(sa.Integer, primary_key=True)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"), nullable=False)
    statut_avant = sa.Column(sa.String(40))
    statut_apres = sa.Column(sa.String(40))
    action = sa.Column(sa.String(40), nullable=False)
    libelle = sa.Column(sa.String(200), nullable=False)
    commentaire = sa.Column(sa.Text)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    auteur = sa.Column(sa.String(200), nullable=False, default="Système")
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    candidature = relationship("Candidature", back_populates="historique")

    @property
    def statut_avant_label(self):
        return STATUTS.label(self.statut_avant)

    @property
    def statut_apres_label(self):
        return STATUTS.label(self.statut_apres)


class HistoryIsAppendOnly(Exception):
    pass


@sa.event.listens_for(Historique, "before_update")
@sa.event.listens_for(Historique, "before_delete")
def _history_is_append_only(mapper, connection, target):
    raise HistoryIsAppendOnly("L'historique d'un dossier ne peut être ni modifié ni supprimé (R-WF-5).")


class RattachementDemande(Model):
    """R-CAN-6: an établissement asks to take over a dossier; the certifier decides."""

    __tablename__ = "rattachement_demande"
    __table_args__ = (
        MOTIFS_RATTACHEMENT.check("motif", "ck_rattachement_motif"),
        ETATS_RATTACHEMENT.check("etat", "ck_rattachement_etat"),
        sa.CheckConstraint("motif <> 'autre' OR precision IS NOT NULL", name="ck_rattachement_precision"),
        sa.Index("ix_rattachement_etat", "etat", "created_on"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="CASCADE"), nullable=False,
                               index=True)
    etablissement_demandeur_id = sa.Column(sa.ForeignKey("etablissement.id"), nullable=False,
                                           index=True)
    ancien_etablissement_id = sa.Column(sa.ForeignKey("etablissement.id"))
    motif = sa.Column(sa.String(20), nullable=False)
    precision = sa.Column(sa.Text)
    etat = sa.Column(sa.String(12), nullable=False, default="en_attente")
    reponse = sa.Column(sa.Text)
    demandeur_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    decide_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    decide_le = sa.Column(sa.DateTime)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    candidature = relationship("Candidature", lazy="joined")
    etablissement_demandeur = relationship("Etablissement", foreign_keys=[etablissement_demandeur_id],
                                           lazy="joined")
    ancien_etablissement = relationship("Etablissement", foreign_keys=[ancien_etablissement_id],
                                        lazy="selectin")
    demandeur = relationship(User, foreign_keys=[demandeur_id], lazy="selectin")

    @property
    def motif_label(self):
        return MOTIFS_RATTACHEMENT.label(self.motif)

    @property
    def etat_label(self):
        return ETATS_RATTACHEMENT.label(self.etat)
