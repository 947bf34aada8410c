"""The rules that run for a patient-view call, in order, behind the one population gate.

Order matters only for merging: the first signal of the strongest indicator leads a card, so specific
triggers (symptoms, falling or low BMD, a new fracture) come before routine surveillance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from service.knowledge.concepts import Indicator
from service.knowledge.model import Catalogue
from service.rules import bone, nutrition, respiratory  # noqa: F401  (importing declares the rules)
from service.rules.actions import action_of, already_actioned, merge
from service.rules.core import DECLARED, Finding, RuleContext, Signal, Skip

ORDER: tuple[str, ...] = (
    # bone: spine imaging (specific triggers first), bone density, therapy, monitoring, vitamin D
    "SI-05", "SI-04", "BMD-05", "SI-06", "SI-07", "SI-01", "SI-02", "SI-03", "SI-08",
    "BMD-03", "BMD-04", "BMD-06", "BMD-07",
    "BT-01", "BT-01b", "BT-02", "BT-03", "BT-04", "BT-06", "BT-07",
    "MON-01", "MON-02", "MON-03", "MON-05", "MON-07", "MON-04", "MON-06", "MON-08",
    "VD-01", "VD-02", "VD-04", "VD-03",
    # nutrition: adult weight loss, BMI, children, over-nutrition, gastrostomy window
    "NUT-01", "NUT-02", "NUT-03", "NUT-04", "NUT-05", "NUT-06", "NUT-07", "NUT-08", "NUT-09",
    # respiratory: spirometry due leads the spirometry card over a stale result's "repeat"
    "RESP-03", "RESP-01", "RESP-04", "RESP-02",
)  # fmt: skip


class RegistryError(ValueError):
    """The declared rules and the catalogue disagree (a start-up error)."""


def check(catalogue: Catalogue) -> None:
    """Every rule with a card is declared and ordered once; every declared rule is catalogued."""
    problems = [f"{rid}: declared but not in the catalogue" for rid in DECLARED if rid not in catalogue]
    problems += [f"{rid}: in ORDER but not declared" for rid in ORDER if rid not in DECLARED]
    problems += [
        f"{e.id}: in the catalogue with indicators but not declared"
        for e in catalogue
        if e.fires and e.id not in DECLARED
    ]
    problems += [f"{rid}: declared but not in ORDER" for rid in DECLARED if rid not in ORDER]
    if len(set(ORDER)) != len(ORDER):
        problems.append("ORDER lists a rule twice")
    if problems:
        raise RegistryError("; ".join(problems))


@dataclass(frozen=True)
class Evaluation:
    """What the rules made of one patient: the cards' findings, and each rule's outcome (explain)."""

    findings: list[Finding]
    outcomes: dict[str, tuple[Signal, ...] | Skip]


def _declared(s: Signal, rid: str) -> Signal:
    """The signal with its rule id; preliminary results never make it critical."""
    if s.preliminary and s.indicator is Indicator.CRITICAL:
        return replace(s, rule=rid, indicator=Indicator.WARNING)
    return replace(s, rule=rid)


def _not_actioned(
    ctx: RuleContext, rid: str, signals: tuple[Signal, ...]
) -> tuple[tuple[Signal, ...], Skip | None]:
    """The signals whose action was not already taken (a companion rides on its host's card, which was
    checked already), and the reason when one was."""
    catalogue = ctx.knowledge.catalogue
    kept: list[Signal] = []
    skip: Skip | None = None
    for s in signals:
        action = action_of(s, catalogue)
        done = already_actioned(ctx, action, s.since) if action and not catalogue[rid].companion_of else None
        if done is None:
            kept.append(s)
        else:
            when = f" on {done.when}" if done.when else ""
            skip = Skip("actioned", f"already ordered or done{when} ({done.source})")
    return tuple(kept), skip


def gate(ctx: RuleContext) -> Skip | None:
    """The population gate: an active neuromuscular diagnosis, and the patient is alive."""
    s = ctx.summary
    if s.deceased:
        return Skip("gate", "patient is deceased")
    if not s.in_scope:
        return Skip("gate", "no active neuromuscular diagnosis in scope")
    return None


def evaluate(ctx: RuleContext, only: Sequence[str] | None = None) -> Evaluation:
    """Run every rule (or ``only`` these ids), drop what was already actioned, merge into findings."""
    ids = ORDER if only is None else [r for r in ORDER if r in only]
    closed = gate(ctx)
    if closed is not None:
        return Evaluation([], {rid: closed for rid in ids})
    outcomes: dict[str, tuple[Signal, ...] | Skip] = {}
    fired: list[Signal] = []
    catalogue = ctx.knowledge.catalogue
    for rid in ids:
        out = DECLARED[rid].check(ctx)
        if isinstance(out, Skip):
            outcomes[rid] = out
            continue
        signals = tuple(_declared(s, rid) for s in ((out,) if isinstance(out, Signal) else out))
        kept, done = _not_actioned(ctx, rid, signals)
        if not kept:
            outcomes[rid] = done or Skip.na("nothing to report")
            continue
        outcomes[rid] = kept
        fired.extend(kept)
    hosts = {s.rule for s in fired}
    for rid in {s.rule for s in fired if catalogue[s.rule].companion_of}:
        if not hosts.intersection(catalogue[rid].companion_of):
            outcomes[rid] = Skip.na(f"shown only with {', '.join(catalogue[rid].companion_of)}")
            fired = [s for s in fired if s.rule != rid]
    return Evaluation(merge(ctx, fired), outcomes)
