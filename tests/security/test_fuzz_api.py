"""Fuzzing through HTTP: hypothesis-generated hook requests, and schemathesis from the OpenAPI document.

No generated input may produce a 5xx. Example counts: 200 per hypothesis property (2 properties), and
schemathesis ``max_examples`` 60 per operation and generation mode (positive = valid per the schema,
negative = violating it; 5 operations, auth off) and 15 per operation and mode with auth on.
``responses`` blocks every outgoing request: no fuzz input may make the service call another host.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
import responses
import schemathesis
from hypothesis import HealthCheck, given, settings

from service.app import create_app
from service.cds_hooks.request import validator
from tests.security import strategies as fz
from tests.security.conftest import app_settings

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
URL = "/cds-services/nmd-bone-health"
GENERATED: Counter[str] = Counter()  # requests sent per suite and per status (printed with -s)
RESPONSE = validator("response")


@pytest.fixture(scope="module", autouse=True)
def no_outgoing_requests():
    # Unmatched requests raise ConnectionError in the FHIR client (→ 412); the test checks none was tried.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
    assert len(mock.calls) == 0
    print(f"\nfuzz requests generated: {dict(GENERATED)}", file=sys.stderr)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory):
    # Production FHIR policy (empty allowlist): every fhirServer in a generated request is refused.
    app = create_app(app_settings(tmp_path_factory.mktemp("fuzz"), auth=False))
    return app.test_client()


def post(client, body, suite: str):
    resp = client.post(URL, data=json.dumps(body), content_type="application/json")
    GENERATED[suite] += 1
    GENERATED[f"{suite} {resp.status_code}"] += 1
    assert resp.status_code < 500, resp.get_data(as_text=True)
    if resp.status_code == 200:
        assert not list(RESPONSE.iter_errors(resp.get_json()))
    return resp


@FUZZ
@given(fz.full_prefetch_requests)
def test_full_prefetch_with_malformed_fhir_resources_never_5xx(fuzz_client, body):
    assert post(fuzz_client, body, "hypothesis prefetch").status_code in (200, 400, 412)


@FUZZ
@given(fz.mutated_requests())
def test_malformed_hook_requests_never_5xx(fuzz_client, body):
    assert post(fuzz_client, body, "hypothesis request").status_code in (200, 400, 412)


def _schema(tmp: Path, **changes) -> schemathesis.BaseSchema:
    app = create_app(app_settings(tmp, **changes))
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture(scope="module")
def open_api(tmp_path_factory):
    return _schema(tmp_path_factory.mktemp("st-open"), auth=False)


@pytest.fixture(scope="module")
def closed_api(tmp_path_factory):
    # Authentication on, no valid token anywhere: every protected operation must answer 401, never 5xx.
    return _schema(tmp_path_factory.mktemp("st-closed"), auth=True, base_url="https://cds.example.org")


def _run(schema: schemathesis.BaseSchema, suite: str, max_examples: int, check=None) -> None:
    """Every operation of the schema, ``max_examples`` generated cases each (schemathesis strategies)."""
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "GET /cds-services",
        "POST /cds-services/{id}",
    }
    negative = schemathesis.GenerationMode.NEGATIVE
    for operation, mode in [(op, m) for op in operations for m in schemathesis.GenerationMode]:
        if mode is negative and not (len(operation.body) or len(operation.path_parameters)):
            continue  # nothing to violate in GET /healthz, /readyz, /metrics or /openapi.json

        @given(operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case) -> None:
            resp = case.call()
            GENERATED[suite] += 1
            GENERATED[f"{suite} {resp.status_code}"] += 1
            assert resp.status_code < 500, f"{case.method} {case.path}: {resp.status_code} {resp.text[:300]}"
            if check:
                check(case, resp)

        run()


def test_schemathesis_no_5xx(open_api):
    _run(open_api, "schemathesis auth off", 60)


def _requires_401(case, resp) -> None:
    if case.path not in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert resp.status_code == 401


def test_schemathesis_no_5xx_and_401_without_token(closed_api):
    _run(closed_api, "schemathesis auth on", 15, _requires_401)
