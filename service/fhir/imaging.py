"""Adequate spine imaging (§1.5) and orders/procedures for every ActionKind (§2.H suppression).

Counts as spine imaging: a thoracolumbar radiograph (T4-L4: 24984-7, 24928-4, CPT 72080) or DXA VFA
(CPT 77085/77086, or a DXA report that names VFA); not AP-only films, not BMD-only DXA. A thoracic or
a lumbar film alone covers only half of T4-L4: it is kept as a ``View`` and counts only when the other
half was taken within ± 30 days (one SpineImaging at the later date). A scoliosis series counts only
when its report states a vertebral-fracture read (a fracture conclusionCode or "fracture"/"genant").
"""

from __future__ import annotations

from dataclasses import dataclass
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
THORACIC, LUMBAR = "thoracic", "lumbar"
_ORDER_INDEX: dict[tuple[str, str], ActionKind] = {
    pair: action for action, pairs in codes.ORDER_CODES.items() for pair in pairs
}


@dataclass(frozen=True, slots=True)
class View:
    """A thoracic or a lumbar spine film: adequate only together with the other region (§1.5)."""

    region: str  # THORACIC | LUMBAR
    when: date
    source: str


Found = SpineImaging | View


def regions(concept: object) -> set[str]:
    """The half-spine regions (thoracic / lumbar film) a code names."""
    out = set()
    for system, code, _ in codings(concept):
        if (system, code) in _THORACIC:
            out.add(THORACIC)
        elif (system, code) in _LUMBAR:
            out.add(LUMBAR)
    return out


_THORACIC = {(codes.LOINC, c) for c in codes.SPINE_THORACIC_LOINC} | {
    (codes.CPT, c) for c in codes.SPINE_THORACIC_CPT
}
_LUMBAR = {(codes.LOINC, c) for c in codes.SPINE_LUMBAR_LOINC} | {
    (codes.CPT, c) for c in codes.SPINE_LUMBAR_CPT
}


def imaging_kind(concept: object, vf_read: bool = False) -> ImagingKind | None:
    """Which adequate spine imaging a code means, or None (AP-only / BMD-only / half a spine / other)."""
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
    if regions(concept) == {THORACIC, LUMBAR}:  # both halves coded on one resource
        return ImagingKind.LATERAL_SPINE_XR
    return None


def _found(concepts: list, when: date, source: str, vf_read: bool = False) -> list[Found]:
    kinds = {k for k in (imaging_kind(c, vf_read) for c in concepts) if k is not None}
    if kinds:
        return [SpineImaging(k, when, source) for k in sorted(kinds)]
    halves = set().union(*(regions(c) for c in concepts)) if concepts else set()
    if halves == {THORACIC, LUMBAR}:  # e.g. ImagingStudy.procedureCode [72070, 72100]
        return [SpineImaging(ImagingKind.LATERAL_SPINE_XR, when, source)]
    return [View(r, when, source) for r in sorted(halves)]


def pair_views(views: list[View]) -> list[SpineImaging]:
    """Thoracic + lumbar films within ± 30 days: one adequate SpineImaging at the later date."""
    out: dict[tuple[date, str], SpineImaging] = {}
    thoracic = [v for v in views if v.region == THORACIC]
    for lumbar in (v for v in views if v.region == LUMBAR):
        for t in thoracic:
            if abs((t.when - lumbar.when).days) <= codes.SPINE_VIEW_PAIR_DAYS:
                later = max(t, lumbar, key=lambda v: (v.when, v.source))
                out[(later.when, later.source)] = SpineImaging(
                    ImagingKind.LATERAL_SPINE_XR, later.when, later.source
                )
    return list(out.values())


def action_of(concept: object) -> ActionKind | None:
    for system, code, _ in codings(concept):
        action = _ORDER_INDEX.get((system, code))
        if action is not None:
            return action
    return None


def from_report(report: dict, source: str, has_fracture_conclusion: bool) -> list[Found] | str:
    """Spine imaging of a DiagnosticReport ([] when it is none); a reason when it is but is unusable."""
    conclusion = text(report.get("conclusion")).lower()
    vf_read = has_fracture_conclusion or "fracture" in conclusion or "genant" in conclusion
    code = report.get("code")
    if imaging_kind(code, vf_read) is None and not regions(code):
        return []
    if report.get("status") not in DONE_REPORT:
        return "report not final"
    when = effective_date(report)
    return _found([code], when, source, vf_read) if when else "no date"


def from_study(study: dict, source: str) -> list[Found]:
    """ImagingStudy.procedureCode (R4) of an available study."""
    when = parse_date(study.get("started"))
    if study.get("status") not in DONE_STUDY or when is None:
        return []
    return _found(as_list(study.get("procedureCode")), when, source)


def performed(proc: dict) -> date | None:
    return (
        parse_date(proc.get("performedDateTime"))
        or period_start(proc.get("performedPeriod"))
        or parse_date(proc.get("performedString"))
    )


def from_procedure(proc: dict, source: str) -> tuple[Order | None, list[Found]]:
    """A Procedure as a done Order, and as spine imaging when it is one and completed."""
    code = proc.get("code")
    when = performed(proc)
    status = text(proc.get("status")) or "unknown"
    action = action_of(code)
    order = Order(action, when, status, True, source) if action else None
    return order, _found([code], when, source) if when and status == "completed" else []


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
        if imaging_kind(c, True) or regions(c) or action_of(c):
            return True
        for system, code, _ in codings(c):
            if system == codes.LOINC and code in codes.DXA_LOINC_REPORT:
                return True
    return bool(as_dict(res).get("conclusionCode"))
