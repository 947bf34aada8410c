"""The explain report: why each card fired — or did not — for one hook request, for an integrator.

For every catalogued rule: fired (its card) or why not (population gate, missing or stale data, below
a threshold with the value and the threshold, already actioned, suppressed by feedback); the facts the
summary holds; every resource or value dropped, with its reason; every code no value set knows, with
counts (what to add to a site file). Built from the same run as the endpoint's answer. It holds
patient data: it is returned to an authenticated caller or printed, never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from service.cds_hooks.cards import RULES_EXTENSION
from service.fhir.summary import Measurement, PatientSummary
from service.knowledge import Knowledge
from service.rules.core import Skip

if TYPE_CHECKING:
    from service.cds_hooks.handler import Run


def _d(when: date | None) -> str | None:
    return when.isoformat() if when else None


def _measurement(m: Measurement) -> dict[str, Any]:
    out: dict[str, Any] = {
        "concept": m.concept.value,
        "value": m.value,
        "unit": m.unit,
        "date": _d(m.when),
        "source": m.source,
    }
    for name in ("comparator", "site", "laterality"):
        value = getattr(m, name)
        if value:
            out[name] = str(value)
    for flag in ("preliminary", "height_adjusted", "estimated", "usual"):
        if getattr(m, flag):
            out[flag] = True
    if getattr(m, "unit_alias", None):
        out["unit_as_sent"] = m.unit_alias
    return out


def facts(summary: PatientSummary) -> dict[str, Any]:
    """What the rules could read about the patient, as the summary holds it."""
    age = summary.age_at(summary.today)
    return {
        "patient": {
            "age_years": round(age, 1) if age is not None else None,
            "sex": summary.sex,
            "deceased": summary.deceased,
            "in_scope": summary.in_scope,
            "non_ambulatory": summary.non_ambulatory,
            "gastrostomy": summary.gastrostomy,
        },
        "diagnoses": [
            {"disorder": d.disorder.value, "onset": _d(d.onset), "source": d.source, "display": d.display}
            for d in summary.diagnoses
        ],
        "measurements": [_measurement(m) for m in summary.measurements],
        "fractures": [
            {
                "kind": f.kind.value,
                "date": _d(f.when),
                "level": f.level,
                "genant_grade": f.genant_grade,
                "low_trauma": f.low_trauma,
                "provisional": f.provisional,
                "sources": list(f.sources),
            }
            for f in summary.fractures
        ],
        "medications": [
            {
                "drug": c.drug,
                "class": c.drug_class.value,
                "start": _d(c.start),
                "end": _d(c.end),
                "last_dose": _d(c.last_dose),
                "current": c.active,
                "sources": list(c.sources),
            }
            for c in summary.medications
        ],
        "spine_imaging": [
            {"kind": i.kind.value, "date": _d(i.when), "source": i.source} for i in summary.spine_imaging
        ],
        "orders": [
            {"action": o.action.value, "date": _d(o.when), "status": o.status, "source": o.source}
            for o in summary.orders
        ],
        "findings": [
            {"finding": f.symptom.value, "date": _d(f.when), "source": f.source} for f in summary.findings
        ],
    }


def rules(knowledge: Knowledge, run: Run, suppressed: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every catalogued rule: fired (and on which card) or why not."""
    cards_by_rule: dict[str, dict[str, Any]] = {}
    for finding, issued_card in run.issued:
        for rid in finding.rule_ids:
            cards_by_rule.setdefault(rid, issued_card)
    out = []
    for entry in knowledge.catalogue:
        row: dict[str, Any] = {"id": entry.id, "title": entry.title}
        outcome = run.evaluation.outcomes.get(entry.id)
        card: dict[str, Any] | None = cards_by_rule.get(entry.id)
        if isinstance(outcome, tuple) or (not entry.fires and card is not None):
            row["fired"] = True
            if isinstance(outcome, tuple):
                row["indicator"] = outcome[0].indicator.value
            if card is not None:
                row["card"] = card["summary"]
                lead = card["extension"][RULES_EXTENSION][0]
                if lead != entry.id:
                    row["why"] = f"shown on the card of {lead}"
                if card["uuid"] in suppressed:
                    row["fired"] = False
                    row["kind"] = "suppressed"
                    row["why"] = suppressed[card["uuid"]]
        elif isinstance(outcome, Skip):
            row.update(fired=False, kind=outcome.kind, why=outcome.why)
        elif not entry.fires:
            row.update(
                fired=False, kind="classification", why="a classification shown on other cards: not met"
            )
        else:
            row.update(fired=False, kind="not-run", why="not evaluated for this service")
        out.append(row)
    return out


def report(
    knowledge: Knowledge, service_id: str, run: Run, suppressed: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The explain report of one run. ``suppressed``: card uuid → why feedback would withhold the card;
    None when the feedback store could not be asked."""
    stats = run.stats
    withheld = suppressed or {}
    return {
        "service": service_id,
        "today": run.summary.today.isoformat(),
        "cards": [
            {
                "summary": card["summary"],
                "indicator": card["indicator"],
                "topic": card["source"]["topic"]["code"],
                "rules": card["extension"][RULES_EXTENSION],
                **({"suppressed": withheld[card["uuid"]]} if card["uuid"] in withheld else {}),
            }
            for _, card in run.issued
        ],
        "feedback_checked": suppressed is not None,
        "rules": rules(knowledge, run, withheld),
        "facts": facts(run.summary),
        "dropped": [{"resource": d.source, "reason": d.reason} for d in run.summary.dropped],
        "not_used": dict(sorted(stats.ignored.items())),
        "unrecognised_codes": [
            {"system": system, "code": code, "display": display, "count": n}
            for (system, code, display), n in sorted(
                stats.unrecognised.items(), key=lambda kv: (-kv[1], kv[0])
            )
        ],
        "unit_aliases": [
            {"resource": src, "unit_as_sent": alias, "read_as": unit}
            for src, alias, unit in stats.unit_aliases
        ],
        "fetched_from_fhir_server": list(run.resolved.fetched),
    }


KINDS = {
    "gate": "population gate",
    "missing": "missing data",
    "stale": "data too old",
    "threshold": "below threshold",
    "actioned": "already actioned",
    "suppressed": "suppressed by feedback",
    "not-applicable": "not applicable",
    "classification": "classification",
    "not-run": "not run",
}


def text(doc: Mapping[str, Any]) -> str:
    """The report for a terminal: cards, rules (fired first), codes to map, dropped data, facts."""
    lines = [f"{doc['service']} as of {doc['today']}", ""]
    lines.append(f"Cards ({len(doc['cards'])}):" if doc["cards"] else "Cards: none")
    for c in doc["cards"]:
        lines.append(f"  {c['indicator']:<8} {', '.join(c['rules']):<22} {c['summary']}")
        if "suppressed" in c:
            lines.append(f"  {'':<8} {'':<22} not shown: {c['suppressed']}")
    if not doc["feedback_checked"]:
        lines.append("  (the feedback store did not answer: cards it would withhold are not known)")
    lines += ["", "Rules:"]
    for r in sorted(doc["rules"], key=lambda r: (not r["fired"], r["id"])):
        state = (
            f"fired ({r['indicator']})"
            if r["fired"] and "indicator" in r
            else "fired"
            if r["fired"]
            else KINDS.get(r["kind"], r["kind"])
        )
        lines.append(f"  {r['id']:<7} {state:<22} {r.get('why', r.get('card', ''))}")
    if doc["unrecognised_codes"]:
        lines += ["", "Codes no value set knows (map them in a site file to use them):"]
        for c in doc["unrecognised_codes"]:
            lines.append(f"  {c['system']}|{c['code']}  {c['display']!r}  x{c['count']}")
    if doc["unit_aliases"]:
        lines += ["", "Units read through an alias:"]
        lines += [
            f"  {a['resource']}  {a['unit_as_sent']!r} read as {a['read_as']}" for a in doc["unit_aliases"]
        ]
    if doc["dropped"]:
        lines += ["", f"Dropped ({len(doc['dropped'])}):"]
        lines += [f"  {d['resource']}  {d['reason']}" for d in doc["dropped"]]
    if doc["not_used"]:
        lines += [
            "",
            "Not used (outside the service's scope): "
            + ", ".join(f"{k} ({n})" for k, n in doc["not_used"].items()),
        ]
    f = doc["facts"]
    p = f["patient"]
    lines += [
        "",
        f"Facts: age {p['age_years']}, sex {p['sex']}, in scope {p['in_scope']}, "
        f"non-ambulatory {p['non_ambulatory']}",
    ]
    lines += [f"  diagnosis  {d['disorder']}  {d['display']}  {d['source']}" for d in f["diagnoses"]]
    lines += [
        f"  {m['concept']:<22} {m['value']:g} {m['unit']:<6} {m['date']}  {m['source']}"
        + (f"  ({m['site']})" if "site" in m else "")
        for m in f["measurements"]
    ]
    lines += [
        f"  {c['drug']:<22} {c['class']}  since {c['start']}  current {c['current']}"
        for c in f["medications"]
    ]
    lines += [f"  fracture {x['kind']}  {x['level'] or ''}  {x['date']}" for x in f["fractures"]]
    lines += [f"  spine imaging {i['kind']}  {i['date']}" for i in f["spine_imaging"]]
    return "\n".join(lines) + "\n"
