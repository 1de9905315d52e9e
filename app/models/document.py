"""Issued documents (R-DOC-1…6): PV, attendance sheets, letters, certificates; their mailing
history (R-ENV-1/2) and the background print batches (BatchJob).

An issued document is a snapshot: its number, the frozen data it shows, the PDF and its SHA-256
never change once written (DESIGN practice 9). A correction or a duplicate is a new row pointing
to the old one (`remplace_id`); only the status (valid → revoked) may change afterwards.
"""
import sqlalchemy as sa
from sqlalchemy.orm import column_property, deferred, relationship

from .base import Choices, Model, utcnow

TYPES_DOCUMENT = Choices(
    ("pv", "Procès-verbal du jury"),
    ("emargement", "Feuille d'émargement"),
    ("lettre_gtp", "Lettre au GTP Certifications"),
    ("certificat", "Certificat"),
    ("lettre_decision", "Lettre de décision"),
)
STATUTS_DOCUMENT = Choices(("valide", "Valide"), ("revoque", "Révoqué"))
# R-ENV-2: letter statuses of the CléA platform's "Historique des envois".
STATUTS_ENVOI = Choices(
    ("envoye", "Envoyé"),
    ("pli_non_distribue", "Pli non distribué"),
    ("remis", "Remis en main propre"),
    ("renvoye", "Renvoyé"),
)
CANAUX_ENVOI = Choices(
    ("courrier", "Courrier simple"),
    ("lettre_suivie", "Lettre suivie"),
    ("recommande", "Lettre recommandée avec AR"),
    ("remise", "Remise en main propre"),
    ("email", "Courrier électronique"),
)
STATUTS_LOT = Choices(("en_attente", "En attente"), ("en_cours", "En cours"),
                      ("termine", "Terminé"), ("echec", "Échec"))

# Columns that make the document what it is: never changed after issue (see the event below).
FROZEN = ("type", "modele", "numero", "dispositif_id", "donnees", "pdf", "sha256", "taille",
          "code_verification", "remplace_id", "duplicata", "emis_le", "emis_par_id",
          "candidature_id", "jury_id", "titulaire", "intitule", "date_reference", "envoi_papier",
          "cle_original")
VALIDE = sa.text("statut = 'valide'")


class DocumentEmis(Model):
    __tablename__ = "document_emis"
    __table_args__ = (
        TYPES_DOCUMENT.check("type", "ck_document_type"),
        STATUTS_DOCUMENT.check("statut", "ck_document_statut"),
        # R-DOC-4: one number, one document, across every dispositif (the public verification
        # page and the holder's employers read the number alone).
        sa.UniqueConstraint("numero", name="uq_document_numero_plateforme"),
        # R-DOC-4/5: one valid original per thing issued (a dossier's certificate of a
        # certification or bloc, its decision letter of a jury, a jury's PV, attendance sheet,
        # letter to the GTP). Duplicates have no key; a revoked original frees it.
        sa.Index("uq_document_original", "cle_original", unique=True,
                 postgresql_where=VALIDE, sqlite_where=VALIDE),
        sa.CheckConstraint("statut = 'valide' OR revoque_le IS NOT NULL",
                           name="ck_document_revocation_date"),
        sa.Index("ix_document_dispositif_emis", "dispositif_id", "emis_le", "id"),
        sa.Index("ix_document_jury_type", "jury_id", "type"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), nullable=False)
    type = sa.Column(sa.String(20), nullable=False)
    modele = sa.Column(sa.String(60), nullable=False)          # template it was rendered with
    numero = sa.Column(sa.String(40), nullable=False)
    # A frozen copy of everything the document shows: re-rendering it gives the same page.
    # Deferred like the PDF: a PV's copy holds every candidate, lists never need it.
    donnees = deferred(sa.Column(sa.JSON, nullable=False))
    pdf = deferred(sa.Column(sa.LargeBinary, nullable=False))  # never loaded by lists
    taille = sa.Column(sa.Integer, nullable=False)
    sha256 = sa.Column(sa.String(64), nullable=False, index=True)
    # Random, not derived from the id: codes cannot be enumerated on the public page.
    code_verification = sa.Column(sa.String(16), nullable=False, unique=True)
    # active_history: the previous status is known even when the row was expired (revoked stays).
    statut = column_property(sa.Column(sa.String(10), nullable=False, default="valide"),
                             active_history=True)
    motif_revocation = sa.Column(sa.Text)
    revoque_le = sa.Column(sa.DateTime)
    revoque_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    remplace_id = sa.Column(sa.ForeignKey("document_emis.id"), index=True)
    duplicata = sa.Column(sa.Boolean, nullable=False, default=False)
    emis_le = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    emis_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    candidature_id = sa.Column(sa.ForeignKey("candidature.id"), index=True)
    jury_id = sa.Column(sa.Integer)  # the jury model comes later; indexed with the type above
    # Shown in lists without opening the JSON: holder, what it certifies, jury (or issue) date.
    titulaire = sa.Column(sa.String(200))
    intitule = sa.Column(sa.String(300), nullable=False, default="")
    date_reference = sa.Column(sa.Date)
    envoi_papier = sa.Column(sa.Boolean, nullable=False, default=False)  # R-ENV-1
    # What this original is the original of (documents_emis.original_key); NULL for a duplicate
    # and for documents issued outside a jury or a dossier.
    cle_original = sa.Column(sa.String(200))

    dispositif = relationship("Dispositif", lazy="joined")
    candidature = relationship("Candidature", lazy="select", viewonly=True)
    remplace = relationship("DocumentEmis", remote_side=[id], lazy="select")
    envois = relationship("Envoi", back_populates="document", order_by="Envoi.id",
                          lazy="select")

    @property
    def type_label(self):
        return TYPES_DOCUMENT.label(self.type)

    @property
    def statut_label(self):
        # A document revoked because a corrected (or approved) version took its place says so.
        if self.statut == "revoque" and self.remplace_par_id is not None:
            return "Remplacé"
        return STATUTS_DOCUMENT.label(self.statut)

    @property
    def valide(self) -> bool:
        return self.statut == "valide"

    def __repr__(self):
        return f"{self.type_label} n° {self.numero}"


class Envoi(Model):
    """One line of a certificate's mailing history (R-ENV-2)."""

    __tablename__ = "envoi"
    __table_args__ = (
        STATUTS_ENVOI.check("statut", "ck_envoi_statut"),
        CANAUX_ENVOI.check("canal", "ck_envoi_canal"),
        sa.Index("ix_envoi_document", "document_id", "id"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    document_id = sa.Column(sa.ForeignKey("document_emis.id"), nullable=False)
    statut = sa.Column(sa.String(20), nullable=False)
    date_traitement = sa.Column(sa.Date, nullable=False)
    canal = sa.Column(sa.String(20), nullable=False)
    numero_suivi = sa.Column(sa.String(60))
    commentaire = sa.Column(sa.Text, nullable=False, default="")
    adresse = sa.Column(sa.Text)  # where it was posted (R-ENV-1: the dossier's address)
    enregistre_le = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    enregistre_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))

    document = relationship("DocumentEmis", back_populates="envois")

    @property
    def statut_label(self):
        return STATUTS_ENVOI.label(self.statut)

    @property
    def canal_label(self):
        return CANAUX_ENVOI.label(self.canal)


# Last mailing status of a document, as one correlated subquery (lists show "Courrier envoyé"
# without a query per row).
DocumentEmis.courrier_statut = sa.orm.column_property(
    sa.select(Envoi.statut).where(Envoi.document_id == DocumentEmis.id)
    .order_by(Envoi.id.desc()).limit(1).correlate_except(Envoi).scalar_subquery(),
    deferred=False,
)
# A correction (not a duplicate) points to this document: it was replaced, not merely revoked.
# (A table alias, not aliased(): that would configure every mapper while models still import.)
_correction = DocumentEmis.__table__.alias("correction")
# An id, not an EXISTS: the views read boolean columns as form checkboxes.
DocumentEmis.remplace_par_id = sa.orm.column_property(
    sa.select(_correction.c.id).where(_correction.c.remplace_id == DocumentEmis.id,
                                      _correction.c.duplicata.is_(False))
    .order_by(_correction.c.id).limit(1).correlate_except(_correction).scalar_subquery(),
    deferred=False,
)
COURRIER_LABELS = {"envoye": "Courrier envoyé", "remis": "Remis en main propre",
                   "pli_non_distribue": "Pli non distribué", "renvoye": "Courrier renvoyé"}
DocumentEmis.courrier_label = property(lambda self: COURRIER_LABELS.get(self.courrier_statut, ""))


class BatchJob(Model):
    """A background job producing a file (print batch of certificates) and its progress."""

    __tablename__ = "batch_job"
    __table_args__ = (STATUTS_LOT.check("statut", "ck_batch_job_statut"),)
    id = sa.Column(sa.Integer, primary_key=True)
    kind = sa.Column(sa.String(40), nullable=False, default="impression_certificats")
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), nullable=False, index=True)
    params = sa.Column(sa.JSON, nullable=False)
    total = sa.Column(sa.Integer, nullable=False)
    done = sa.Column(sa.Integer, nullable=False, default=0)
    statut = sa.Column(sa.String(12), nullable=False, default="en_attente")
    error = sa.Column(sa.Text)
    result = deferred(sa.Column(sa.LargeBinary))
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    created_by_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    finished_on = sa.Column(sa.DateTime)

    @property
    def statut_label(self):
        return STATUTS_LOT.label(self.statut)

    @property
    def progress(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


class DocumentFigeError(Exception):
    """An attempt to change an issued document (programming error, never a user action)."""


@sa.event.listens_for(DocumentEmis, "before_update")
def _refuse_changes(mapper, connection, target):
    state = sa.inspect(target)
    changed = [name for name in FROZEN if state.attrs[name].history.has_changes()]
    if changed:
        raise DocumentFigeError(
            f"Un document émis ne se modifie pas ({', '.join(changed)}) : émettez une correction "
            "ou un duplicata, qui pointera vers lui.")
    previous = state.attrs.statut.history.deleted
    if previous and previous[0] == "revoque" and target.statut != "revoque":
        raise DocumentFigeError("Un document révoqué le reste.")


@sa.event.listens_for(DocumentEmis, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise DocumentFigeError("Un document émis ne se supprime pas (R-ARC-2, R-ARC-3) : révoquez-le.")
