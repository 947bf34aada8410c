"""PatientSummary: the one typed, immutable input of every clinical rule.

Built from a patient's FHIR R4 resources by ``service.fhir.build.build_summary``. Every value is in
the canonical unit of its concept (see ``CANONICAL_UNITS``) and every date is a ``datetime.date``
(UTC). Nothing here imports fhir.resources, so rules can use the summary without it. The named
concepts (``Concept``, ``Site``, ``Nmd`` …) are the knowledge's (``service.knowledge.concepts``),
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from service.knowledge.concepts import (
    SITE_LABELS,
    ActionKind,
    Concept,
    DrugClass,
    FractureKind,
    ImagingKind,
    Nmd,
    Site,
    Symptom,
)

__all__ = [
    "CANONICAL_UNITS",
    "SITE_LABELS",
    "ActionKind",
    "ClinicalFinding",
    "Concept",
    "Diagnosis",
    "DrugClass",
    "Dropped",
    "Fracture",
    "FractureKind",
    "ImagingKind",
    "Measurement",
    "MedicationCourse",
    "Nmd",
    "Order",
    "PatientSummary",
    "Site",
    "SpineImaging",
    "Symptom",
]


# The unit every value of a concept is converted to.
CANONICAL_UNITS: dict[Concept, str] = {
    Concept.WEIGHT: "kg",
    Concept.HEIGHT: "cm",
    Concept.BMI: "kg/m2",
    Concept.BMI_PERCENTILE: "%",
    Concept.WEIGHT_FOR_LENGTH_PERCENTILE: "%",
    Concept.USUAL_WEIGHT: "kg",
    Concept.FVC: "L",
    Concept.FVC_PREDICTED: "L",
    Concept.FVC_PCT_PREDICTED: "%",
    Concept.VC: "L",
    Concept.VC_PREDICTED: "L",
    Concept.VC_PCT_PREDICTED: "%",
    Concept.MIP: "cm[H2O]",
    Concept.SNIP: "cm[H2O]",
    Concept.VITAMIN_D_25OH: "ng/mL",
    Concept.CREATININE: "mg/dL",
    Concept.CYSTATIN_C: "mg/L",
    Concept.CALCIUM: "mg/dL",
    Concept.BMD: "g/cm2",
    Concept.T_SCORE: "SD",
    Concept.Z_SCORE: "SD",
}

# Units whose values are always shown with a fixed number of decimals, so one weight reads the same in a
# card's summary and its evidence table ("80.0 kg" in both).
FIXED_DECIMALS = {"kg": 1, "kg/m2": 1}


@dataclass(frozen=True, slots=True)
class Measurement:
    """One observed value in its concept's canonical unit."""

    concept: Concept
    value: float
    unit: str  # == CANONICAL_UNITS[concept]
    when: date
    source: str  # "Observation/<id>"
    comparator: str | None = None  # "<", "<=", ">", ">=" — the value is a bound
    preliminary: bool = False
    site: Site | None = None  # DXA only
    laterality: str | None = None  # "left" | "right" | None
    height_adjusted: bool = False  # Z-score is HAZ/BMAD-based
    estimated: bool = False  # e.g. height estimated from ulna length / arm span
    usual: bool = False  # documented usual / pre-illness weight
    unit_alias: str | None = None  # the non-UCUM unit spelling the value came with ("lbs"), if any
    as_sent: str | None = None  # a text result without a number ("undetectable"), read as a bound

    @property
    def number(self) -> str:
        """The value as every card text shows it: weights and BMI with one decimal ("80.0"), anything
        else with at most two (converted values, nmol/L → ng/mL, carry spurious digits)."""
        places = FIXED_DECIMALS.get(self.unit)
        return f"{self.value:.{places}f}" if places is not None else f"{round(self.value, 2):g}"

    @property
    def display(self) -> str:
        """Value with unit, e.g. ``"<10 ng/mL"`` or ``"67.6 kg"``; a text result without a number as
        sent, with the bound it is read at (``"undetectable (<20 ng/mL)"``)."""
        if self.as_sent:
            return f"{self.as_sent} ({self.comparator or ''}{self.number} {self.unit})"
        cmp = self.comparator or ""
        unit = "" if self.unit in {"SD"} else f" {self.unit}"
        return f"{cmp}{self.number}{unit}"


@dataclass(frozen=True, slots=True)
class Fracture:
    """A fracture merged from Conditions, Observations and DiagnosticReports (duplicates collapsed)."""

    kind: FractureKind
    when: date | None
    sources: tuple[str, ...]
    # vertebral level ("T12", "T5-T6") or region ("thoracic", "lumbar", "thoracolumbar", "lumbosacral")
    # when known; the long bone's name for long-bone fractures
    level: str | None = None
    genant_grade: float | None = None  # 0, 0.5, 1, 2, 3 when known
    low_trauma: bool | None = (
        None  # True fragility; False traumatic (needs clinician confirmation); None unknown
    )
    provisional: bool = False  # provisional/differential verification, or preliminary observation
    description: str = ""  # short human text for the card evidence
    cause: str | None = None  # the ICD-10-CM external-cause code that decided ``low_trauma``
    assumed: bool = False  # ``low_trauma`` is the default of an imaging read, not coded


@dataclass(frozen=True, slots=True)
class Diagnosis:
    disorder: Nmd
    onset: date | None
    source: str
    display: str


@dataclass(frozen=True, slots=True)
class MedicationCourse:
    """One drug's exposure, merged from MedicationRequest/Statement/Administration."""

    drug: str  # ingredient, e.g. "deflazacort", "zoledronic acid"
    drug_class: DrugClass
    start: date | None
    end: date | None  # None while ongoing
    last_dose: date | None  # latest administration / refill / authored date
    active: bool  # active at the summary's "today" (bone therapy: dose within its interval)
    sources: tuple[str, ...]
    route: str | None = None

    def days_on(self, today: date) -> int | None:
        if self.start is None:
            return None
        return ((self.end or today) - self.start).days


@dataclass(frozen=True, slots=True)
class SpineImaging:
    """Adequate spine imaging for vertebral-fracture detection."""

    kind: ImagingKind
    when: date
    source: str


@dataclass(frozen=True, slots=True)
class Order:
    """A ServiceRequest or Procedure for one of the actions rules can ask for."""

    action: ActionKind
    when: date | None  # authoredOn / performed / occurrence
    status: str  # FHIR status: active, draft, on-hold, completed, ...
    is_procedure: bool  # True: a Procedure (done); False: a ServiceRequest (ordered)
    source: str


@dataclass(frozen=True, slots=True)
class ClinicalFinding:
    """A coded symptom/sign/status from a Condition or Observation."""

    symptom: Symptom
    when: date | None
    source: str


@dataclass(frozen=True, slots=True)
class Dropped:
    """A resource (or one value in it) the data layer did not use, and why."""

    source: str  # "Observation/123" or "Observation/#7" when it has no id
    reason: str  # short, stable, no patient data, e.g. "unknown unit 'stone'"


@dataclass(frozen=True)
class PatientSummary:
    """Everything the rules may read about one patient, as of ``today``."""

    today: date
    patient_id: str | None = None
    birth_date: date | None = None
    sex: str | None = None  # "male" | "female" | None
    deceased: bool = False
    diagnoses: tuple[Diagnosis, ...] = ()
    non_ambulatory: bool = False
    non_ambulatory_since: date | None = None
    measurements: tuple[Measurement, ...] = ()  # sorted by date ascending
    fractures: tuple[Fracture, ...] = ()
    medications: tuple[MedicationCourse, ...] = ()
    spine_imaging: tuple[SpineImaging, ...] = ()
    orders: tuple[Order, ...] = ()
    findings: tuple[ClinicalFinding, ...] = ()
    weight_management_plan: bool = False  # a weight-management CarePlan exists
    gastrostomy: bool = False  # documented gastrostomy (Procedure or Z93.1 status)
    data_complete: frozenset[str] = field(default_factory=frozenset)  # resource kinds actually obtained
    dropped: tuple[Dropped, ...] = ()
    cerebral_palsy_in_scope: bool = False  # NMD_CDS_INCLUDE_CEREBRAL_PALSY

    # --- derived facts (cheap; rules call them) ---
    def age_at(self, when: date) -> float | None:
        """Age in years at a date: completed calendar years plus the fraction of the current year
        (so a 20th birthday is exactly 20.0); None without a birth date."""
        if self.birth_date is None:
            return None
        b = self.birth_date
        years = when.year - b.year - ((when.month, when.day) < (b.month, b.day))
        last, following = _anniversary(b, b.year + years), _anniversary(b, b.year + years + 1)
        return years + (when - last).days / (following - last).days

    def has(self, *disorders: Nmd) -> bool:
        return any(d.disorder in disorders for d in self.diagnoses)

    @property
    def in_scope(self) -> bool:
        """An active in-scope NMD diagnosis; cerebral palsy counts only when the institution says so."""
        return any(
            d.disorder is not Nmd.CEREBRAL_PALSY or self.cerebral_palsy_in_scope for d in self.diagnoses
        )

    @cached_property
    def _by_concept(self) -> dict[Concept, tuple[Measurement, ...]]:
        index: dict[Concept, list[Measurement]] = {}
        for m in self.measurements:
            index.setdefault(m.concept, []).append(m)
        return {concept: tuple(ms) for concept, ms in index.items()}

    def series(self, concept: Concept, site: Site | None = None) -> tuple[Measurement, ...]:
        """Measurements of one concept (optionally one DXA site), oldest first."""
        found = self._by_concept.get(concept, ())
        return found if site is None else tuple(m for m in found if m.site is site)

    def latest(self, concept: Concept, site: Site | None = None) -> Measurement | None:
        s = self.series(concept, site)
        return s[-1] if s else None

    def courses(self, *classes: DrugClass) -> tuple[MedicationCourse, ...]:
        return tuple(c for c in self.medications if c.drug_class in classes)

    def orders_for(self, action: ActionKind) -> tuple[Order, ...]:
        return tuple(o for o in self.orders if o.action is action)

    def usual_weight(
        self, current: Measurement, lookback_days: int, min_span_days: int
    ) -> Measurement | None:
        """Usual weight for ``current``.

        A documented usual weight wins; else the heaviest weight in the ``lookback_days`` before the
        current one. None unless there are >= 2 measured weights >= ``min_span_days`` apart.
        """
        weights = [m for m in self.series(Concept.WEIGHT) if m.when <= current.when and m.comparator is None]
        earlier = [m for m in weights if (current.when - m.when).days >= min_span_days]
        if not earlier:
            return None
        documented = [m for m in self.series(Concept.USUAL_WEIGHT) if m.when <= current.when]
        if documented:
            return documented[-1]
        window = [m for m in weights if 0 <= (current.when - m.when).days <= lookback_days]
        return max(window, key=lambda m: (m.value, m.when))


def _anniversary(birth: date, year: int) -> date:
    """The birthday in ``year``; a 29 February birthday falls on 1 March in common years."""
    try:
        return birth.replace(year=year)
    except ValueError:
        return date(year, 3, 1)
