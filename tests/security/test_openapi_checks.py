"""schemathesis's full check set against the published OpenAPI document, authentication on (a fresh signed
token per generated request, as an EHR sends): every check schemathesis has passes, positive and
negative generation, every operation. The document therefore rejects what the service rejects
(hook "0", feedback []) and documents every status, header and content type the service answers with.

Two statuses depend on state, not on the request's shape, and are accepted for valid requests: 412
(prefetch missing and no FHIR server may be read: generated requests name no allowed server) and 422
(feedback on a card this service never issued: generated card ids are random).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
import responses
import schemathesis
from hypothesis import HealthCheck, given, settings

from service.app import create_app
from tests.security import tokens as t
from tests.security.conftest import app_settings

BASE = "https://cds.example.org"
EXAMPLES = 25
SEEN: Counter[str] = Counter()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> schemathesis.BaseSchema:
    folder: Path = tmp_path_factory.mktemp("st-full")
    jwks = t.write_jwks(folder / "jwks.json", t.key("ES256"))
    issuers = t.write_issuers(folder / "issuers.json", {t.ISS: {"jwks_file": str(jwks)}})
    app = create_app(app_settings(folder, trusted_issuers_file=str(issuers), base_url=BASE))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.config.checks.positive_data_acceptance.expected_statuses = [
        "2XX",
        "401",
        "403",
        "404",
        "412",
        "422",
    ]

    @schema.auth(refresh_interval=None)
    class FreshToken:
        def get(self, case, ctx):  # noqa: ANN001, ANN201 - schemathesis' provider protocol
            return t.token(t.key("ES256"), aud=BASE + case.formatted_path)

        def set(self, case, data, ctx):  # noqa: ANN001, ANN201
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


@pytest.fixture(scope="module", autouse=True)
def no_outgoing_requests():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
    assert len(mock.calls) == 0
    print(f"\nschemathesis full checks: {dict(SEEN)}", file=sys.stderr)


def test_every_schemathesis_check_passes(api: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 6
    negative = schemathesis.GenerationMode.NEGATIVE
    for operation, mode in [(op, m) for op in operations for m in schemathesis.GenerationMode]:
        if mode is negative and not (len(operation.body) or len(operation.path_parameters)):
            continue  # nothing to violate in GET /healthz, /readyz, /metrics, /openapi.json, /cds-services

        @given(operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case) -> None:  # noqa: ANN001
            resp = case.call_and_validate()
            SEEN[f"{case.method} {case.path} {resp.status_code}"] += 1

        run()
