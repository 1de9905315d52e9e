"""Training networks, organisations, their établissements, and employers."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship, validates

from app.formats import FormatError, check_code_postal, check_naf, check_siren, check_siret

from .base import Choices, Model, utcnow


def _checked(check, key, value, rule):
    """Run a format check; a bad value becomes a rule message on the form field `key`."""
    from app.errors import RuleViolation
    if value in (None, "") and key in ("naf", "code_postal"):
        return None
    try:
        return check(value)
    except FormatError as exc:
        raise RuleViolation(str(exc), rule, field=key)


REGIONS = [
    "Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne", "Centre-Val de Loire", "Corse",
    "Grand Est", "Hauts-de-France", "Île-de-France", "Normandie", "Nouvelle-Aquitaine", "Occitanie",
    "Pays de la Loire", "Provence-Alpes-Côte d'Azur", "Guadeloupe", "Martinique", "Guyane",
    "La Réunion", "Mayotte",
]


class Reseau(Model):
    __tablename__ = "reseau"
    id = sa.Column(sa.Integer, primary_key=True)
    nom = sa.Column(sa.String(150), nullable=False, unique=True)
    # R-HAB-6: a national network (GRETA, AFPI, AFPA…) matters for evaluator independence.
    national = sa.Column(sa.Boolean, nullable=False, default=False)
    # R-NOT-2: notify the network's administrators of every new candidature.
    notifier_candidatures = sa.Column(sa.Boolean, nullable=False, default=False)
    created_on = sa.Column(sa.DateTime, default=utcnow, nullable=False)

    organismes = relationship("Organisme", back_populates="reseau")

    def __repr__(self):
        return self.nom


class Organisme(Model):
    __tablename__ = "organisme"
    id = sa.Column(sa.Integer, primary_key=True)
    reseau_id = sa.Column(sa.ForeignKey("reseau.id"), index=True)
    nom = sa.Column(sa.String(150), nullable=False)
    siren = sa.Column(sa.String(9), nullable=False, unique=True)
    actif = sa.Column(sa.Boolean, nullable=False, default=True)
    created_on = sa.Column(sa.DateTime, default=utcnow, nullable=False)

    reseau = relationship("Reseau", back_populates="organismes", lazy="joined")
    etablissements = relationship("Etablissement", back_populates="organisme")

    @validates("siren")
    def _siren(self, key, value):  # R-FMT-1
        return _checked(check_siren, key, value, "R-FMT-1")

    @validates("nom")
    def _nom(self, key, value):
        """R-FMT-3: the établissements' names begin with the organisme's: a rename follows."""
        if self.id is not None:
            for etablissement in self.etablissements:
                etablissement.nom = Etablissement.display_name(value, etablissement.libelle)
        return value

    def __repr__(self):
        return self.nom


class Etablissement(Model):
    __tablename__ = "etablissement"
    id = sa.Column(sa.Integer, primary_key=True)
    organisme_id = sa.Column(sa.ForeignKey("organisme.id"), nullable=False, index=True)
    # R-FMT-3: the displayed name is "<ORGANISME> <établissement or city>", kept in `nom`.
    libelle = sa.Column(sa.String(150), nullable=False)
    nom = sa.Column(sa.String(310), nullable=False, index=True)
    siret = sa.Column(sa.String(14), nullable=False, unique=True)
    adresse = sa.Column(sa.String(250))
    code_postal = sa.Column(sa.String(5))
    ville = sa.Column(sa.String(120))
    region = sa.Column(sa.String(60), index=True)
    contact_nom = sa.Column(sa.String(150))
    contact_email = sa.Column(sa.String(200))
    contact_telephone = sa.Column(sa.String(30))
    contact_public_nom = sa.Column(sa.String(150))
    contact_public_email = sa.Column(sa.String(200))
    contact_public_telephone = sa.Column(sa.String(30))
    actif = sa.Column(sa.Boolean, nullable=False, default=True)
    created_on = sa.Column(sa.DateTime, default=utcnow, nullable=False)

    organisme = relationship("Organisme", back_populates="etablissements", lazy="joined")

    @validates("siret")
    def _siret(self, key, value):  # R-FMT-1
        return _checked(check_siret, key, value, "R-FMT-1")

    @validates("code_postal")
    def _cp(self, key, value):  # R-FMT-2
        return _checked(check_code_postal, key, value, "R-FMT-2")

    @staticmethod
    def bare_label(organisme_nom: str, libelle: str) -> str:
        """The label without the organisme's name someone typed in front of it."""
        organisme_nom = (organisme_nom or "").strip().upper()
        libelle = (libelle or "").strip()
        if organisme_nom and libelle.upper().startswith(organisme_nom + " "):
            libelle = libelle[len(organisme_nom) + 1:].strip()
        return libelle

    @staticmethod
    def display_name(organisme_nom: str, libelle: str) -> str:
        """R-FMT-3: '<ORGANISME> <établissement or city>'."""
        organisme_nom = (organisme_nom or "").strip().upper()
        return f"{organisme_nom} {Etablissement.bare_label(organisme_nom, libelle)}".strip()

    def refresh_nom(self):
        organisme_nom = self.organisme.nom if self.organisme else ""
        # Keep the bare label, so that renaming the organisme later renames this one cleanly.
        self.libelle = self.bare_label(organisme_nom, self.libelle) or self.libelle
        self.nom = self.display_name(organisme_nom, self.libelle)

    @property
    def en_activite(self) -> bool:
        """R-ACC-3: an établissement works only while it and its organisme are active."""
        return bool(self.actif and self.organisme and self.organisme.actif)

    def __repr__(self):
        return self.nom


# The dispositifs (branches) whose certifications the company's employers propose (R-DIS-2).
entreprise_dispositif = sa.Table(
    "entreprise_dispositif",
    Model.metadata,
    sa.Column("entreprise_id", sa.ForeignKey("entreprise.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("dispositif_id", sa.ForeignKey("dispositif.id", ondelete="CASCADE"), primary_key=True),
)


# Annexe 14 of the metallurgy scheme: M = metal working companies, HM = the others.
SECTEURS = Choices(("M", "Métaux"), ("HM", "Hors métaux"))


class Entreprise(Model):
    """An employer; one account per établissement, i.e. per SIRET (R-ACC-6)."""

    __tablename__ = "entreprise"
    __table_args__ = (
        # The same DDL as before; info gives the screens the labels (app/views/french.py).
        sa.CheckConstraint("secteur IS NULL OR secteur IN ('M', 'HM')", name="ck_entreprise_secteur",
                           info={"choices": SECTEURS, "column": "secteur"}),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    raison_sociale = sa.Column(sa.String(200), nullable=False, index=True)
    siret = sa.Column(sa.String(14), nullable=False, unique=True)
    naf = sa.Column(sa.String(6))
    secteur = sa.Column(sa.String(2))
    branche = sa.Column(sa.String(120))
    adresse = sa.Column(sa.String(250))
    code_postal = sa.Column(sa.String(5))
    ville = sa.Column(sa.String(120))
    region = sa.Column(sa.String(60))
    reseau_id = sa.Column(sa.ForeignKey("reseau.id"), index=True)  # R-HAB-6: member of a network
    actif = sa.Column(sa.Boolean, nullable=False, default=True)
    created_on = sa.Column(sa.DateTime, default=utcnow, nullable=False)

    reseau = relationship("Reseau")
    dispositifs = relationship("Dispositif", secondary=entreprise_dispositif,
                               order_by="Dispositif.id")

    def in_branch(self, dispositif) -> bool:
        """The company may propose this dispositif's certifications: one of its dispositifs, or
        any when none is recorded (a company known before its branch was)."""
        return not self.dispositifs or any(d.id == getattr(dispositif, "id", dispositif)
                                           for d in self.dispositifs)

    @validates("siret")
    def _siret(self, key, value):  # R-FMT-1
        return _checked(check_siret, key, value, "R-FMT-1")

    @validates("naf")
    def _naf(self, key, value):  # R-FMT-2
        return _checked(check_naf, key, value, "R-FMT-2")

    @validates("code_postal")
    def _cp(self, key, value):
        return _checked(check_code_postal, key, value, "R-FMT-2")

    @property
    def secteur_label(self) -> str:
        return SECTEURS.label(self.secteur) if self.secteur else ""

    def __repr__(self):
        return f"{self.raison_sociale} ({self.siret})"


@sa.event.listens_for(Etablissement, "before_insert")
@sa.event.listens_for(Etablissement, "before_update")
def _etablissement_nom(mapper, connection, target):
    if target.organisme is None and target.organisme_id:
        nom = connection.execute(
            sa.select(Organisme.nom).where(Organisme.id == target.organisme_id)
        ).scalar()
        target.libelle = Etablissement.bare_label(nom, target.libelle) or target.libelle
        target.nom = Etablissement.display_name(nom, target.libelle)
    else:
        target.refresh_nom()
