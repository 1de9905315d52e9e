"""One procès-verbal model per dispositif (issue 16): its columns, title, decision values, legend
and notes. The dispositif says which one it uses (`Dispositif.modele_pv`); the frozen data of a PV
carries that code, and pv_pdf.render_pv draws whatever model it names. Nothing else chooses.

- metallurgie: seed 004 Annexe 14 (R-DOC-1): origin SL/DE, financing code, company, NACE code,
  sector M/HM, decision A/NA only, CPF comment; a job seeker's company columns stay empty.
- chimie: seeds 000/001: the national joint jury of the chemical industries' CQP/CQPI decides a
  total, partial or no delivery from the competences validated; the dossier is the employer's,
  evaluated by an evaluator approved by the CPNE, through parcours 1, 2 or 3.
- clea: seed 003: the CléA jury certifies or not a dossier sent by an evaluation establishment
  (dossier number, establishment, socle standard or contextualised for a branch).
"""
from dataclasses import dataclass

from app.reports.pdf import date_fr


@dataclass(frozen=True)
class Colonne:
    cle: str               # what the cell shows: a key of VALEURS, or of the row itself
    titre: str             # header, ReportLab paragraph markup
    largeur: float         # share of the table width, in percent
    centre: bool = False
    gras: bool = False


@dataclass(frozen=True)
class ModelePV:
    code: str                          # Dispositif.modele_pv (app/models/referentiel.py)
    titre: str                         # « {paritaire} » is « paritaire » for a paritaire jury
    colonnes: tuple[Colonne, ...]
    president: str                     # quality printed above the president's name
    legende: str                       # first line of the legend (« {financements} » filled in)
    notes: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()    # the only values allowed (empty: the dispositif's labels)
    sans_entreprise_pour_de: bool = False   # Annexe 14 note (7)

    def cles(self) -> tuple[str, ...]:
        return tuple(c.cle for c in self.colonnes)

    def decision(self, success: bool, label: str) -> str:
        """What the decision column says: a coded model (A / NA) codes it, the others print the
        dispositif's own word (Validé, Partiel, Certifiée…)."""
        if self.decisions:
            return self.decisions[0] if success else self.decisions[1]
        return label


def _naissance(c: dict) -> str:
    text = f"{date_fr(c.get('date_naissance'))} à {c.get('ville_naissance') or ''}"
    if c.get("departement_naissance"):
        text += f" ({c['departement_naissance']})"
    return text + f", {c.get('pays_naissance') or ''}"


def _entreprise(c: dict) -> str:
    text = str(c.get("raison_sociale") or "")
    if c.get("adresse_entreprise"):
        text += f"\n{c['adresse_entreprise']}"
    return text


def _secteur(c: dict) -> str:
    text = str(c.get("secteur") or "")
    if c.get("secteur") == "HM" and c.get("branche"):
        text += f" ({c['branche']})"
    return text


# Cells computed from several keys of a row; any other column shows the row's value as it is.
VALEURS = {
    "nom_prenom": lambda c: f"{str(c.get('nom') or '').upper()} {c.get('prenom') or ''}",
    "naissance": _naissance,
    "entreprise": _entreprise,
    "secteur": _secteur,
}


def valeur(colonne: Colonne, row: dict) -> str:
    compute = VALEURS.get(colonne.cle)
    value = compute(row) if compute else row.get(colonne.cle)
    return "" if value is None else str(value)


METALLURGIE = ModelePV(
    code="metallurgie",
    titre="Procès-Verbal du jury {paritaire}de délibération",
    colonnes=(
        Colonne("nom_prenom", "Nom et Prénom du (ou des) candidat(s) <super>(3)</super>", 13),
        Colonne("naissance", "Date et lieu de naissance du (ou des) candidat(s) <super>(4)</super>", 14),
        Colonne("origine", "Origine du Candidat", 8, centre=True),
        Colonne("financement", "Dispositif de financement", 9, centre=True),
        Colonne("entreprise", "Raison sociale", 19),
        Colonne("code_nace", "Code NACE", 7, centre=True),
        Colonne("secteur", "Secteur", 9, centre=True),
        Colonne("decision", "Décision du Jury Paritaire de Délibération <super>(5)</super>", 9,
                centre=True, gras=True),
        Colonne("commentaire", "Commentaire", 12),
    ),
    president="Le Président du Jury {Paritaire}de Délibération",
    legende=("Origine : SL (Salarié), DE (Demandeur d'Emploi) <super>(7)</super>. Secteur : M "
             "(Métaux), HM (Hors métaux, dans ce cas, préciser la branche). Dispositif de "
             "financement : {financements}."),
    notes=(
        ("(3) Dans ce procès-verbal, le(s) nom(s) du (ou des) candidat(s) admis ou non admis, quel "
        "que soit le secteur concerné, doi(ven)t être porté(s)."),
        "(4) Ville, département et pays du lieu de naissance du candidat.",
        "(5) A : Admis, NA : Non Admis (aucune autre valeur ne doit figurer dans cette rubrique).",
        "(6) Commentaire : CPF en cas d'abondement.",
        ("(7) Pour les candidats demandeurs d'emploi, les éléments concernant l'entreprise (raison "
        "sociale, adresse, code NACE, secteur) n'apparaissent pas."),
    ),
    decisions=("A", "NA"),
    sans_entreprise_pour_de=True,
)

CHIMIE = ModelePV(
    code="chimie",
    titre="Procès-verbal du jury paritaire national",
    colonnes=(
        Colonne("nom_prenom", "Nom et prénom du candidat", 14),
        Colonne("naissance", "Date et lieu de naissance", 14),
        Colonne("entreprise", "Entreprise", 18),
        Colonne("parcours", "Parcours <super>(1)</super>", 8, centre=True),
        Colonne("evaluateur", "Évaluateur habilité par la CPNE", 13),
        Colonne("decision", "Décision du jury paritaire national <super>(2)</super>", 10,
                centre=True, gras=True),
        Colonne("competences", "Compétences validées <super>(3)</super>", 10, centre=True),
        Colonne("commentaire_jury", "Commentaire du jury", 13),
    ),
    president="Le Président du jury paritaire national",
    legende="",
    notes=(
        ("(1) Parcours n°1 : développement des compétences ; n°2 : VAE simplifiée (salariés de la "
        "branche) ; n°3 : VAE de droit commun."),
        ("(2) Validé : délivrance totale du CQP/CQPI (toutes les compétences sont validées) ; "
        "Partiel : délivrance partielle (le candidat garde le bénéfice des compétences acquises) ; "
        "Non validé : non-délivrance."),
        "(3) Nombre de compétences validées sur le nombre de compétences du CQP/CQPI.",
    ),
)

CLEA = ModelePV(
    code="clea",
    titre="Procès-verbal du jury de certification CléA",
    colonnes=(
        Colonne("numero", "Numéro de dossier", 12, centre=True),
        Colonne("nom_prenom", "Nom et prénom du candidat", 16),
        Colonne("naissance", "Date et lieu de naissance", 16),
        Colonne("etablissement", "Établissement d'évaluation", 20),
        Colonne("socle", "Socle <super>(1)</super>", 12, centre=True),
        Colonne("decision", "Décision du jury <super>(2)</super>", 10, centre=True, gras=True),
        Colonne("commentaire_jury", "Commentaire du jury", 14),
    ),
    president="Le Président du jury",
    legende="",
    notes=(
        ("(1) Socle standard, ou contextualisé pour une branche (dossier transmis à la CPNE de la "
        "branche)."),
        ("(2) Certifiée : 100 % des domaines et sous-domaines acquis, dossier conforme ; Non "
        "certifiée : dossier non conforme."),
    ),
)

MODELES_PV = {m.code: m for m in (METALLURGIE, CHIMIE, CLEA)}
# A PV frozen before models existed was an Annexe 14 PV.
DEFAUT = METALLURGIE.code


def modele_pv(code: str | None) -> ModelePV:
    return MODELES_PV.get(code or DEFAUT, METALLURGIE)
