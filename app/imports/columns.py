"""Columns of an import: French headers matched whatever their accents, case, spacing or order,
and the reading of a cell (text, date as date or dd/mm/yyyy, yes/no, codes given by label)."""
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from app.errors import RuleViolation


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as written in the template
    required: bool = False
    synonyms: tuple = ()
    example: object = None
    kind: str = "text"  # text | date | bool | digits
    width: int = 0  # digits: left-padded with zeros (a postal code read as a number)


def norm(text) -> str:
    """'Date de naissance (jj/mm/aaaa)' -> 'datedenaissance': the words of a header, nothing else."""
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"\(.*?\)", "", text)
    return re.sub(r"[^a-z0-9]", "", text)


@dataclass
class Matching:
    by_key: dict = field(default_factory=dict)  # field key -> column index in the file
    unknown: list = field(default_factory=list)  # headers of the file matched to no field
    missing: list = field(default_factory=list)  # required columns absent from the file


IGNORE = "__ignorer__"
ERRORS_HEADER = "Erreurs"


def match(headers: list[str], columns: list[Column], mapping: dict | None = None) -> Matching:
    """Each file header to a field: the user's mapping first, then header or synonym."""
    names = {}
    for col in columns:
        for name in (col.header, col.key, *col.synonyms):
            names.setdefault(norm(name), col.key)
    mapping = mapping or {}
    out = Matching()
    for index, header in enumerate(headers):
        if not header:
            continue
        key = mapping.get(header) or names.get(norm(header))
        if key == IGNORE or norm(header) == norm(ERRORS_HEADER):  # our own report, sent back
            continue
        if key is None or key not in {c.key for c in columns}:
            out.unknown.append(header)
        elif key not in out.by_key:
            out.by_key[key] = index
    out.missing = [c.header for c in columns if c.required and c.key not in out.by_key]
    return out


def cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = " ".join(str(value).split())
    return text or None


def read_cell(col: Column, value):
    """The cell as the domain takes it; a RuleViolation on the column when unreadable."""
    if value in (None, ""):
        return None
    if col.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = cell_text(value)
        found = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text) or \
            re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        try:
            if found and len(found.group(1)) == 4:
                return dt.date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
            if found:
                return dt.date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        except ValueError:
            pass
        raise RuleViolation("Date invalide (jj/mm/aaaa).", field=col.key)
    if col.kind == "bool":
        text = norm(cell_text(value))
        if text in ("oui", "o", "1", "vrai", "x", "true", "yes"):
            return True
        if text in ("non", "n", "0", "faux", "false", "no", ""):
            return False
        raise RuleViolation("Répondez « oui » ou « non ».", field=col.key)
    text = cell_text(value)
    if col.kind == "digits":
        text = text.replace(" ", "")
        if col.width and text.isdigit():
            text = text.zfill(col.width)
    return text


def by_label(value: str | None, choices) -> str | None:
    """A code given by its code or by its French label, accents and case ignored."""
    if value in (None, ""):
        return None
    wanted = norm(value)
    for code, label in choices:
        if wanted in (norm(code), norm(label)):
            return code
    return value  # left as typed: the domain check refuses it with its own message
