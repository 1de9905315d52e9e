"""The jury's decision sheet (R-DOC-6, seed 000 « Exporter la feuille de décision du jury »):
xlsx / csv through the Export base (formulas neutralised) and pdf through render_pdf."""
from datetime import date

from app.formats import format_date_fr, neutralise_formula
from app.models.jury import ETATS_INSCRIPTION, InscriptionJury, Jury
from app.reports.exports import Export


def anonymous(jury: Jury) -> bool:
    """R-JUR-7: numbers instead of names while an anonymous jury deliberates."""
    return bool(jury.anonyme) and jury.etat != "clos"


def _acquis_text(ins: InscriptionJury, competences: dict, blocs: dict) -> str:
    parts = [f"{blocs[b].code} {blocs[b].intitule}" for b in ins.blocs_acquis or [] if b in blocs]
    in_blocs = {cid for b in ins.blocs_acquis or [] if b in blocs
                for cid in (c.id for c in blocs[b].competences)}
    parts += [f"{competences[c].code} {competences[c].intitule}"
              for c in ins.competences_acquises or [] if c in competences and c not in in_blocs]
    return " ; ".join(parts)


def _decision_text(ins: InscriptionJury) -> str:
    if ins.decision:
        return ins.decision_label
    return ETATS_INSCRIPTION.label(ins.etat) if ins.etat != "inscrit" else "À délibérer"


class FeuilleDecisionExport(Export):
    """One row per dossier examined by the jury, with its decision and what was acquired."""

    def __init__(self, jury: Jury, rows: list[InscriptionJury]):
        self.jury = jury
        self.items = rows
        self.anonyme = anonymous(jury)
        self.name = f"feuille-decision-jury-{jury.date:%Y%m%d}-{jury.id}"
        self.title = "Feuille de décision"
        comps, blocs = {}, {}
        for ins in rows:
            cert = ins.candidature.certification
            for comp in cert.competences:
                comps[comp.id] = comp
            for bloc in cert.blocs:
                blocs[bloc.id] = bloc
        self.competences, self.blocs = comps, blocs

    def header(self):
        who = [] if self.anonyme else ["N° de dossier", "Nom", "Prénom", "Date de naissance"]
        return (["N° anonyme"] + who + ["Certification", "Intitulé", "Décision",
                                        "Compétences / blocs acquis", "Commentaire",
                                        "Décision enregistrée le"])

    def rows(self):
        for ins in self.items:
            c = ins.candidature
            who = [] if self.anonyme else [c.numero, c.candidat.nom_naissance, c.candidat.prenom,
                                           c.candidat.date_naissance]
            yield ([ins.numero_anonyme] + who + [
                c.certification.code, c.certification.intitule, _decision_text(ins),
                _acquis_text(ins, self.competences, self.blocs),
                ins.commentaire or ins.complement_demande or "", ins.decide_le])

    def pdf_context(self) -> dict:
        """Plain values for app/reports/templates/feuille_decision.html (frozen, no ORM)."""
        from app.reports.exports import cell
        jury = self.jury
        return {
            "emetteur": {"nom": jury.certificateur, "dispositif": jury.dispositif.nom},
            "jury": {"date": jury.date.isoformat(), "lieu": jury.lieu, "intitule": jury.intitule,
                     "president": jury.president, "etat": jury.etat_label},
            "anonyme": self.anonyme,
            "colonnes": [neutralise_formula(h) for h in self.header()],
            "lignes": [[cell(v) for v in row] for row in self.rows()],
            "edite_le": format_date_fr(date.today()),
        }


def feuille_pdf(jury: Jury, rows: list[InscriptionJury]) -> bytes:
    from app.reports.pdf import render_pdf
    return render_pdf("feuille_decision.html", FeuilleDecisionExport(jury, rows).pdf_context())
