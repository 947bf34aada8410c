"""Defensive readers for raw FHIR JSON: codings, dates (UTC), references, source labels.

The data layer filters and reads raw dicts (fast, and garbage never raises); fhir.resources only
validates the survivors. Every helper here accepts anything and returns None/empty on bad shapes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def codings(concept: Any) -> list[tuple[str, str, str]]:
    """(system, code, display) of every coding of a CodeableConcept (bad entries skipped)."""
    # A list comprehension rather than a generator: this runs several times per Observation read.
    coding = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(coding, list):
        return []
    return [
        (text(c.get("system")), c["code"].strip(), text(c.get("display")))
        for c in coding
        if isinstance(c, dict) and isinstance(c.get("code"), str)
    ]


def codes_of(concept: Any) -> set[str]:
    """Bare codes of a CodeableConcept, for the cheap pre-filter (system checked later)."""
    return {c for _, c, _ in codings(concept)}


def concept_text(concept: Any) -> str:
    """Lower-cased text and displays of a CodeableConcept (or a list of them, e.g. Condition.bodySite)."""
    if isinstance(concept, list):
        return " ".join(t for t in (concept_text(c) for c in concept) if t)
    if not isinstance(concept, dict):
        return ""
    parts = [text(concept.get("text"))] + [disp for _, _, disp in codings(concept)]
    return " ".join(p for p in parts if p).lower()


def concept_label(concept: Any) -> str:
    """How a person would name a CodeableConcept: its text, else its first coding's display, else its
    first code (as sent, for showing; ``concept_text`` is for matching)."""
    if not isinstance(concept, dict):
        return ""
    found = codings(concept)
    return (
        text(concept.get("text")).strip()
        or next((d for _, _, d in found if d), "")
        or (found[0][1] if found else "")
    )


def parse_date(value: Any) -> date | None:
    """A FHIR date/dateTime/instant as a UTC date; partial dates (YYYY, YYYY-MM) → first day."""
    if not isinstance(value, str) or not value:
        return None
    m = _PARTIAL.match(value)
    try:
        if m:
            return date(int(m[1]), int(m[2] or 1), int(m[3] or 1))
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is not None:  # compare in UTC
        dt = dt.astimezone(UTC)
    return dt.date()


def period_start(value: Any) -> date | None:
    p = as_dict(value)
    return parse_date(p.get("start")) or parse_date(p.get("end"))


def effective_date(res: dict, prefix: str = "effective") -> date | None:
    """effective[x] (dateTime, date, instant, Period.start) — then ``issued``."""
    for suffix in ("DateTime", "Instant", "Date"):
        d = parse_date(res.get(prefix + suffix))
        if d:
            return d
    d = period_start(res.get(prefix + "Period"))
    if d:
        return d
    return parse_date(res.get("issued"))


def reference(value: Any) -> str:
    return text(as_dict(value).get("reference"))


def ref_id(ref: str) -> str:
    """Last id segment of a reference: "Patient/1/_history/2" → "1", "urn:uuid:x" → "x"."""
    if ref.startswith("urn:uuid:"):
        return ref[9:]
    parts = [p for p in ref.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-1] if parts else ""


def source_of(res: dict, index: int) -> str:
    """ "Observation/123", or "Observation/#7" when the resource has no usable id."""
    rtype = text(res.get("resourceType")) or "Unknown"
    rid = res.get("id")
    return f"{rtype}/{rid}" if isinstance(rid, str) and rid else f"{rtype}/#{index}"


def status_of(concept: Any) -> str | None:
    """The code of a status CodeableConcept (Condition.clinicalStatus etc.)."""
    for _, code, _ in codings(concept):
        return code
    return None


_LEVEL = re.compile(r"\b([CTLS])\s?(\d{1,2})\b", re.IGNORECASE)


def vertebral_level(*texts: str) -> str | None:
    """ "T12" from free text such as "T12 vertebra" or "vertebra l 1"; None when absent."""
    for t in texts:
        m = _LEVEL.search(t or "")
        if m:
            return f"{m[1].upper()}{int(m[2])}"
    return None
