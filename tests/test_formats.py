"""Identifiers and formats: app/formats.py (DOMAIN.md R-REF-4, R-FMT-1, R-FMT-2, R-FMT-4)."""

import importlib.util
from datetime import date, datetime
from pathlib import Path

import pytest

try:
    from app import formats
except ImportError:  # the app package is absent or not importable yet: load the file itself
    _path = Path(__file__).resolve().parents[1] / "app" / "formats.py"
    _spec = importlib.util.spec_from_file_location("opencertif_formats", _path)
    formats = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(formats)

FormatError = formats.FormatError
NEXT_YEAR = date.today().year + 1


# R-FMT-1
@pytest.mark.parametrize(
    "digits, expected",
    [
        ("732829320", True),
        ("552100554", True),
        ("73282932000074", True),
        ("0", True),
        ("732829321", False),
        ("123456789", False),
        ("", False),
        ("12a4", False),
    ],
)
def test_luhn(digits, expected):
    assert formats.luhn_ok(digits) is expected


# R-FMT-1
@pytest.mark.parametrize(
    "value, expected",
    [
        ("732829320", "732829320"),
        ("552 100 554", "552100554"),
        (" 443\u00a0061\u00a0841 ", "443061841"),
        ("356000000", "356000000"),  # La Poste's SIREN passes Luhn
    ],
)
def test_siren_valid(value, expected):
    assert formats.check_siren(value) == expected


# R-FMT-1
@pytest.mark.parametrize(
    "value, message",
    [
        ("732829321", "Le SIREN 732829321 n'est pas valide (clé de contrôle)."),
        ("12345678", "Le SIREN doit comporter 9 chiffres."),
        ("7328293200", "Le SIREN doit comporter 9 chiffres."),
        ("73282932A", "Le SIREN doit comporter 9 chiffres."),
        ("", "Le SIREN doit comporter 9 chiffres."),
        (None, "Le SIREN doit comporter 9 chiffres."),
    ],
)
def test_siren_invalid(value, message):
    with pytest.raises(FormatError) as error:
        formats.check_siren(value)
    assert str(error.value) == message
    assert isinstance(error.value, ValueError)


# R-FMT-1
@pytest.mark.parametrize(
    "value, expected",
    [
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("55210055400013", "55210055400013"),
        ("35600000000048", "35600000000048"),  # La Poste head office: Luhn key
        ("35600000049837", "35600000049837"),  # La Poste: no Luhn key, digit sum 45
        ("356 000 000 10000", "35600000010000"),  # La Poste: digit sum 15
    ],
)
def test_siret_valid(value, expected):
    assert formats.check_siret(value) == expected


# R-FMT-1
@pytest.mark.parametrize(
    "value, message",
    [
        ("12345678901234", "Le SIRET 12345678901234 n'est pas valide (clé de contrôle)."),
        ("73282932000075", "Le SIRET 73282932000075 n'est pas valide (clé de contrôle)."),
        # La Poste prefix but digit sum 23 and no Luhn key
        ("35600000000049", "Le SIRET 35600000000049 n'est pas valide (clé de contrôle)."),
        # digit sum a multiple of 5, but SIREN 356000010 is not La Poste
        ("35600001000014", "Le SIRET 35600001000014 n'est pas valide (clé de contrôle)."),
        ("7328293200007", "Le SIRET doit comporter 14 chiffres."),
        ("732829320000745", "Le SIRET doit comporter 14 chiffres."),
        ("7328293200007X", "Le SIRET doit comporter 14 chiffres."),
        ("", "Le SIRET doit comporter 14 chiffres."),
    ],
)
def test_siret_invalid(value, message):
    with pytest.raises(FormatError) as error:
        formats.check_siret(value)
    assert str(error.value) == message


# R-FMT-2
@pytest.mark.parametrize(
    "value, expected",
    [("25.62B", "25.62B"), ("25.62b", "25.62B"), ("2562B", "25.62B"), (" 01.11z ", "01.11Z")],
)
def test_naf_valid(value, expected):
    assert formats.check_naf(value) == expected


# R-FMT-2
@pytest.mark.parametrize("value", ["25.62", "256B", "25-62B", "25.62BB", "AB.CDE", "", None])
def test_naf_invalid(value):
    with pytest.raises(FormatError, match="code NAF"):
        formats.check_naf(value)


# R-FMT-2 (R-REF-5: a registered certification has an RNCP or RS code)
@pytest.mark.parametrize(
    "check, value, expected",
    [
        ("check_rncp", "RNCP34567", "RNCP34567"),
        ("check_rncp", " rncp 1234 ", "RNCP1234"),
        ("check_rs", "RS5678", "RS5678"),
        ("check_rs", "rs 12", "RS12"),
    ],
)
def test_rncp_rs_valid(check, value, expected):
    assert getattr(formats, check)(value) == expected


# R-FMT-2
@pytest.mark.parametrize(
    "check, value",
    [
        ("check_rncp", "RNCP"),
        ("check_rncp", "34567"),
        ("check_rncp", "RS34567"),
        ("check_rncp", "RNCP12A"),
        ("check_rs", "RS"),
        ("check_rs", "RNCP1234"),
        ("check_rs", ""),
    ],
)
def test_rncp_rs_invalid(check, value):
    with pytest.raises(FormatError):
        getattr(formats, check)(value)


# R-FMT-2
@pytest.mark.parametrize("value, expected", [("69007", "69007"), ("75 001", "75001"), ("01000", "01000")])
def test_code_postal_valid(value, expected):
    assert formats.check_code_postal(value) == expected


# R-FMT-2
@pytest.mark.parametrize("value", ["6900", "690071", "2A004", "", None])
def test_code_postal_invalid(value):
    with pytest.raises(FormatError, match="Le code postal doit comporter 5 chiffres."):
        formats.check_code_postal(value)


# R-REF-4
@pytest.mark.parametrize(
    "code, expected",
    [
        ("CQPM 2019 0123", "CQPM 2019 0123"),
        ("CQPM 2019 0123 R", "CQPM 2019 0123 R"),
        ("CQPM 2019 0123 I", "CQPM 2019 0123 I"),
        ("CQPM 2019 0123 RI", "CQPM 2019 0123 RI"),
        ("  cqpm  2019   0123  r i ", "CQPM 2019 0123 RI"),
        ("CQPM20190123R", "CQPM 2019 0123 R"),
        ("CQPM 1980 0001", "CQPM 1980 0001"),
        (f"CQPM {NEXT_YEAR} 0001", f"CQPM {NEXT_YEAR} 0001"),
    ],
)
def test_cqpm_code_valid(code, expected):
    assert formats.check_certification_code("CQPM", code) == expected


# R-REF-4
@pytest.mark.parametrize(
    "code",
    [
        "CQPM 2019 123",  # number on 3 digits
        "CQPM 19 0123",  # year on 2 digits
        "CQPM 2019 0123 IR",  # the documented order is R then I
        "CQPM 2019 0123 X",
        "CQPM 2019 0123 RR",
        "CCPM 2019 0123",
        "2019 0123",
        "CQPM 1979 0001",  # before 1980
        f"CQPM {NEXT_YEAR + 1} 0001",  # after next year
        "",
    ],
)
def test_cqpm_code_invalid(code):
    with pytest.raises(FormatError, match="CQPM"):
        formats.check_certification_code("CQPM", code)


# R-REF-4
@pytest.mark.parametrize(
    "code, year, number, rncp, cqpi",
    [
        ("CQPM 2019 0123", 2019, "0123", False, False),
        ("CQPM 2019 0123 R", 2019, "0123", True, False),
        ("CQPM 2007 0042 I", 2007, "0042", False, True),
        ("cqpm 2021 1001 ri", 2021, "1001", True, True),
    ],
)
def test_parse_cqpm_code(code, year, number, rncp, cqpi):
    parts = formats.parse_cqpm_code(code)
    assert (parts["year"], parts["number"], parts["rncp"], parts["cqpi"]) == (year, number, rncp, cqpi)


# R-REF-4
@pytest.mark.parametrize(
    "code, expected",
    [("CCPM 2015 0007", "CCPM 2015 0007"), (" ccpm 2015  0007 ", "CCPM 2015 0007")],
)
def test_ccpm_code_valid(code, expected):
    assert formats.check_certification_code("CCPM", code) == expected


# R-REF-4
@pytest.mark.parametrize(
    "code", ["CCPM 2015 0007 R", "CCPM 2015 0007 I", "CCPM 2015 7", "CQPM 2015 0007", "CCPM 1975 0001", ""]
)
def test_ccpm_code_invalid(code):
    with pytest.raises(FormatError, match="CCPM"):
        formats.check_certification_code("CCPM", code)


# R-REF-4 (types without a documented code format: CQP, CQPI, CCPI, CléA)
@pytest.mark.parametrize(
    "type_, code, expected",
    [
        ("CQP", "MQ 1999 01 69 0204", "MQ 1999 01 69 0204"),
        ("CQPI", "  Opérateur  de maintenance ", "Opérateur de maintenance"),
        ("CCPI", "CCPI-001", "CCPI-001"),
        ("CLEA", "CléA", "CléA"),
        ("CQP", "x" * 40, "x" * 40),
    ],
)
def test_other_certification_codes_valid(type_, code, expected):
    assert formats.check_certification_code(type_, code) == expected


# R-REF-4
@pytest.mark.parametrize(
    "type_, code, message",
    [
        ("CQP", "", "obligatoire"),
        ("CQPI", "   ", "obligatoire"),
        ("CLEA", None, "obligatoire"),
        ("CQP", "x" * 41, "40 caractères"),
    ],
)
def test_other_certification_codes_invalid(type_, code, message):
    with pytest.raises(FormatError, match=message):
        formats.check_certification_code(type_, code)


# R-REF-4
@pytest.mark.parametrize(
    "code, expected", [("BDC0001", "BDC0001"), ("bdc 0123", "BDC0123"), (" BDC 9999 ", "BDC9999")]
)
def test_bloc_code_valid(code, expected):
    assert formats.check_bloc_code(code) == expected


# R-REF-4
@pytest.mark.parametrize("code", ["BDC001", "BDC00001", "BC0001", "0001", "BDC-0001", "", None])
def test_bloc_code_invalid(code):
    with pytest.raises(FormatError, match="BDC0000"):
        formats.check_bloc_code(code)


# R-FMT-4
@pytest.mark.parametrize(
    "value, expected",
    [
        (date(2024, 3, 5), "05/03/2024"),
        (datetime(2024, 12, 31, 22, 59), "31/12/2024"),  # stored UTC: the day in Paris
        (datetime(2024, 12, 31, 23, 59), "01/01/2025"),
        (date(999, 1, 2), "02/01/0999"),
        (None, ""),
    ],
)
def test_format_date_fr(value, expected):
    assert formats.format_date_fr(value) == expected


# R-FMT-4
@pytest.mark.parametrize(
    "value, expected",
    [
        # stored in UTC, shown in Paris time: +1 h in winter, +2 h in summer, across midnight
        (datetime(2024, 3, 5, 9, 7, 59), "05/03/2024 10:07"),
        (datetime(2024, 7, 14, 7, 29), "14/07/2024 09:29"),
        (datetime(2024, 12, 31, 23, 59), "01/01/2025 00:59"),
        # the day of the Paris time itself (it was converted twice: « 01/01/2025 23:30 »)
        (datetime(2024, 12, 31, 22, 30), "31/12/2024 23:30"),
        (datetime(2024, 7, 14, 21, 30), "14/07/2024 23:30"),
        (date(2024, 3, 5), "05/03/2024"),
        (None, ""),
    ],
)
def test_format_datetime_fr(value, expected):
    assert formats.format_datetime_fr(value) == expected


# R-DOC-6 (DESIGN.md §10): exports neutralise spreadsheet formulas (cells starting with = + - @)
@pytest.mark.parametrize(
    "value, expected",
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Dupont", "Dupont"),
        ("a=b", "a=b"),
        ("", ""),
        (-1, -1),
        (None, None),
        (date(2024, 1, 1), date(2024, 1, 1)),
    ],
)
def test_neutralise_formula(value, expected):
    assert formats.neutralise_formula(value) == expected


def test_numbers_read_the_french_way():
    from decimal import Decimal

    from app.formats import format_number_fr
    assert [format_number_fr(v) for v in (Decimal("35.00"), Decimal("35.50"), 14.0, 3, None)] == [
        "35", "35,5", "14", "3", ""]
