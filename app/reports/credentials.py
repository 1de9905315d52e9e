"""Digital credential of a certificate (issue 19): an Open Badges 3.0 credential (a W3C Verifiable
Credential) signed as a JWT (VC-JWT, the proof format of Open Badges 3.0) with the key of the
dispositif's seal (app/reports/seal.py: one certificate per certifier, for the PDF seal and for the
credentials), and the revocation list every verifier reads (Bitstring Status List 1.0).

The credential is built on demand from the certificate's frozen data (nothing is stored): the
holder downloads it from the public verification page with the code printed on the certificate.
Its status index is the document's id, in the status list of its dispositif, published at
/verifier/statut/<CODE>: the bit is 1 when the certificate is revoked.

Signing uses `cryptography` directly; the tests verify with PyJWT, another implementation.
"""
import base64
import gzip
import hashlib
import json
import os
import time
from datetime import UTC
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from flask import current_app

from app.reports import seal as seals

STATUS_LIST_BITS = 131072  # the minimum size (16 KB) the specification sets, for privacy
CONTEXTS = ["https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


class CredentialError(RuntimeError):
    """No signing key is configured for this dispositif."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=16)
def _key(path: str, password: str, mtime: float):
    with open(path, "rb") as f:
        key, cert, _ = pkcs12.load_key_and_certificates(f.read(), password.encode() or None)
    return key, cert


def signing_key(code: str):
    """(private key, certificate) of dispositif `code`'s seal."""
    source = seals.source_for(code)
    if source is None:
        raise CredentialError("Aucune clé de signature n'est configurée pour ce dispositif.")
    return _key(source.path, source.password, os.stat(source.path).st_mtime)


def _alg(key) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: "ES256", 384: "ES384", 521: "ES512"}[key.curve.key_size]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    raise CredentialError("Type de clé non pris en charge pour signer les attestations.")


def public_jwk(key, cert) -> dict:
    """The public key as a JWK, with the seal certificate (x5c) and a stable key id."""
    public = key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        size = (public.curve.key_size + 7) // 8
        numbers = public.public_numbers()
        jwk = {"kty": "EC", "crv": {256: "P-256", 384: "P-384", 521: "P-521"}[public.curve.key_size],
               "x": _b64(numbers.x.to_bytes(size, "big")),
               "y": _b64(numbers.y.to_bytes(size, "big"))}
    elif isinstance(public, ed25519.Ed25519PublicKey):
        from cryptography.hazmat.primitives.serialization import PublicFormat
        jwk = {"kty": "OKP", "crv": "Ed25519",
               "x": _b64(public.public_bytes(Encoding.Raw, PublicFormat.Raw))}
    else:
        numbers = public.public_numbers()
        jwk = {"kty": "RSA", "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
               "e": _b64(numbers.e.to_bytes(3, "big"))}
    der = cert.public_bytes(Encoding.DER)
    jwk.update(kid=_b64(hashlib.sha256(der).digest())[:16], alg=_alg(key), use="sig",
               x5c=[base64.b64encode(der).decode()])
    return jwk


def sign_jwt(payload: dict, key, cert, typ: str = "JWT") -> str:
    """A compact JWS of `payload` (RFC 7515), ES256/EdDSA/RS256 per the key."""
    jwk = public_jwk(key, cert)
    header = {"alg": jwk["alg"], "typ": typ, "kid": jwk["kid"], "x5c": jwk["x5c"]}
    signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
                            .encode()))
    data = signing_input.encode()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256() if jwk["alg"] ==
                                                             "ES256" else hashes.SHA384())))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(data)
    else:
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


# -- URLs ------------------------------------------------------------------------------------------
def _base() -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")


def issuer_url(code: str) -> str:
    return f"{_base()}/verifier/emetteur/{code}"


def status_list_url(code: str) -> str:
    return f"{_base()}/verifier/statut/{code}"


# -- the credential --------------------------------------------------------------------------------
def _iso(value) -> str:
    text = value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def achievement(cert: dict, bloc: dict | None = None) -> dict:
    """The certification as an Open Badges Achievement: its RNCP or RS code and its level."""
    rncp, rs = cert.get("rncp_code"), cert.get("rs_code")
    identifiers = [{"type": "IdentifierEntry", "identifierType": "identifier",
                    "identifier": value} for value in (rncp, rs, cert.get("code")) if value]
    if rncp:
        number = "".join(ch for ch in rncp if ch.isdigit())
        ident = f"https://www.francecompetences.fr/recherche/rncp/{number}/"
    elif rs:
        number = "".join(ch for ch in rs if ch.isdigit())
        ident = f"https://www.francecompetences.fr/recherche/rs/{number}/"
    else:
        ident = f"urn:opencertif:certification:{cert.get('code')}"
    name = f"{cert.get('type', '')} {cert.get('intitule', '')}".strip()
    result = {
        "id": ident, "type": ["Achievement"], "achievementType": "Certificate",
        "name": name, "humanCode": cert.get("code"), "inLanguage": "fr",
        "description": f"Certification professionnelle {name} ({cert.get('code')}).",
        "criteria": {"narrative": "Décision du jury de délibération du certificateur."},
        "otherIdentifier": identifiers,
    }
    if cert.get("niveau"):
        result["alignment"] = [{
            "type": ["Alignment"], "targetType": "ceterms:Credential",
            "targetName": f"Niveau {cert['niveau']} du cadre national des certifications "
                          "professionnelles",
            "targetFramework": "Cadre national des certifications professionnelles",
            "targetCode": str(cert["niveau"]),
            "targetUrl": "https://www.francecompetences.fr/"}]
    if bloc:
        result["name"] = f"{bloc.get('code', '')} {bloc.get('intitule', '')} ({name})".strip()
        result["description"] = f"Bloc de compétences {bloc.get('code', '')} de {name}."
    return result


def credential(doc) -> dict:
    """The Open Badges 3.0 credential of certificate `doc` (a DocumentEmis of type certificat)."""
    data = doc.donnees or {}
    code = doc.dispositif.code
    titulaire = data.get("titulaire") or {}
    holder = f"{titulaire.get('prenom', '')} {str(titulaire.get('nom', '')).upper()}".strip()
    return {
        "@context": CONTEXTS,
        "id": f"urn:opencertif:certificat:{doc.numero}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Certificat n° {doc.numero}",
        "issuer": {"id": issuer_url(code), "type": ["Profile"], "name": doc.dispositif.certificateur},
        "validFrom": _iso(doc.emis_le),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "name", "hashed": False,
                            "identityHash": holder}],
            "achievement": achievement(data.get("certification") or {}, data.get("bloc")),
            "activityEndDate": _iso((data.get("jury") or {}).get("date", "")[:10] + "T00:00:00Z")
            if (data.get("jury") or {}).get("date") else None,
        },
        "credentialStatus": {
            "id": f"{status_list_url(code)}#{doc.id}", "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation", "statusListIndex": str(doc.id),
            "statusListCredential": status_list_url(code)},
        "evidence": [{"type": ["Evidence"], "id": f"{_base()}/verifier/{doc.code_verification}",
                      "name": "Certificat PDF scellé, vérifiable en ligne"}],
    }


def signed_credential(doc) -> str:
    """The credential as a VC-JWT signed with the dispositif's key."""
    vc = credential(doc)
    vc["credentialSubject"] = {k: v for k, v in vc["credentialSubject"].items() if v is not None}
    key, cert = signing_key(doc.dispositif.code)
    emis_le = doc.emis_le if doc.emis_le.tzinfo else doc.emis_le.replace(tzinfo=UTC)
    payload = {"iss": vc["issuer"]["id"], "jti": vc["id"], "nbf": int(emis_le.timestamp()),
               "iat": int(time.time()), "vc": vc}
    return sign_jwt(payload, key, cert)


# -- the status list -------------------------------------------------------------------------------
def encode_bits(revoked_indexes, size: int | None = None) -> str:
    """The multibase (base64url, 'u') GZIP of a bitstring whose bit i (left-most first) is set
    for each revoked index (Bitstring Status List 1.0, § 3.2)."""
    indexes = list(revoked_indexes)
    size = max(STATUS_LIST_BITS, size or 0, (max(indexes) + 1) if indexes else 0)
    size = (size + 7) // 8 * 8
    bits = bytearray(size // 8)
    for i in indexes:
        bits[i // 8] |= 0x80 >> (i % 8)
    return "u" + _b64(gzip.compress(bytes(bits), mtime=0))


def status_list(dispositif) -> str:
    """The signed revocation status list of `dispositif`'s certificates (VC-JWT)."""
    from app.extensions import db
    from app.models.document import DocumentEmis
    revoked = [i for (i,) in db.session.query(DocumentEmis.id).filter(
        DocumentEmis.dispositif_id == dispositif.id, DocumentEmis.type == "certificat",
        DocumentEmis.statut == "revoque")]
    last = db.session.query(db.func.max(DocumentEmis.id)).scalar() or 0
    url = status_list_url(dispositif.code)
    now = int(time.time())
    vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
          "id": url, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
          "issuer": {"id": issuer_url(dispositif.code), "name": dispositif.certificateur},
          "validFrom": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
          "credentialSubject": {"id": f"{url}#liste", "type": "BitstringStatusList",
                                "statusPurpose": "revocation",
                                "encodedList": encode_bits(revoked, last + 1)}}
    key, cert = signing_key(dispositif.code)
    return sign_jwt({"iss": vc["issuer"]["id"], "jti": url, "iat": now, "nbf": now,
                     "exp": now + 24 * 3600, "vc": vc}, key, cert)


def issuer_profile(dispositif) -> dict:
    """The issuer's public profile, with the public key its credentials are signed with."""
    key, cert = signing_key(dispositif.code)
    return {"@context": CONTEXTS, "id": issuer_url(dispositif.code), "type": ["Profile"],
            "name": dispositif.certificateur, "description": dispositif.nom,
            "publicKey": public_jwk(key, cert)}
