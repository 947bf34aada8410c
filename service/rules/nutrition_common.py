"""Helpers shared by the nutrition and respiratory rules: signals, merging, freshness, suppression.

A rule check yields ``Signal`` objects (one rule id, one indicator, one reason); ``merge`` turns the
signals asking for the same action into ONE ``Finding`` (highest indicator, all rule ids and reasons),
so a clinician sees one card per recommendation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from service.fhir.codes import SUGGESTION_CODES
from service.fhir.summary import ActionKind, Concept, Measurement, PatientSummary
from service.rules.citations import Citation
from service.rules.core import Evidence, Finding, Indicator, RuleContext, SuggestedResource, Topic
from service.rules.thresholds import Threshold

_OPEN_REQUEST = {"draft", "active", "on-hold"}
_VOID = {"revoked", "entered-in-error", "not-done", "cancelled"}


@dataclass(frozen=True)
class Signal:
    """One rule's conclusion before merging."""

    rule_id: str
    indicator: Indicator
    summary: str
    reason: str  # one Markdown sentence
    evidence: tuple[Evidence, ...]
    citations: tuple[Citation, ...]
    key: str  # decisive evidence, short and stable
    notes: tuple[str, ...] = ()
    preliminary: bool = False  # rests on a preliminary measurement: never critical (edge case 1)


# Float tolerance for threshold comparisons of unrounded values: an exact 5.0 % (72.0 → 68.4 kg)
# computes as 4.9999999999 and must still count, while 4.96 % must not.
EPS = 1e-9


def shown(x: float, places: int = 1) -> str:
    """A loss or fall for display, truncated (not rounded) so the text never crosses a threshold the
    unrounded value did not reach: 4.96 % shows as 4.9 %, an exact 5.0 % as 5.0 %."""
    f = 10**places
    return f"{math.floor(x * f + EPS * f) / f:.{places}f}"


def tv(ctx: RuleContext, t: Threshold) -> float:
    """The value in force of a declared threshold (institution overrides applied)."""
    return ctx.thresholds[t.key].value


def age_days(m: Measurement | None, today: date) -> int | None:
    return None if m is None else (today - m.when).days


def is_fresh(m: Measurement | None, today: date, max_days: float) -> bool:
    d = age_days(m, today)
    return d is not None and 0 <= d <= max_days


def below(m: Measurement, limit: float) -> bool:
    """True when the value is certainly below ``limit`` (a '<' bound counts; a '>' bound never does)."""
    if m.comparator in (None, "<"):
        return m.value < limit if m.comparator is None else m.value <= limit
    if m.comparator == "<=":
        return m.value < limit
    return False


def evidence_of(label: str, m: Measurement) -> Evidence:
    return Evidence(label, m.display, m.when, m.source)


def cap_preliminary(indicator: Indicator, *ms: Measurement | None, preliminary: bool = False) -> Indicator:
    """Preliminary results never fire critical (edge case 1); ``preliminary`` flags derived data."""
    if indicator is Indicator.CRITICAL and (preliminary or any(m is not None and m.preliminary for m in ms)):
        return Indicator.WARNING
    return indicator


def already_actioned(summary: PatientSummary, action: ActionKind, today: date, window_days: float) -> bool:
    """An open request, or one requested/done within the window, for this action (§2.H)."""
    for o in summary.orders_for(action):
        if o.status in _VOID:
            continue
        if not o.is_procedure and o.status in _OPEN_REQUEST:
            return True
        if o.when is not None and 0 <= (today - o.when).days <= window_days:
            return True
    return False


def service_request(action: ActionKind, reason: str, intent: str = "proposal") -> dict[str, Any]:
    """A draft FHIR R4 ServiceRequest for the action; the card builder adds ``subject``."""
    system, code, display = SUGGESTION_CODES[action]
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": intent,
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "reasonCode": [{"text": reason[:250]}],
    }


def merge(
    signals: Sequence[Signal],
    topic: Topic,
    action: ActionKind | None,
    suggestions: Iterable[SuggestedResource] = (),
    extra_notes: Iterable[str] = (),
) -> Finding | None:
    """One Finding for signals asking for the same thing: the highest indicator leads the summary."""
    if not signals:
        return None
    ordered = sorted(signals, key=lambda s: -s.indicator.rank)  # stable: rule order kept within a rank
    lead = ordered[0]
    evidence: list[Evidence] = []
    citations: list[Citation] = []
    notes: list[str] = []
    for s in ordered:
        evidence += [e for e in s.evidence if e not in evidence]
        citations += [c for c in s.citations if c not in citations]
        notes += [n for n in s.notes if n not in notes]
    notes += [n for n in extra_notes if n not in notes]
    return Finding(
        rule_ids=tuple(dict.fromkeys(s.rule_id for s in ordered)),
        topic=topic,
        indicator=lead.indicator,
        summary=lead.summary,
        reasoning="\n".join(f"- **{s.rule_id}** ({s.indicator.value}): {s.reason}" for s in ordered),
        evidence=tuple(evidence),
        citations=tuple(citations),
        action=action,
        suggestions=tuple(suggestions),
        notes=tuple(notes),
        evidence_key="|".join(sorted({s.key for s in ordered})),
    )


def months(days: int) -> str:
    """'4 months', '3 weeks' — how clinicians say a span."""
    if days < 45:
        return f"{max(1, round(days / 7))} weeks"
    return f"{round(days / 30.44)} months"


def pct_predicted_series(
    summary: PatientSummary, pct: Concept, litres: Concept, predicted: Concept
) -> tuple[Measurement, ...]:
    """% predicted values, oldest first: sent as %, or on days with none computed from litres / predicted.

    Litres and % never meet in one comparison: the concept (fixed by the unit at parsing) says which it is.
    """
    sent = list(summary.series(pct))
    days = {m.when for m in sent}
    preds = {m.when: m for m in summary.series(predicted) if m.comparator is None and m.value > 0}
    for m in summary.series(litres):
        p = preds.get(m.when)
        if p is None or m.when in days or m.comparator in (">", ">="):
            continue
        sent.append(
            Measurement(
                concept=pct,
                value=round(100.0 * m.value / p.value, 1),
                unit="%",
                when=m.when,
                source=f"{m.source} / {p.source}",
                comparator=m.comparator,
                preliminary=m.preliminary or p.preliminary,
            )
        )
        days.add(m.when)
    return tuple(sorted(sent, key=lambda m: m.when))
