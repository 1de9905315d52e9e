"""What a user may create a dossier for, and what the creation form proposes first (R-DIS-2,
R-HAB-2, issue 16 item 7).

The creation form offers exactly these choices; create_candidature refuses the same things on
its own (a forged POST, the REST API, the imports), so the two cannot disagree:
  creatable_dispositifs(p)     the dispositifs whose dossiers `p` creates
  creatable_certifications(p)  their certifications open to new candidates
  creation_etablissements(p)   the établissements `p` may name as holder
  last_choices(p)              what `p` chose for its last dossier (the form's defaults)
  why_nothing_creatable(p)     the sentence a user with no choice at all reads
  fields_applying(dispositif)  the optional fields its dossiers use (form, edit form, imports)
"""
from dataclasses import dataclass

from app.extensions import db
from app.models import Certification, Dispositif, Entreprise, Etablissement
from app.models.candidature import Candidature
from app.models.habilitation import Habilitation
from app.security import perimeter
from app.security.perimeter import Perimetre
from app.workflow.dossier.candidatures import CREATOR_KIND
from app.workflow.engine import CHIMIE, workflow_for
from app.workflow.habilitations import etablissements_habilites
from app.workflow.jury.acquis import offers_cqpi_request

MAX_CHOICES = 500  # a select list beyond this is a search, not a list
# Fields that only mean something in a dispositif of this evaluation structure (R-DIS-2).
ONLY_FOR = {"socle_contextualise": "domaines_clea", "branche_delegataire": "domaines_clea",
            "parcours": "competences"}
OPTIONAL_FIELDS = frozenset(ONLY_FOR) | {"vae", "recevabilite_recue_le", "cqpi_demande",
                                         "cqpi_detenu"}


def fields_applying(dispositif) -> set:
    """The optional fields of this dispositif's dossiers: its structure's own (ONLY_FOR), the VAE
    where its workflow has a VAE entry (R-CAN-8: chimie by its parcours 2 and 3), the CQPI
    request where a CQP gives a CQPI by equivalence, the CQPI held where the branch joined some
    (R-CAN-9)."""
    if dispositif is None:
        return set()
    out = {key for key, structure in ONLY_FOR.items()
           if structure == dispositif.structure_evaluation}
    wf = workflow_for(dispositif)
    if wf.initial_vae is not None:
        out.add("recevabilite_recue_le")
        if wf is not CHIMIE:
            out.add("vae")
    if offers_cqpi_request(dispositif):
        out.add("cqpi_demande")
    if db.session.query(Certification.id).filter(
            Certification.dispositif_id == dispositif.id, Certification.type == "CQPI",
            Certification.membre_branche.is_(True)).first():
        out.add("cqpi_detenu")
    return out


def _employer_company(p: Perimetre) -> Entreprise | None:
    own = perimeter.own_id(p, "entreprise")
    return db.session.get(Entreprise, own) if own else None


def creatable_dispositifs(p: Perimetre) -> list[Dispositif]:
    """The active dispositifs that let `p`'s role create (R-DIS-2), narrowed to `p`'s own: the
    secretariat's dispositif, the employer's company's branches, the dispositifs one of the
    établissements of the perimeter is habilitated for today (R-HAB-2)."""
    kind = CREATOR_KIND.get(p.role)
    if kind is None:
        return []
    q = db.session.query(Dispositif).filter(Dispositif.actif.is_(True)).order_by(Dispositif.id)
    if kind == "secretariat":
        own = perimeter.secretariat_dispositif(p)
        return [d for d in q.filter(Dispositif.id == own)
                if d.allows_creator("secretariat") or d.allows_creator("candidat")]
    dispositifs = [d for d in q if d.allows_creator(kind)]
    if kind == "employeur":
        company = _employer_company(p)
        return [d for d in dispositifs if company is not None and company.in_branch(d)]
    return [d for d in dispositifs
            if db.session.execute(etablissements_habilites(p, d).limit(1)).first() is not None]


def creatable_certifications(p: Perimetre, dispositifs=None) -> list[Certification]:
    dispositifs = creatable_dispositifs(p) if dispositifs is None else dispositifs
    if not dispositifs:
        return []
    return (db.session.query(Certification)
            .filter(Certification.dispositif_id.in_([d.id for d in dispositifs]),
                    Certification.date_suppression.is_(None))
            .order_by(Certification.dispositif_id, Certification.code).all())


def creation_etablissements(p: Perimetre, dispositifs) -> list[Etablissement]:
    """An établissement's user names one of its établissements habilitated for one of the
    dispositifs offered; the secretariat any active one; an employer none (R-ACC-5)."""
    kind = CREATOR_KIND.get(p.role)
    if kind == "employeur" or not dispositifs:
        return []
    q = perimeter.scoped_query(Etablissement, p).filter(Etablissement.actif.is_(True))
    if kind == "etablissement":
        q = q.filter(Etablissement.id.in_(etablissements_habilites(p).where(
            Habilitation.dispositif_id.in_([d.id for d in dispositifs]))))
    return q.order_by(Etablissement.nom).limit(MAX_CHOICES).all()


def creation_entreprises(p: Perimetre) -> list[Entreprise]:
    """An employer's dossiers are its company's (R-ACC-5); the others pick the candidate's."""
    if p.role == "employeur":
        company = _employer_company(p)
        return [company] if company is not None else []
    return (db.session.query(Entreprise).filter(Entreprise.actif.is_(True))
            .order_by(Entreprise.raison_sociale).limit(MAX_CHOICES).all())


@dataclass
class LastChoices:
    certification_id: int | None = None
    etablissement_id: int | None = None
    entreprise_id: int | None = None
    organisme_formation_id: int | None = None


def last_choices(p: Perimetre) -> LastChoices:
    """What `p` chose for the last dossier it created: a secretary entering a batch of
    candidates for one session keeps the same certification and établissement. One read on
    ix_candidature_createur."""
    if p.user_id is None:
        return LastChoices()
    row = (db.session.query(Candidature.certification_id, Candidature.etablissement_id,
                            Candidature.entreprise_id, Candidature.organisme_formation_id)
           .filter(Candidature.createur_id == p.user_id)
           .order_by(Candidature.id.desc()).limit(1).first())
    return LastChoices(*row) if row is not None else LastChoices()


def why_nothing_creatable(p: Perimetre) -> str:
    kind = CREATOR_KIND.get(p.role)
    if kind == "etablissement":
        return ("Aucun de vos établissements n'a d'habilitation valide aujourd'hui pour un "
                "dispositif dont les dossiers sont créés par les établissements : demandez une "
                "habilitation au certificateur (menu Habilitations).")
    if kind == "employeur":
        return ("Votre entreprise n'est rattachée à aucun dispositif dont les dossiers sont "
                "créés par l'employeur : adressez-vous au secrétariat du certificateur.")
    if kind == "secretariat":
        return ("Dans votre dispositif, les dossiers ne sont pas créés par le secrétariat : les "
                "établissements habilités ou les employeurs les créent.")
    return "Votre rôle ne permet pas de créer un dossier."
