"""Concise PatientSummary builders for the bone-rule tests: one call per fact, dates as 'months ago'."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path

from service.fhir.summary import (
    CANONICAL_UNITS,
    ActionKind,
    ClinicalFinding,
    Concept,
    Diagnosis,
    DrugClass,
    Fracture,
    FractureKind,
    ImagingKind,
    Measurement,
    MedicationCourse,
    Nmd,
    Order,
    PatientSummary,
    Site,
    SpineImaging,
    Symptom,
)
from service.knowledge import default_knowledge, load_knowledge
from service.rules.core import Finding, RuleContext, Signal
from service.rules.registry import ORDER, evaluate

TODAY = date(2026, 3, 2)
BONE = tuple(r for r in ORDER if r.split("-")[0] in {"SI", "BMD", "BT", "MON", "VD"})
# The rule groups the truth tables exercise, by the clinical question they answer.
SI_GLUCOCORTICOID = ("SI-01", "SI-02")
SI_OTHER_RISK = ("SI-03",)
SI_FALLING_BMD = ("SI-04", "BMD-05")
SI_SYMPTOMS = ("SI-05",)
SI_LOW_BMD = ("SI-06",)
SI_LONG_BONE = ("SI-07",)
SI_ON_THERAPY = ("SI-08",)
BMD_ONE_SITE = ("BMD-03",)
BMD_DISCORDANCE = ("BMD-04",)
BMD_SURVEILLANCE = ("BMD-06",)
BMD_NOT_HEIGHT_ADJUSTED = ("BMD-07",)
BONE_THERAPY = ("BT-01", "BT-01b", "BT-02", "BT-03", "BT-04", "BT-06", "BT-07")
ON_THERAPY = ("MON-01", "MON-02", "MON-03", "MON-05")
OFF_THERAPY = ("MON-04", "MON-06")
VITAMIN_D = ("VD-01", "VD-02", "VD-04", "VD-03")
_ids = itertools.count(1)


def ago(months: float = 0, days: int = 0) -> date:
    return TODAY - timedelta(days=round(months * 365.25 / 12) + days)


def _src(kind: str = "Observation") -> str:
    return f"{kind}/{next(_ids)}"


def patient(age: float = 12, sex: str = "male", *facts, dx: Nmd | None = Nmd.DMD, **kw) -> PatientSummary:
    """A patient aged ``age`` years today; ``facts`` are Measurements/Fractures/... (tuples are flattened)."""
    flat = [f for x in facts for f in (x if isinstance(x, tuple | list) else (x,))]
    by = {
        t: tuple(f for f in flat if isinstance(f, t))
        for t in (Measurement, Fracture, MedicationCourse, SpineImaging, Order, ClinicalFinding)
    }
    diagnoses = (Diagnosis(dx, None, "Condition/dx", dx.value),) if dx else ()
    return PatientSummary(
        today=TODAY,
        patient_id="p1",
        birth_date=TODAY - timedelta(days=round(age * 365.25)),
        sex=sex,
        diagnoses=diagnoses,
        measurements=tuple(sorted(by[Measurement], key=lambda m: m.when)),
        fractures=by[Fracture],
        medications=by[MedicationCourse],
        spine_imaging=by[SpineImaging],
        orders=by[Order],
        findings=by[ClinicalFinding],
        **kw,
    )


def score(concept: Concept, value: float, when: date, site: Site = Site.LUMBAR_SPINE, **kw) -> Measurement:
    return Measurement(concept, value, CANONICAL_UNITS[concept], when, _src(), site=site, **kw)


def z(value: float, when: date, site: Site = Site.LUMBAR_SPINE, **kw) -> Measurement:
    return score(Concept.Z_SCORE, value, when, site, **kw)


def t(value: float, when: date, site: Site = Site.LUMBAR_SPINE, **kw) -> Measurement:
    return score(Concept.T_SCORE, value, when, site, **kw)


def bmd(value: float, when: date, site: Site = Site.LUMBAR_SPINE, **kw) -> Measurement:
    return score(Concept.BMD, value, when, site, **kw)


def lab(concept: Concept, value: float, when: date, comparator: str | None = None, **kw) -> Measurement:
    return Measurement(concept, value, CANONICAL_UNITS[concept], when, _src(), comparator=comparator, **kw)


def vitd(value: float, when: date, comparator: str | None = None, **kw) -> Measurement:
    return lab(Concept.VITAMIN_D_25OH, value, when, comparator, **kw)


def vf(level: str | None = "T12", grade: float | None = 2, when: date | None = None, **kw) -> Fracture:
    kw.setdefault("low_trauma", True)
    return Fracture(FractureKind.VERTEBRAL, when or ago(1), (_src(),), level=level, genant_grade=grade, **kw)


def long_bone(bone: str = "femur", when: date | None = None, **kw) -> Fracture:
    kw.setdefault("low_trauma", True)
    return Fracture(FractureKind.LONG_BONE, when or ago(1), (_src("Condition"),), level=bone, **kw)


def gc(
    months_on: float = 24,
    drug: str = "deflazacort",
    active: bool = True,
    end: date | None = None,
    start: date | None = None,
) -> MedicationCourse:
    return MedicationCourse(
        drug,
        DrugClass.GLUCOCORTICOID,
        start or ago(months_on),
        end,
        end or TODAY,
        active,
        (_src("MedicationRequest"),),
    )


def therapy(
    months_on: float = 24,
    drug: str = "zoledronic acid",
    cls: DrugClass = DrugClass.BISPHOSPHONATE_IV,
    active: bool = True,
    last_dose: date | None = None,
    end: date | None = None,
    start: date | None = None,
) -> MedicationCourse:
    return MedicationCourse(
        drug,
        cls,
        start or ago(months_on),
        end,
        last_dose or ago(2),
        active,
        (_src("MedicationAdministration"),),
    )


def imaged(when: date, kind: ImagingKind = ImagingKind.LATERAL_SPINE_XR) -> SpineImaging:
    return SpineImaging(kind, when, _src("DiagnosticReport"))


def order(action: ActionKind, when: date | None, status: str = "active", procedure: bool = False) -> Order:
    return Order(action, when, status, procedure, _src("ServiceRequest"))


def symptom(s: Symptom, when: date | None) -> ClinicalFinding:
    return ClinicalFinding(s, when, _src("Condition"))


def ctx(
    summary: PatientSummary, today: date = TODAY, overrides: dict | None = None, tmp: Path | None = None
) -> RuleContext:
    knowledge = default_knowledge()
    if overrides:
        assert tmp is not None
        path = tmp / "site.json"
        path.write_text(json.dumps({"thresholds": overrides}))
        knowledge = load_knowledge(path)
    return RuleContext(summary, today, knowledge)


def run(summary: PatientSummary, **kw) -> list[Finding]:
    """Every bone rule, merged into cards' findings."""
    return evaluate(ctx(summary, **kw), BONE).findings


def cards(rules: tuple[str, ...], summary: PatientSummary, **kw) -> list[Finding]:
    """These rules only, merged into cards' findings."""
    return evaluate(ctx(summary, **kw), rules).findings


def signals(rules: tuple[str, ...], summary: PatientSummary, **kw) -> list[Signal]:
    """What these rules concluded, before merging (after the already-actioned check)."""
    outcomes = evaluate(ctx(summary, **kw), rules).outcomes
    return [s for out in outcomes.values() if isinstance(out, tuple) for s in out]


def with_rule(findings: list[Finding], rule_id: str) -> Finding | None:
    return next((f for f in findings if rule_id in f.rule_ids), None)


def level(findings: list[Finding], rule_id: str) -> str | None:
    """The indicator of the card carrying ``rule_id`` ('info' | 'warning' | 'critical'), or None."""
    f = with_rule(findings, rule_id)
    return f.indicator.value if f else None


def fire(rules: tuple[str, ...], summary: PatientSummary, **kw) -> dict[str, str]:
    """Run some rules (no merging): {rule_id: indicator} of what each fired (classifications shown on a
    signal, such as BMD-02, with that signal's indicator)."""
    return {rid: s.indicator.value for s in signals(rules, summary, **kw) for rid in (s.rule, *s.also)}
