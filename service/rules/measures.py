"""Helpers for reading measurements that the nutrition and respiratory rules share: freshness, bounded
values, display of losses, spans in clinicians' words, and % predicted series."""

from __future__ import annotations

import math
from datetime import date

from service.fhir.summary import Concept, Measurement, PatientSummary
from service.rules.core import Evidence

# Float tolerance for threshold comparisons of unrounded values: an exact 5.0 % (72.0 → 68.4 kg)
# computes as 4.9999999999 and must still count, while 4.96 % must not.
EPS = 1e-9


def shown(x: float, places: int = 1) -> str:
    """A loss or fall for display, truncated (not rounded) so the text never crosses a threshold the
    unrounded value did not reach: 4.96 % shows as 4.9 %, an exact 5.0 % as 5.0 %."""
    f = 10**places
    return f"{math.floor(x * f + EPS * f) / f:.{places}f}"


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
    note = " (preliminary)" if m.preliminary else ""
    return Evidence(label, f"{m.display}{note}", m.when, m.source)


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
