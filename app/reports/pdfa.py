"""PDF/A-2b (ISO 19005-2, level B) for every issued document: the one post-processing step after
rendering (xhtml2pdf through pdf.render_pdf, ReportLab through pv_pdf.render_pv).

Certificates are kept 42 years: PDF/A makes a file render the same without anything outside it.
The renderers already draw with the embedded DejaVu Sans only (no built-in font, which is never
embedded) and produce no encryption; this step adds what they cannot: the XMP metadata with the
PDF/A identification (pdfaid:part 2, conformance B) in sync with the document information
dictionary, an sRGB output intent (the ICC profile shipped in static/icc, CC0), and it removes
anything a PDF/A may not hold (JavaScript, actions run on opening, additional actions), and makes
every annotation printable. `problems()` lists what is not PDF/A in a file (tests, checks)."""
import io
from functools import cache

import pikepdf
from pikepdf import Dictionary, Name

from app.reports.pdf import STATIC_DIR

ICC_PROFILE = STATIC_DIR / "icc" / "sRGB.icc"
OUTPUT_CONDITION = "sRGB IEC61966-2.1"
PRINT_FLAG = 4
FORBIDDEN_ANNOT_FLAGS = 1 | 2 | 32 | 256  # invisible, hidden, no view, toggle no view


@cache
def _icc() -> bytes:
    return ICC_PROFILE.read_bytes()


def to_pdfa(data: bytes) -> bytes:
    """The same document as PDF/A-2b bytes."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root
        for key in ("/OpenAction", "/AA"):
            if key in root:
                del root[key]
        if "/Names" in root and "/JavaScript" in root.Names:
            del root.Names["/JavaScript"]
        for page in pdf.pages:
            if "/AA" in page.obj:
                del page.obj["/AA"]
            for annot in page.obj.get("/Annots", []):
                flags = int(annot.get("/F", 0))
                annot.F = (flags | PRINT_FLAG) & ~FORBIDDEN_ANNOT_FLAGS
                for key in ("/AA",):
                    if key in annot:
                        del annot[key]
                action = annot.get("/A")
                if action is not None and action.get("/S") in (Name.JavaScript, Name.Launch):
                    del annot["/A"]
        profile = pdf.make_stream(_icc())
        profile.N = 3
        root.OutputIntents = pikepdf.Array([Dictionary(
            Type=Name.OutputIntent, S=Name.GTS_PDFA1,
            OutputConditionIdentifier=pikepdf.String(OUTPUT_CONDITION),
            Info=pikepdf.String(OUTPUT_CONDITION), DestOutputProfile=profile)])
        # Empty entries (ReportLab writes Author "" etc.) would have no XMP counterpart.
        for key in list(pdf.docinfo.keys()):
            if not str(pdf.docinfo[key]).strip():
                del pdf.docinfo[key]
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta.load_from_docinfo(pdf.docinfo)
            meta["pdfaid:part"] = "2"
            meta["pdfaid:conformance"] = "B"
        out = io.BytesIO()
        # PDF 1.7 (PDF/A-2 is based on it); no object streams: simplest for later incremental
        # updates (the seal) and for any reader of 2066.
        pdf.save(out, min_version="1.7", object_stream_mode=pikepdf.ObjectStreamMode.disable,
                 fix_metadata_version=True)
        return out.getvalue()


def _fonts(resources, seen: set):
    """Every font dictionary reachable from `resources` (pages, forms, annotation appearances)."""
    if resources is None or resources.objgen in seen and resources.objgen != (0, 0):
        return
    seen.add(resources.objgen)
    for font in (resources.get("/Font") or {}).values():
        yield font
        yield from font.get("/DescendantFonts", [])
        if font.get("/Subtype") == Name.Type3:
            yield from _fonts(font.get("/Resources"), seen)
    for xobject in (resources.get("/XObject") or {}).values():
        if xobject.get("/Subtype") == Name.Form:
            yield from _fonts(xobject.get("/Resources"), seen)


def problems(data: bytes) -> list[str]:
    """What keeps `data` from being PDF/A-2b, among the properties we produce: empty when none."""
    found = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if pdf.is_encrypted:
            found.append("chiffré")
        root = pdf.Root
        meta = pdf.open_metadata()
        if meta.get("pdfaid:part") != "2" or meta.get("pdfaid:conformance") != "B":
            found.append("identification PDF/A-2b absente des métadonnées XMP")
        for info_key, xmp_key in (("/Title", "dc:title"), ("/Producer", "pdf:Producer"),
                                  ("/Creator", "xmp:CreatorTool")):
            if info_key in pdf.docinfo and str(pdf.docinfo[info_key]) != str(meta.get(xmp_key)):
                found.append(f"métadonnées XMP et dictionnaire d'information en désaccord "
                             f"({info_key[1:]})")
        intents = root.get("/OutputIntents", [])
        if not any(i.get("/S") == Name.GTS_PDFA1 and "/DestOutputProfile" in i for i in intents):
            found.append("pas de profil de sortie sRGB")
        if "/OpenAction" in root or "/AA" in root or (
                "/Names" in root and "/JavaScript" in root.Names):
            found.append("script ou action à l'ouverture")
        seen: set = set()
        for number, page in enumerate(pdf.pages, start=1):
            resources = [page.obj.get("/Resources")]
            for annot in page.obj.get("/Annots", []):
                if annot.get("/Subtype") != Name.Popup and not int(annot.get("/F", 0)) & PRINT_FLAG:
                    found.append(f"annotation non imprimable page {number}")
                ap = annot.get("/AP")
                if ap is not None and isinstance(ap.get("/N"), pikepdf.Stream):
                    resources.append(ap.N.get("/Resources"))
            for res in resources:
                for font in _fonts(res, seen):
                    if font.get("/Subtype") == Name.Type3:
                        continue
                    descriptor = font.get("/FontDescriptor")
                    if font.get("/Subtype") == Name.Type0:
                        continue  # checked through its descendant font
                    if descriptor is None or not any(
                            k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                        found.append(f"police non incorporée : {font.get('/BaseFont')} "
                                     f"(page {number})")
    return sorted(set(found))
