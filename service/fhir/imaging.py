"""Adequate spine imaging (§1.5) and orders/procedures for every ActionKind (§2.H suppression).

Counts as spine imaging: a lateral thoracolumbar radiograph or DXA VFA (by LOINC/CPT, or a DXA report
that names VFA); not AP-only films, not BMD-only DXA. A scoliosis series counts only when its report
states a vertebral-fracture read (a fracture conclusionCode or "fracture"/"genant" in the conclusion).
"""

from __future__ import annotations

from datetime import date

from service.fhir import codes
from service.fhir.fhirjson import (
    as_dict,
    as_list,
    codings,
    concept_text,
    effective_date,
    parse_date,
    period_start,
    text,
)
from service.fhir.summary import ActionKind, ImagingKind, Order, SpineImaging

VFA_TEXT = ("vfa", "vertebral fracture assessment", "lateral vertebral", "vertebral morphometry")
DONE_REPORT = {"final", "amended", "corrected", "appended", "preliminary", "partial"}
DONE_STUDY = {"available"}
_ORDER_INDEX: dict[tuple[str, str], ActionKind] = {
    pair: action for action, pairs in codes.ORDER_CODES.items() for pair in pairs
}


def imaging_kind(concept: object, vf_read: bool = False) -> ImagingKind | None:
    """Which adequate spine imaging a code means, or None (AP-only / BMD-only / other)."""
    for system, code, _ in codings(concept):
        if system == codes.CPT and code in codes.SPINE_IMAGING_VFA_CPT:
            return ImagingKind.DXA_VFA
        if system == codes.CPT and code in codes.SPINE_IMAGING_XR_CPT:
            return ImagingKind.LATERAL_SPINE_XR
        if system == codes.LOINC and code in codes.SPINE_IMAGING_LATERAL_LOINC:
            return ImagingKind.LATERAL_SPINE_XR
        if system == codes.LOINC and code in codes.SPINE_IMAGING_SCOLIOSIS_LOINC and vf_read:
            return ImagingKind.LATERAL_SPINE_XR
        if (
            system == codes.LOINC
            and code in codes.DXA_LOINC_REPORT
            and any(t in concept_text(concept) for t in VFA_TEXT)
        ):
            return ImagingKind.DXA_VFA
    return None


def action_of(concept: object) -> ActionKind | None:
    for system, code, _ in codings(concept):
        action = _ORDER_INDEX.get((system, code))
        if action is not None:
            return action
    return None


def from_report(report: dict, source: str, has_fracture_conclusion: bool) -> SpineImaging | str | None:
    """SpineImaging of a DiagnosticReport; a reason when it is spine imaging but unusable; None otherwise."""
    conclusion = text(report.get("conclusion")).lower()
    vf_read = has_fracture_conclusion or "fracture" in conclusion or "genant" in conclusion
    kind = imaging_kind(report.get("code"), vf_read)
    if kind is None:
        return None
    if report.get("status") not in DONE_REPORT:
        return "report not final"
    when = effective_date(report)
    return SpineImaging(kind, when, source) if when else "no date"


def from_study(study: dict, source: str) -> list[SpineImaging]:
    """ImagingStudy.procedureCode (R4) of an available study."""
    when = parse_date(study.get("started"))
    if study.get("status") not in DONE_STUDY or when is None:
        return []
    kinds = {imaging_kind(pc) for pc in as_list(study.get("procedureCode"))} - {None}
    return [SpineImaging(k, when, source) for k in kinds if k]


def performed(proc: dict) -> date | None:
    return (
        parse_date(proc.get("performedDateTime"))
        or period_start(proc.get("performedPeriod"))
        or parse_date(proc.get("performedString"))
    )


def from_procedure(proc: dict, source: str) -> tuple[Order | None, SpineImaging | None]:
    """A Procedure as a done Order, and as spine imaging when it is one and completed."""
    code = proc.get("code")
    when = performed(proc)
    status = text(proc.get("status")) or "unknown"
    action = action_of(code)
    order = Order(action, when, status, True, source) if action else None
    kind = imaging_kind(code)
    imaging = SpineImaging(kind, when, source) if kind and when and status == "completed" else None
    return order, imaging


def from_service_request(req: dict, source: str) -> Order | None:
    action = action_of(req.get("code"))
    if action is None:
        return None
    when = (
        parse_date(req.get("occurrenceDateTime"))
        or period_start(req.get("occurrencePeriod"))
        or parse_date(req.get("authoredOn"))
    )
    return Order(action, when, text(req.get("status")) or "unknown", False, source)


def is_candidate(res: dict) -> bool:
    """Cheap pre-filter for DiagnosticReport / ImagingStudy / Procedure / ServiceRequest."""
    concepts = [res.get("code")] + as_list(res.get("procedureCode")) + as_list(res.get("conclusionCode"))
    for c in concepts:
        if imaging_kind(c, True) or action_of(c):
            return True
        for system, code, _ in codings(c):
            if system == codes.LOINC and code in codes.DXA_LOINC_REPORT:
                return True
    return bool(as_dict(res).get("conclusionCode"))
