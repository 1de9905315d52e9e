"""The French catalog of FAB's strings (app/translations): compiled when missing or stale.

`make venv` compiles it with pybabel; compiling again at start covers a checkout run without
make (pytest, flask, gunicorn) and a .po edited since. The .mo is a build product, never committed.
"""
import os
import tempfile
from pathlib import Path

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def compile_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile every messages.po newer than its .mo; returns the .mo files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in directory.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        # Written aside then renamed: processes starting together never read half a file.
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(mo)
    return written
