"""How bone findings are built: one-click ServiceRequest suggestions, §2.H suppression by existing orders,
threshold source notes, and merging findings that ask for the same action into one card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from service.fhir.codes import SUGGESTION_ALT_CODES, SUGGESTION_CODES
from service.fhir.summary import ActionKind, Order
from service.rules._bone_data import th
from service.rules.citations import SEED_REVIEW_2026, Citation
from service.rules.core import Evidence, Finding, Indicator, RuleContext, SuggestedResource, Topic

OPEN = frozenset({"active", "on-hold", "draft"})
DONE = frozenset({"completed"})  # revoked, entered-in-error, unknown: not an action taken
WINDOW = {
    ActionKind.SPINE_IMAGING: "order_window_spine_days",
    ActionKind.DXA: "order_window_dxa_days",
    ActionKind.BONE_SPECIALIST_REFERRAL: "order_window_referral_days",
    ActionKind.VITAMIN_D_TEST: "order_window_vitd_days",
}


def already_actioned(ctx: RuleContext, action: ActionKind, since: date | None = None) -> Order | None:
    """An open or completed order/procedure for ``action`` inside its window (and on/after ``since``)."""
    window = th(ctx, WINDOW[action])
    for o in ctx.summary.orders_for(action):
        if o.status not in OPEN | DONE:
            continue
        if o.when is None:  # an undated open order is taken as current; an undated done one is not
            if o.status in OPEN and since is None:
                return o
            continue
        if (ctx.today - o.when).days > window or (since is not None and o.when < since):
            continue
        return o
    return None


def _request(
    action: ActionKind,
    text: str,
    reason: str,
    coding: tuple[str, str, str] | None = None,
    body_sites: Sequence[str] = (),
    occurrence: date | None = None,
) -> dict[str, Any]:
    # subject is filled in by the card builder; status draft + intent proposal = a suggestion to accept
    system, code, display = coding or SUGGESTION_CODES[action]
    res: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": text},
        "reasonCode": [{"text": reason}],
    }
    if body_sites:
        res["bodySite"] = [{"text": s} for s in body_sites]
    if occurrence:
        res["occurrenceDateTime"] = occurrence.isoformat()
    return res


def spine_suggestions(reason: str) -> tuple[SuggestedResource, ...]:
    a = ActionKind.SPINE_IMAGING
    return (
        SuggestedResource(
            "Order lateral thoracolumbar spine X-ray",
            _request(a, "Lateral thoracolumbar spine radiograph (T4-L4) for vertebral fractures", reason),
            a,
        ),
        SuggestedResource(
            "Order DXA vertebral fracture assessment",
            _request(a, "DXA vertebral fracture assessment (VFA)", reason, SUGGESTION_ALT_CODES[a][0]),
            a,
        ),
    )


def dxa_suggestion(reason: str, sites: Sequence[str]) -> tuple[SuggestedResource, ...]:
    a = ActionKind.DXA
    return (
        SuggestedResource(
            "Order DXA bone density (multiple sites)",
            _request(a, "DXA bone density, multiple sites", reason, body_sites=sites),
            a,
        ),
    )


def dxa_sites(child: bool, non_ambulatory: bool) -> tuple[str, ...]:
    """Sites to ask for (ISCD 2019 ped.: TBLH, LDF for reduced mobility; adult: hip, 33 % radius)."""
    if child:
        return ("lumbar spine", "total body less head") + (
            ("lateral distal femur",) if non_ambulatory else ()
        )
    return ("lumbar spine", "total hip (both sides)", "femoral neck", "33 % radius")


def referral_suggestion(reason: str) -> tuple[SuggestedResource, ...]:
    a = ActionKind.BONE_SPECIALIST_REFERRAL
    return (
        SuggestedResource(
            "Refer to bone-health specialist", _request(a, "Referral to bone-health specialist", reason), a
        ),
    )


def vitd_suggestion(reason: str, occurrence: date | None = None) -> tuple[SuggestedResource, ...]:
    a = ActionKind.VITAMIN_D_TEST
    return (
        SuggestedResource(
            "Order 25-OH vitamin D", _request(a, "25-OH vitamin D", reason, occurrence=occurrence), a
        ),
    )


def _unique(items: Iterable) -> tuple:
    return tuple(dict.fromkeys(items))


def clip(text: str) -> str:
    return text if len(text) < 140 else text[:137].rstrip() + "…"


def finding(
    ctx: RuleContext,
    rule_ids: Sequence[str],
    topic: Topic,
    indicator: Indicator,
    summary: str,
    reason: str,
    evidence: Iterable[Evidence],
    *,
    action: ActionKind | None,
    key: str,
    cites: Sequence[Citation] = (),
    keys: Sequence[str] = (),
    suggestions: Sequence[SuggestedResource] = (),
    notes: Sequence[str] = (),
) -> Finding:
    """A Finding whose citations and notes name every threshold used (``keys`` are ``bone.<name>``)."""
    used = [ctx.thresholds[k if k.startswith("bone.") else f"bone.{k}"] for k in keys]
    citations = _unique([*cites, *(c for t in used for c in t.citations)])
    tnotes = [f"{t.description} = {t.value:g} {t.unit} ({t.source_note})" for t in used]
    return Finding(
        tuple(rule_ids),
        topic,
        indicator,
        clip(summary),
        f"**{', '.join(rule_ids)}**: {reason}",
        _unique(evidence),
        citations,
        action,
        tuple(suggestions),
        _unique([*notes, *tnotes]),
        key,
    )


def merge(findings: Sequence[Finding]) -> list[Finding]:
    """One card per action (§2.H): the strongest finding leads; ids, reasons and evidence are combined."""
    groups: dict[object, list[Finding]] = {}
    for i, f in enumerate(findings):
        groups.setdefault(f.action if f.action is not None else i, []).append(f)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        lead = max(group, key=lambda f: f.indicator.rank)  # first of the strongest
        rest = [lead, *(f for f in group if f is not lead)]
        seen_labels: dict[str, SuggestedResource] = {}
        for s in (s for f in rest for s in f.suggestions):
            seen_labels.setdefault(s.label, s)
        out.append(
            Finding(
                _unique(r for f in rest for r in f.rule_ids),
                lead.topic,
                lead.indicator,
                lead.summary,
                "\n\n".join(_unique(f.reasoning for f in rest)),
                _unique(e for f in rest for e in f.evidence),
                _unique(c for f in rest for c in f.citations),
                lead.action,
                tuple(seen_labels.values()),
                _unique(n for f in rest for n in f.notes),
                "|".join(sorted(_unique(f.evidence_key for f in rest))),
            )
        )
    return out


_ORDER_WINDOW = {
    ActionKind.SPINE_IMAGING: "order_window_spine_days",
    ActionKind.BONE_SPECIALIST_REFERRAL: "order_window_referral_days",
}


def action_finding(
    ctx: RuleContext,
    rule_ids: Sequence[str],
    topic: Topic,
    action: ActionKind,
    indicator: Indicator,
    summary: str,
    reason: str,
    evidence: Iterable[Evidence],
    *,
    key: str,
    keys: Sequence[str],
    cites: Sequence[Citation],
    since: date | None = None,
) -> Finding | None:
    """A finding that asks for ``action`` (spine imaging or a bone-health referral), or None when that
    was already ordered or done inside its window (§2.H). Adds the seed review and the suggestion."""
    if already_actioned(ctx, action, since):
        return None
    suggest = spine_suggestions if action is ActionKind.SPINE_IMAGING else referral_suggestion
    return finding(
        ctx,
        rule_ids,
        topic,
        indicator,
        summary,
        reason,
        evidence,
        action=action,
        key=key,
        keys=(*keys, _ORDER_WINDOW[action]),
        cites=(SEED_REVIEW_2026, *cites),
        suggestions=suggest(summary),
    )


def action_card(topic: Topic, action: ActionKind) -> Callable[..., Iterator[Finding]]:
    """A rule-family helper: ``card(ctx, rule_id, indicator, summary, reason, evidence, key, keys, cites,
    since=None)`` yields the finding asking for ``action`` under ``topic``, unless already actioned."""

    def card(
        ctx: RuleContext,
        rid: str,
        ind: Indicator,
        summary: str,
        reason: str,
        ev: list[Evidence],
        key: str,
        keys: tuple[str, ...],
        cites: tuple[Citation, ...],
        since: date | None = None,
    ) -> Iterator[Finding]:
        found = action_finding(
            ctx, (rid,), topic, action, ind, summary, reason, ev, key=key, keys=keys, cites=cites, since=since
        )
        if found:
            yield found

    return card
