"""The one PDF renderer: Jinja templates of app/reports/templates through xhtml2pdf.

Documents are rendered outside any request (background jobs, CLI), so they use their own Jinja
environment, not Flask's: a template sees only the context it is given. The only files a document
may load are ours, under app/reports/static/; remote URLs and any other path are refused twice,
by the link_callback and by xhtml2pdf's resource policy (no network, reads confined to static/).
"""
import io
import logging
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
# A path that never exists: what a refused link resolves to (xhtml2pdf then skips it).
REFUSED = str(STATIC_DIR / ".refused")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]+$")

MOIS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre"]


class RenderError(RuntimeError):
    """xhtml2pdf reported errors while building the document."""


def link_callback(uri, rel=None) -> str:
    """Resolve a link of a template: our static files and inline images only, nothing else."""
    uri = str(uri or "").strip()
    if uri.startswith("data:"):
        return uri if _DATA_IMAGE.match(uri) else REFUSED
    if ":" in uri.split("/", 1)[0] or uri.startswith("//"):  # http:, file:, ftp:, //host…
        log.warning("Lien refusé dans un document : %s", uri[:120])
        return REFUSED
    relative = uri.split("?", 1)[0].lstrip("/")
    relative = relative.removeprefix("static/")
    try:
        path = (STATIC_DIR / relative).resolve()
    except (OSError, ValueError):
        return REFUSED
    if path.is_relative_to(STATIC_DIR) and path.is_file():
        return str(path)
    log.warning("Fichier refusé dans un document : %s", uri[:120])
    return REFUSED


def _policy():
    from xhtml2pdf.config.resources import ResourceAccessPolicy
    return ResourceAccessPolicy.server(base_dir=STATIC_DIR, allow_remote=False,
                                       max_document_bytes=64 * 1024 * 1024,
                                       max_render_seconds=300)


# -- template filters --------------------------------------------------------------------------
def _as_date(value):
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def date_fr(value) -> str:
    """R-FMT-4: dd/mm/yyyy (dates may come as ISO strings from a frozen JSON copy)."""
    d = _as_date(value)
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}" if d else ""


def date_long(value) -> str:
    """'12 mars 2026', as the certificate models write it ('1er' for the first day)."""
    d = _as_date(value)
    if d is None:
        return ""
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {MOIS[d.month - 1]} {d.year}"


def masque(name) -> str:
    """'Jean Dupont' -> 'J*** D***': enough to recognise, not enough to collect names."""
    words = [w for w in re.split(r"\s+", str(name or "").strip()) if w]
    return " ".join(f"{w[0].upper()}***" for w in words)


def feminin(person) -> bool | None:
    """Whether a person of a document is a woman (civilité « MME »), a man (« M »), or unknown
    (None: data frozen without a civilité). Older frozen data only holds the label. A screen
    passes the Candidat row itself."""
    if person is not None and not isinstance(person, dict):
        person = {"civilite": getattr(person, "civilite", None)}
    person = person or {}
    code = str(person.get("civilite") or "").upper()
    if not code:
        code = {"MADAME": "MME", "MONSIEUR": "M"}.get(str(person.get("civilite_label") or "").upper(), "")
    return {"MME": True, "M": False}.get(code)


def accord(person, masculin: str, feminin_: str, neutre: str | None = None) -> str:
    """The wording agreed with the person's civilité: « Né » / « Née », « déclaré admis » /
    « déclarée admise ». The one place documents choose a gender: no « (e) » on a document.
    Without a civilité, `neutre` when given (a wording without agreement), else the masculine."""
    f = feminin(person)
    if f is None and neutre is not None:
        return neutre
    return feminin_ if f else masculin


def civilite(person) -> str:
    """« Madame » / « Monsieur » before a name, or nothing when unknown."""
    return accord(person, "Monsieur", "Madame", "")


@cache
def _static_text(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def stylesheet(name: str = "documents.css") -> Markup:
    """Inline our stylesheet (read once per process) so rendering reads no file per document."""
    return Markup(_static_text(name))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(date_fr=date_fr, date_long=date_long, masque=masque, accord=accord,
                       civilite=civilite)
    env.globals.update(stylesheet=stylesheet)
    return env


@cache
def dejavu() -> tuple[str, str]:
    """Register DejaVu Sans (regular, bold) with ReportLab, and make sure no document can draw
    with a font that is not embedded (PDF/A): call before rendering, once per process.

    ReportLab and xhtml2pdf fall back to Helvetica in places a stylesheet cannot reach (the font
    each page starts with, table cells, list markers, empty paragraphs, anchors) and draw list
    bullets with Symbol; none of the base-14 fonts is ever embedded. So in this application
    « Helvetica » is the embedded DejaVu Sans (same glyphs for Latin text, wider metrics, used
    consistently for layout and drawing), and bullets are DejaVu's own."""
    from reportlab import rl_config
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from xhtml2pdf import default, tags
    regular = str(STATIC_DIR / "fonts" / "DejaVuSans.ttf")
    bold = str(STATIC_DIR / "fonts" / "DejaVuSans-Bold.ttf")
    for name, path in (("DejaVu", regular), ("DejaVu-Bold", bold), ("Helvetica", regular),
                       ("Helvetica-Bold", bold), ("Helvetica-Oblique", regular),
                       ("Helvetica-BoldOblique", bold)):
        pdfmetrics.registerFont(TTFont(name, path))
    for italic in (0, 1):  # no italic face: keep <i> within the family
        addMapping("DejaVu", 0, italic, "DejaVu")
        addMapping("DejaVu", 1, italic, "DejaVu-Bold")
    rl_config.canvas_basefontname = "DejaVu"
    # Known to xhtml2pdf by name (font-family: DejaVu), without an @font-face that would read and
    # parse the font files again for every document.
    default.DEFAULT_FONT["dejavu"] = "DejaVu"
    for style in ("disc", "circle", "square", "lower-greek"):
        if style in tags._list_style_font:
            tags._list_style_font[style] = ("DejaVu", 1.0 if style != "square" else 0.8)
    return "DejaVu", "DejaVu-Bold"


def needs_unicode_font(value) -> bool:
    """Every issued document is PDF/A-2b (app/reports/pdfa.py), which requires every font to be
    embedded: the built-in Helvetica never is, so documents always draw with the embedded DejaVu
    Sans (ReportLab embeds only the glyphs used, a few kilobytes). Kept as a function for its
    callers (pv_pdf, feuille_decision)."""
    return True


def render_html(template: str, context: dict) -> str:
    """The HTML of a document.

    A context with a `verification_url` gets its QR code (`qr`) drawn here, so that the frozen
    data of a document holds the URL and never an image."""
    extra = {}
    if context.get("verification_url") and "qr" not in context:
        from app.reports.qr import qr_data_uri
        extra["qr"] = qr_data_uri(context["verification_url"])
    return environment().get_template(template).render(**context, **extra)


def html_to_pdf(html: str) -> bytes:
    from xhtml2pdf import pisa
    dejavu()
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", link_callback=link_callback,
                            resource_policy=_policy())
    if result.err:
        raise RenderError(f"xhtml2pdf : {result.err} erreur(s) de rendu")
    return out.getvalue()


def render_pdf(template: str, context: dict) -> bytes:
    """Render app/reports/templates/<template> with `context` into PDF/A-2b bytes."""
    from app.reports.pdfa import to_pdfa
    return to_pdfa(html_to_pdf(render_html(template, context)))


# -- long documents: parts rendered side by side, then joined -------------------------------------
# xhtml2pdf is pure Python and renders one document at a time per process (a global lock): a
# 500-row PV takes several seconds on one core. A long document is therefore cut into parts by its
# caller (same template, a slice of the rows each), rendered in worker processes and joined.
# Workers come from a "forkserver": forked from a clean process, never from a web or RQ worker
# that may hold locks or database connections at the moment of the fork.
def pdf_processes() -> int:
    configured = os.environ.get("PDF_PROCESSES")
    if configured and configured.isdigit():
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


def _render_part(part) -> bytes:
    """A part is (template, context)."""
    return render_pdf(*part)


def _render_chunk(parts) -> list[bytes]:
    """Several parts per task: one round trip to a pool worker per chunk, not per document."""
    return [render_pdf(*part) for part in parts]


# Below this many documents, rendering them here (≈ 25 ms each once warm) is faster than starting
# the pool (a second or more: a forkserver and workers importing xhtml2pdf) or feeding it: the
# documents issued from a screen (one letter, the certificates of a small jury) stay in-process.
PARALLEL_MIN = 12


def warm_up() -> None:
    """Import xhtml2pdf and ReportLab and draw one tiny document (≈ 1 s in a fresh process): done
    once by `flask worker` before it forks, and in the background by a web worker at start, so
    that the first document a user asks for does not pay for it."""
    from app.reports import qr
    qr.qr_png(qr.verification_url("CHAUFFE", "http://localhost"))
    html_to_pdf(f"<html><head><style>{_static_text('documents.css')}</style></head>"
                "<body><p>OpenCertif</p></body></html>")


def warm_up_in_background() -> None:
    def run():
        try:
            warm_up()
        except Exception:  # an optimisation: the first document would just be slower
            log.warning("Préchauffage du rendu PDF impossible", exc_info=True)
    threading.Thread(target=run, name="pdf-warm-up", daemon=True).start()


_pool = None
_pool_pid = None
_pool_lock = threading.Lock()


def _exit_with(parent_pid: int) -> None:
    """Pool worker initializer: leave when the process that owns the pool is gone. Its workers
    would otherwise outlive a parent that ends with os._exit (RQ work horses, pytest-xdist
    workers): they hold both ends of their queues and never see end-of-file."""
    import time

    def watch():
        while True:
            time.sleep(2)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def _executor(processes: int) -> ProcessPoolExecutor:
    """A process pool kept for the life of this process: its workers stay warm (xhtml2pdf loaded,
    caches filled), so only the first long document pays for starting them."""
    global _pool, _pool_pid
    with _pool_lock:
        if (_pool is None or _pool_pid != os.getpid() or getattr(_pool, "_broken", False)
                or _pool._max_workers != processes):
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False, cancel_futures=True)
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["app.reports.pdf", "xhtml2pdf.pisa", "app.reports.qr",
                                      "app.reports.pdfa"])
            _pool = ProcessPoolExecutor(max_workers=processes, mp_context=ctx,
                                        initializer=_exit_with, initargs=(os.getpid(),))
            _pool_pid = os.getpid()
        return _pool


def render_many(parts: list, on_part_done=None) -> list[bytes]:
    """Render each part (see _render_part) into its own PDF: here when they are few, else in
    parallel in chunks when several CPUs.

    on_part_done(index) is called in this process as each part completes (progress bars)."""
    processes = min(pdf_processes(), len(parts))
    results: list[bytes | None] = [None] * len(parts)
    if processes <= 1 or len(parts) < PARALLEL_MIN:
        for i, part in enumerate(parts):
            results[i] = _render_part(part)
            if on_part_done:
                on_part_done(i)
        return results
    # Chunks small enough that every worker gets several (the last ones finish together).
    size = max(1, min(8, len(parts) // (processes * 4)))
    try:
        pool = _executor(pdf_processes())
        futures = {pool.submit(_render_chunk, parts[start:start + size]): start
                   for start in range(0, len(parts), size)}
        for future in as_completed(futures):
            start = futures[future]
            for offset, pdf in enumerate(future.result()):
                results[start + offset] = pdf
                if on_part_done:
                    on_part_done(start + offset)
    except BrokenProcessPool:  # e.g. a __main__ the workers cannot import: render here instead
        log.warning("Rendu en parallèle impossible, rendu séquentiel", exc_info=True)
        for i, part in enumerate(parts):
            if results[i] is None:
                results[i] = _render_part(part)
                if on_part_done:
                    on_part_done(i)
    return results
