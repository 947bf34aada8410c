"""Medication exposure episodes: one drug's records split at gaps longer than its dosing interval
(glucocorticoids and bone therapy: the knowledge's ``medication`` thresholds), and whether
the last dose is still within the interval ("active")."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from service.fhir.summary import DrugClass
from service.knowledge.thresholds import Medication


@dataclass
class Exposure:
    """One request/statement/administration, reduced to dates."""

    drug: str
    drug_class: DrugClass
    start: date | None
    end: date | None
    last: date | None
    ongoing: bool
    source: str
    route: str | None
    kind: str  # resourceType


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _covered_until(cls: DrugClass, drug: str, last: date, th: Medication) -> date:
    """The last day a dose on ``last`` still counts as current therapy (its dosing interval)."""
    if drug in ("zoledronic acid", "pamidronate") or cls is DrugClass.DENOSUMAB:
        months = {
            "zoledronic acid": th.zoledronate_interval_months,
            "pamidronate": th.pamidronate_interval_months,
        }.get(drug, th.denosumab_interval_months)
        return _add_months(last, int(months))
    if cls is DrugClass.GLUCOCORTICOID:  # a gap longer than this ends a GC episode
        return last + timedelta(days=int(th.gc_episode_gap_days))
    days = th.anabolic_refill_days if cls is DrugClass.ANABOLIC else th.oral_bisphosphonate_refill_days
    return last + timedelta(days=int(days))


def interval_ok(cls: DrugClass, drug: str, last: date | None, today: date, th: Medication) -> bool:
    if last is None or last > today:
        return False
    return today <= _covered_until(cls, drug, last, th)


def split(group: list[Exposure], th: Medication) -> list[list[Exposure]]:
    """Split one drug's records into episodes of continuous exposure.

    A record covers its own period (to ``end``, or its last dose/refill/authored date) plus the drug's
    gap allowance: the dosing interval for bone therapy (zoledronate 12 months, denosumab 7 …), 90
    days for glucocorticoids, so intermittent regimens (10 days on/10 off, weekend dosing) stay one
    episode. An ongoing GC record without an end date, or a "taking it now" statement of a bone drug,
    covers everything after it. A record starting after the cover of all earlier ones opens an episode.
    """
    cls, drug = group[0].drug_class, group[0].drug
    episodes: list[list[Exposure]] = []
    cover: date | None = None  # None with episodes: open-ended
    for e in sorted(group, key=lambda e: (e.start or e.last or date.min, e.source)):
        begin = e.start or e.last
        if not episodes or (cover is not None and begin is not None and begin > cover):
            episodes.append([])
            cover = date.min
        episodes[-1].append(e)
        open_ended = (
            e.ongoing
            and e.end is None
            and (cls is DrugClass.GLUCOCORTICOID or e.kind == "MedicationStatement")
        )
        stop = max((d for d in (e.end, e.last, e.start) if d), default=None)
        if cover is not None:
            cover = None if open_ended or stop is None else max(cover, _covered_until(cls, drug, stop, th))
    return episodes


def current(episodes: list[list[Exposure]], today: date) -> list[Exposure]:
    """The latest episode that has started by ``today`` (a future-dated plan only when nothing has)."""
    started = [ep for ep in episodes if any((e.start or e.last or today) <= today for e in ep)]
    return started[-1] if started else episodes[0]
