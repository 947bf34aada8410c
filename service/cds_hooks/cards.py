"""Findings become CDS Hooks cards here, and only here.

Every card gets a uuid, a summary < 140 characters, the indicator, a source naming the guideline
with its URL and a topic Coding in the project's CodeSystem, a Markdown detail listing the evidence
(values, units, dates), the rules and citations, suggestions carrying FHIR R4 resources that
validate, and override reasons. Optional fields without a value are omitted, never null or empty.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from service.fhir.validation import resource_problem
from service.rules.core import TOPIC_DISPLAY, TOPIC_SYSTEM, Finding
from service.rules.thresholds import RECALLED_MARK
from service.trajectory.links import launch_url

log = logging.getLogger("nmd_cds.cards")

OVERRIDE_REASON_SYSTEM = "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"
OVERRIDE_REASONS: tuple[dict[str, str], ...] = (
    {"system": OVERRIDE_REASON_SYSTEM, "code": "already-done-elsewhere", "display": "Already done elsewhere"},
    {"system": OVERRIDE_REASON_SYSTEM, "code": "patient-declined", "display": "Patient declined"},
    {"system": OVERRIDE_REASON_SYSTEM, "code": "not-appropriate-now", "display": "Not appropriate now"},
    {"system": OVERRIDE_REASON_SYSTEM, "code": "palliative-focus", "display": "Palliative focus of care"},
)
SOURCE_LABEL = "NMD bone health CDS"


def _md(text: str) -> str:
    """Escape characters that would turn evidence text into Markdown/HTML markup."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def detail_markdown(finding: Finding, dropped_note: str | None) -> str:
    lines = [finding.reasoning.strip(), "", "**Evidence**", "", "| What | Value | Date |", "|---|---|---|"]
    for ev in finding.evidence:
        when = ev.when.isoformat() if ev.when else "—"
        lines.append(f"| {_md(ev.label)} | {_md(ev.value)} | {when} |")
    lines += ["", f"**Rule{'s' if len(finding.rule_ids) > 1 else ''}:** {', '.join(finding.rule_ids)}", ""]
    lines.append("**Sources:** " + "; ".join(f"[{_md(c.label)}]({c.url})" for c in finding.citations))
    for note in finding.notes:
        lines += ["", f"_Note:_ {_md(note)}"]
    if dropped_note:
        lines += ["", f"_Data not used:_ {_md(dropped_note)}"]
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
                "isRecommended": True,
                "actions": [{"type": "create", "description": s.label, "resource": resource}],
            }
        )
    if len(out) > 1:
        for extra in out[1:]:
            extra["isRecommended"] = False
    return out


def trajectory_link() -> dict[str, str]:
    """The SMART link every card carries: the trajectory app; the EHR adds ``launch`` and ``iss``."""
    return {"label": "Open bone & nutrition trajectory", "url": launch_url(), "type": "smart"}


def card_from(finding: Finding, patient_id: str, dropped_note: str | None = None) -> dict[str, Any]:
    first = finding.citations[0]
    label = f"{SOURCE_LABEL}: {first.label}"
    if any(RECALLED_MARK in note for note in finding.notes):
        label += " – uses recalled thresholds [R], review locally"
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": finding.summary,
        "indicator": finding.indicator.value,
        "detail": detail_markdown(finding, dropped_note),
        "source": {
            "label": label,
            "url": first.url,
            "topic": {
                "system": TOPIC_SYSTEM,
                "code": finding.topic.value,
                "display": TOPIC_DISPLAY[finding.topic],
            },
        },
        "overrideReasons": [dict(r) for r in OVERRIDE_REASONS],
        "links": [trajectory_link()],
    }
    suggestions = suggestions_for(finding, patient_id)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    return card


def cards_from(
    findings: Iterable[Finding], patient_id: str, dropped_note: str | None
) -> list[tuple[Finding, dict[str, Any]]]:
    """(finding, card) pairs, most urgent first."""
    ordered = sorted(findings, key=lambda f: (-f.indicator.rank, f.topic.value, f.rule_ids))
    return [(f, card_from(f, patient_id, dropped_note)) for f in ordered]
