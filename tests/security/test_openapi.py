"""The published OpenAPI document stays in step with the JSON Schemas, service ids and spec examples."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from service.cds_hooks.services import service_definitions
from service.knowledge import default_knowledge
from tests.conftest import DATA

DOC = json.loads((resources.files("service.cds_hooks") / "openapi.json").read_text())
SCHEMAS = Path(str(resources.files("service.cds_hooks") / "schemas"))
SPEC = DATA / "cds-hooks-spec"


def inlined(name: str, prefix: str) -> tuple[dict, dict]:
    """The schema file as the OpenAPI document must hold it: $defs moved to components, refs rewritten."""
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    schema.pop("$schema", None)
    schema.pop("$id", None)
    defs = schema.pop("$defs", {})

    def rewrite(node):
        if isinstance(node, dict):
            return {
                k: f"#/components/schemas/{prefix}_{v.rsplit('/', 1)[-1]}"
                if k == "$ref" and v.startswith("#/$defs/")
                else rewrite(v)
                for k, v in node.items()
            }
        return [rewrite(v) for v in node] if isinstance(node, list) else node

    return rewrite(schema), {f"{prefix}_{k}": rewrite(v) for k, v in defs.items()}


@pytest.mark.parametrize(
    "name, prefix",
    [
        ("discovery", "Discovery"),
        ("request", "HookRequest"),
        ("response", "HookResponse"),
        ("feedback", "Feedback"),
    ],
)
def test_components_are_the_schema_files(name, prefix):
    schema, defs = inlined(name, prefix)
    components = DOC["components"]["schemas"]
    assert components[prefix] == schema
    assert {k: components[k] for k in defs} == defs


def test_service_id_enum_lists_every_service():
    for path in ("/cds-services/{id}", "/cds-services/{id}/feedback"):
        (param,) = DOC["paths"][path]["post"]["parameters"]
        assert sorted(param["schema"]["enum"]) == sorted(service_definitions(default_knowledge()))


def feedback_validator():
    doc = dict(DOC)
    return jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Feedback", **{"components": doc["components"]}}
    )


@pytest.mark.parametrize(
    "example, valid",
    [
        ("feedback-accepted-example.json", True),
        ("feedback-overridden-example.json", True),
        ("feedback-overridden-with-reason-example.json", True),
        (None, False),
    ],
)
def test_feedback_schema_accepts_the_spec_examples(example, valid):
    body = (
        json.loads((SPEC / example).read_text())
        if example
        else {"feedback": [{"card": "x", "outcome": "maybe"}]}
    )
    assert feedback_validator().is_valid(body) is valid


def test_only_health_and_the_document_itself_are_unauthenticated():
    open_ops = {
        f"{m.upper()} {p}"
        for p, ops in DOC["paths"].items()
        for m, op in ops.items()
        if op.get("security") == []
    }
    assert open_ops == {"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json"}
    assert DOC["security"] == [{"cdsClientJwt": []}]
