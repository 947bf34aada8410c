"""Entry point of the data layer: raw FHIR JSON resources → one immutable PatientSummary.

Speed by design: resources are filtered on the raw JSON (type, patient, status, code) before any
fhir.resources model is built; only the survivors are validated (R4B). No input raises: garbage,
invalid resources and unusable values become ``Dropped(source, reason)`` entries.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.fhir import fractures, medications
from service.fhir.fhirjson import as_dict, as_list
from service.fhir.intake import Intake
from service.fhir.summary import Dropped, PatientSummary
from service.fhir.units import UNIT_ALIASES
from service.knowledge import Knowledge

__all__ = ["IntakeStats", "build_summary", "chart_items", "missing_references", "summarise", "unbundle"]

log = logging.getLogger("nmd_cds.fhir")

log = logging.getLogger("nmd_cds.fhir")


def unbundle(value: Any) -> list[dict]:
    """Resources of a prefetch value: a resource, a Bundle (entry[].resource), or garbage → [].

    The entries' fullUrls are lost: to resolve ``urn:uuid`` references, give ``summarise`` the Bundle
    itself (a Bundle among the resources is read entry by entry, with its fullUrls)."""
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return []
    if value["resourceType"] != "Bundle":
        return [value]
    out = []
    for entry in as_list(value.get("entry")):
        entry = as_dict(entry)
        if as_dict(entry.get("search")).get("mode") == "outcome":
            continue  # an OperationOutcome about the search, not patient data
        res = entry.get("resource")
        if isinstance(res, dict) and res.get("resourceType") != "OperationOutcome":
            out.append(res)
    return out


def chart_items(value: Any) -> list[dict]:
    """``unbundle`` for the service call: one item per resource, an entry whose fullUrl is a urn (its
    references in the request may use it) wrapped in a one-entry Bundle so the urn travels with it."""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return unbundle(value)
    out: list[dict] = []
    for entry in as_list(value.get("entry")):
        entry = as_dict(entry)
        res = entry.get("resource")
        if as_dict(entry.get("search")).get("mode") == "outcome" or not isinstance(res, dict):
            continue
        if res.get("resourceType") == "OperationOutcome":
            continue
        url = entry.get("fullUrl")
        if isinstance(url, str) and url.startswith("urn:"):
            out.append(
                {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": url, "resource": res}]}
            )
        else:
            out.append(res)
    return out


def missing_references(
    resources: Iterable[dict], today: date, knowledge: Knowledge, patient_id: str | None = None
) -> list[str]:
    """ "Observation/<id>" (results of the DXA panels and reports the service follows) and
    "Medication/<id>" (of medication records) that the patient's resources refer to and the request
    lacks: what the prefetch layer fetches from fhirServer when it can (else the summary reports
    them as "result not in the request" / "medication not resolved")."""
    items = list(resources)
    if not any(_refers(r) for r in items):  # the common case, in one cheap pass over the raw JSON
        return []
    intake = Intake(patient_id, knowledge, today)
    for index, raw in enumerate(items):
        intake.admit(raw, index)
    return intake.missing()


_REFERRING = ("hasMember", "result", "medicationReference")


def _refers(raw: object) -> bool:
    """Whether a resource (or a Bundle's entry) may refer to a result or Medication elsewhere."""
    if not isinstance(raw, dict):
        return False
    if raw.get("resourceType") == "Bundle":
        return any(_refers(as_dict(e).get("resource")) for e in as_list(raw.get("entry")))
    return any(k in raw for k in _REFERRING)


def build_summary(
    resources: Iterable[dict],
    today: date,
    knowledge: Knowledge,
    patient_id: str | None = None,
    complete: frozenset[str] = frozenset(),
) -> PatientSummary:
    """The PatientSummary of one patient as of ``today``, read with the value sets (a site's local
    codes included) and medication intervals of ``knowledge`` (see module docstring)."""
    return summarise(resources, today, knowledge, patient_id, complete)[0]


@dataclass(frozen=True)
class IntakeStats:
    """How the input was used: resources that contributed, out-of-scope ones by reason, the codes no
    value set knows (on resources not used for that reason), and the non-UCUM unit spellings read."""

    used: int
    ignored: Counter[str]
    # (system, code, display) → how many resources not used carried it ("code not used", "medication
    # not used"): what a site's local mapping file could add
    unrecognised: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # (source, alias as sent, UCUM unit it was read as), one per value read through ``units.UNIT_ALIASES``
    unit_aliases: tuple[tuple[str, str, str], ...] = ()


def summarise(
    resources: Iterable[dict],
    today: date,
    knowledge: Knowledge,
    patient_id: str | None = None,
    complete: frozenset[str] = frozenset(),
) -> tuple[PatientSummary, IntakeStats]:
    """``build_summary`` plus intake statistics (for tests, logs and the benchmark)."""
    intake = Intake(patient_id, knowledge, today)
    try:
        items = list(resources) if resources is not None else []
    except Exception:  # a non-iterable or a failing generator: nothing to read
        items = []
        intake.dropped.append(Dropped("input", "resources not iterable"))
    for index, raw in enumerate(items):
        intake.admit(raw, index)
    facts = intake.read_all()
    meds = medications.courses(facts.exposures, today, knowledge.thresholds(today).medication)
    amb_dates = [d for d in facts.conditions.non_ambulatory_dates if d]
    summary = PatientSummary(
        today=today,
        patient_id=patient_id or facts.patient_id,
        birth_date=facts.birth_date,
        sex=facts.sex,
        deceased=facts.deceased,
        diagnoses=tuple(facts.conditions.diagnoses),
        non_ambulatory=bool(facts.conditions.non_ambulatory_dates),
        non_ambulatory_since=min(amb_dates) if amb_dates else None,
        measurements=tuple(sorted(facts.measurements, key=lambda m: (m.when, m.source, m.concept))),
        fractures=fractures.merge(facts.fractures),
        medications=meds,
        spine_imaging=tuple(sorted(facts.imaging, key=lambda i: (i.when, i.source))),
        orders=tuple(facts.orders),
        findings=tuple(facts.conditions.findings),
        weight_management_plan=facts.weight_plan,
        gastrostomy=facts.conditions.gastrostomy,
        data_complete=frozenset(complete),
        dropped=tuple(intake.dropped),
    )
    aliases = tuple(
        (m.source, m.unit_alias, UNIT_ALIASES[m.unit_alias]) for m in summary.measurements if m.unit_alias
    )
    if aliases:  # operational, no patient data: which spellings a feed sends
        used = Counter(f"{alias} -> {unit}" for _, alias, unit in aliases)
        log.info("unit aliases read", extra={"event": "unit_alias", "aliases": dict(sorted(used.items()))})
    return summary, IntakeStats(len(intake.used), intake.ignored, intake.unrecognised, aliases)
