"""QR codes of issued documents: a PNG data URI embedding the public verification URL.

Built from qrcode's matrix and drawn with Pillow. The mask pattern is fixed: the library's default
tries all eight masks to pick the "best" (4× slower), and every reader decodes any mask — a
batch of 500 certificates would otherwise spend seconds on QR codes alone.
"""
import base64
import io
from functools import lru_cache

import qrcode
from PIL import Image

MODULE_PX = 4   # pixels per module
BORDER = 2      # quiet zone, in modules


def verification_url(code: str, base_url: str | None = None) -> str:
    """PUBLIC_BASE_URL + /verifier/<code>."""
    if base_url is None:
        from flask import current_app
        base_url = current_app.config.get("PUBLIC_BASE_URL", "")
    return f"{(base_url or '').rstrip('/')}/verifier/{code}"


def qr_matrix(text: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER,
                       mask_pattern=2)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()


@lru_cache(maxsize=2048)
def qr_png(text: str) -> bytes:
    matrix = qr_matrix(text)
    size = len(matrix)
    img = Image.new("1", (size, size), 1)
    img.putdata([0 if dark else 1 for row in matrix for dark in row])
    img = img.resize((size * MODULE_PX, size * MODULE_PX), Image.NEAREST)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def qr_data_uri(text: str) -> str:
    """data:image/png;base64,… of a QR code encoding `text` (accepted by pdf.link_callback)."""
    return "data:image/png;base64," + base64.b64encode(qr_png(text)).decode("ascii")


def decode_matrix_from_png(png: bytes) -> list[list[bool]]:
    """The module matrix drawn in one of our PNGs (tests compare it with qr_matrix(url))."""
    img = Image.open(io.BytesIO(png)).convert("1")
    size = img.width // MODULE_PX
    px = img.load()
    return [[px[x * MODULE_PX, y * MODULE_PX] == 0 for x in range(size)] for y in range(size)]
