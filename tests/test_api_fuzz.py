"""Issue 14 point 4: schemathesis against the app's own OpenAPI, as a secretariat and as an
établissement user. No input may make a 5xx, and every answer must match the schema it
documents. Bounded: a few examples per operation and mode, a fixed seed (derandomize), no
shrinking, no example database — the same requests on every run, well under two minutes."""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import login

EXAMPLES = 3
CHECKS = [not_a_server_error, response_schema_conformance]
# The login endpoints belong to FAB's security API (their own rate limits and tests).
SKIP = ("/api/v1/security/",)
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def world(db, make, ref):
    """Rows of both users' perimeters, so that generated ids and fixed ids reach real records."""
    etab = make.etablissement()
    dossier = make.candidature("CLEA", etablissement=etab)
    secretariat = make.user("secretariat", dispositif=ref["CLEA"])
    user = dossier.createur if getattr(dossier, "createur", None) else make.user(
        "utilisateur_etablissement", etablissement=etab)
    from app.models.habilitation import Habilitation
    hab = db.session.query(Habilitation).filter_by(etablissement_id=etab.id).first()
    admin = make.user("admin")
    return {"secretariat": secretariat, "etablissement": user, "admin": admin,
            "ids": {"candidature": dossier.id, "habilitation": hab.id, "etablissement": etab.id,
                    "organisme": etab.organisme_id}}


def _spec(app, admin):
    # The whole API (every resource) as the administrator sees it; each user is then fuzzed on it.
    client = login(app.test_client(), admin)
    r = client.get("/api/v1/_openapi")
    assert r.status_code == 200
    return r.get_json()


def _fuzz(app, spec, client, ids) -> list[str]:
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    cookie = client.get_cookie("session")
    headers = {"Cookie": f"session={cookie.value}"}
    failures, calls = [], [0]
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path.startswith(SKIP):
            continue
        resource = op.path.split("/")[3] if op.path.count("/") >= 3 else ""
        fixed = {"pk": ids[resource]} if "{pk}" in op.path and resource in ids else None
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if fixed:
            runs.append((GenerationMode.POSITIVE, fixed))
        for mode, path_parameters in runs:
            strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters)

            @FUZZ
            @given(case=strategy)
            def run(case):
                calls[0] += 1
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)
            try:
                run()
            except Unsatisfiable:  # no invalid value exists for this operation's inputs
                continue
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all reported together
                failures.append(f"{op.method.upper()} {op.path} ({mode}): {exc}"[:2500])
    assert calls[0] > 100, "too few requests: the spec lost its operations"
    return failures


@pytest.mark.parametrize("who", ["secretariat", "etablissement"])
def test_p4_api_fuzz_no_server_error_and_schema_respected(app, world, who):
    spec = _spec(app, world["admin"])
    client = login(app.test_client(), world[who])
    failures = _fuzz(app, spec, client, world["ids"])
    assert not failures, "\n\n".join(failures)


def test_p4_custom_endpoints_documented_with_parameters(app, world):
    """The workflow endpoints are usable from the spec alone: path parameters and body."""
    paths = _spec(app, world["admin"])["paths"]
    action = paths["/api/v1/candidature/{pk}/action/{verb}"]["post"]
    assert {p["name"] for p in action["parameters"]} >= {"pk", "verb"}
    assert "requestBody" in action
    for decision in ("valider", "rejeter"):
        op = paths[f"/api/v1/habilitation/{{pk}}/{decision}"]["post"]
        assert {p["name"] for p in op["parameters"]} >= {"pk"}
        assert op["requestBody"]["content"]["application/json"]["schema"]["properties"]
    acces = paths["/api/v1/habilitation/acces"]["get"]
    assert {p["name"] for p in acces["parameters"]} >= {"etablissement_id", "dispositif_id"}
