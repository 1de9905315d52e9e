"""What the dossier statuses mean, named once (R-WF-3, R-DEC-1, R-DIS-2).

Each dispositif has its own vocabulary (Validé / Certifiée / Admis…) but the codes never overlap,
so one set per meaning serves the three workflows: a status belongs to one workflow only. The
transition tables (app/workflow/engine.py) take their locked and final statuses from here, and
the model, reports and verbs ask the same sets — no copy of a tuple anywhere else.
"""

# The jury's positive decision of each vocabulary: fully successful (the certificate is issued).
SUCCESS = ("valide", "certifiee", "admis")
# Part of the certification acquired (chimie only).
PARTIAL = ("partiel",)
# The jury's negative decision of each vocabulary.
FAILURE = ("non_valide", "non_certifiee", "non_admis")
# Every decision a jury may record: the dossier's final statuses.
DECIDED = SUCCESS + PARTIAL + FAILURE
# Sent to (or back to) the jury, waiting for its decision or for an assignment to a jury.
WAITING_JURY = ("en_attente_jury", "candidature_completee")
# R-WF-3: sent to certification / the jury, or decided — the organisation no longer changes it.
LOCKED = WAITING_JURY + DECIDED
# Reached a jury: locked, or reopened by the jury's request for a complement (R-WF-4).
AT_JURY = LOCKED + ("en_attente_complement",)
# Closed before any jury: abandoned (R-CAN-7) or refused at the recevabilité (VAE).
CLOSED_BEFORE_JURY = ("abandonnee", "recevabilite_refusee")
# R-CAN-2: a dossier in none of these counts as « in progress or certified »; a failure, an abandon
# or a partial result allows a new dossier for the same certification.
ENDED_WITHOUT_TITLE = PARTIAL + FAILURE + CLOSED_BEFORE_JURY
