"""Fast path of the FHIR validation of input Observations: one model validation per *shape*.

A long chart repeats the same Observation thousands of times; only its id, dates, identifier values,
subject reference and numbers change. fhir.resources costs ~0.15–0.25 ms per resource, ~15x the JSON
parse. Here those varying primitive leaves are replaced by valid stand-ins (the *template*); the
template is validated once per process with the full R4B model, its verdict cached under a digest
of its JSON (no clinical text is kept), and the real leaves are checked one by one with the very
field types of the model (same regexes and value checks).

Exact, not approximate: fhir_core's model-level checks (required elements, one value[x], no null in
lists of complex types) depend only on which elements are present, which masking preserves; all
other checks are per field. ``fast_valid`` answers True only when the resource is certainly valid;
False means "run the full validation", which also gives the drop reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import TypeAdapter, ValidationError

MAX_TEMPLATES = 4096  # distinct shapes remembered per process; the cache is emptied when full
_templates: dict[bytes, bool] = {}
# Top-level primitive leaves of an Observation that vary per instance, with valid stand-ins.
_TOP = (
    ("id", "x"),
    ("effectiveDateTime", "2000-01-01"),
    ("effectiveInstant", "2000-01-01T00:00:00Z"),
    ("issued", "2000-01-01T00:00:00Z"),
)


@cache
def _check(model: str, name: str) -> Callable[[Any], Any]:
    """The validator of one field of a model, with the field's own constraints (Annotated metadata)."""
    info = get_fhir_model_class(model).model_fields[name]
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation).validator.validate_python  # type: ignore[union-attr,arg-type]


def _leaf(value: Any) -> bool:
    """Only non-null strings and numbers are masked; anything else stays in the template."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _mask_in(holder: Any, key: str, standin: Any, model: str, name: str) -> Any:
    """``holder`` with ``holder[key]`` checked and replaced by ``standin`` (ValidationError if invalid)."""
    if not isinstance(holder, dict) or not _leaf(holder.get(key)):
        return holder
    _check(model, name)(holder[key])
    return {**holder, key: standin}


def _template(obs: dict[str, Any]) -> dict[str, Any]:
    t = dict(obs)
    for key, standin in _TOP:
        if _leaf(t.get(key)):
            _check("Observation", key)(t[key])
            t[key] = standin
    if "subject" in t:
        t["subject"] = _mask_in(t["subject"], "reference", "Patient/x", "Reference", "reference")
    if isinstance(t.get("identifier"), list):
        t["identifier"] = [_mask_in(i, "value", "x", "Identifier", "value") for i in t["identifier"]]
    if "valueQuantity" in t:
        t["valueQuantity"] = _mask_in(t["valueQuantity"], "value", 1, "Quantity", "value")
    if isinstance(t.get("component"), list):
        t["component"] = [
            {**c, "valueQuantity": _mask_in(c["valueQuantity"], "value", 1, "Quantity", "value")}
            if isinstance(c, dict) and "valueQuantity" in c
            else c
            for c in t["component"]
        ]
    return t


def fast_valid(resource: dict[str, Any]) -> bool:
    """True when ``resource`` (an Observation, already trimmed) is certainly valid FHIR R4."""
    if resource.get("resourceType") != "Observation":
        return False
    try:
        template = _template(resource)
        key = hashlib.blake2b(orjson.dumps(template), digest_size=16).digest()
    except (ValidationError, TypeError, ValueError):  # an invalid leaf, or JSON orjson cannot write
        return False
    verdict = _templates.get(key)
    if verdict is None:
        try:
            get_fhir_model_class("Observation").model_validate(template)
            verdict = True
        except Exception:  # the full validation of the real resource gives the reason
            verdict = False
        if len(_templates) >= MAX_TEMPLATES:
            _templates.clear()
        _templates[key] = verdict
    return verdict
