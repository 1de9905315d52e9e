"""French labels of columns, shared by every screen (FAB shows English names otherwise)."""
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

LABELS = {
    "id": "N°", "nom": "Nom", "code": "Code", "intitule": "Intitulé", "libelle": "Libellé",
    "type": "Type", "filiere": "Filière", "coefficient": "Coefficient", "niveau": "Niveau",
    "rncp_code": "Code RNCP", "rs_code": "Code RS", "date_enregistrement_rncp": "Enregistrement RNCP le",
    "date_suppression": "Supprimée le", "description": "Description",
    "membre_branche": "Adhésion de la branche", "obtention": "Obtention", "demo": "Démonstration",
    "dispositif": "Dispositif", "certification": "Certification", "certifications": "Certifications",
    "bloc": "Bloc / domaine", "blocs": "Blocs / domaines", "competences": "Compétences",
    "ordre": "Ordre", "specifique_branche": "Spécifique à la branche",
    "equivalences": "CQP donnant l'équivalence", "passerelles": "Passerelles",
    "autre_branche": "Autre branche", "certification_autre": "Certification de l'autre branche",
    "nature": "Nature",
    "certificateur": "Certificateur", "structure_evaluation": "Structure de l'évaluation",
    "vocabulaire_decision": "Décisions du jury", "createurs": "Qui crée les dossiers",
    "duree_acquis_mois": "Durée des acquis partiels (mois, vide = permanente)",
    "duree_acquis_rncp_mois": "Durée des acquis si inscrite au RNCP (mois)",
    "capacite_jury_defaut": "Capacité d'un jury (dossiers)",
    "delai_inscription_jury_jours": "Inscription au jury au plus tard (jours avant)",
    "delai_saisie_resultats_jours": "Saisie des résultats au plus tard (jours après l'évaluation)",
    "delai_convocation_jours": "Convocation du jury (jours avant)",
    "jury_paritaire": "Jury paritaire (délégations patronale et syndicale, un seul votant par "
                      "organisation syndicale) ; sinon un président suffit",
    "delai_recevabilite_jours": "Réponse de recevabilité VAE (jours)",
    "delai_vae_jury_mois": "Délai VAE pour passer en jury (mois)",
    "delai_abandon_annees": "Abandon automatique (années après l'évaluation préalable)",
    "prefixe_numero": "Préfixe des numéros de certificat (ex. MC, CQP, CLEA)",
    "lettre_gtp": "Lettre au GTP « Certifications » après chaque jury",
    "pv_signature_papier": "Procès-verbal signé sur papier par le président (sinon approuvé "
                           "par le jury dans la plateforme)",
    "modele_pv": "Modèle du procès-verbal du jury",
    "signataire_certificats": "Signataire des certificats pour le certificateur (nom et prénom)",
    "id_client_cdc": "Identifiant client Caisse des Dépôts", "id_contrat_cdc": "Identifiant contrat Caisse des Dépôts",
    "actif": "Actif", "changed_on": "Modifié le", "created_on": "Créé le",
    "reseau": "Réseau", "national": "Réseau national", "notifier_candidatures": "Notifier chaque nouvelle candidature",
    "organisme": "Organisme", "organismes": "Organismes", "siren": "SIREN", "siret": "SIRET",
    "etablissement": "Établissement", "etablissements": "Établissements",
    "adresse": "Adresse", "code_postal": "Code postal", "ville": "Ville", "region": "Région", "lieu": "Lieu",
    "contact_nom": "Contact officiel", "contact_email": "E-mail officiel", "contact_telephone": "Téléphone officiel",
    "contact_public_nom": "Contact public", "contact_public_email": "E-mail public",
    "contact_public_telephone": "Téléphone public",
    "entreprise": "Entreprise", "raison_sociale": "Raison sociale", "naf": "Code NAF",
    "secteur": "Secteur", "branche": "Branche",
    "user": "Utilisateur", "role": "Rôle", "role_label": "Rôle", "perimetre_label": "Périmètre",
    "telephone": "Téléphone", "organisation": "Organisation", "invitation_envoyee_le": "Invitation envoyée le",
    "user.first_name": "Prénom", "user.last_name": "Nom", "user.email": "E-mail", "user.active": "Actif",
    "user.last_login": "Dernière connexion",
    "prenom": "Prénom", "email": "E-mail",
    "rubrique": "Rubrique", "rubrique_label": "Rubrique", "titre": "Titre", "contenu": "Contenu",
    "lien": "Lien", "lu": "Lu",
    "destinataire": "Destinataire", "copie": "Copie", "sujet": "Sujet", "corps_texte": "Message",
    "statut": "Statut", "statut_label": "Statut", "essais": "Essais", "erreur": "Erreur", "sent_on": "Envoyé le",
}
# Habilitations (R-HAB-1..6).
LABELS.update({
    "etat": "État de la demande", "etat_label": "État de la demande",
    "demande_le": "Date de la demande", "date_debut": "Date de début de l'habilitation",
    "date_fin": "Date de fin de l'habilitation", "motif_rejet": "Motif du rejet",
    "commentaire": "Commentaire", "decide_le": "Décidée le", "demande_par": "Demandée par",
    "decide_par": "Décidée par", "renouvellement_de": "Renouvellement de",
    "evaluateur": "Évaluateur habilité", "nom_complet": "Nom", "employeur_nom": "Employeur",
    "employeur_siret": "SIRET de l'employeur", "employeur_entreprise": "Entreprise employeur",
    "employeur_organisme": "Organisme employeur", "habilitations": "Habilitations",
})


def labels(*columns) -> dict:
    return {c: LABELS.get(c, c) for c in columns}


def choice_field(label, choices, required=True, description=None):
    return SelectField(label, choices=list(choices), description=description or "",
                       validators=[DataRequired()] if required else [Optional()])
