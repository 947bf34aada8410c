"""Hand-made findings, cards and issued-card records for the feedback tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from service.feedback.store import FeedbackItem, IssuedCard, ts
from service.fhir.summary import ActionKind
from service.rules.core import Finding, Indicator, Topic

SERVICE = "nmd-bone-health"
REASONS = "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"


def finding(
    topic: Topic = Topic.SPINE_IMAGING,
    indicator: Indicator = Indicator.WARNING,
    action: ActionKind | None = ActionKind.SPINE_IMAGING,
    evidence_key: str = "fracture:2025-01-02",
    rule_ids: tuple[str, ...] = ("SI-04",),
) -> Finding:
    return Finding(
        rule_ids=rule_ids,
        topic=topic,
        indicator=indicator,
        summary="Spine X-ray advised",
        reasons=("why",),
        evidence=(),
        citations=(),
        action=action,
        suggestions=(),
        notes=(),
        evidence_key=evidence_key,
    )


def card(suggestions: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {"uuid": str(uuid.uuid4()), "summary": "s"}
    if suggestions:
        out["suggestions"] = [{"uuid": str(uuid.uuid4()), "label": "x"} for _ in range(suggestions)]
    return out


def issued(
    card_uuid: str | None = None,
    patient_hash: str = "p1",
    issued_at: datetime | None = None,
    topic: str = "spine-imaging",
    rules: tuple[str, ...] = ("SI-04",),
    suggestions: tuple[str, ...] = (),
) -> IssuedCard:
    return IssuedCard(
        card_uuid=card_uuid or str(uuid.uuid4()),
        service_id=SERVICE,
        hook_instance=str(uuid.uuid4()),
        issued_at=ts(issued_at or datetime.now(UTC)),
        patient_hash=patient_hash,
        rule_ids=rules,
        topic=topic,
        action="spine_imaging",
        indicator="warning",
        rec_key=f"{SERVICE}|{topic}|spine_imaging",
        evidence_digest="e1",
        suggestion_uuids=suggestions,
    )


def record(store: Any, *cards: IssuedCard) -> None:
    """Store cards as if issued by one service call (grouped by patient hash)."""
    for c in cards:
        store.issue(c.patient_hash, [c.rec_key], c.issued_at, lambda past, c=c: [c])


def fb(
    card_uuid: str,
    outcome: str = "overridden",
    at: str = "2026-01-05T10:00:00.000000Z",
    code: str | None = "already-done-elsewhere",
    suggestions: tuple[str, ...] = (),
) -> FeedbackItem:
    return FeedbackItem(card_uuid, outcome, at, REASONS if code else None, code, False, suggestions)
