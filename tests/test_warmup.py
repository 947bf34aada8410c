"""The start-up warm-up must exercise the real path (data layer, growth reference, rules, cards)."""

from __future__ import annotations

from service.cds_hooks.cards import cards_from
from service.cds_hooks.warmup import synthetic_chart
from service.fhir.build import build_summary
from service.knowledge import default_knowledge
from service.rules.core import RuleContext
from service.rules.registry import evaluate
from tests.conftest import TODAY


def test_synthetic_chart_is_evaluated_end_to_end():
    knowledge = default_knowledge()
    summary = build_summary(synthetic_chart(TODAY, knowledge), TODAY, knowledge, patient_id="warm-up")
    assert summary.in_scope and not summary.dropped
    assert len(summary.measurements) == 7 and summary.medications
    findings = evaluate(RuleContext(summary, TODAY, knowledge)).findings
    issued = cards_from(findings, "warm-up", knowledge, "http://localhost", "http://localhost/app/launch")
    assert issued and any("suggestions" in card for _, card in issued)
