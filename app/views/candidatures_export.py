"""The candidature list's export as one column statement (issue 9).

The generic list export builds an ORM object per dossier with its related rows (28 s for 100,000
dossiers at national scale); this one selects only the exported columns, already written as cell
texts by the database, with the list's own filters, perimeter and order, and reads them in
batches while the file is written.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Certification, Entreprise, Etablissement
from app.models.candidature import ORIGINES, STATUTS, Candidat, Candidature
from app.models.document import COURRIER_LABELS
from app.models.jury import InscriptionJury, Jury
from app.models.referentiel import DECISION_LABELS
from app.reports import sql_cells as cells
from app.reports.exports import Export
from app.seed_data.referentiels import FINANCEMENTS

K, CERT, ETAB, ENT = (aliased(Candidat), aliased(Certification), aliased(Etablissement),
                      aliased(Entreprise))
INSCRIPTION, JURY = aliased(InscriptionJury), aliased(Jury)

# export column -> the cell's text, written by the database (app/reports/sql_cells.py)
SQL = {
    "numero": cells.code(Candidature.numero),
    "candidat.nom_naissance": cells.text(K.nom_naissance),
    "candidat.nom_usage": cells.text(K.nom_usage),
    "candidat.prenom": cells.text(K.prenom),
    "candidat.date_naissance": cells.date(K.date_naissance),
    # Candidat.lieu_naissance: "town, country" when born abroad, else "postcode town"
    "candidat.lieu_naissance": cells.text(sa.case(
        (K.ne_etranger.is_(True), cells.joined(", ", K.ville_naissance, K.pays_naissance)),
        else_=cells.joined(" ", K.code_postal_naissance, K.ville_naissance))),
    "certification.code": cells.code(CERT.code),
    "certification.intitule": cells.text(CERT.intitule),
    "titulaire": cells.text(sa.case((Candidature.etablissement_id.isnot(None), ETAB.nom),
                                    else_=sa.func.coalesce(ENT.raison_sociale, ""))),
    "statut_label": cells.label(Candidature.statut, STATUTS),
    "financement_label": cells.label(Candidature.financement, FINANCEMENTS),
    "origine_label": cells.label(Candidature.origine, ORIGINES),
    "created_on": cells.datetime(Candidature.created_on),
    "envoye_le": cells.datetime(Candidature.envoye_le),
    "decision_label": cells.label(Candidature.decision, DECISION_LABELS),
    "decide_le": cells.date(Candidature.decide_le),
    # The active registration (one at most: uq_inscription_jury_active) and its jury, joined
    # rather than a subquery per row, which PostgreSQL runs in the leader after the parallel
    # scan (0.9 s of the 100,000-line export, issue 17); same value as Candidature.jury_date.
    "jury_date": cells.date(JURY.date),
    # the simple CASE reads the subquery once (a searched CASE ran it once per label)
    "courrier_label": cells.code(sa.case(COURRIER_LABELS, value=Candidature.courrier_statut,
                                         else_="")),
}


def supports(columns) -> bool:
    return all(c in SQL for c in columns)


class CandidatureListExport(Export):
    large = True
    BATCH = 2000

    def __init__(self, name, columns, labels, query, max_rows):
        self.name = self.title = name
        self.columns, self.labels = columns, labels
        self.query = (query.join(K, K.id == Candidature.candidat_id)
                      .join(CERT, CERT.id == Candidature.certification_id)
                      .outerjoin(ETAB, ETAB.id == Candidature.etablissement_id)
                      .outerjoin(ENT, ENT.id == Candidature.entreprise_id))
        if "jury_date" in columns:
            self.query = (self.query.outerjoin(INSCRIPTION, sa.and_(
                INSCRIPTION.candidature_id == Candidature.id, INSCRIPTION.active.is_(True)))
                .outerjoin(JURY, JURY.id == INSCRIPTION.jury_id))
        self.query = (self.query
                      .with_entities(*[SQL[c] for c in columns]).limit(max_rows))

    def header(self):
        return [str(self.labels.get(c, c)) for c in self.columns]

    def rows(self):
        return self.cells()

    def cell_statement(self):
        """One statement whose rows are already the cells (see exports._postgres_copy)."""
        return self.query.statement

    def cells(self):
        statement = self.cell_statement().execution_options(yield_per=self.BATCH)
        return db.session.execute(statement)
