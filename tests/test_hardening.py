"""Issue 14 points 4-6: no server error on odd input, HTTP hardening, uploads by content."""
import json

import pytest
from flask import url_for

from tests.conftest import login

BEYOND_INTEGER = 2147483648  # PostgreSQL `integer` + 1
SQL_WORDS = ("constraint", "violates", "NOT NULL", "organisme_id", "psycopg", "sqlite3",
             "IntegrityError", "DETAIL", "Fatal error")


@pytest.fixture
def production_errors(app):
    """Errors answered as in production (the test config re-raises them)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.testing = False
    yield
    app.config["PROPAGATE_EXCEPTIONS"] = None
    app.testing = True


@pytest.fixture
def secretariat(make, ref, login_as):
    return login_as(make.user("secretariat", dispositif=ref["CLEA"]))


def _french_json(r, status):
    assert r.status_code == status, (r.status_code, r.data[:300])
    message = r.get_json()["message"]
    assert isinstance(message, str) and message
    assert not any(word.lower() in r.get_data(as_text=True).lower() for word in SQL_WORDS), r.data
    return message


# -- point 4: zero 5xx ---------------------------------------------------------------------------
def test_p4_key_beyond_integer_range_is_404_on_every_route(app, make, production_errors,
                                                          secretariat):
    """Every GET route with a key in its URL, views and APIs: 404, never the database's error."""
    checked = 0
    for rule in app.url_map.iter_rules():
        keys = [a for a in rule.arguments if a == "pk" or a == "id" or a.endswith("_id")]
        if not keys or "GET" not in rule.methods or set(rule.arguments) - set(keys):
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{k: BEYOND_INTEGER for k in keys})
        r = secretariat.get(url)
        assert r.status_code == 404, (url, r.status_code)
        if url.startswith("/api/"):
            _french_json(r, 404)
        checked += 1
    assert checked > 40


@pytest.mark.parametrize("q", ["(page:-1)", json.dumps({"page": -1, "page_size": 10}), "((",
                               "(" * 3000, "(page_size:'x')", "(page:100000000000)"])
def test_p4_bad_q_is_400_in_french(make, production_errors, secretariat, q):
    r = secretariat.get("/api/v1/candidature/", query_string={"q": q})
    assert "Paramètre" in _french_json(r, 400)


@pytest.mark.parametrize("body", ["[]", "1", '"texte"', "null", "[{}]"])
def test_p4_json_body_not_an_object_is_400(make, production_errors, secretariat, body):
    for url in ("/api/v1/etablissement/", "/api/v1/candidature/"):
        r = secretariat.post(url, data=body, content_type="application/json")
        assert "objet JSON" in _french_json(r, 400)


def test_p4_missing_or_mistyped_fields_on_post_are_422(make, production_errors, secretariat):
    _french_json(secretariat.post("/api/v1/candidature/", json={}), 422)  # R-CAN-3
    _french_json(secretariat.post("/api/v1/candidature/", json={"certification": "x"}), 422)
    r = secretariat.post("/api/v1/certification/", json={"dispositif": {"a": {}}, "code": "X"})
    assert "Identifiant" in _french_json(r, 422)
    r = secretariat.post("/api/v1/certification/", json={"code": 5, "intitule": []})
    message = _french_json(r, 422)
    assert "Texte attendu" in message and "Not a valid" not in message


def test_p4_not_null_column_is_422_in_french_without_sql(make, ref, production_errors, login_as):
    """A NOT NULL column left out (etablissement.organisme_id) was a 500, then a 422 carrying the
    database's own message with table and constraint names."""
    c = login_as(make.user("admin"))
    r = c.post("/api/v1/etablissement/", json={"libelle": "Sans organisme", "siret": make.siret()})
    assert "organisme" in _french_json(r, 422)


def test_p4_psize_with_non_ascii_digit_is_not_an_error(make, production_errors, secretariat):
    for arg in ("psize_CandidatureView", "page_CandidatureView"):
        r = secretariat.get("/candidatures/list/", query_string={arg: "²"})
        assert r.status_code == 200, arg
