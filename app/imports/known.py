"""What the domain checks of a candidates import look up, read for the whole file in a few
set-based statements, then answered from memory: the valid habilitations of the file's
établissements (R-HAB-2), the existing candidates with the file's identities and their
dossiers in progress (R-CAN-2, with whether each is inside the importer's perimeter), the CQPI
equivalences of the file's certifications (R-REF-2).

create_candidature(known=…) calls these methods where a single creation runs a query
(app/workflow/dossier/candidatures.py), so every row goes through the same rules as the form.
"""
from typing import NamedTuple

import sqlalchemy as sa

from app.extensions import db
from app.models.candidature import Candidat, Candidature, cle
from app.models.habilitation import Habilitation
from app.models.statuts import ENDED_WITHOUT_TITLE
from app.security import perimeter


class Dossier(NamedTuple):
    id: int
    numero: str
    inside: bool  # inside the importer's perimeter: its number may be told (issue 14)


CHUNK = 500  # values per IN (…): well under every database's parameter limit


def _chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def person_key(identity: dict) -> tuple:
    """The R-CAN-2 identity of find_same_person: birth name, first name, birth date."""
    return cle(identity.get("nom_naissance")), cle(identity.get("prenom")), \
        identity.get("date_naissance")


class Known:
    def __init__(self, p, dispositif, day):
        self.p, self.dispositif, self.day = p, dispositif, day
        self.habilitations: dict = {}  # établissement id -> its valid Habilitation (or absent)
        self.persons: dict = {}        # person_key -> Candidat, or id of one this run stored
        self.dossiers: dict = {}       # (candidat id, certification id) -> (id, numero, inside p)
        self.equivalences: dict = {}   # certification id -> CQPI given by equivalence
        self._new: list = []           # keys of the candidates of the batch being stored

    # -- prefetch ------------------------------------------------------------------------------
    def load(self, etablissement_ids, identities) -> "Known":
        """Three statements per CHUNK distinct values, whatever the number of rows."""
        for ids in _chunks(sorted(set(etablissement_ids))):
            rows = (db.session.query(Habilitation)
                    .filter(Habilitation.etablissement_id.in_(ids),
                            Habilitation.dispositif_id == self.dispositif.id,
                            Habilitation.etat == "validee", Habilitation.date_debut <= self.day,
                            Habilitation.date_fin >= self.day)
                    .order_by(Habilitation.date_fin))
            for hab in rows:  # the latest end wins, as habilitation_valide orders them
                self.habilitations[hab.etablissement_id] = hab
        keys = sorted({person_key(i) for i in identities if all(person_key(i))},
                      key=lambda k: (k[0], k[1], k[2].isoformat()))
        for part in _chunks(keys):
            rows = (db.session.query(Candidat)
                    .filter(sa.tuple_(Candidat.cle_nom, Candidat.cle_prenom,
                                      Candidat.date_naissance).in_(part))
                    .order_by(Candidat.id.desc()))
            for person in rows:  # the oldest last: it wins, as find_same_person's order by id
                self.persons[(person.cle_nom, person.cle_prenom, person.date_naissance)] = person
        person_ids = sorted({p.id for p in self.persons.values()})
        inside = perimeter.criterion(Candidature, self.p)
        for ids in _chunks(person_ids):
            rows = db.session.execute(
                sa.select(Candidature.id, Candidature.numero, Candidature.candidat_id,
                          Candidature.certification_id, sa.case((inside, True), else_=False))
                .where(Candidature.candidat_id.in_(ids),
                       Candidature.statut.notin_(ENDED_WITHOUT_TITLE))
                .order_by(Candidature.id.desc()))
            for id_, numero, candidat_id, certification_id, ok in rows:
                self.dossiers[(candidat_id, certification_id)] = Dossier(id_, numero, bool(ok))
        return self

    def remember(self, person: Candidat):
        """A candidate this run creates: a later row of the same person finds it (R-CAN-2)."""
        key = (person.cle_nom or cle(person.nom_naissance), person.cle_prenom or cle(person.prenom),
               person.date_naissance)
        if key not in self.persons:
            self.persons[key] = person
            self._new.append(key)

    def saved(self):
        """The batch is stored: its new candidates kept by id only, so that a 10,000-row import
        does not hold 10,000 candidates (and their dossiers) in memory."""
        for key in self._new:
            self.persons[key] = self.persons[key].id
        self._new = []

    def forget_unsaved(self):
        """After a rolled-back batch, the candidates it would have created exist no more."""
        for key in self._new:
            del self.persons[key]
        self._new = []

    # -- the answers the domain asks for --------------------------------------------------------
    def habilitation(self, etablissement, dispositif, day):
        if getattr(dispositif, "id", dispositif) != self.dispositif.id or day != self.day:
            from app.workflow.habilitations import habilitation_valide
            return habilitation_valide(etablissement, dispositif, day)
        return self.habilitations.get(etablissement.id)

    def same_person(self, identity: dict):
        person = self.persons.get(person_key(identity))
        if isinstance(person, int):  # created by an earlier batch of this run
            return db.session.get(Candidat, person)
        return person

    def dossier_in_progress(self, candidat_id, certification_id):
        return self.dossiers.get((candidat_id, certification_id))

    def cqpi_by_equivalence(self, certification):
        if certification.id not in self.equivalences:  # once per certification of the file
            from app.workflow.jury.deliberation import cqpi_by_equivalence
            self.equivalences[certification.id] = cqpi_by_equivalence(certification)
        return self.equivalences[certification.id]
