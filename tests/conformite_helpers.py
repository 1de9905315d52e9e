"""Rows for the retention, personal data and Caisse des Dépôts tests (issue 8): decided dossiers,
uploaded pieces, evaluations with appraisals, issued documents — written directly, the way the
jury and documents features leave them, so these tests do not depend on their screens."""
import datetime as dt
import hashlib
import itertools

from app.models.candidature import Document
from app.models.document import DocumentEmis
from app.models.evaluation import Evaluation, ResultatCompetence

_n = itertools.count(1)
PDF = b"%PDF-1.4\n% test\n"


def decide(db, c, decision: str, on: dt.date):
    """The state apply_decision leaves: status = decision code, decision date."""
    c.statut, c.decision, c.decide_le = decision, decision, on
    db.session.commit()
    return c


def dossier(make, decision=None, on=None, dispositif="CHIMIE", **kw):
    c = make.candidature(dispositif, **kw)
    if decision:
        decide(make.db, c, decision, on or dt.date(2024, 6, 15))
    return c


def piece(db, c, type_piece="autre", name=None, content=None):
    n = next(_n)
    data = content or (PDF + f"piece {n} {type_piece}".encode())
    row = Document(candidature_id=c.id, type_piece=type_piece,
                   nom_fichier=name or f"{type_piece}_{n}.pdf", mimetype="application/pdf",
                   format="pdf", taille=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   contenu=data)
    db.session.add(row)
    db.session.commit()
    return row


def evaluation(db, c, acquis=(True, False), commentaire="Bonne maîtrise du poste",
               competences=None):
    """A finalised evaluation with free-text appraisals and per-competence results."""
    competences = competences or c.certification.competences
    ev = Evaluation(candidature_id=c.id, type="unique", statut="finalisee",
                    resultat="partiel", date_evaluation=dt.date(2024, 5, 1),
                    finalisee_le=dt.datetime(2024, 5, 2), commentaire=commentaire,
                    observations_candidat="Le candidat est satisfait.",
                    observations_metier="Observations du tuteur.")
    db.session.add(ev)
    db.session.flush()
    for i, (comp, ok) in enumerate(zip(competences, acquis)):
        db.session.add(ResultatCompetence(evaluation_id=ev.id, competence_id=comp.id, ordre=i,
                                          acquis=ok, commentaire=f"Commentaire {i}",
                                          observation_metier=f"Observation {i}"))
    db.session.commit()
    return ev


def issued(db, dispositif, type_="certificat", date_reference=dt.date(2024, 6, 15),
           candidature=None, titulaire="Claire MARTIN", statut="valide"):
    n = next(_n)
    pdf = PDF + f"{type_} {n}".encode()
    row = DocumentEmis(
        dispositif_id=dispositif.id, type=type_, modele=type_,
        numero=f"T{type_[:2].upper()}{n:06d}",
        donnees={"titulaire": {"nom": "MARTIN"}}, pdf=pdf, taille=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(), code_verification=f"CODE{n:08d}"[:12],
        statut=statut, revoque_le=dt.datetime(2024, 7, 1) if statut == "revoque" else None,
        candidature_id=getattr(candidature, "id", None), titulaire=titulaire,
        intitule="Test", date_reference=date_reference)
    db.session.add(row)
    db.session.commit()
    return row
