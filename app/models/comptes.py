"""A user's profile: their role of DOMAIN.md §1 and their perimeter."""
import secrets

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import backref, relationship

from .base import Choices, Model, utcnow

# R-ACC-1: the order of the training-organisation roles, highest first. `rang` is the ceiling.
ROLES = Choices(
    ("admin", "Administrateur technique"),
    ("secretariat", "Secrétariat"),
    ("admin_reseau", "Administrateur réseau"),
    ("superviseur_reseau", "Superviseur réseau"),
    ("admin_organisme", "Administrateur organisme"),
    ("utilisateur_organisme", "Utilisateur organisme"),
    ("admin_etablissement", "Administrateur établissement"),
    ("utilisateur_etablissement", "Utilisateur établissement"),
    ("employeur", "Employeur"),
    ("evaluateur", "Évaluateur habilité"),
    ("jury", "Membre de jury"),
    ("manager", "Manager / observatoire"),
)
RANG = {
    "admin": 1000, "secretariat": 100,
    "admin_reseau": 60, "superviseur_reseau": 50, "admin_organisme": 40,
    "utilisateur_organisme": 30, "admin_etablissement": 20, "utilisateur_etablissement": 10,
    "employeur": 5, "evaluateur": 5, "jury": 5, "manager": 5,
}
INSCRIPTIONS = Choices(
    ("email_a_confirmer", "Adresse e-mail à confirmer"),
    ("a_approuver", "En attente d'approbation"),
    ("approuvee", "Approuvée"),
    ("refusee", "Refusée"),
)
# The perimeter column each role is attached to.
NIVEAU = {
    "admin": None, "secretariat": "dispositif", "manager": "dispositif",
    "admin_reseau": "reseau", "superviseur_reseau": "reseau",
    "admin_organisme": "organisme", "utilisateur_organisme": "organisme",
    "admin_etablissement": "etablissement", "utilisateur_etablissement": "etablissement",
    "employeur": "entreprise", "evaluateur": "user", "jury": "user",
}


class Profil(Model):
    __tablename__ = "profil"
    __table_args__ = (ROLES.check("role", "ck_profil_role"),
                      INSCRIPTIONS.check("inscription", "ck_profil_inscription"))
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, unique=True)
    role = sa.Column(sa.String(32), nullable=False)
    dispositif_id = sa.Column(sa.ForeignKey("dispositif.id"), index=True)
    reseau_id = sa.Column(sa.ForeignKey("reseau.id"), index=True)
    organisme_id = sa.Column(sa.ForeignKey("organisme.id"), index=True)
    etablissement_id = sa.Column(sa.ForeignKey("etablissement.id"), index=True)
    entreprise_id = sa.Column(sa.ForeignKey("entreprise.id"), index=True)
    telephone = sa.Column(sa.String(30))
    organisation = sa.Column(sa.String(200))  # employer / union of an evaluator or jury member
    # Rotated on every use of a signed link, which makes each link single-use (R-ACC-2).
    token_nonce = sa.Column(sa.String(32), nullable=False, default=lambda: secrets.token_hex(8))
    invitation_envoyee_le = sa.Column(sa.DateTime)
    created_on = sa.Column(sa.DateTime, default=utcnow, nullable=False)
    # Public employer sign-up (issue 14): NULL for accounts an administrator created; otherwise
    # the account sees and does nothing until its e-mail is confirmed and the request approved.
    inscription = sa.Column(sa.String(20))
    email_confirme_le = sa.Column(sa.DateTime)
    inscription_decide_le = sa.Column(sa.DateTime)
    inscription_decide_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    inscription_motif = sa.Column(sa.String(500))

    user = relationship(User, backref=backref("profil", uselist=False, lazy="joined"), lazy="joined",
                        foreign_keys=[user_id])
    # Joined: the users' list shows the perimeter of each row (no SELECT per row), and a user's
    # own profile is loaded with them at each request anyway.
    dispositif = relationship("Dispositif", lazy="joined")
    reseau = relationship("Reseau", lazy="joined")
    organisme = relationship("Organisme", lazy="joined")
    etablissement = relationship("Etablissement", lazy="joined")
    entreprise = relationship("Entreprise", lazy="joined")

    @property
    def approuve(self) -> bool:
        """Whether the account may work: not a pending or refused public sign-up."""
        return self.inscription in (None, "approuvee")

    @property
    def inscription_label(self):
        return INSCRIPTIONS.label(self.inscription) if self.inscription else "—"

    @property
    def role_label(self):
        return ROLES.label(self.role)

    @property
    def perimetre_label(self):
        target = {
            "dispositif": self.dispositif, "reseau": self.reseau, "organisme": self.organisme,
            "etablissement": self.etablissement, "entreprise": self.entreprise,
        }.get(NIVEAU.get(self.role))
        return str(target) if target is not None else "—"

    def __repr__(self):
        return f"{self.user.first_name} {self.user.last_name}" if self.user else f"Profil {self.id}"


# Second factor (issue 14 point 7): TOTP for the roles that can change everything.
ROLES_DOUBLE_FACTEUR = ("admin", "secretariat", "admin_reseau")


class DoubleFacteur(Model):
    """A user's TOTP secret, encrypted (app/security/totp.py). `active_le` is NULL while the
    enrolment waits for its first code; `dernier_pas` is the last 30-second step accepted, so a
    code cannot be used twice."""

    __tablename__ = "double_facteur"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False,
                        unique=True)
    secret_chiffre = sa.Column(sa.String(255), nullable=False)
    active_le = sa.Column(sa.DateTime)
    dernier_pas = sa.Column(sa.BigInteger)
    created_on = sa.Column(sa.DateTime, default=utcnow, nullable=False)


class CodeSecours(Model):
    """A single-use recovery code, stored as a keyed hash (the clear code is shown once)."""

    __tablename__ = "code_secours"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    empreinte = sa.Column(sa.String(64), nullable=False, unique=True)
    utilise_le = sa.Column(sa.DateTime)


class ExigenceDoubleFacteur(Model):
    """Roles for which the technical administrator made the second factor mandatory."""

    __tablename__ = "exigence_double_facteur"
    role = sa.Column(sa.String(32), primary_key=True)
    obligatoire = sa.Column(sa.Boolean, nullable=False, default=False)
    modifie_le = sa.Column(sa.DateTime, default=utcnow, nullable=False)
    modifie_par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))


JOURNAL_DOUBLE_FACTEUR = Choices(
    ("activation", "Double authentification activée"),
    ("desactivation", "Double authentification désactivée"),
    ("codes_regeneres", "Codes de secours régénérés"),
    ("code_secours_utilise", "Code de secours utilisé"),
    ("reinitialisation", "Double authentification réinitialisée par un administrateur"),
    ("exigence", "Exigence par rôle modifiée"),
)


class JournalDoubleFacteur(Model):
    """Who changed whose second factor, and when (append-only log)."""

    __tablename__ = "journal_double_facteur"
    __table_args__ = (JOURNAL_DOUBLE_FACTEUR.check("evenement", "ck_journal_double_facteur"),)
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    par_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="SET NULL"))
    evenement = sa.Column(sa.String(32), nullable=False)
    detail = sa.Column(sa.String(200))
    le = sa.Column(sa.DateTime, default=utcnow, nullable=False)

    @property
    def evenement_label(self):
        return JOURNAL_DOUBLE_FACTEUR.label(self.evenement)
