"""The jury's decision sheet (R-DOC-6, seed 000 « Exporter la feuille de décision du jury »):
xlsx / csv through the Export base (formulas neutralised) and pdf drawn by ReportLab directly
(render_feuille), like the PV: xhtml2pdf took 15 s for a 500-row sheet (issue 9, see
app/reports/pv_pdf.py)."""
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
        """Plain values for render_feuille (frozen, no ORM)."""
        from app.reports.exports import text
        jury = self.jury
        return {
            "emetteur": {"nom": jury.certificateur, "dispositif": jury.dispositif.nom},
            "jury": {"date": jury.date.isoformat(), "lieu": jury.lieu, "intitule": jury.intitule,
                     "president": jury.president, "etat": jury.etat_label},
            "anonyme": self.anonyme,
            "colonnes": [neutralise_formula(h) for h in self.header()],
            "lignes": [[text(v) for v in row] for row in self.rows()],
            "edite_le": format_date_fr(date.today()),
        }


def feuille_pdf(jury: Jury, rows: list[InscriptionJury]) -> bytes:
    return render_feuille(FeuilleDecisionExport(jury, rows).pdf_context())


# Relative widths of the columns (any other column: 10).
LARGEURS = {"N° anonyme": 7, "N° de dossier": 9, "Nom": 10, "Prénom": 9, "Date de naissance": 8,
            "Certification": 11, "Intitulé": 13, "Décision": 8, "Compétences / blocs acquis": 17,
            "Commentaire": 15, "Décision enregistrée le": 9}


def render_feuille(context: dict) -> bytes:
    """The sheet of pdf_context() as PDF bytes: one
    table over as many pages as needed (header repeated), its pages numbered "page i / n"."""
    from reportlab.platypus import Paragraph, Spacer

    from app.reports.pdf import date_fr, needs_unicode_font
    from app.reports.pv_pdf import (
        MARGIN,
        PAGE,
        build,
        entete,
        esc,
        grille,
        signature,
        styles,
        wrap_text,
    )
    st = styles(needs_unicode_font(context))
    jury = context["jury"]
    jour = date_fr(jury.get("date"))
    colonnes = context["colonnes"]
    weights = [LARGEURS.get(h, 10) for h in colonnes]
    width = PAGE[0] - 2 * MARGIN
    widths = [width * w / sum(weights) for w in weights]
    header = [Paragraph(esc(h), st["th"]) for h in colonnes]
    rows = [[wrap_text(v, st["regular"], w) for v, w in zip(row, widths)]
            for row in context["lignes"]]
    columns = [("FONTNAME", (0, 1), (-1, -1), st["regular"])]
    if not rows:
        rows = [["Aucun dossier."] + [""] * (len(colonnes) - 1)]
        columns.append(("SPAN", (0, 1), (-1, 1)))
    sous_titre = f"Jury du {jour}"
    if jury.get("lieu"):
        sous_titre += f" — {esc(jury['lieu'])}"
    sous_titre += f" — {esc(jury.get('etat'))}"
    if context.get("anonyme"):
        sous_titre += " — candidats anonymisés"
    story = [entete(context.get("emetteur") or {}, st),
             Paragraph("Feuille de décision du jury", st["h1"]),
             Paragraph(esc(jury.get("intitule")), st["centre_gras"]),
             Paragraph(sous_titre, st["centre"]),
             grille(header, rows, widths, columns)]
    if jury.get("president"):
        story += [Spacer(1, 14),
                  signature(["Le Président du jury", f"<b>{esc(jury['president'])}</b>"], st)]
    footer = f"Feuille de décision — jury du {jour} — éditée le {context.get('edite_le', '')}"
    return build(story, title=f"Feuille de décision — {jury.get('intitule') or ''}",
                 footer=footer, st=st)
