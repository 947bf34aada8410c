"""Validate FHIR R4 resources the service emits (card suggestions) with fhir.resources (R4B models)."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

# Who a suggestion is for: a plain Reference, the same for every patient; left out of the cache key so
# the cache never holds a patient's id.
_PATIENT_FIELDS = ("subject", "for", "patient")


@cache
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def resource_problem(resource: dict[str, Any]) -> str | None:
    """None when ``resource`` is a valid FHIR R4 resource, else a one-line description of the problem.

    The suggestions a rule makes repeat from call to call (the same ServiceRequest for another patient),
    and validating one costs about 0.3 ms: answers are remembered by the resource's content, with the
    patient reference validated once in its standard form."""
    generic = {k: v for k, v in resource.items() if k not in _PATIENT_FIELDS}
    for k in _PATIENT_FIELDS:
        if k in resource:
            ref = resource[k]
            plain = (
                isinstance(ref, dict) and set(ref) <= {"reference"} and isinstance(ref.get("reference"), str)
            )
            generic[k] = {"reference": "Patient/example"} if plain else ref
    try:
        key = orjson.dumps(generic, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not JSON (a rule bug): validate it as it is
        return _problem(resource)
    return _problem_of(key)


@lru_cache(maxsize=1024)
def _problem_of(key: bytes) -> str | None:
    return _problem(orjson.loads(key))


def _problem(resource: dict[str, Any]) -> str | None:
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return "no resourceType"
    try:
        model = _model(resource_type)
    except (KeyError, ValueError, AttributeError):
        return f"unknown resourceType {resource_type!r}"
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{resource_type}.{where}: {first.get('msg')}"
    return None
