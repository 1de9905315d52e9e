"""Electronic seal (PAdES) of issued documents, and its verification.

Each issued PDF is sealed, as issued, with the certificate of its dispositif (a certifier's seal
certificate: PKCS#12 file and password from the configuration, see README « Sceau électronique »):
a document then proves itself offline, in any PDF reader, for as long as the seal's algorithms
hold — not only through this platform's database. The seal is an invisible, printable signature
field added as an incremental update, so the PDF/A-2b file stays PDF/A-2b; with a timestamp server
configured (SEAL_TSA_URL) it carries an RFC 3161 timestamp (PAdES B-T), else the signing time the
platform states (B-B).

Where the seal comes from, first found:
  SEAL_<CODE>_P12 / SEAL_<CODE>_PASSWORD   the dispositif's own (CODE: METALLURGIE, CHIMIE, CLEA)
  SEAL_P12 / SEAL_PASSWORD                 one seal for the whole platform
  <instance>/seals/<CODE>.p12              a demonstration seal written by `flask demo`
No seal: documents are issued unsealed (their SHA-256 still verifies them).
"""
import io
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)

FIELD_NAME = "Sceau"


class SealError(RuntimeError):
    """The configured seal cannot be used (file missing, wrong password)."""


@dataclass(frozen=True)
class SealSource:
    path: str
    password: str
    demo: bool = False


def demo_dir() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "seals"


def source_for(code: str | None) -> SealSource | None:
    """The seal of dispositif `code` per the configuration (see the module's docstring)."""
    cfg = current_app.config
    for prefix in ([f"SEAL_{code.upper()}_"] if code else []) + ["SEAL_"]:
        path = cfg.get(f"{prefix}P12")
        if path:
            return SealSource(str(path), str(cfg.get(f"{prefix}PASSWORD") or ""))
    if code:
        demo = demo_dir() / f"{code.upper()}.p12"
        secret = demo.with_suffix(".password")
        if demo.is_file() and secret.is_file():
            return SealSource(str(demo), secret.read_text().strip(), demo=True)
    return None


def all_sources() -> list[SealSource]:
    """Every seal this platform uses or used (trusted by the verification)."""
    from app.extensions import db
    from app.models.referentiel import Dispositif
    codes = [c for (c,) in db.session.query(Dispositif.code)]
    found = {}
    for code in codes + [None]:
        source = source_for(code)
        if source:
            found[source.path] = source
    return list(found.values())


@lru_cache(maxsize=16)
def _load(path: str, password: str, mtime: float):
    """The pyHanko signer of a PKCS#12 file, kept while the file is unchanged (loading decrypts
    the key: tens of milliseconds we do not pay per document)."""
    from pyhanko.sign import signers
    try:
        return signers.SimpleSigner.load_pkcs12(path, passphrase=password.encode() or None)
    except (OSError, ValueError) as exc:
        raise SealError("Le certificat de sceau configuré est illisible (fichier ou mot de passe)."
                        ) from exc


def signer_for(source: SealSource):
    try:
        mtime = os.stat(source.path).st_mtime
    except OSError as exc:
        raise SealError(f"Certificat de sceau introuvable : {source.path}") from exc
    signer = _load(source.path, source.password, mtime)
    if signer is None:
        raise SealError("Le certificat de sceau configuré ne contient pas de clé privée.")
    return signer


def _timestamper():
    url = current_app.config.get("SEAL_TSA_URL")
    if not url:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper
    return HTTPTimeStamper(url, timeout=10)


def seal(pdf: bytes, dispositif) -> bytes:
    """`pdf` sealed with the seal of `dispositif` (unchanged when none is configured)."""
    source = source_for(getattr(dispositif, "code", None))
    if source is None:
        return pdf
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    signer = signer_for(source)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason="Document délivré par le certificateur",
        name=getattr(dispositif, "certificateur", None) or None)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    _producer_as_pyhanko_writes_it(writer)
    tsa = current_app.config.get("SEAL_TSA_URL")
    key = (source.path, source.password, tsa)
    out = signers.PdfSigner(meta, signer=signer, timestamper=_timestamper()).sign_pdf(
        writer, bytes_reserved=_reserved.get(key))
    if key not in _reserved:
        _reserved[key] = _reserved_in(out)
    return out.getvalue()


# Room kept in the file for the signature, per seal: pyHanko estimates it by making a dummy
# signature first, which doubles the cost of sealing; its estimate (with its own margin) for the
# first document holds for the next ones of the same seal and timestamp server.
_reserved: dict[tuple, int] = {}


def _reserved_in(out) -> int | None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    out.seek(0)
    signature = PdfFileReader(out, strict=False).embedded_signatures[-1]
    contents = signature.sig_object.raw_get("/Contents")
    return 2 * len(contents.original_bytes) if hasattr(contents, "original_bytes") else None


def _producer_as_pyhanko_writes_it(writer) -> None:
    """PDF/A wants the information dictionary and the XMP metadata to agree. pyHanko writes its
    own name as the XMP producer but appends it to the dictionary's: give the dictionary that
    same name first, so both say the same after the seal."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR
    if "/Info" not in writer.trailer:
        return
    info = generic.DictionaryObject(writer.trailer["/Info"])
    info["/Producer"] = generic.TextStringObject(VENDOR)
    writer.set_info(info)


# -- verification --------------------------------------------------------------------------------
@dataclass
class SealCheck:
    """What the seal of an uploaded file says. etat: intact | altere | inconnu | absent."""
    etat: str
    signataire: str | None = None
    date: datetime | None = None
    horodate: bool = False


def _trust_roots():
    roots = []
    for source in all_sources():
        try:
            signer = signer_for(source)
        except SealError:
            log.warning("Sceau configuré illisible : %s", source.path)
            continue
        roots.append(signer.signing_cert)
    return roots


def check(data: bytes) -> SealCheck:
    """Validate the seal of `data` with pyHanko, trusting the seals of this platform only."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # noqa: BLE001 — any unreadable file is simply not an intact document
        return SealCheck("altere" if data[:5] == b"%PDF-" else "absent")
    if not signatures:
        return SealCheck("absent")
    context = ValidationContext(trust_roots=_trust_roots(), allow_fetching=False,
                                revocation_mode="soft-fail")
    sig = signatures[-1]
    try:
        status = validate_pdf_signature(sig, context)
    except Exception:  # a damaged signature dictionary or CMS blob
        log.info("Sceau illisible", exc_info=True)
        return SealCheck("altere")
    signataire = _signer_name(status.signing_cert)
    ts = status.timestamp_validity
    date = ts.timestamp if ts is not None else status.signer_reported_dt
    result = SealCheck("intact", signataire, date, horodate=ts is not None)
    if not (status.intact and status.valid) or \
            status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        result.etat = "altere"
    elif not status.trusted:
        result.etat = "inconnu"
    return result


def _signer_name(cert) -> str | None:
    if cert is None:
        return None
    subject = cert.subject.native
    return subject.get("organization_name") or subject.get("common_name")


# -- demonstration seals ---------------------------------------------------------------------------
def self_signed_p12(organisation: str, password: str, *, years: int = 5) -> bytes:
    """A self-signed seal certificate (ECDSA P-256) as PKCS#12 bytes: for demonstrations and
    tests only — a real seal comes from a qualified trust service provider."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        pkcs12,
    )
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(organisation)),
        x509.NameAttribute(NameOID.COMMON_NAME, _fit(f"Sceau de démonstration — {organisation}")),
    ])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return pkcs12.serialize_key_and_certificates(
        b"sceau", key, cert, None, BestAvailableEncryption(password.encode()))


def _fit(text: str, limit: int = 64) -> str:
    """X.509 names hold at most 64 bytes of UTF-8 (accents and dashes count for two or three)."""
    while len(text.encode()) > limit:
        text = text[:-1]
    return text


def write_demo_seal(code: str, organisation: str) -> Path | None:
    """<instance>/seals/<CODE>.p12 and its password file, unless one exists. Returns the path
    written, None when it already existed."""
    import secrets
    folder = demo_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{code.upper()}.p12"
    if path.exists():
        return None
    password = secrets.token_urlsafe(18)
    secret = path.with_suffix(".password")
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(self_signed_p12(organisation, password))
    return path


def write_demo_seals() -> list[tuple[str, Path]]:
    """A demonstration seal for each dispositif that has no configured one (`flask demo`);
    returns the (code, path) of those written now."""
    from app.extensions import db
    from app.models.referentiel import Dispositif
    written = []
    for dispositif in db.session.query(Dispositif).order_by(Dispositif.code):
        source = source_for(dispositif.code)
        if source is None or source.demo:
            path = write_demo_seal(dispositif.code, dispositif.certificateur)
            if path:
                written.append((dispositif.code, path))
    return written
