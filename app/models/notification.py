"""In-app notifications (R-NOT-1) and the outgoing mail queue."""
import sqlalchemy as sa

from .base import Choices, Model, utcnow

RUBRIQUES = Choices(
    ("changement_certificateur", "Changement de certificateur"),
    ("demande_habilitation", "Demande d'habilitation"),
    ("demande_rattachement", "Demande de rattachement"),
    ("dossier_habilitation", "Dossier d'habilitation"),
    ("dossier_candidature", "Dossier de candidature"),
    ("decision_jury", "Décision du jury"),
    ("envoi_certification", "Envoi en certification"),
    ("pli_non_distribue", "Pli non distribué"),
    ("renouvellement_habilitation", "Renouvellement d'habilitation"),
    ("compte", "Compte utilisateur"),
    ("jury", "Jury"),
)
STATUTS_MAIL = Choices(
    ("en_attente", "En attente"),
    ("envoye", "Envoyé"),
    ("depose", "Déposé dans la boîte d'envoi locale"),
    ("echec", "Échec (nouvel essai prévu)"),
)


class Notification(Model):
    __tablename__ = "notification"
    __table_args__ = (
        RUBRIQUES.check("rubrique", "ck_notification_rubrique"),
        sa.Index("ix_notification_user_lu", "user_id", "lu", "created_on"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    rubrique = sa.Column(sa.String(32), nullable=False)
    titre = sa.Column(sa.String(200), nullable=False)
    contenu = sa.Column(sa.Text, nullable=False, default="")
    lien = sa.Column(sa.String(300))
    lu = sa.Column(sa.Boolean, nullable=False, default=False)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    @property
    def rubrique_label(self):
        return RUBRIQUES.label(self.rubrique)


class MailMessage(Model):
    """Every e-mail, kept so that administrators can read the outbox and failed sends are retried."""

    __tablename__ = "mail_message"
    __table_args__ = (
        STATUTS_MAIL.check("statut", "ck_mail_statut"),
        sa.Index("ix_mail_statut_created", "statut", "created_on"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    destinataire = sa.Column(sa.String(300), nullable=False, index=True)
    copie = sa.Column(sa.String(300))
    sujet = sa.Column(sa.String(300), nullable=False)
    corps_texte = sa.Column(sa.Text, nullable=False)
    corps_html = sa.Column(sa.Text)
    statut = sa.Column(sa.String(32), nullable=False, default="en_attente")
    essais = sa.Column(sa.Integer, nullable=False, default=0)
    erreur = sa.Column(sa.Text)
    created_on = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    sent_on = sa.Column(sa.DateTime)

    @property
    def statut_label(self):
        return STATUTS_MAIL.label(self.statut)
