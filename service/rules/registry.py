"""Which rule families run for a patient-view call, in one place."""

from __future__ import annotations

from collections.abc import Callable

from service.rules.bone import evaluate_bone
from service.rules.core import Finding, RuleContext
from service.rules.nutrition import evaluate_nutrition
from service.rules.respiratory import evaluate_respiratory

FAMILIES: tuple[Callable[[RuleContext], list[Finding]], ...] = (
    evaluate_bone,
    evaluate_nutrition,
    evaluate_respiratory,
)


def evaluate(ctx: RuleContext) -> list[Finding]:
    """Every finding of every family; a patient outside the population gate gets none (§1.1)."""
    if not ctx.summary.in_scope or ctx.summary.deceased:
        return []
    findings: list[Finding] = []
    for family in FAMILIES:
        findings.extend(family(ctx))
    return findings
