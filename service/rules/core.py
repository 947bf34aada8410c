"""The vocabulary of the rules: Finding, Evidence, Topic, Indicator, suggestions, and RuleContext.

A rule is a pure function ``rule(ctx: RuleContext) -> Iterable[Finding]``. Findings become CDS
Hooks cards in one place (``service.cds_hooks.cards``), which adds the uuid, source URL/topic
Coding, override reasons, and validates suggested FHIR resources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from service.fhir.summary import ActionKind, PatientSummary
from service.rules.citations import Citation
from service.rules.thresholds import Thresholds

# The project's own CodeSystem for card topics (card.source.topic.system).
TOPIC_SYSTEM = "https://nmd-cds.example.org/fhir/CodeSystem/card-topic"


class Topic(StrEnum):
    SPINE_IMAGING = "spine-imaging"
    BONE_THERAPY = "bone-therapy"
    BONE_THERAPY_REVIEW = "bone-therapy-review"
    BMD_SITES = "bmd-sites"
    BMD_SURVEILLANCE = "bmd-surveillance"
    VITAMIN_D = "vitamin-d"
    NUTRITION_REFERRAL = "nutrition-referral"
    RESPIRATORY_REVIEW = "respiratory-review"


TOPIC_DISPLAY: dict[Topic, str] = {
    Topic.SPINE_IMAGING: "Spine imaging for vertebral fractures",
    Topic.BONE_THERAPY: "Bone-targeted therapy",
    Topic.BONE_THERAPY_REVIEW: "Bone-targeted therapy review",
    Topic.BMD_SITES: "Bone density sites",
    Topic.BMD_SURVEILLANCE: "Bone density surveillance",
    Topic.VITAMIN_D: "Vitamin D",
    Topic.NUTRITION_REFERRAL: "Nutrition referral",
    Topic.RESPIRATORY_REVIEW: "Respiratory review",
}


class Indicator(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact behind a finding, shown in the card detail: '67.6 kg (body weight) on 2026-03-02'."""

    label: str  # what it is, e.g. "Body weight", "Z-score lumbar spine"
    value: str  # value with unit, e.g. "67.6 kg", "-2.3 SD", "Genant grade 2 at T12"
    when: date | None = None
    source: str | None = None  # "Observation/123" (reference only, no patient data)


@dataclass(frozen=True, slots=True)
class SuggestedResource:
    """A FHIR R4 resource (plain JSON dict) a clinician can accept with one click."""

    label: str  # suggestion label, e.g. "Order lateral thoracolumbar spine X-ray"
    resource: dict[str, Any]  # e.g. a ServiceRequest; subject filled in by the card builder
    action: ActionKind | None = None


@dataclass(frozen=True)
class Finding:
    """What a rule concluded. Findings asking for the same ``action`` are merged into one card."""

    rule_ids: tuple[str, ...]  # e.g. ("SI-04", "BMD-05")
    topic: Topic
    indicator: Indicator
    summary: str  # one line, < 140 characters, with the numbers
    reasoning: str  # Markdown sentence(s): why, which score was used and why
    evidence: tuple[Evidence, ...]
    citations: tuple[Citation, ...]
    action: ActionKind | None = None  # what the card asks for (used for suppression/merging)
    suggestions: tuple[SuggestedResource, ...] = ()
    notes: tuple[str, ...] = ()  # caveats: "[R] figure", "verify weight (oedema)", ...
    evidence_key: str = ""  # stable digest of the decisive evidence; feedback suppression compares it

    def __post_init__(self) -> None:
        if len(self.summary) >= 140:
            raise ValueError(f"summary of {self.rule_ids} is {len(self.summary)} chars (must be < 140)")


@dataclass(frozen=True)
class RuleContext:
    summary: PatientSummary
    today: date
    thresholds: Thresholds
    dropped_notes: tuple[str, ...] = field(default_factory=tuple)


Rule = Callable[[RuleContext], Iterable[Finding]]
