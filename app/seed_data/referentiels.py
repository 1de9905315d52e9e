"""Référentiels de certification d'OpenCertif — données pures (littéraux Python uniquement).

Provenance (documents sources dans ``/work/shared/seeds/``, règles dans ``DOMAIN.md``) :

* ``CHIMIE_CQP`` (R-REF-1) — seed 001 « CQP/CQPI mode d'emploi » (Industries Chimiques),
  section « Le dispositif CQP des Industries Chimiques », tableau « Seize CQP/CQPI des
  Industries Chimiques peuvent être mis en œuvre » (confirmé par le tableau du seed 000
  « Le mode d'emploi e-Certif »). Les intitulés et coefficients sont recopiés tels quels ;
  les codes ``CQP-CHIMIE-NN`` sont dérivés (ordre du document), aucun code officiel n'étant
  donné.
* ``CQPI`` (R-REF-2) — seed 002 (brochure CQPI, « 9 CQPI » et leurs descriptions) ;
  l'adhésion de la branche chimie et le mode d'obtention viennent du seed 001, section
  « Les CQPI mis en œuvre dans les Industries Chimiques » (décision CPNE du 14 février 2013).
  ``CQPI_HORS_BROCHURE`` contient le 8e CQPI adhéré par la chimie selon le seed 001
  (technico-commercial(e) domaine industriel), absent de la liste des 9 CQPI du seed 002.
* ``CLEA_DOMAINES`` (R-REF-3) — seed 003 via DOMAIN.md R-REF-3 (7 domaines, 28 sous-domaines).
* ``DEMO_METALLURGIE`` (R-REF-4) — JEU DE DÉMONSTRATION FICTIF. Seul le format des codes
  vient du seed 004 (« Identification des certifications » : ``CQPM 0000 0000 R et/ou I``,
  ``BDC0000``, ``CCPM 0000 0000``) ; le seed 004 ne cite aucun CQPM réel. Les intitulés,
  niveaux et numéros RNCP sont inventés.
* ``PASSERELLES`` / ``PASSERELLES_PRINCIPE`` (R-REF-6) — seed 001, section « Les passerelles
  vers l'industrie pharmaceutique ». Le « Panorama des passerelles entre CQP » y est vide
  (tableau/image non extrait du PDF) : aucune passerelle précise n'est donc listée.
* ``FINANCEMENTS`` (R-CAN-3) — seed 004, Annexe 14 (procès-verbal du jury paritaire de
  délibération), colonne « Dispositif de financement ». Libellés en majuscules dans la source,
  remis ici en casse normale avec accents.
"""

# ---------------------------------------------------------------------------
# R-REF-1 — Les 16 CQP/CQPI des Industries Chimiques (seed 001, tableau du dispositif CQP)
# ---------------------------------------------------------------------------
# Notes de lecture du tableau (texte extrait d'un PDF) :
# * La colonne « Filière » n'est renseignée que sur la première ligne de chaque groupe ;
#   elle est reportée sur les lignes suivantes.
# * « Responsable de secteur industriel des Industries Chimiques (H/F) Option production ou
#   logistique » : l'option est sur une seconde ligne de la cellule (seed 000 :
#   « Option : Production ou Logistique ») ; elle est conservée dans l'intitulé.
# * Les lignes 15 et 16 sont des CQPI (« Non concerné » pour le coefficient) ; ils
#   correspondent respectivement à CQPI-08 et CQPI-05 de la liste ``CQPI`` ci-dessous.
CHIMIE_CQP = [
    {
        "code": "CQP-CHIMIE-01",
        "intitule": "Opérateur(trice) de fabrication des Industries Chimiques",
        "filiere": "Fabrication",
        "coefficient": "160",
    },
    {
        "code": "CQP-CHIMIE-02",
        "intitule": "Conducteur(trice) d'équipement de fabrication des Industries Chimiques",
        "filiere": "Fabrication",
        "coefficient": "190",
    },
    {
        "code": "CQP-CHIMIE-03",
        "intitule": "Pilote d'installation de fabrication (H/F) des Industries Chimiques",
        "filiere": "Fabrication",
        "coefficient": "190",
    },
    {
        "code": "CQP-CHIMIE-04",
        "intitule": "Animateur(trice) d'équipe de fabrication des Industries Chimiques",
        "filiere": "Fabrication",
        "coefficient": "225",
    },
    {
        "code": "CQP-CHIMIE-05",
        "intitule": "Conducteur(trice) de ligne de conditionnement des Industries Chimiques",
        "filiere": "Conditionnement",
        "coefficient": "190",
    },
    {
        "code": "CQP-CHIMIE-06",
        "intitule": "Pilote de ligne de conditionnement (H/F) des Industries Chimiques",
        "filiere": "Conditionnement",
        "coefficient": "190",
    },
    {
        "code": "CQP-CHIMIE-07",
        "intitule": "Animateur(trice) d'équipe de conditionnement des Industries Chimiques",
        "filiere": "Conditionnement",
        "coefficient": "225",
    },
    {
        "code": "CQP-CHIMIE-08",
        "intitule": "Agent logistique des Industries Chimiques (H/F)",
        "filiere": "Logistique",
        "coefficient": "160",
    },
    {
        "code": "CQP-CHIMIE-09",
        "intitule": "Animateur(trice) d'équipe de logistique des Industries Chimiques",
        "filiere": "Logistique",
        "coefficient": "225",
    },
    {
        "code": "CQP-CHIMIE-10",
        "intitule": "Opérateur(trice) de maintenance industrielle des Industries Chimiques",
        "filiere": "Maintenance",
        "coefficient": "160",
    },
    {
        "code": "CQP-CHIMIE-11",
        # Majuscule à « Industrielle » telle que dans les tableaux des seeds 000 et 001.
        "intitule": "Technicien(ne) de maintenance Industrielle des Industries Chimiques",
        "filiere": "Maintenance",
        "coefficient": "190",
    },
    {
        "code": "CQP-CHIMIE-12",
        "intitule": "Animateur(trice) d'équipe de maintenance des Industries Chimiques",
        "filiere": "Maintenance",
        "coefficient": "225",
    },
    {
        "code": "CQP-CHIMIE-13",
        "intitule": (
            "Responsable de secteur industriel des Industries Chimiques (H/F) "
            "Option production ou logistique"
        ),
        "filiere": "Encadrement d'un secteur industriel",
        "coefficient": "À définir",
    },
    {
        "code": "CQP-CHIMIE-14",
        "intitule": "Technico-commercial(e) des Industries Chimiques",
        "filiere": "Commercialisation Vente",
        "coefficient": "À définir",
    },
    {
        "code": "CQP-CHIMIE-15",
        "intitule": "CQPI Vente conseil en magasin",
        "filiere": "Commercialisation Vente",
        "coefficient": "Non concerné",
    },
    {
        "code": "CQP-CHIMIE-16",
        "intitule": "CQPI Technicien(ne) de la Qualité",
        "filiere": "Qualité-Hygiène-Sécurité-Santé-Environnement",
        "coefficient": "Non concerné",
    },
]

# ---------------------------------------------------------------------------
# R-REF-2 — Les 9 CQPI de la brochure (seed 002) et l'adhésion de la branche chimie (seed 001)
# ---------------------------------------------------------------------------
# Seed 001 : « Le 14 février 2013, la CPNE des industries chimiques a décidé d'adhérer au
# dispositif CQP inter-branches pour les 8 CQPI suivants » :
#   - six « Délivrés sur demande (dans le dossier candidat) en même temps qu'un CQP des
#     Industries Chimiques, par équivalence » : animateur(trice) d'équipe domaine industriel,
#     conducteur(trice) d'équipements industriels, technicien(ne) de maintenance industrielle,
#     opérateur(trice) de maintenance industrielle, agent logistique H/F,
#     technico-commercial(e) domaine industriel ;
#   - deux « Obtenus dans le cadre de la même démarche que les CQP des Industries Chimiques » :
#     technicien(ne) de la qualité, vente conseil en magasin H/F.
# Sur les 9 CQPI de la brochure 002, 7 sont donc adhérés ; « Opérateur Qualité » et « Vente
# conseil à distance » ne le sont pas. Le 8e CQPI adhéré (technico-commercial(e) domaine
# industriel) n'apparaît pas dans la brochure 002 : voir ``CQPI_HORS_BROCHURE``.
# Le seed 001 ne dit pas quel CQP donne l'équivalence avec quel CQPI. ``cqp_equivalents``
# rapproche chaque CQPI « par équivalence » du ou des CQP de même métier (intitulés du seed 001) :
# c'est un choix du projet, modifiable par le secrétariat dans l'écran du référentiel (champ
# « CQP donnant l'équivalence »). Sans ces liens, aucun CQPI ne serait jamais délivré avec un CQP.
# Les deux CQPI « obtenus par la même démarche qu'un CQP » et les CQPI non adhérés n'en ont pas.
CQPI = [
    {
        "code": "CQPI-01",
        "intitule": "Conducteur d'équipements industriels",
        "description": (
            "Il effectue les opérations de conduite du procédé de fabrication : "
            "approvisionnement et préparation des installations, réglages et mise en route, "
            "essais, conduite de systèmes de production en marche normale et en mode dégradé, "
            "entretien et maintenance des systèmes et matériels conduits."
        ),
        "membre_branche_chimie": True,
        "obtention": "equivalence",
        "cqp_equivalents": ["CQP-CHIMIE-02", "CQP-CHIMIE-05"],
    },
    {
        "code": "CQPI-02",
        "intitule": "Technicien de maintenance Industrielle",
        "description": (
            "Il réalise des interventions de maintenance préventive ou curative en mécanique, "
            "électro-technique, automatismes. Il communique avec les différents acteurs du "
            "process, utilise et traite des informations écrites et orales, conduit des actions "
            "de progrès ou d'amélioration de process."
        ),
        "membre_branche_chimie": True,
        "obtention": "equivalence",
        "cqp_equivalents": ["CQP-CHIMIE-11"],
    },
    {
        "code": "CQPI-03",
        "intitule": "Opérateur de maintenance industrielle",
        "description": (
            "Il réalise des interventions de maintenance sur des équipements industriels "
            "pluri-technologiques : prédiagnostics, contrôles et mesures préventifs, "
            "remplacements de sous-ensembles et communication technique avec les utilisateurs."
        ),
        "membre_branche_chimie": True,
        "obtention": "equivalence",
        "cqp_equivalents": ["CQP-CHIMIE-10"],
    },
    {
        "code": "CQPI-04",
        "intitule": "Agent logistique",
        "description": (
            "Il assure la réception, l'expédition, le chargement/déchargement, le stockage, "
            "l'entreposage et la sortie de stock. Il prépare les commandes, réalise les "
            "inventaires, assure le suivi et mise à jour des stocks."
        ),
        "membre_branche_chimie": True,
        "obtention": "equivalence",
        "cqp_equivalents": ["CQP-CHIMIE-08"],
    },
    {
        "code": "CQPI-05",
        "intitule": "Technicien de la Qualité",
        "description": (
            "Dans le cadre d'une démarche qualité (ISO 9001 ou autres) et dans le respect des "
            "procédures et règles d'hygiène et de sécurité, le technicien de la qualité optimise "
            "les processus d'organisation de l'entreprise. Il met en oeuvre des outils d'analyse "
            "et de suivi et met en place des démarches d'amélioration continue."
        ),
        "membre_branche_chimie": True,
        "obtention": "processus",
        "cqp_equivalents": [],
    },
    {
        "code": "CQPI-06",
        "intitule": "Opérateur Qualité",
        "description": (
            "Il identifie le travail de contrôle qualité à effectuer à partir des instructions. "
            "Il réalise le contrôle qualité des articles/produits selon les critères définis en "
            "évaluant les caractéristiques techniques des produits (détection et traitement des "
            "défauts). Il trace et rend compte de son contrôle."
        ),
        "membre_branche_chimie": False,
        "obtention": None,
        "cqp_equivalents": [],
    },
    {
        "code": "CQPI-07",
        "intitule": "Animateur d'équipe domaine industriel",
        "description": (
            "Il coordonne une équipe, de l'organisation de son activité à la gestion "
            "individuelle de ses collaborateurs ; il recherche, grâce au suivi et à l'analyse "
            "d'indicateurs, des pistes de progrès en favorisant une communication adaptée "
            "ascendante et descendante."
        ),
        "membre_branche_chimie": True,
        "obtention": "equivalence",
        "cqp_equivalents": ["CQP-CHIMIE-04", "CQP-CHIMIE-07", "CQP-CHIMIE-09", "CQP-CHIMIE-12"],
    },
    {
        "code": "CQPI-08",
        "intitule": "Vente conseil en magasin",
        "description": (
            "Il accueille, informe et conseille la clientèle sur un point de vente, analyse ses "
            "besoins et lui vend des produits et services adaptés. Il fidélise la clientèle et "
            "traite les réclamations simples."
        ),
        "membre_branche_chimie": True,
        "obtention": "processus",
        "cqp_equivalents": [],
    },
    {
        "code": "CQPI-09",
        "intitule": "Vente conseil à distance",
        "description": (
            "Il assure la relation clientèle à distance : il accueille et conseille le client, "
            "vend des produits et services adaptés, fidélise la clientèle, traite les "
            "réclamations. Il utilise en permanence et en simultané le téléphone couplé à "
            "l'informatique et exploite l'ensemble des outils de gestion de la relation "
            "clientèle à sa disposition."
        ),
        "membre_branche_chimie": False,
        "obtention": None,
        "cqp_equivalents": [],
    },
]

# 8e CQPI adhéré par la branche chimie (seed 001), absent de la brochure 002 : mêmes clés
# que ``CQPI``. Description reprise du seed 001 (fiche métier du technico-commercial,
# section « COMMERCIALISATION/VENTE »), faute de description dans le seed 002.
CQPI_HORS_BROCHURE = [
    {
        "code": "CQPI-10",
        "intitule": "Technico-commercial(e) domaine industriel",
        "description": (
            "Le (la) technico-commercial(e) possède une expertise technique (connaissance "
            "approfondie des produits industriels et services de l'entreprise) doublée d'une "
            "compétence commerciale. Il (elle) a en charge la prospection et le développement du "
            "chiffre d'affaires de gammes de produits industriels ou de services de son "
            "entreprise, sur un territoire géographique défini."
        ),
        "membre_branche_chimie": True,
        "obtention": "equivalence",
        "cqp_equivalents": ["CQP-CHIMIE-14"],
    },
]

# ---------------------------------------------------------------------------
# R-REF-3 — CléA : 7 domaines, 28 sous-domaines (seed 003 / DOMAIN.md R-REF-3)
# ---------------------------------------------------------------------------
CLEA_DOMAINES = [
    {
        "code": "1",
        "intitule": "Communiquer en français",
        "sous_domaines": [
            {"code": "1.1", "intitule": "Écouter et comprendre"},
            {"code": "1.2", "intitule": "S'exprimer à l'oral"},
            {"code": "1.3", "intitule": "Lire"},
            {"code": "1.4", "intitule": "Écrire"},
            {"code": "1.5", "intitule": "Décrire – formuler"},
        ],
    },
    {
        "code": "2",
        "intitule": "Utiliser les règles de base de calcul et du raisonnement mathématique",
        "sous_domaines": [
            {"code": "2.1", "intitule": "Se repérer dans l'univers des nombres"},
            {
                "code": "2.2",
                "intitule": "Résoudre un problème mettant en jeu une ou plusieurs opérations",
            },
            {
                "code": "2.3",
                "intitule": "Lire et calculer les unités de mesures, de temps et des quantités",
            },
            {"code": "2.4", "intitule": "Se repérer dans l'espace"},
            {"code": "2.5", "intitule": "Restituer oralement un raisonnement mathématique"},
        ],
    },
    {
        "code": "3",
        "intitule": (
            "Utiliser les techniques usuelles de l'information et de la communication numérique"
        ),
        "sous_domaines": [
            {
                "code": "3.1",
                "intitule": (
                    "Connaître son environnement et les fonctions de base pour utiliser "
                    "un ordinateur"
                ),
            },
            {
                "code": "3.2",
                "intitule": "Saisir et mettre en forme du texte, gérer des documents",
            },
            {
                "code": "3.3",
                "intitule": (
                    "Se repérer dans l'environnement Internet et effectuer une recherche "
                    "sur le web"
                ),
            },
            {"code": "3.4", "intitule": "Utiliser la fonction de messagerie"},
        ],
    },
    {
        "code": "4",
        "intitule": "Travailler dans le cadre de règles définies d'un travail en équipe",
        "sous_domaines": [
            {"code": "4.1", "intitule": "Respecter les règles de vie collective"},
            {"code": "4.2", "intitule": "Travailler en équipe"},
            {"code": "4.3", "intitule": "Contribuer dans un groupe"},
            {"code": "4.4", "intitule": "Communiquer"},
        ],
    },
    {
        "code": "5",
        "intitule": "Travailler en autonomie et réaliser un objectif individuel",
        "sous_domaines": [
            {"code": "5.1", "intitule": "Comprendre son environnement de travail"},
            {
                "code": "5.2",
                "intitule": (
                    "Réaliser des objectifs individuels dans le cadre d'une action simple "
                    "ou d'un projet"
                ),
            },
            {"code": "5.3", "intitule": "Prendre des initiatives et être force de proposition"},
        ],
    },
    {
        "code": "6",
        "intitule": "Apprendre à apprendre tout au long de la vie",
        "sous_domaines": [
            {
                "code": "6.1",
                "intitule": "Accumuler de l'expérience et en tirer les leçons appropriées",
            },
            {
                "code": "6.2",
                "intitule": (
                    "Entretenir sa curiosité et sa motivation pour apprendre dans le champ "
                    "professionnel"
                ),
            },
            {
                "code": "6.3",
                "intitule": (
                    "Optimiser les conditions d'apprentissage (de la théorie à la pratique)"
                ),
            },
        ],
    },
    {
        "code": "7",
        "intitule": (
            "Maîtriser les gestes et postures, et respecter des règles d'hygiène, de sécurité "
            "et environnementales élémentaires"
        ),
        "sous_domaines": [
            {
                "code": "7.1",
                "intitule": (
                    "Respecter un règlement sur la sécurité, l'hygiène, l'environnement, "
                    "une procédure qualité"
                ),
            },
            {
                "code": "7.2",
                "intitule": "Avoir les bons gestes et réflexes afin d'éviter les risques",
            },
            {
                "code": "7.3",
                "intitule": "Être capable d'appliquer les gestes de premiers secours",
            },
            {
                "code": "7.4",
                "intitule": (
                    "Contribuer à la préservation de l'environnement et aux économies d'énergie"
                ),
            },
        ],
    },
]

# ---------------------------------------------------------------------------
# R-REF-1 / R-CAN-9 — Compétences de DÉMONSTRATION des CQP chimie utilisés par ``flask demo``
# ---------------------------------------------------------------------------
# Les seeds ne listent pas les compétences des CQP : le seed 001 renvoie au référentiel publié
# sur jetravailledanslachimie.fr (« Les CQP et CQPI par métier »). Sans compétence, un dossier
# ne peut pas être évalué ; ``flask demo`` donne donc aux deux CQP pour lesquels l'évaluateur de
# démonstration est habilité (CQP-CHIMIE-01 et -02) des compétences tirées mot pour mot des
# fiches métier du seed 001 (section FABRICATION) et, pour le conducteur d'équipement, de la
# description du CQPI « Conducteur d'équipements industriels » du seed 002. Ce N'EST PAS le
# référentiel officiel : le secrétariat saisit le vrai dans le menu Référentiels.
# ``specifique_branche`` (R-CAN-9) : ce qui relève des règles propres aux Industries Chimiques
# (« consignes de fabrication, de qualité, de sécurité et de protection de l'environnement ») ;
# le reste est commun avec le CQPI.
DEMO_CHIMIE_COMPETENCES = {
    "CQP-CHIMIE-01": [
        {"code": "C1", "intitule": "Surveiller un ensemble limité d'appareils de fabrication "
                                   "et/ou de conditionnement", "specifique_branche": False},
        {"code": "C2", "intitule": "Conduire les appareils selon un mode opératoire précis",
         "specifique_branche": False},
        {"code": "C3", "intitule": "Respecter les consignes de fabrication et de qualité",
         "specifique_branche": True},
        {"code": "C4", "intitule": "Respecter les consignes de sécurité et de protection de "
                                   "l'environnement", "specifique_branche": True},
    ],
    "CQP-CHIMIE-02": [
        {"code": "C1", "intitule": "Approvisionner et préparer les installations",
         "specifique_branche": False},
        {"code": "C2", "intitule": "Effectuer les réglages, les essais et la mise en route",
         "specifique_branche": False},
        {"code": "C3", "intitule": "Conduire et surveiller les équipements en marche normale et "
                                   "en mode dégradé", "specifique_branche": False},
        {"code": "C4", "intitule": "Assurer l'entretien et la maintenance des matériels conduits",
         "specifique_branche": False},
        {"code": "C5", "intitule": "Conduire différents équipements unitaires de fabrication de "
                                   "produits chimiques dans le respect des consignes de "
                                   "fabrication, de qualité, de sécurité et de protection de "
                                   "l'environnement", "specifique_branche": True},
    ],
}

# ---------------------------------------------------------------------------
# R-REF-4 — Jeu de DÉMONSTRATION métallurgie (fictif)
# ---------------------------------------------------------------------------
# Format des codes (seed 004, « 3. Identification des certifications ») :
#   « CQPM | 0000 (année de création) | 0000 (numéro du CQPM) | R et/ou I »
#   R = inscrit au RNCP ; I = correspond à une certification de la liste des CQPI.
#   « BDC0000 » (Bloc De Compétences N°) ; « CCPM | 0000 (année) | 0000 (numéro) ».
# Le seed 004 ne montre aucun exemple avec les deux lettres : on les écrit accolées (« RI »).
# Les numéros RNCP (RNCP999xx) sont volontairement fictifs. Les codes de compétence sont
# numérotés en continu au sein d'une certification (C1, C2, … uniques par certification).
# Un CCPM n'a pas de niveau CNCP officiel (il relève du Répertoire spécifique) : le niveau
# indiqué ici n'est qu'une valeur de démonstration.
DEMO_METALLURGIE = [
    {
        "type": "CQPM",
        "code": "CQPM 2019 0312 R",
        "intitule": "Opérateur(trice) régleur(euse) sur machines-outils à commande numérique (démo)",
        "niveau": 3,
        "rncp_code": "RNCP99901",
        "date_enregistrement_rncp": "2019-12-18",  # fictive, like the number
        "cqpi": False,
        "demo": True,
        "blocs": [
            {
                "code": "BDC0001",
                "intitule": "Préparation et réglage d'une machine-outil à commande numérique",
                "competences": [
                    {
                        "code": "C1",
                        "intitule": (
                            "Préparer les outils, les montages et les moyens de contrôle à partir "
                            "du dossier de fabrication"
                        ),
                    },
                    {
                        "code": "C2",
                        "intitule": (
                            "Régler la machine et réaliser la première pièce conforme au plan"
                        ),
                    },
                    {
                        "code": "C3",
                        "intitule": "Modifier un programme d'usinage existant",
                    },
                ],
            },
            {
                "code": "BDC0002",
                "intitule": "Production et contrôle de pièces usinées",
                "competences": [
                    {
                        "code": "C4",
                        "intitule": (
                            "Conduire une production de pièces en série dans le respect des "
                            "règles de sécurité"
                        ),
                    },
                    {
                        "code": "C5",
                        "intitule": (
                            "Contrôler la conformité des pièces à l'aide des instruments de "
                            "mesure et corriger les dérives"
                        ),
                    },
                    {
                        "code": "C6",
                        "intitule": "Renseigner les documents de suivi de production et de qualité",
                    },
                ],
            },
            {
                "code": "BDC0003",
                "intitule": "Maintenance de premier niveau et amélioration du poste de travail",
                "competences": [
                    {
                        "code": "C7",
                        "intitule": "Réaliser la maintenance de premier niveau de la machine",
                    },
                    {
                        "code": "C8",
                        "intitule": (
                            "Proposer des améliorations relatives à la qualité, aux délais ou "
                            "à la sécurité du poste"
                        ),
                    },
                ],
            },
        ],
        "competences": [],
    },
    {
        "type": "CQPM",
        "code": "CQPM 2021 0045 RI",
        "intitule": "Conducteur(trice) d'équipements industriels (démo)",
        "niveau": 3,
        "rncp_code": "RNCP99902",
        "date_enregistrement_rncp": "2021-06-30",  # fictive, like the number
        "cqpi": True,
        "demo": True,
        "blocs": [
            {
                "code": "BDC0004",
                "intitule": "Préparation et mise en route des installations de production",
                "competences": [
                    {
                        "code": "C1",
                        "intitule": (
                            "Approvisionner le poste et préparer l'installation selon les "
                            "consignes de fabrication"
                        ),
                    },
                    {
                        "code": "C2",
                        "intitule": "Effectuer les réglages, les essais et la mise en route",
                    },
                ],
            },
            {
                "code": "BDC0005",
                "intitule": "Conduite des équipements en marche normale et en mode dégradé",
                "competences": [
                    {
                        "code": "C3",
                        "intitule": (
                            "Conduire l'équipement en marche normale et surveiller les "
                            "paramètres de production"
                        ),
                    },
                    {
                        "code": "C4",
                        "intitule": (
                            "Détecter une dérive ou un dysfonctionnement et conduire en mode "
                            "dégradé"
                        ),
                    },
                    {
                        "code": "C5",
                        "intitule": "Transmettre les informations de production à son équipe",
                    },
                ],
            },
            {
                "code": "BDC0006",
                "intitule": "Entretien et maintenance des systèmes et matériels conduits",
                "competences": [
                    {
                        "code": "C6",
                        "intitule": "Réaliser l'entretien courant des équipements conduits",
                    },
                    {
                        "code": "C7",
                        "intitule": (
                            "Participer au diagnostic d'une panne avec le service maintenance"
                        ),
                    },
                ],
            },
        ],
        "competences": [],
    },
    {
        "type": "CCPM",
        "code": "CCPM 2020 0007",
        "intitule": "Soudage manuel à l'arc avec électrode enrobée (démo)",
        "niveau": 3,
        "rncp_code": None,
        "cqpi": False,
        "demo": True,
        "blocs": [],
        "competences": [
            {
                "code": "C1",
                "intitule": "Préparer le poste de soudage et les pièces à assembler",
            },
            {
                "code": "C2",
                "intitule": (
                    "Réaliser un assemblage soudé à l'arc avec électrode enrobée selon un "
                    "descriptif de mode opératoire de soudage (DMOS)"
                ),
            },
            {
                "code": "C3",
                "intitule": "Contrôler visuellement les soudures et rendre compte des défauts",
            },
        ],
    },
]

# ---------------------------------------------------------------------------
# R-REF-6 — Passerelles chimie ↔ industrie pharmaceutique (seed 001)
# ---------------------------------------------------------------------------
# Le seed 001 n'énonce que le principe ; le « Panorama des passerelles entre CQP » est vide
# dans le texte extrait (tableau non récupéré). Aucune passerelle précise n'est donc listée.
# Forme attendue d'un élément : {"cqp_code": "CQP-CHIMIE-NN",
#   "autre_branche": "Industrie pharmaceutique", "certification_autre": "<intitulé>",
#   "nature": "totale" | "partielle"}
PASSERELLES = []

PASSERELLES_PRINCIPE = (
    "Une passerelle établit un principe de reconnaissance réciproque entre des certifications "
    "professionnelles établies par deux organismes certificateurs. La CPNE des Industries "
    "Chimiques a mis en place des passerelles entre les CQP des Industries Chimiques et les CQP "
    "de l'Industrie Pharmaceutique. Chaque certificateur délivre la certification qui relève de "
    "sa compétence : le jury émanant de la CPNE des Industries de Santé décide de la délivrance "
    "de tout ou partie d'un CQP de l'Industrie Pharmaceutique aux titulaires d'un CQP des "
    "Industries Chimiques ; le jury émanant de la CPNE des Industries Chimiques décide de la "
    "délivrance de tout ou partie d'un CQP des Industries Chimiques aux titulaires d'un CQP de "
    "l'Industrie Pharmaceutique. Les titulaires d'un CQP pour lequel une passerelle existe sont "
    "informés, lors de la remise de leur parchemin, de la possibilité d'obtenir un CQP de "
    "l'autre branche ; ils peuvent compléter un dossier de demande et l'adresser, avec la copie "
    "du parchemin du CQP obtenu, au secrétariat des CQP de l'autre branche. Les passerelles "
    "peuvent correspondre à une équivalence totale et réciproque entre un CQP de l'industrie "
    "pharmaceutique et un CQP des Industries Chimiques, ou à une équivalence partielle entre, "
    "d'une part, toutes ou certaines unités de compétences d'un CQP de l'industrie "
    "pharmaceutique et, d'autre part, toutes ou certaines compétences d'un CQP des Industries "
    "Chimiques."
)

# ---------------------------------------------------------------------------
# R-CAN-3 — Dispositifs de formation / financement (seed 004, Annexe 14)
# ---------------------------------------------------------------------------
# Source en majuscules, p. ex. « POEC PRÉPARATION OPERATIONNELLE A L'EMPLOI COLLECTIVE »,
# « PA PRO A » ; accents rétablis et casse normalisée.
FINANCEMENTS = [
    ("CPF", "Compte personnel de formation"),
    ("CPFCA", "Compte personnel de formation et contrat d'apprentissage"),
    ("CVAE", "Congé de VAE"),
    ("CP", "Contrat de professionnalisation"),
    ("CPE", "Contrat de professionnalisation expérimental"),
    ("CPFTP", "CPF transition professionnelle"),
    ("PDC", "Plan de développement des compétences"),
    ("POEC", "Préparation opérationnelle à l'emploi collective"),
    ("POEI", "Préparation opérationnelle à l'emploi individuelle"),
    ("PA", "Pro A"),
]
