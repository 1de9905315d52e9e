"""Identifiers and display formats (DOMAIN.md §3 R-REF-4/R-REF-5, §15 R-FMT-1..4).

Pure functions, no Flask: each ``check_*`` function takes what a user typed,
returns the normalised value and raises :class:`FormatError` (a ``ValueError``)
with a French message the interface can show as is.

* R-FMT-1 — SIREN (9 digits) and SIRET (14 digits) with a Luhn checksum; the
  La Poste group (SIREN 356000000) is the documented exception: its SIRETs are
  valid when the sum of their digits is a multiple of 5.
* R-FMT-2 — NAF/NACE ``25.62B``, RNCP ``RNCP`` + digits, RS ``RS`` + digits,
  postal code 5 digits.
* R-REF-4 — ``CQPM <année> <numéro>`` followed by ``R`` (inscrit au RNCP)
  and/or ``I`` (CQP interbranches), bloc ``BDC0000``, ``CCPM <année> <numéro>``
  (source: seed 004, « Identification des certifications »).
* R-FMT-4 — dates shown ``dd/mm/yyyy``; times stored in UTC (naive, ``models.base.utcnow``)
  and shown in Paris time, by :func:`format_datetime_fr` alone (screens, PDFs, e-mails, exports).
"""

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "EMPTY",
    "FormatError",
    "check_bloc_code",
    "check_certification_code",
    "check_code_postal",
    "check_naf",
    "check_rncp",
    "check_rs",
    "check_siren",
    "check_siret",
    "format_date_fr",
    "format_datetime_fr",
    "luhn_ok",
    "neutralise_formula",
    "paris_to_utc",
    "parse_cqpm_code",
    "to_paris",
]

LA_POSTE_SIREN = "356000000"
PARIS = ZoneInfo("Europe/Paris")
EMPTY = "—"  # what a screen shows for an empty value (never « None »)
FIRST_CERTIFICATION_YEAR = 1980
MAX_CODE_LENGTH = 40

_BLANKS = re.compile(r"[\s\u00a0\u202f]+")  # spaces, including non-breaking ones
_NAF = re.compile(r"(\d{2})\.?(\d{2})([A-Z])")
_RNCP = re.compile(r"RNCP\d+")
_RS = re.compile(r"RS\d+")
_CODE_POSTAL = re.compile(r"\d{5}")
_BLOC = re.compile(r"BDC\d{4}")
# Spaces between the parts are optional on input; the output is always spaced.
_CQPM = re.compile(r"CQPM ?(\d{4}) ?(\d{4})(?: ?(R ?I|R|I))?")
_CCPM = re.compile(r"CCPM ?(\d{4}) ?(\d{4})")

# Certification types whose code has a documented format (seed 004).
_STRUCTURED_TYPES = {"CQPM", "CCPM"}


class FormatError(ValueError):
    """A value does not have the expected format; the message is in French."""


def _compact(value) -> str:
    """The value as a string with every space removed."""
    return _BLANKS.sub("", "" if value is None else str(value))


def _tidy(value) -> str:
    """The value as an upper-case string, trimmed, inner spaces collapsed to one."""
    return _BLANKS.sub(" ", "" if value is None else str(value)).strip().upper()


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` (digits only, non-empty) has a valid Luhn checksum."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char)
        if position % 2:  # every second digit from the right is doubled
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _check_digits(value, label: str, length: int) -> str:
    digits = _compact(value)
    if len(digits) != length or not digits.isascii() or not digits.isdigit():
        raise FormatError(f"Le {label} doit comporter {length} chiffres.")
    return digits


def check_siren(value) -> str:
    """R-FMT-1: a SIREN, 9 digits with a Luhn checksum; returns it without spaces."""
    siren = _check_digits(value, "SIREN", 9)
    if not luhn_ok(siren):
        raise FormatError(f"Le SIREN {siren} n'est pas valide (clé de contrôle).")
    return siren


def check_siret(value) -> str:
    """R-FMT-1: a SIRET, 14 digits with a Luhn checksum; returns it without spaces.

    La Poste (SIREN 356000000) numbers its établissements without the Luhn key:
    such a SIRET is valid when the sum of its digits is a multiple of 5. The
    head office, 356 000 000 00048, keeps a Luhn key and passes the usual test.
    """
    siret = _check_digits(value, "SIRET", 14)
    la_poste = siret.startswith(LA_POSTE_SIREN) and sum(map(int, siret)) % 5 == 0
    if not (la_poste or luhn_ok(siret)):
        raise FormatError(f"Le SIRET {siret} n'est pas valide (clé de contrôle).")
    return siret


def check_naf(value) -> str:
    """R-FMT-2: a NAF/NACE code; ``2562b`` or ``25.62b`` becomes ``25.62B``."""
    match = _NAF.fullmatch(_compact(value).upper())
    if not match:
        raise FormatError("Le code NAF doit avoir la forme 25.62B (4 chiffres et une lettre).")
    return "{}.{}{}".format(*match.groups())


def check_rncp(value) -> str:
    """R-FMT-2: an RNCP code, ``RNCP`` followed by digits (``rncp 1234`` → ``RNCP1234``)."""
    code = _compact(value).upper()
    if not _RNCP.fullmatch(code):
        raise FormatError("Le code RNCP doit commencer par RNCP suivi de chiffres (ex. RNCP34567).")
    return code


def check_rs(value) -> str:
    """R-FMT-2: a Répertoire spécifique code, ``RS`` followed by digits."""
    code = _compact(value).upper()
    if not _RS.fullmatch(code):
        raise FormatError("Le code RS doit commencer par RS suivi de chiffres (ex. RS5678).")
    return code


def check_code_postal(value) -> str:
    """R-FMT-2: a French postal code, 5 digits."""
    code = _compact(value)
    if not _CODE_POSTAL.fullmatch(code):
        raise FormatError("Le code postal doit comporter 5 chiffres.")
    return code


def check_bloc_code(code) -> str:
    """R-REF-4: a bloc de compétences, ``BDC`` + 4 digits (``bdc 0012`` → ``BDC0012``)."""
    normalised = _compact(code).upper()
    if not _BLOC.fullmatch(normalised):
        raise FormatError("Le numéro du bloc de compétences doit avoir la forme BDC0000.")
    return normalised


def _check_year(year: int, kind: str) -> None:
    last = date.today().year + 1
    if not FIRST_CERTIFICATION_YEAR <= year <= last:
        raise FormatError(
            f"L'année de création du {kind} doit être comprise entre "
            f"{FIRST_CERTIFICATION_YEAR} et {last}."
        )


def parse_cqpm_code(code) -> dict:
    """R-REF-4: split a CQPM number into its parts.

    Returns ``{"code", "year", "number", "rncp", "cqpi"}``: the normalised code
    (``CQPM 2019 0123 RI``), the year of creation (int), the number (str of
    4 digits, leading zeros kept), whether it is registered in the RNCP (``R``)
    and whether it is also a CQP interbranches (``I``).
    """
    match = _CQPM.fullmatch(_tidy(code))
    if not match:
        raise FormatError(
            "Le numéro du CQPM doit avoir la forme « CQPM 0000 0000 » "
            "(année, numéro), suivie éventuellement de R, I ou RI."
        )
    year, number, suffix = match.groups()
    _check_year(int(year), "CQPM")
    suffix = (suffix or "").replace(" ", "")
    return {
        "code": " ".join(part for part in ("CQPM", year, number, suffix) if part),
        "year": int(year),
        "number": number,
        "rncp": "R" in suffix,
        "cqpi": "I" in suffix,
    }


def check_certification_code(type_, code) -> str:
    """R-REF-4: the code of a certification of type ``type_``, normalised.

    CQPM: ``CQPM 2019 0123`` with an optional ``R``, ``I`` or ``RI``;
    CCPM: ``CCPM 2019 0123``. The year of creation lies between 1980 and next
    year. Other types (CQP, CQPI, CCPI, CLEA…) have no documented format: a
    non-empty code of at most 40 characters, spaces tidied.
    """
    kind = _tidy(type_)
    if kind == "CQPM":
        return parse_cqpm_code(code)["code"]
    if kind == "CCPM":
        match = _CCPM.fullmatch(_tidy(code))
        if not match:
            raise FormatError(
                "Le numéro du CCPM doit avoir la forme « CCPM 0000 0000 » (année, numéro)."
            )
        year, number = match.groups()
        _check_year(int(year), "CCPM")
        return f"CCPM {year} {number}"
    normalised = _BLANKS.sub(" ", "" if code is None else str(code)).strip()
    if not normalised:
        raise FormatError("Le code de la certification est obligatoire.")
    if len(normalised) > MAX_CODE_LENGTH:
        raise FormatError(
            f"Le code de la certification ne doit pas dépasser {MAX_CODE_LENGTH} caractères."
        )
    return normalised


def format_number_fr(value) -> str:
    """A number as French readers write it: « 35 », « 35,5 » (no « 35.00 »); "" for None."""
    if value is None:
        return ""
    text = f"{value:f}" if not isinstance(value, (int, float)) else repr(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def format_date_fr(d) -> str:
    """R-FMT-4: ``dd/mm/yyyy`` for a date, or for a stored (UTC) datetime its Paris day;
    ``""`` for None."""
    if d is None:
        return ""
    if isinstance(d, datetime):
        d = to_paris(d)  # 23:30 UTC on 31/12 is already 01/01 in Paris
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def to_paris(dt):
    """A stored time (naive = UTC, or aware) as a naive Paris wall-clock time."""
    if not isinstance(dt, datetime):
        return dt
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return aware.astimezone(PARIS).replace(tzinfo=None)


def paris_to_utc(dt):
    """A Paris wall-clock time (typed by a user) as the naive UTC time the database stores."""
    if not isinstance(dt, datetime):
        return dt
    aware = dt if dt.tzinfo else dt.replace(tzinfo=PARIS)
    return aware.astimezone(UTC).replace(tzinfo=None)


def format_datetime_fr(dt) -> str:
    """R-FMT-4: ``dd/mm/yyyy HH:MM`` in Paris time for a stored (UTC) datetime; a bare date gives
    ``dd/mm/yyyy``."""
    if dt is None:
        return ""
    if not isinstance(dt, datetime):
        return format_date_fr(dt)
    # to_paris() aware (exports call this for 100,000 lines); the day of this Paris time, not
    # format_date_fr's, which would take it for UTC again
    dt = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(PARIS)
    return f"{dt.day:02d}/{dt.month:02d}/{dt.year:04d} {dt.hour:02d}:{dt.minute:02d}"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value):
    """Prefix ``'`` to a text a spreadsheet would read as a formula; other values unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
