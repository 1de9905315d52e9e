"""What the dossier lists show of a dossier's follow-up, read by the list's own statement
(R-ENV-2 « Courrier envoyé », the dossier's jury): correlated subqueries, deferred so that only the
lists and their exports pay for them (`undefer`), never one query per row."""
import sqlalchemy as sa
from sqlalchemy.orm import column_property

from .candidature import Candidature
from .document import COURRIER_LABELS, DocumentEmis, Envoi
from .jury import InscriptionJury, Jury

# R-ENV-2: the last mailing status of the dossier's certificate (a duplicate or a correction is a
# certificate too: the last line of any of them is the one the list shows).
Candidature.courrier_statut = column_property(
    sa.select(Envoi.statut)
    .join(DocumentEmis, DocumentEmis.id == Envoi.document_id)
    .where(DocumentEmis.candidature_id == Candidature.id, DocumentEmis.type == "certificat")
    .order_by(Envoi.id.desc()).limit(1)
    .correlate(Candidature).scalar_subquery(),
    deferred=True,
)
Candidature.courrier_label = property(lambda self: COURRIER_LABELS.get(self.courrier_statut, ""))

# The date of the jury the dossier is registered to (its active registration: waiting, or decided).
Candidature.jury_date = column_property(
    sa.select(Jury.date)
    .join(InscriptionJury, InscriptionJury.jury_id == Jury.id)
    .where(InscriptionJury.candidature_id == Candidature.id, InscriptionJury.active.is_(True))
    .limit(1)
    .correlate(Candidature).scalar_subquery(),
    deferred=True,
)

LIST_UNDEFER = ("courrier_statut", "jury_date")
