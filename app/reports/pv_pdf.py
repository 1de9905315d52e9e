"""The jury's procès-verbal (R-DOC-1) drawn with ReportLab platypus, and the pieces it shares with
the jury's decision sheet (app/reports/feuille_decision.py).

Why these two documents do not go through render_pdf (DESIGN practice 9 says every document is
rendered by render_pdf, i.e. a Jinja template through xhtml2pdf): they are long tables, one row per
candidate, and a jury may have 500 candidates (issue 9). xhtml2pdf spends about 15 ms per row of
such a table (and more when a long table is split across pages): 7 to 10 s of CPU for a 500-row
PV even when cut into parts rendered in parallel, 15 s for a 500-row decision sheet. ReportLab
directly (the library xhtml2pdf itself draws with) takes under a second for either, in one
process: cells are plain strings cut into lines by wrap_text (no Paragraph per cell) in a
LongTable (no quadratic split).
Everything else of practice 9 still holds: the PV is rendered from the same frozen context dict
(see app/workflow/issued/data.py), loads only our static files (logo, DejaVu fonts), and the
issued PDF is stored.

render_pv() prints: letterhead, title, certification code and title, jury date and place, the
columns of the dispositif's PV model (app/reports/pv_models.py: Annexe 14 for the metallurgy),
its legend and notes, signature of the president, footer, and "page i / n". A page that continues a certification's table starts with a "(suite)" line.
"""
import io
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    LongTable,
    PageBreakIfNotEmpty,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.reports.pdf import STATIC_DIR, date_fr, dejavu
from app.reports.pv_models import ModelePV, modele_pv, valeur

PAGE = landscape(A4)
MARGIN = 1.2 * cm          # left, right, top (the former HTML PV: @page margin 1.2cm 1.2cm 1.6cm 1.2cm)
MARGIN_BOTTOM = 1.6 * cm
BLUE = colors.HexColor("#1f3a60")
GREY = colors.HexColor("#555555")
DARK = colors.HexColor("#444444")
TEXT = colors.HexColor("#1b1b1b")
HEAD_BG = colors.HexColor("#e6ebf2")
RULE = colors.HexColor("#888888")


def esc(value) -> str:
    """A value as Paragraph text (its mini-markup is XML: names like « Smith & Fils » stay text)."""
    return escape("" if value is None else str(value))


# -- fonts and styles ------------------------------------------------------------------------------
def _dejavu() -> tuple[str, str]:
    return dejavu()


@cache
def styles(unicode_font: bool = False) -> dict[str, ParagraphStyle]:
    """documents.css in ReportLab terms. Helvetica (Windows-1252 only) unless a text needs more:
    then the embedded DejaVu Sans, as _base.html does (see pdf.needs_unicode_font)."""
    regular, bold = _dejavu() if unicode_font else ("Helvetica", "Helvetica-Bold")
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13, textColor=TEXT,
                          spaceAfter=5)
    cell = ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9, spaceAfter=0)  # th
    return {
        "regular": regular, "bold": bold,
        "body": body,
        "h1": ParagraphStyle("h1", parent=body, fontName=bold, fontSize=16, leading=20,
                             textColor=BLUE, alignment=TA_CENTER, spaceAfter=6),
        "centre": ParagraphStyle("centre", parent=body, alignment=TA_CENTER),
        "centre_gras": ParagraphStyle("centre_gras", parent=body, fontName=bold,
                                      alignment=TA_CENTER),
        "petit": ParagraphStyle("petit", parent=body, fontSize=8, leading=10.4, textColor=DARK),
        "logo_nom": ParagraphStyle("logo_nom", parent=body, fontName=bold, fontSize=13, leading=16,
                                   textColor=BLUE, spaceAfter=0),
        "logo_sous": ParagraphStyle("logo_sous", parent=body, fontSize=8.5, leading=11,
                                    textColor=GREY, spaceAfter=0),
        "pied": ParagraphStyle("pied", parent=body, fontSize=7.5, textColor=GREY,
                               alignment=TA_CENTER),
        "th": ParagraphStyle("th", parent=cell, fontName=bold, alignment=TA_CENTER, leading=10),
        "signature": ParagraphStyle("signature", parent=body, spaceAfter=0),
    }


# -- building blocks ------------------------------------------------------------------------------
def entete(emetteur: dict, st: dict) -> Table:
    """_entete.html: our logo and the issuing body."""
    sous = esc(emetteur.get("dispositif"))
    if emetteur.get("adresse"):
        sous += f" — {esc(emetteur['adresse'])}"
    logo = Image(str(STATIC_DIR / "logo.png"), width=33, height=33)
    table = Table([[logo, [Paragraph(esc(emetteur.get("nom")), st["logo_nom"]),
                           Paragraph(sous, st["logo_sous"])]]],
                  colWidths=[45, None], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 2),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return table


CELL_SIZE, CELL_LEADING, CELL_PADDING = 7.5, 9, 2


def wrap_text(value, font: str, width: float) -> str:
    """Plain text cut into the lines of a cell `width` wide (the table draws them as they are).
    Much cheaper than a Paragraph per cell; a word longer than the cell is cut too."""
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase.pdfmetrics import stringWidth
    text = "" if value is None else str(value)
    if not text:
        return ""
    room = width - 2 * CELL_PADDING
    lines = []
    for line in simpleSplit(text, font, CELL_SIZE, room):
        while stringWidth(line, font, CELL_SIZE) > room and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and stringWidth(line[:cut], font, CELL_SIZE) > room:
                cut -= 1
            hyphen = line.rfind("-", 0, cut) + 1  # Saint-Étienne-de-… : after a hyphen if any
            cut = hyphen if hyphen > 1 else cut
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return "\n".join(lines)


def grille(header: list, rows: list[list], widths: list[float], columns=()) -> LongTable:
    """table.grille: a header row (Paragraphs) repeated on every page, thin rules, small type.
    Body cells are strings already cut by wrap_text; `columns` are extra style commands (a bold
    or centred column). A LongTable measures only the rows of the page being laid out, so
    splitting a long table is not quadratic."""
    table = LongTable([header] + rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTSIZE", (0, 1), (-1, -1), CELL_SIZE), ("LEADING", (0, 1), (-1, -1), CELL_LEADING),
        ("TEXTCOLOR", (0, 1), (-1, -1), TEXT),
        ("BOX", (0, 0), (-1, -1), 0.5, DARK),
        ("INNERGRID", (0, 0), (-1, -1), 0.5, RULE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, DARK),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
        ("VALIGN", (0, 1), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        *columns,
    ]))
    return table


def signature(lines: list[str], st: dict, room: float = 1.2 * cm, left=None) -> Table:
    """The signature block: right of the page, room to sign below the name (markup lines);
    `left`, if given, is what the left half of the block shows (the verification code)."""
    width = PAGE[0] - 2 * MARGIN
    table = Table([[left or "", [Paragraph("<br/>".join(lines), st["signature"]),
                                 Spacer(1, room)]]],
                  colWidths=[0.55 * width, 0.45 * width])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 2)]))
    return table


class _NumberedCanvas(rl_canvas.Canvas):
    """Writes 'page i / n' at the bottom right of every page once n is known."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        n = len(self._pages)
        for i, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(_dejavu()[0], 7)  # PDF/A: no built-in (never embedded) font
            self.setFillColor(colors.black)
            self.drawRightString(self._pagesize[0] - 34, 16, f"page {i} / {n}")
            super().showPage()
        super().save()


class _Mark(Flowable):
    """Invisible: tells the page callbacks which section is being drawn, and from which page."""

    def __init__(self, state: dict, value):
        super().__init__()
        self.state, self.value = state, value

    def wrap(self, *args):
        return 0, 0

    def draw(self):
        self.state["section"] = self.value
        self.state["page"] = self.canv.getPageNumber()


def build(story: list, *, title: str, footer: str, st: dict, on_page_end=None) -> bytes:
    """A4 landscape, the margins the HTML PV had, the footer centred at the bottom of every page."""
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                          topMargin=MARGIN, bottomMargin=MARGIN_BOTTOM, title=title,
                          author="", subject="", creator="OpenCertif")
    frame = Frame(MARGIN, MARGIN_BOTTOM, PAGE[0] - 2 * MARGIN, PAGE[1] - MARGIN - MARGIN_BOTTOM,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="corps")
    pied = Paragraph(esc(footer), st["pied"])

    def on_page(canv, doc_):
        canv.saveState()
        _, h = pied.wrap(PAGE[0] - 2 * MARGIN, 0.8 * cm)
        pied.drawOn(canv, MARGIN, 0.5 * cm + 0.8 * cm - h)
        canv.restoreState()

    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page,
                                       onPageEnd=on_page_end or (lambda c, d: None))])
    doc.build(story, canvasmaker=_NumberedCanvas)
    return out.getvalue()


# -- the procès-verbal ----------------------------------------------------------------------------
# Its columns, title, legend and notes are the model's of the dispositif (app/reports/pv_models.py).
def _pv_row(modele: ModelePV, c: dict, widths: list[float], st: dict) -> list[str]:
    return [wrap_text(valeur(col, c), st["bold"] if col.gras else st["regular"], w)
            for col, w in zip(modele.colonnes, widths)]


def _pv_columns(modele: ModelePV, st: dict) -> list:
    out = [("FONTNAME", (0, 1), (-1, -1), st["regular"])]
    for i, col in enumerate(modele.colonnes):
        if col.gras:
            out.append(("FONTNAME", (i, 1), (i, -1), st["bold"]))
        if col.centre:
            out.append(("ALIGN", (i, 1), (i, -1), "CENTER"))
    return out


def _paritaire(text: str, jury: dict) -> str:
    """« Procès-Verbal du jury paritaire de délibération » only when the jury seats a union."""
    paritaire = jury.get("paritaire", True)
    return text.format(paritaire="paritaire " if paritaire else "",
                       Paritaire="Paritaire " if paritaire else "")


def verification(context: dict, st: dict):
    """_verification.html for the PV: QR code and short code of the public verification page,
    the PV's number and issue date (the secretariat and the GTP can check the copy they hold)."""
    url, code = context.get("verification_url"), context.get("code_verification")
    if not code:
        return ""
    from app.reports.qr import qr_png
    text = Paragraph(f"Vérifier l'authenticité de ce document : {esc(url)}<br/>"
                     f"Code de vérification : <b>{esc(code)}</b> — document n° "
                     f"{esc(context.get('numero', ''))} — émis le "
                     f"{date_fr(context.get('emis_le'))}", st["petit"])
    qr = Image(io.BytesIO(qr_png(url)), width=52, height=52)
    table = Table([[qr, text]], colWidths=[58, None], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def closing(context: dict, st: dict) -> list:
    """R-DOC-1, Annexe 14: « Fait à …, le … », then the president's handwritten signature (room
    for it under the name) beside the verification block."""
    jury = context["jury"]
    lines = [f"Fait à {esc(jury.get('lieu'))}, le {date_fr(jury.get('date'))}",
             esc(_paritaire(modele_pv(context.get("modele_pv")).president, jury)),
             f"<b>{esc(jury.get('president'))}</b>"]
    # Issue 19 item 3: approved in the platform (app/workflow/jury/approval.py) instead of a
    # handwritten signature, unless the dispositif keeps paper (no key: PVs issued before).
    from app.reports.pv_approval_page import approval_lines
    extra = approval_lines(context)
    if extra:
        return [signature(lines + extra, st, room=0.3 * cm, left=verification(context, st))]
    return [signature(lines, st, room=1.6 * cm, left=verification(context, st))]


def render_pv(context: dict) -> bytes:
    """The PV of `context` (documents_data: jury, sections, financements, emetteur, numero) as
    PDF bytes. A section may say it continues another (suite, fin, total: optional keys)."""
    st = styles(True)  # PDF/A: the embedded DejaVu Sans only
    modele = modele_pv(context.get("modele_pv"))
    jury, emetteur = context["jury"], context.get("emetteur") or {}
    jour = date_fr(jury.get("date"))
    width = PAGE[0] - 2 * MARGIN
    widths = [width * col.largeur / 100 for col in modele.colonnes]
    header = [Paragraph(col.titre, st["th"]) for col in modele.colonnes]
    state = {"section": None, "page": 0}
    suites = []
    story = []
    for index, section in enumerate(context["sections"]):
        cert = section.get("certification") or {}
        suite = (f"Procès-verbal du jury du {jour} — {esc(cert.get('code'))} "
                 f"« {esc(cert.get('intitule'))} » (suite)")
        suites.append(suite)
        if index:
            story.append(PageBreakIfNotEmpty())
        story.append(_Mark(state, index))
        candidats = section.get("candidats") or []
        if not section.get("suite", False):
            total = section.get("total", len(candidats))
            story += [
                entete(emetteur, st),
                Paragraph(esc(_paritaire(modele.titre, jury)), st["h1"]),
                Paragraph(f"Certification professionnelle : {esc(cert.get('code'))}",
                          st["centre_gras"]),
                Paragraph(f"« {esc(str(cert.get('intitule') or '').upper())} »", st["centre_gras"]),
                Paragraph(f"Jury réuni le {jour} à {esc(jury.get('lieu'))} — {total} candidat(s)",
                          st["centre"]),
            ]
        else:
            story.append(Paragraph(suite, st["petit"]))
        story.append(grille(header, [_pv_row(modele, c, widths, st) for c in candidats],
                            widths, _pv_columns(modele, st)))
        if section.get("fin", True):
            financements = " ; ".join(f"<b>{esc(code)}</b> {esc(label)}"
                                      for code, label in context.get("financements") or [])
            legende = ([Paragraph(modele.legende.format(financements=financements), st["petit"])]
                       if modele.legende else [])
            story.append(KeepTogether([
                Spacer(1, 5),
                *legende,
                Paragraph("<br/>".join(esc(n) for n in modele.notes), st["petit"]),
                Spacer(1, 8),
                *closing(context, st),
            ]))

    if context.get("approbation"):  # issue 19 item 3: the approvals on the last page
        from app.reports.pv_approval_page import approval_page
        story += [PageBreakIfNotEmpty(), _Mark(state, None), *approval_page(context, st)]

    def on_page_end(canv, doc):
        # A page whose section started on an earlier page: say which PV and section it continues.
        if state["section"] is not None and state["page"] < canv.getPageNumber():
            canv.saveState()
            line = Paragraph(suites[state["section"]], st["petit"])
            line.wrap(PAGE[0] - 2 * MARGIN, MARGIN)
            line.drawOn(canv, MARGIN, PAGE[1] - MARGIN + 4)
            canv.restoreState()

    footer = (f"Procès-verbal n° {context.get('numero', '')} — jury du {jour} — "
              f"{emetteur.get('nom', '')}")
    from app.reports.pdfa import to_pdfa
    return to_pdfa(build(story, title=f"Procès-verbal du jury du {jour}", footer=footer, st=st,
                         on_page_end=on_page_end))
