"""Adequate spine imaging and orders/procedures for every ActionKind.

Counts as spine imaging: a thoracolumbar radiograph (T4-L4: 24984-7, 24928-4, CPT 72080) or DXA VFA
(CPT 77085/77086, or a DXA report that names VFA); not AP-only films, not BMD-only DXA. A thoracic or
a lumbar film alone covers only half of T4-L4: it is kept as a ``View`` and counts only when the other
half was taken within ± 30 days (one SpineImaging at the later date). A scoliosis series counts only
when its report states a vertebral-fracture read (a fracture conclusionCode or "fracture"/"genant").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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
from service.fhir.terms import Terms

DONE_REPORT = {"final", "amended", "corrected", "appended", "preliminary", "partial"}
DONE_STUDY = {"available"}
THORACIC, LUMBAR = "thoracic", "lumbar"  # the ``imaging`` of half-spine films in the value set
SCOLIOSIS_SERIES = "scoliosis_series"
VIEW_PAIR_DAYS = 30  # a thoracic and a lumbar film this close together cover T4-L4


@dataclass(frozen=True, slots=True)
class View:
    """A thoracic or a lumbar spine film: adequate only together with the other region."""

    region: str  # THORACIC | LUMBAR
    when: date
    source: str


Found = SpineImaging | View


def regions(concept: object, terms: Terms) -> set[str]:
    """The half-spine regions (thoracic / lumbar film) a code names."""
    return {
        str(e.get("imaging"))
        for e in terms.entries(concept, terms.spine_imaging)
        if e.get("imaging") in (THORACIC, LUMBAR)
    }


def imaging_kind(concept: object, terms: Terms, vf_read: bool = False) -> ImagingKind | None:
    """Which adequate spine imaging a code means, or None (AP-only / BMD-only / half a spine / other)."""
    for system, code, _ in codings(concept):
        system = terms.canonical(system)
        entry = terms.spine_imaging.lookup(system, code)
        imaging = entry.get("imaging") if entry is not None else None
        if imaging in (ImagingKind.DXA_VFA, ImagingKind.LATERAL_SPINE_XR):
            return ImagingKind(imaging)
        if imaging == SCOLIOSIS_SERIES and vf_read:
            return ImagingKind.LATERAL_SPINE_XR
        if terms.dxa_report.lookup(system, code) is not None and _names_vfa(concept, terms):
            return ImagingKind.DXA_VFA
    if regions(concept, terms) == {THORACIC, LUMBAR}:  # both halves coded on one resource
        return ImagingKind.LATERAL_SPINE_XR
    return None


def _names_vfa(concept: object, terms: Terms) -> bool:
    """A DXA report that names a vertebral fracture assessment ("VFA", "vertebral morphometry" …)."""
    phrase = terms.spine_imaging.match_text(concept_text(concept))
    return phrase is not None and phrase.get("imaging") == ImagingKind.DXA_VFA


def _found(concepts: list, when: date, source: str, terms: Terms, vf_read: bool = False) -> list[Found]:
    kinds = {k for k in (imaging_kind(c, terms, vf_read) for c in concepts) if k is not None}
    if kinds:
        return [SpineImaging(k, when, source) for k in sorted(kinds)]
    halves = set().union(*(regions(c, terms) for c in concepts)) if concepts else set()
    if halves == {THORACIC, LUMBAR}:  # e.g. ImagingStudy.procedureCode [72070, 72100]
        return [SpineImaging(ImagingKind.LATERAL_SPINE_XR, when, source)]
    return [View(r, when, source) for r in sorted(halves)]


def pair_views(views: list[View]) -> list[SpineImaging]:
    """Thoracic + lumbar films within ± 30 days: one adequate SpineImaging at the later date."""
    out: dict[tuple[date, str], SpineImaging] = {}
    thoracic = [v for v in views if v.region == THORACIC]
    for lumbar in (v for v in views if v.region == LUMBAR):
        for t in thoracic:
            if abs((t.when - lumbar.when).days) <= VIEW_PAIR_DAYS:
                later = max(t, lumbar, key=lambda v: (v.when, v.source))
                out[(later.when, later.source)] = SpineImaging(
                    ImagingKind.LATERAL_SPINE_XR, later.when, later.source
                )
    return list(out.values())


def action_of(concept: object, terms: Terms) -> ActionKind | None:
    found = terms.find(concept, terms.orders)
    return ActionKind(found.get("action")) if found is not None else None


def from_report(report: dict, source: str, has_fracture_conclusion: bool, terms: Terms) -> list[Found] | str:
    """Spine imaging of a DiagnosticReport ([] when it is none); a reason when it is but is unusable."""
    conclusion = text(report.get("conclusion")).lower()
    vf_read = has_fracture_conclusion or "fracture" in conclusion or "genant" in conclusion
    code = report.get("code")
    if imaging_kind(code, terms, vf_read) is None and not regions(code, terms):
        return []
    if report.get("status") not in DONE_REPORT:
        return "report not final"
    when = effective_date(report)
    return _found([code], when, source, terms, vf_read) if when else "no date"


def from_study(study: dict, source: str, terms: Terms) -> list[Found]:
    """ImagingStudy.procedureCode (R4) of an available study."""
    when = parse_date(study.get("started"))
    if study.get("status") not in DONE_STUDY or when is None:
        return []
    return _found(as_list(study.get("procedureCode")), when, source, terms)


def performed(proc: dict) -> date | None:
    return (
        parse_date(proc.get("performedDateTime"))
        or period_start(proc.get("performedPeriod"))
        or parse_date(proc.get("performedString"))
    )


def from_procedure(proc: dict, source: str, terms: Terms) -> tuple[Order | None, list[Found]]:
    """A Procedure as a done Order, and as spine imaging when it is one and completed."""
    code = proc.get("code")
    when = performed(proc)
    status = text(proc.get("status")) or "unknown"
    action = action_of(code, terms)
    order = Order(action, when, status, True, source) if action else None
    return order, _found([code], when, source, terms) if when and status == "completed" else []


def from_service_request(req: dict, source: str, terms: Terms) -> Order | None:
    action = action_of(req.get("code"), terms)
    if action is None:
        return None
    when = (
        parse_date(req.get("occurrenceDateTime"))
        or period_start(req.get("occurrencePeriod"))
        or parse_date(req.get("authoredOn"))
    )
    return Order(action, when, text(req.get("status")) or "unknown", False, source)


def is_candidate(res: dict, terms: Terms) -> bool:
    """Cheap pre-filter for DiagnosticReport / ImagingStudy / Procedure / ServiceRequest."""
    concepts = [res.get("code")] + as_list(res.get("procedureCode")) + as_list(res.get("conclusionCode"))
    for c in concepts:
        if imaging_kind(c, terms, True) or regions(c, terms) or action_of(c, terms):
            return True
        if terms.find(c, terms.dxa_report) is not None:
            return True
    return bool(as_dict(res).get("conclusionCode"))
