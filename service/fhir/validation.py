"""Validate FHIR R4 resources the service emits (card suggestions) with fhir.resources (R4B models)."""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError


@cache
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def resource_problem(resource: dict[str, Any]) -> str | None:
    """None when ``resource`` is a valid FHIR R4 resource, else a one-line description of the problem."""
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
