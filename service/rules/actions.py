"""One place for each idea every rule family shares: whether an action was already taken, the
suggested order a card carries, and the merge of signals that ask for the same thing into one card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.fhir.summary import Order as OrderFact
from service.knowledge.concepts import ActionKind
from service.knowledge.model import Catalogue, Citation
from service.rules.core import Evidence, Finding, Order, RuleContext, Signal, SuggestedResource

OPEN = frozenset({"active", "on-hold", "draft", "in-progress", "preparation"})
DONE = frozenset({"completed"})  # revoked, entered-in-error, not-done, unknown: no action taken


def already_actioned(ctx: RuleContext, action: ActionKind, since: Any = None) -> OrderFact | None:
    """An open or completed order (or a done procedure) for ``action`` dated within the action's
    window — or an undated open order — and, with ``since``, dated on or after it. The same for every
    rule family: an open order older than the window no longer suppresses (orders go stale)."""
    window = ctx.t.actions.window(action)
    for o in ctx.summary.orders_for(action):
        if o.status not in OPEN | DONE:
            continue
        if o.when is None:
            if o.status in OPEN and since is None:
                return o
            continue
        if (ctx.today - o.when).days > window or (since is not None and o.when < since):
            continue
        return o
    return None


def suggestions(
    ctx: RuleContext, action: ActionKind, reason: str, order: Order
) -> tuple[SuggestedResource, ...]:
    """The draft ServiceRequests (intent proposal) a card suggests for ``action``; the card builder
    adds the subject. The first is the recommended one."""
    out = []
    for s in ctx.knowledge.actions[action].suggestions:
        res: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "proposal",
            "code": {"coding": [{"system": s.system, "code": s.code, "display": s.display}], "text": s.text},
            "reasonCode": [{"text": reason[:250]}],
        }
        if order.body_sites:
            res["bodySite"] = [{"text": site} for site in order.body_sites]
        if order.occurrence:
            res["occurrenceDateTime"] = order.occurrence.isoformat()
        out.append(SuggestedResource(s.label, res, action))
    return tuple(out)


def action_of(signal: Signal, catalogue: Catalogue) -> ActionKind | None:
    """The action a signal asks for: its own, or its rule's in the catalogue."""
    if signal.action is True:
        return catalogue[signal.rule].action
    return signal.action if isinstance(signal.action, ActionKind) else None


def _unique(items: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(items))


def merge(ctx: RuleContext, signals: Sequence[Signal]) -> list[Finding]:
    """One card per thing asked for: signals with the same action (or ``group``) merge, and a rule
    that ``joins`` another (catalogue) rides on that rule's card when both fired. The first signal of
    the strongest indicator, in rule order, leads the card."""
    catalogue = ctx.knowledge.catalogue
    fired = {s.rule for s in signals}
    groups: dict[object, list[Signal]] = {}
    joining: list[Signal] = []
    for i, s in enumerate(signals):
        entry = catalogue[s.rule]
        if entry.joins in fired or fired.intersection(entry.companion_of):
            joining.append(s)
            continue
        key = s.group or action_of(s, catalogue) or i
        groups.setdefault(key, []).append(s)
    for s in joining:
        entry = catalogue[s.rule]
        targets = {entry.joins, *entry.companion_of}
        next(g for g in groups.values() if any(t.rule in targets for t in g)).append(s)
    return [_finding(ctx, group) for group in groups.values()]


def _finding(ctx: RuleContext, group: list[Signal]) -> Finding:
    catalogue = ctx.knowledge.catalogue
    lead = max(
        group, key=lambda s: s.indicator.rank
    )  # max keeps the first of equals: rule order decides ties
    rest = [lead, *(s for s in group if s is not lead)]
    entry = catalogue[lead.rule]
    action = action_of(lead, catalogue)
    used = [ctx.knowledge.specs[k].at(ctx.today) for s in rest for k in catalogue[s.rule].thresholds]
    return Finding(
        rule_ids=_unique([r for s in rest for r in (s.rule, *s.also)]),
        topic=entry.topic,
        indicator=lead.indicator,
        summary=lead.summary,
        reasons=_unique([s.reason for s in rest]),
        evidence=one_row_per_fact([e for s in rest for e in s.evidence]),
        citations=_citations(ctx, rest),
        action=action,
        suggestions=suggestions(ctx, action, lead.summary, lead.order) if action else (),
        notes=_unique([n for s in rest for n in s.notes]),
        evidence_key="|".join(sorted(_unique([s.key for s in rest]))),
        recalled=any(t.recalled and not t.overridden for t in used),
        overridden=any(t.overridden for t in used),
    )


def _citations(ctx: RuleContext, signals: list[Signal]) -> tuple[Citation, ...]:
    """Sources of the merged rules, those that fit the patient's disorder first (a card shows two)."""
    disorders = {d.disorder.value for d in ctx.summary.diagnoses}
    fitting: list[Citation] = []
    general: list[Citation] = []
    elsewhere: set[Citation] = set()  # sources the rule gives for other disorders only
    for s in signals:
        entry = ctx.knowledge.catalogue[s.rule]
        for d, cites in entry.citations_by_disorder.items():
            if d in disorders:
                fitting += cites
            else:
                elsewhere.update(cites)
        general += entry.citations
    # An SMA child's spirometry card does not cite the ALS practice parameter: a source the rule names
    # for another disorder only is left out, unless nothing else would remain.
    own = [c for c in general if c not in elsewhere or c in fitting]
    return _unique([*fitting, *(own if own or fitting else general)])


def one_row_per_fact(rows: list[Evidence]) -> tuple[Evidence, ...]:
    """The evidence table's rows, each fact once: a resource's value on a date is one fact however many
    roles it plays ("heaviest recent weight" and "earlier weight") or notes it carries ("– paediatric
    site", "– lowest valid site"); the first row, from the card's leading rule, is kept."""
    seen: set[tuple[object, ...]] = set()
    out: list[Evidence] = []
    for row in rows:
        value = row.value.split(" – ", 1)[0].removesuffix(" (preliminary)")
        key = (row.source, row.part, row.when, value) if row.source else (row.label, row.when, value)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return tuple(out)


def evidence_rows(*rows: Evidence | None) -> tuple[Evidence, ...]:
    return tuple(r for r in rows if r is not None)
