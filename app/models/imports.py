"""Bulk imports (issue 18): the uploaded file, its preview and its outcome; and, per row created,
the row's identity key, so that a file uploaded again creates nothing twice."""
import sqlalchemy as sa
from sqlalchemy.orm import deferred, relationship

from .base import Choices, Model, utcnow

KINDS = Choices(("candidats", "Candidats et dossiers"),
                ("etablissements", "Établissements et organismes"),
                ("evaluateurs", "Évaluateurs habilités"))
STATUTS_IMPORT = Choices(("verification", "Vérification en cours"),
                         ("apercu", "Aperçu à valider"), ("en_attente", "En attente"),
                         ("en_cours", "En cours"), ("terminee", "Terminé"),
                         ("echec", "Échec"), ("abandonnee", "Abandonné"))


class ImportFichier(Model):
    __tablename__ = "import_fichier"
    __table_args__ = (STATUTS_IMPORT.check("statut", "ck_import_fichier_statut"),
                      KINDS.check("kind", "ck_import_fichier_kind"))
    id = sa.Column(sa.Integer, primary_key=True)
    kind = sa.Column(sa.String(20), nullable=False)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), index=True)
    nom_fichier = sa.Column(sa.String(255), nullable=False)
    sha256 = sa.Column(sa.String(64), nullable=False, index=True)
    contenu = deferred(sa.Column(sa.LargeBinary, nullable=False))
    # header as written in the file -> field key, for the columns the user mapped by hand
    mapping = sa.Column(sa.JSON, nullable=False, default=dict)
    # [{"ligne": n, "erreurs": {key: message}, "deja": numero or None}] of the last validation
    resultats = deferred(sa.Column(sa.JSON))
    statut = sa.Column(sa.String(12), nullable=False, default="apercu")
    total = sa.Column(sa.Integer, nullable=False, default=0)
    valides = sa.Column(sa.Integer, nullable=False, default=0)
    erreurs = sa.Column(sa.Integer, nullable=False, default=0)
    deja_importees = sa.Column(sa.Integer, nullable=False, default=0)
    creees = sa.Column(sa.Integer, nullable=False, default=0)
    done = sa.Column(sa.Integer, nullable=False, default=0)
    error = sa.Column(sa.Text)
    created_by_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    finished_on = sa.Column(sa.DateTime)

    created_by = relationship("User", foreign_keys=[created_by_id])
    dispositif = relationship("Dispositif")

    @property
    def statut_label(self):
        return STATUTS_IMPORT.label(self.statut)

    @property
    def kind_label(self):
        return KINDS.label(self.kind)

    @property
    def progress(self) -> int:
        """Per cent of the rows checked (preview) or created (import)."""
        of = self.total if self.statut == "verification" else self.valides
        return min(100, int(100 * self.done / of)) if of else 100


class ImportLigne(Model):
    """A row an import created. `cle`: the row's identity (kind and identifying fields, hashed),
    unique: the same candidate for the same certification, the same SIRET, is created once
    whatever the file — and two imports running at once cannot both create it."""

    __tablename__ = "import_ligne"
    id = sa.Column(sa.Integer, primary_key=True)
    import_id = sa.Column(sa.ForeignKey("import_fichier.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    numero = sa.Column(sa.Integer, nullable=False)  # row number in the file (2 = first data row)
    cle = sa.Column(sa.String(64), nullable=False, unique=True)
    candidature_id = sa.Column(sa.ForeignKey("candidature.id", ondelete="SET NULL"), index=True)
    objet = sa.Column(sa.String(120))  # what was created, as the user reads it (n° de dossier…)
