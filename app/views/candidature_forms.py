"""WTForms of the dossier screens: identity (R-CAN-1), dossier fields (R-CAN-3), search (R-CAN-2).

The forms only collect; every rule is checked again by app/workflow (REST hits the same code).
"""
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FileField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.models.candidature import (
    CIVILITES,
    MOTIFS_RATTACHEMENT,
    PARCOURS,
    STATUTS_INSCRIPTION,
    TYPES_PIECE,
)
from app.seed_data.referentiels import FINANCEMENTS
from app.workflow.dossier.creation import OPTIONAL_FIELDS

OPTIONAL_INT = {"coerce": lambda v: int(v) if v not in (None, "", "None") else None,
                    "validate_choice": False}


class IdentiteMixin:
    civilite = SelectField("Civilité", choices=[("", "—")] + list(CIVILITES),
                           validators=[DataRequired("Choisissez la civilité.")])
    nom_naissance = StringField("Nom de naissance", validators=[DataRequired(), Length(max=100)])
    nom_usage = StringField("Nom d'usage", validators=[Optional(), Length(max=100)])
    prenom = StringField("Prénom", validators=[DataRequired(), Length(max=100)])
    date_naissance = DateField("Date de naissance", validators=[DataRequired()])
    ne_etranger = BooleanField("Né(e) à l'étranger")
    ne_outre_mer = BooleanField("Né(e) dans une collectivité d'outre-mer")
    ville_naissance = StringField("Ville de naissance", validators=[Optional(), Length(max=120)])
    code_postal_naissance = StringField("Code postal de naissance", validators=[Optional(), Length(max=5)])
    pays_naissance = StringField("Pays de naissance (si né à l'étranger)",
                                 validators=[Optional(), Length(max=80)])
    email = EmailField("E-mail", validators=[Optional(), Length(max=200)])
    telephone = StringField("Téléphone", validators=[Optional(), Length(max=30)])
    adresse = StringField("Adresse postale", validators=[Optional(), Length(max=250)])
    code_postal = StringField("Code postal", validators=[Optional(), Length(max=10)])
    ville = StringField("Ville", validators=[Optional(), Length(max=120)])


class DossierMixin:
    statut_inscription = SelectField("Statut à l'inscription",
                                     choices=[("", "—")] + list(STATUTS_INSCRIPTION),
                                     validators=[DataRequired("Choisissez le statut.")])
    financement = SelectField("Dispositif de financement",
                              choices=[("", "—")] + [(c, f"{c} — {label}") for c, label in FINANCEMENTS],
                              validators=[Optional()])
    type_public = StringField("Type de public", validators=[Optional(), Length(max=120)])
    niveau_formation = IntegerField("Niveau de formation (cadre européen, 1 à 8)", validators=[Optional()])
    branche_delegataire = StringField("Branche délégataire", validators=[Optional(), Length(max=150)])
    socle_contextualise = BooleanField("Socle contextualisé (CléA)")
    origine_demarche = StringField("Origine de la démarche (prescripteur)",
                                   validators=[Optional(), Length(max=150)])
    initiative_salarie = BooleanField("Démarche à l'initiative du salarié (pas d'avis de l'entreprise)")
    diplomes = TextAreaField("Diplômes obtenus", validators=[Optional()])
    objectifs_professionnels = TextAreaField("Objectifs du projet professionnel", validators=[Optional()])
    objectifs_extra_professionnels = TextAreaField("Objectifs de projets extra-professionnels",
                                                   validators=[Optional()])
    # Shown only where a CQP gives a CQPI by equivalence (chemical dispositif): groups_of().
    cqpi_demande = BooleanField(
        "Le candidat demande le CQPI délivré par équivalence avec ce CQP",
        description="CQP des industries chimiques : le CQPI correspondant est délivré en même "
                    "temps que le CQP validé, sur demande dans le dossier.")


class CreationForm(IdentiteMixin, DossierMixin, FlaskForm):
    certification = SelectField("Certification", validators=[DataRequired()], **OPTIONAL_INT)
    etablissement = SelectField("Établissement d'évaluation", **OPTIONAL_INT)
    entreprise = SelectField("Entreprise du candidat", **OPTIONAL_INT)
    organisme_formation = SelectField("Organisme de formation (le cas échéant)", **OPTIONAL_INT)
    parcours = SelectField("Parcours (CQP des industries chimiques)", choices=list(PARCOURS),
                           validators=[Optional()])
    vae = BooleanField("Candidature par la VAE")
    recevabilite_recue_le = DateField("Dossier de recevabilité reçu le (VAE)", validators=[Optional()])
    cqpi_detenu = SelectField("CQPI détenu par le candidat", **OPTIONAL_INT)

    GROUPS = [
        ("Certification", ["certification", "etablissement", "entreprise", "organisme_formation",
                           "parcours", "vae", "recevabilite_recue_le", "cqpi_detenu",
                           "cqpi_demande"]),
        ("Candidat (tel que sur la pièce d'identité)",
         ["civilite", "nom_naissance", "nom_usage", "prenom", "date_naissance", "ne_etranger",
          "ne_outre_mer", "ville_naissance", "code_postal_naissance", "pays_naissance"]),
        ("Coordonnées (impression et envoi du certificat)",
         ["email", "telephone", "adresse", "code_postal", "ville"]),
        ("Dossier", ["statut_inscription", "financement", "type_public", "niveau_formation",
                     "branche_delegataire", "socle_contextualise", "origine_demarche",
                     "initiative_salarie", "diplomes", "objectifs_professionnels",
                     "objectifs_extra_professionnels"]),
    ]


class EditionForm(IdentiteMixin, DossierMixin, FlaskForm):
    entreprise = SelectField("Entreprise du candidat", **OPTIONAL_INT)
    recevabilite_recue_le = DateField("Dossier de recevabilité reçu le (VAE)", validators=[Optional()])
    GROUPS = [(title, [f for f in fields if f not in ("certification", "etablissement",
                                                      "organisme_formation", "parcours", "vae",
                                                      "cqpi_detenu")])
              for title, fields in CreationForm.GROUPS]


IDENTITY_KEYS = [f for f in ("civilite", "nom_naissance", "nom_usage", "prenom", "date_naissance",
                             "ne_etranger", "ne_outre_mer", "ville_naissance",
                             "code_postal_naissance", "pays_naissance", "email", "telephone",
                             "adresse", "code_postal", "ville")]
DOSSIER_KEYS = ["statut_inscription", "financement", "type_public", "niveau_formation",
                "branche_delegataire", "socle_contextualise", "origine_demarche",
                "initiative_salarie", "diplomes", "objectifs_professionnels",
                "objectifs_extra_professionnels", "cqpi_demande"]


def split(form) -> tuple[dict, dict]:
    """(identity, dossier fields) from a submitted form (fields left out of it are unchanged)."""
    identity = {k: getattr(form, k).data for k in IDENTITY_KEYS}
    fields = {k: getattr(form, k).data for k in DOSSIER_KEYS if k in form}
    return identity, fields


def groups_of(form, applying: set) -> list:
    """The form's groups fitted to the dispositifs at hand: of the optional fields, only those
    `applying` (app/workflow/dossier/creation.fields_applying) stay."""
    for name in OPTIONAL_FIELDS - applying:
        if name in form:
            del form[name]
    return [(title, [n for n in names if n in form]) for title, names in form.GROUPS]


class RechercheForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    numero = StringField("Numéro de dossier", validators=[Optional()])
    nom = StringField("Nom (de naissance ou d'usage)", validators=[Optional()])
    prenom = StringField("Prénom", validators=[Optional()])
    date_naissance = DateField("Date de naissance", validators=[Optional()])
    ville_naissance = StringField("Ville de naissance", validators=[Optional()])
    code_postal_naissance = StringField("Code postal de naissance", validators=[Optional()])
    pays_naissance = StringField("Pays de naissance", validators=[Optional()])


class DocumentForm(FlaskForm):
    fichier = FileField("Fichier (PDF, Excel, Word ou Zip, 4 Mo au plus)")
    type_piece = SelectField("Type de pièce", choices=list(TYPES_PIECE))


class RattachementForm(FlaskForm):
    etablissement = SelectField("Établissement demandeur", validators=[DataRequired()], **OPTIONAL_INT)
    motif = SelectField("Motif de la demande", choices=[("", "—")] + list(MOTIFS_RATTACHEMENT),
                        validators=[DataRequired()])
    precision = TextAreaField("Précisez si motif « autre »", validators=[Optional()])


class DecisionRattachementForm(FlaskForm):
    reponse = TextAreaField("Réponse (obligatoire en cas de refus)", validators=[Optional()])


class FormationForm(FlaskForm):
    intitule = StringField("Intitulé de la formation", validators=[DataRequired(), Length(max=200)])
    organisme_formation = StringField("Organisme de formation", validators=[Optional(), Length(max=200)])
    date_debut = DateField("Date de début", validators=[DataRequired()])
    date_fin = DateField("Date de fin", validators=[DataRequired()])
    duree_heures = StringField("Durée (heures)", validators=[DataRequired()])
    domaines = SelectMultipleField("Domaines travaillés", coerce=int, validate_choice=False)
    commentaire = TextAreaField("Commentaire", validators=[Optional()])
    attestation = FileField("Attestation de formation (PDF, Word, Excel ou Zip)")
