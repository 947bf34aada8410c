"""Findings become CDS Hooks cards here, and only here — written for a five-second read.

A card has a summary (< 140 characters, with the decisive number), one or two sentences of reasoning,
an evidence table (what, value with unit, date; one row per fact), at most one note, one line with at
most two sources that fit the patient's disorder, the [R] flag as one short phrase when a recalled
figure decided it, a link to its rule's page in the catalogue (thresholds, full citations and logic live
there), suggestions carrying FHIR R4 resources that validate, and override reasons. Optional fields
without a value are omitted, never null or empty.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from service.cds_hooks.urls import rule_page
from service.fhir.validation import resource_problem
from service.knowledge import Knowledge
from service.rules.core import Finding

log = logging.getLogger("nmd_cds.cards")

# The project's own CodeSystems (card.source.topic, overrideReasons).
TOPIC_SYSTEM = "https://nmd-cds.example.org/fhir/CodeSystem/card-topic"
OVERRIDE_REASON_SYSTEM = "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"
OVERRIDE_REASONS: tuple[dict[str, str], ...] = (
    {"system": OVERRIDE_REASON_SYSTEM, "code": "already-done-elsewhere", "display": "Already done elsewhere"},
    {"system": OVERRIDE_REASON_SYSTEM, "code": "patient-declined", "display": "Patient declined"},
    {"system": OVERRIDE_REASON_SYSTEM, "code": "not-appropriate-now", "display": "Not appropriate now"},
    {"system": OVERRIDE_REASON_SYSTEM, "code": "palliative-focus", "display": "Palliative focus of care"},
)
SOURCE_LABEL = "NMD bone health CDS"
RULES_EXTENSION = "org.example.nmd-cds.rules"  # card.extension: the catalogued rules behind the card
MAX_SOURCES = 2
RECALLED_PHRASE = "Uses a recalled threshold [R]: review locally."
OVERRIDDEN_PHRASE = "Uses a threshold set by this site."


def _md(text: str) -> str:
    """Escape characters that would turn evidence text into Markdown/HTML markup."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def detail_markdown(finding: Finding) -> str:
    lines = [_md(finding.reasoning), ""]
    if finding.evidence:
        lines += ["| What | Value | Date |", "|---|---|---|"]
        for ev in finding.evidence:
            lines.append(f"| {_md(ev.label)} | {_md(ev.value)} | {ev.when.isoformat() if ev.when else '—'} |")
        lines.append("")
    if finding.notes:
        lines += [f"_Note:_ {_md(' '.join(finding.notes))}", ""]
    sources = "; ".join(f"[{_md(c.label)}]({c.url})" for c in finding.citations[:MAX_SOURCES])
    flags = [
        p for p, on in ((RECALLED_PHRASE, finding.recalled), (OVERRIDDEN_PHRASE, finding.overridden)) if on
    ]
    lines.append(f"Sources: {sources}" + (f" · {' '.join(flags)}" if flags else ""))
    return "\n".join(lines)


def suggestions_for(finding: Finding, patient_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in finding.suggestions:
        resource = dict(s.resource)
        if resource.get("resourceType") in {"ServiceRequest", "Procedure", "CarePlan", "Task"}:
            resource.setdefault(
                "subject" if resource["resourceType"] != "Task" else "for",
                {"reference": f"Patient/{patient_id}"},
            )
        problem = resource_problem(resource)
        if problem:  # a rule bug: never send an invalid resource to an EHR
            log.error(
                "invalid suggested resource dropped", extra={"rules": finding.rule_ids, "problem": problem}
            )
            continue
        out.append(
            {
                "label": s.label,
                "uuid": str(uuid.uuid4()),
                "isRecommended": not out,
                "actions": [{"type": "create", "description": s.label, "resource": resource}],
            }
        )
    return out


def rule_link(knowledge: Knowledge, rule_id: str, base_url: str) -> dict[str, str]:
    """The card's link to its rule's page in the published catalogue (absolute URL)."""
    return {
        "label": f"Rule {rule_id}: {knowledge.catalogue[rule_id].title}",
        "url": rule_page(base_url, rule_id),
        "type": "absolute",
    }


def trajectory_link(launch_url: str) -> dict[str, str]:
    """The SMART link every card carries: the trajectory app; the EHR adds ``launch`` and ``iss``."""
    return {"label": "Open bone & nutrition trajectory", "url": launch_url, "type": "smart"}


def card_from(
    finding: Finding, patient_id: str, knowledge: Knowledge, base_url: str, launch_url: str
) -> dict[str, Any]:
    lead = finding.citations[0]
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": finding.summary,
        "indicator": finding.indicator.value,
        "detail": detail_markdown(finding),
        "source": {
            "label": f"{SOURCE_LABEL}: {lead.label}",
            "url": lead.url,
            "topic": {
                "system": TOPIC_SYSTEM,
                "code": finding.topic.value,
                "display": knowledge.catalogue.topic_display[finding.topic],
            },
        },
        "overrideReasons": [dict(r) for r in OVERRIDE_REASONS],
        "links": [rule_link(knowledge, finding.rule_ids[0], base_url), trajectory_link(launch_url)],
        "extension": {RULES_EXTENSION: list(finding.rule_ids)},
    }
    suggestions = suggestions_for(finding, patient_id)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    return card


def cards_from(
    findings: Iterable[Finding], patient_id: str, knowledge: Knowledge, base_url: str, launch_url: str
) -> list[tuple[Finding, dict[str, Any]]]:
    """(finding, card) pairs, most urgent first."""
    ordered = sorted(findings, key=lambda f: (-f.indicator.rank, f.topic.value, f.rule_ids))
    return [(f, card_from(f, patient_id, knowledge, base_url, launch_url)) for f in ordered]
