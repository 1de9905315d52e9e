"""What the PV prints about its approval in the platform (issue 19 item 3): a line under the
president's name, and on the approved PV a last page listing each approval — who, as what, when
(Paris time), with which second factor, and the SHA-256 of the draft file approved; a president
without an account: the day he signed on paper and who recorded it.

Drawn from the PV's frozen data only (`approbation_plateforme` on the draft, `approbation` on the
approved PV; see app/workflow/jury/approval.py), like the rest of app/reports/pv_pdf.py.
"""
from datetime import datetime

from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, Spacer

from app.formats import format_datetime_fr
from app.reports.pdf import date_fr

# pv_pdf imports this module inside its functions only: no import cycle.
from app.reports.pv_pdf import MARGIN, PAGE, esc, grille, wrap_text


def _moment(iso: str) -> str:
    return format_datetime_fr(datetime.fromisoformat(iso)).replace(" ", " à ", 1)


def approval_lines(context: dict) -> list[str]:
    """Under the president's name: approved (and where the list is), or waiting for approval."""
    approved = context.get("approbation")
    if approved:
        president = next((a for a in approved.get("approbations") or [] if a.get("president")),
                         None)
        if president and president.get("papier"):
            return [(f"<i>Signé sur papier par le président le {date_fr(president['papier'])}, "
                     f"signature enregistrée par {esc(president.get('enregistre_par'))} le "
                     f"{_moment(president['approuve_le'])} — approbations en dernière page ; "
                     "document scellé électroniquement.</i>")]
        when = f" le {_moment(president['approuve_le'])}" if president else ""
        return [(f"<i>Approuvé dans la plateforme{when} — approbations des membres du jury en "
                 "dernière page ; document scellé électroniquement.</i>")]
    if context.get("approbation_plateforme"):
        return [("<i>Projet soumis à l'approbation des membres du jury et de son président dans "
                 "la plateforme (pas de signature manuscrite).</i>")]
    return []


def approval_page(context: dict, st: dict) -> list:
    """The last page of the approved PV."""
    data = context["approbation"]
    width = PAGE[0] - 2 * MARGIN
    header_specs = [("Membre du jury", 22), ("Qualité", 26), ("Approuvé le", 14),
                    ("Second facteur", 14), ("Empreinte SHA-256 du projet approuvé", 24)]
    widths = [width * w / 100 for _, w in header_specs]
    header = [Paragraph(text, st["th"]) for text, _ in header_specs]
    rows = []
    paper = None
    for a in data.get("approbations") or []:
        # The seat's quality already names the college (« Président du jury — UIMM »).
        if a.get("papier"):  # a president without an account: his signature on the paper draft
            paper = a
            values = [a.get("nom"), a.get("qualite"), f"Signé sur papier le {date_fr(a['papier'])}",
                      "—", a.get("sha256")]
        else:
            values = [a.get("nom"), a.get("qualite"), _moment(a["approuve_le"]),
                      a.get("second_facteur"), a.get("sha256")]
        rows.append([wrap_text(v, st["regular"], w) for v, w in zip(values, widths)])
    if paper:
        how = ("a été approuvé depuis leur compte par les membres votants du jury puis signé sur "
               f"papier par son président, le {date_fr(paper['papier'])} ; la signature a été "
               f"enregistrée dans la plateforme par {esc(paper.get('enregistre_par'))} le "
               f"{_moment(paper['approuve_le'])}.")
    else:
        how = ("a été approuvé depuis leur compte par les membres votants du jury puis par son "
               "président.")
    story = [
        Paragraph("Approbation du procès-verbal par le jury", st["h1"]),
        Paragraph(f"Le projet de procès-verbal n° {esc(data.get('pv_numero'))}, émis le "
                  f"{date_fr(data.get('pv_emis_le'))} (empreinte SHA-256 "
                  f"<font size=8>{esc(data.get('pv_sha256'))}</font>), {how} Ce "
                  f"procès-verbal n° {esc(context.get('numero'))} le remplace ; il est scellé "
                  "électroniquement par le certificateur.", st["body"]),
        Spacer(1, 0.2 * cm),
        # The body font named: ReportLab's default Helvetica is never embedded (PDF/A).
        grille(header, rows, widths, [("FONTNAME", (0, 1), (-1, -1), st["regular"])]),
    ]
    absents = data.get("sans_compte") or []
    if absents:
        names = " ; ".join(f"{esc(m.get('nom'))} ({esc(m.get('qualite'))})" for m in absents)
        story += [Spacer(1, 0.3 * cm),
                  Paragraph("Membres votants sans compte dans la plateforme (leur présence est "
                            f"attestée par la feuille d'émargement) : {names}.", st["petit"])]
    return story
