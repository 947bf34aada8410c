"""Whose data is it: a resource is the context patient's only when its
subject/patient reference resolves to that patient within the request.

A reference resolves to the patient when it is
- relative or absolute on any base (``Patient/p1``, ``https://ehr.example.org/fhir/Patient/p1``,
  ``…/Patient/p1/_history/3``) and names the patient's id;
- a ``urn:uuid:``/``urn:oid:`` that is the ``fullUrl`` of the patient's entry in a Bundle of the request;
- a contained Patient (``#p``) that carries one of the patient's identifiers;
- a logical reference (``identifier`` only) naming one of the patient's identifiers (those of the
  Patient resource in the request).

Anything else (another id, another type, a display only, a urn that is not in the request) is another
patient's; a resource that needs a subject and has none is nobody's. Both are dropped, never read.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.fhir.fhirjson import as_dict, as_list, text

ANOTHER_PATIENT = "another patient"
NO_SUBJECT = "no subject"
SUBJECT_KEYS = ("subject", "patient")
# Types that are about no patient in particular (read through the resources that reference them).
NEUTRAL = frozenset({"Medication"})
# Types whose patient is optional: checked when present, else read only through a reference.
OPTIONAL_SUBJECT = frozenset({"Device"})


def target(ref: str) -> tuple[str, str] | None:
    """(type, id) of a relative or absolute literal reference, None for anything else.

    ``Patient/p1``, ``https://x/fhir/Patient/p1/_history/2`` → ("Patient", "p1"); ``urn:uuid:…``,
    ``#c1`` and a bare ``p1`` → None.
    """
    if not ref or ref.startswith(("#", "urn:")):
        return None
    parts = [p for p in ref.split("?")[0].split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) < 2 or not parts[-2][:1].isupper():
        return None
    return parts[-2], parts[-1]


def identifiers(res: dict) -> set[tuple[str, str]]:
    """(system, value) of a resource's identifiers (the value alone must be a string)."""
    out = set()
    for ident in as_list(res.get("identifier")):
        ident = as_dict(ident)
        if isinstance(ident.get("value"), str) and ident["value"]:
            out.add((text(ident.get("system")), ident["value"]))
    return out


class Whose:
    """The context patient as the request describes it, and whether a resource is theirs."""

    def __init__(self, patient_id: str, items: Iterable[tuple[dict, str | None]]):
        """``items``: every (resource, fullUrl) of the request."""
        self.patient_id = patient_id
        self._literal: dict[str, bool] = {}  # reference string → the patient's (a chart repeats one)
        self.identifiers: set[tuple[str, str]] = set()
        self.urls: dict[str, tuple[str, str]] = {}  # urn fullUrl → (type, id)
        for res, url in items:
            rtype, rid = text(res.get("resourceType")), text(res.get("id"))
            if url and url.startswith("urn:"):
                self.urls[url] = (rtype, rid)
            if rtype == "Patient" and rid == patient_id:
                self.identifiers |= identifiers(res)

    def is_patient(self, value: object, container: dict | None = None) -> bool:
        """Whether a Reference (a subject/patient element) resolves to the context patient."""
        ref = as_dict(value)
        literal = text(ref.get("reference")).strip()
        if literal:
            if literal.startswith("#"):
                for c in as_list(as_dict(container).get("contained")):
                    c = as_dict(c)
                    if c.get("id") == literal[1:]:
                        return c.get("resourceType") == "Patient" and bool(identifiers(c) & self.identifiers)
                return False
            known = self._literal.get(literal)
            if known is None:
                found = self.urls.get(literal) if literal.startswith("urn:") else target(literal)
                known = self._literal[literal] = found == ("Patient", self.patient_id)
            return known
        ident = as_dict(ref.get("identifier"))
        if ref.get("type") not in (None, "Patient") or not isinstance(ident.get("value"), str):
            return False
        return (text(ident.get("system")), ident["value"]) in self.identifiers

    def reason(self, res: dict, parent: dict | None = None) -> str | None:
        """None when ``res`` is the patient's (or about no patient), else why it is not read.

        ``parent``: the panel or report a result belongs to; a result without a subject of its own
        is the patient's when its parent is.
        """
        rtype = res.get("resourceType")
        if rtype in NEUTRAL:
            return None
        if rtype == "Patient":
            return None if res.get("id") == self.patient_id else ANOTHER_PATIENT
        for key in SUBJECT_KEYS:
            if key in res:
                return None if self.is_patient(res[key], res) else ANOTHER_PATIENT
        if parent is not None:
            return self.reason(parent)
        return None if rtype in OPTIONAL_SUBJECT else NO_SUBJECT
