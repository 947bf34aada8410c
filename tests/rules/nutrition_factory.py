"""Builders of PatientSummary situations for the nutrition and respiratory rule tables.

Dates are days before TODAY so a table row reads like the clinical story: ``weights=[(120, 72.0), (3, 67.6)]``
is "72.0 kg four months ago, 67.6 kg three days ago".
"""

from __future__ import annotations

from datetime import date, timedelta

from service.fhir.summary import (
    CANONICAL_UNITS,
    ActionKind,
    ClinicalFinding,
    Concept,
    Diagnosis,
    DrugClass,
    Measurement,
    MedicationCourse,
    Nmd,
    Order,
    PatientSummary,
    Symptom,
)
from service.knowledge import Knowledge, default_knowledge
from service.rules.core import Finding, RuleContext
from service.rules.registry import ORDER, evaluate

TODAY = date(2026, 3, 1)
LB = 0.45359237  # kg per [lb_av]
KNOWLEDGE = default_knowledge()
NUTRITION = tuple(r for r in ORDER if r.startswith("NUT-"))
RESPIRATORY = tuple(r for r in ORDER if r.startswith("RESP-"))


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def m(concept: Concept, days_ago: int, value: float, n: int = 0, **kw: object) -> Measurement:
    """A measurement ``days_ago`` before TODAY; ``n`` makes the source id unique."""
    return Measurement(
        concept,
        value,
        CANONICAL_UNITS[concept],
        ago(days_ago),
        f"Observation/{concept.value}-{days_ago}-{n}",
        **kw,
    )  # type: ignore[arg-type]


def patient(
    dx: Nmd | tuple[Nmd, ...] | None = Nmd.ALS,
    age: float = 60.0,
    sex: str = "male",
    weights: list[tuple[int, float]] = (),  # type: ignore[assignment]
    height: tuple[int, float] | None = None,
    extra: list[Measurement] = (),  # type: ignore[assignment]
    orders: list[Order] = (),  # type: ignore[assignment]
    symptoms: tuple[Symptom, ...] = (),
    symptom_days: int = 10,
    dx_onset_days: int | None = None,
    steroids: bool = False,
    non_ambulatory: bool = False,
    **kw: object,
) -> PatientSummary:
    dxs = () if dx is None else (dx if isinstance(dx, tuple) else (dx,))
    ms = [m(Concept.WEIGHT, d, v, i) for i, (d, v) in enumerate(weights)]
    if height is not None:
        ms.append(m(Concept.HEIGHT, height[0], height[1]))
    ms += list(extra)
    meds = (
        (
            MedicationCourse(
                "deflazacort",
                DrugClass.GLUCOCORTICOID,
                ago(400),
                None,
                ago(5),
                True,
                ("MedicationRequest/1",),
            ),
        )
        if steroids
        else ()
    )
    onset = ago(dx_onset_days) if dx_onset_days is not None else None
    return PatientSummary(
        today=TODAY,
        patient_id="p1",
        birth_date=TODAY - timedelta(days=round(age * 365.25)),
        sex=sex,
        diagnoses=tuple(Diagnosis(d, onset, f"Condition/{d.value}", d.value) for d in dxs),
        measurements=tuple(sorted(ms, key=lambda x: x.when)),
        orders=tuple(orders),
        findings=tuple(ClinicalFinding(s, ago(symptom_days), f"Condition/{s.value}") for s in symptoms),
        medications=meds,
        non_ambulatory=non_ambulatory,
        **kw,  # type: ignore[arg-type]
    )


def order(action: ActionKind, days_ago: int, status: str = "active", procedure: bool = False) -> Order:
    return Order(action, ago(days_ago), status, procedure, f"ServiceRequest/{action.value}-{days_ago}")


def ctx(summary: PatientSummary, knowledge: Knowledge = KNOWLEDGE) -> RuleContext:
    return RuleContext(summary, TODAY, knowledge)


def nutrition(c: RuleContext) -> list[Finding]:
    """The nutrition rules' cards for one context."""
    return evaluate(c, NUTRITION).findings


def respiratory(c: RuleContext) -> list[Finding]:
    """The respiratory rules' cards for one context."""
    return evaluate(c, RESPIRATORY).findings
