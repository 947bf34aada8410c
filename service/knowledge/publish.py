"""The rule catalogue as a clinician reviews it: static HTML pages (one index, one page per rule) and the
same content as JSON. Thresholds are shown as in force on a date, site overrides and recalled [R]
figures marked; each rule page shows its logic, sources, the card it produces and, where the fixture
kit has one, an example card. Pure functions of the knowledge: no I/O here."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date
from typing import Any

from service.knowledge.knowledge import Knowledge
from service.knowledge.model import Citation, RuleEntry, Threshold

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}.r{background:#fff3cd;padding:0 .3rem;border-radius:3px}
.o{background:#d1ecf1;padding:0 .3rem;border-radius:3px}
.card{border:1px solid #999;border-left:6px solid #0072b2;padding:.5rem 1rem;border-radius:4px}
.critical{border-left-color:#d55e00}.warning{border-left-color:#e69f00}
code{background:#f2f2f2;padding:0 .2rem}small{color:#555}
"""
FAMILIES = {"bone": "Bone health", "nutrition": "Nutrition", "respiratory": "Respiratory follow-up"}


def _e(text: object) -> str:
    return html.escape(str(text))


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def _flags(t: Threshold) -> str:
    out = []
    if t.overridden:
        out.append('<span class="o" title="set by this site">site override</span>')
    if t.recalled:
        out.append('<span class="r" title="recalled from the source, not re-read: review locally">[R]</span>')
    return " ".join(out)


def _cite(c: Citation) -> str:
    return f'<a href="{_e(c.url)}">{_e(c.label)}</a> <small>{_e(c.reference)}</small>'


def threshold_json(t: Threshold) -> dict[str, Any]:
    return {
        "key": t.key,
        "value": t.number,
        "unit": t.unit,
        "text": t.text,
        "description": t.description,
        "recalled": t.recalled,
        "site_override": t.overridden,
        "effective_from": t.effective_from.isoformat(),
        "citations": [c.id for c in t.citations],
    }


def rule_json(
    k: Knowledge, entry: RuleEntry, when: date, example: Mapping[str, Any] | None
) -> dict[str, Any]:
    values = k.thresholds(when).all()
    out: dict[str, Any] = {
        "id": entry.id,
        "title": entry.title,
        "family": entry.family,
        "topic": entry.topic.value,
        "topic_display": k.catalogue.topic_display[entry.topic],
        "action": entry.action.value if entry.action else None,
        "suggested_orders": [s.label for s in k.actions[entry.action].suggestions] if entry.action else [],
        "indicators": [i.value for i in entry.indicators],
        "logic": entry.render_logic(values),
        "thresholds": [threshold_json(values[key]) for key in entry.thresholds],
        "citations": [
            {"id": c.id, "label": c.label, "reference": c.reference, "url": c.url} for c in entry.citations
        ],
        "recalled": any(values[key].recalled for key in entry.thresholds),
    }
    if entry.joins:
        out["joins"] = entry.joins
    if entry.companion_of:
        out["companion_of"] = list(entry.companion_of)
    if example:
        out["example"] = dict(example)
    return out


def catalogue_json(k: Knowledge, when: date, examples: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    values = k.thresholds(when).all()
    return {
        "as_of": when.isoformat(),
        "site_file": bool(k.site_file),
        "rules": [rule_json(k, e, when, examples.get(e.id)) for e in k.catalogue],
        "thresholds": [threshold_json(t) for t in values.values()],
        "citations": [
            {"id": c.id, "label": c.label, "reference": c.reference, "url": c.url}
            for c in k.citations.values()
        ],
        "local_codes": [
            {"system": c.system, "code": c.code, "display": c.display, **c.attrs} for c in k.local_codes
        ],
    }


def _threshold_rows(ts: list[Threshold]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(t.key)}</code></td><td>{_e(t.description)}</td><td><b>{_e(t.text)}</b> "
        f"{_flags(t)}</td>"
        f"<td>{'; '.join(_e(c.label) for c in t.citations)}</td></tr>"
        for t in ts
    )
    return (
        f"<table><tr><th>Threshold</th><th>Meaning</th><th>In force</th><th>Sources</th></tr>{rows}</table>"
    )


def index_html(k: Knowledge, when: date, rule_href: str = "rules/{id}.html") -> str:
    parts = [
        "<h1>NMD bone health CDS — rule catalogue</h1>",
        f"<p>Thresholds as in force on {when.isoformat()}"
        + (" (including this site's overrides)" if k.site_file else "")
        + '. <span class="r">[R]</span> marks a figure recalled from its source but not re-read: a site must '
        'review it. <span class="o">site override</span> marks a value set by this site.</p>',
    ]
    for family, name in FAMILIES.items():
        rows = "".join(
            f'<tr><td><a href="{_e(rule_href.format(id=e.id))}">{_e(e.id)}</a></td><td>{_e(e.title)}</td>'
            f"<td>{_e(k.catalogue.topic_display[e.topic])}</td>"
            f"<td>{_e(', '.join(i.value for i in e.indicators) or 'no card of its own')}</td></tr>"
            for e in k.catalogue
            if e.family == family
        )
        parts.append(
            f"<h2>{_e(name)}</h2><table><tr><th>Rule</th><th>Title</th><th>Card topic</th>"
            f"<th>Indicators</th></tr>{rows}</table>"
        )
    parts.append("<h2>Thresholds</h2>" + _threshold_rows(list(k.thresholds(when).all().values())))
    parts.append(
        "<h2>Sources</h2><ul>" + "".join(f"<li>{_cite(c)}</li>" for c in k.citations.values()) + "</ul>"
    )
    if k.local_codes:
        parts.append(
            "<h2>This site's local "
            "codes</h2><table><tr><th>System</th><th>Code</th><th>Display</th><th>Means</th></tr>"
            + "".join(
                f"<tr><td>{_e(c.system)}</td><td>{_e(c.code)}</td><td>{_e(c.display)}</td>"
                f"<td>{_e(', '.join(f'{a}: {v}' for a, v in c.attrs.items()))}</td></tr>"
                for c in k.local_codes
            )
            + "</table>"
        )
    return _page("NMD bone health CDS — rule catalogue", "\n".join(parts))


def rule_html(
    k: Knowledge,
    rule_id: str,
    when: date,
    example: Mapping[str, Any] | None,
    index_href: str = "../index.html",
) -> str:
    entry = k.catalogue[rule_id]
    values = k.thresholds(when).all()
    used = [values[key] for key in entry.thresholds]
    card = (
        f"<p>A card on <b>{_e(k.catalogue.topic_display[entry.topic])}</b>, indicator "
        f"<b>{_e(' or '.join(i.value for i in entry.indicators))}</b>"
        + (
            f", suggesting: {_e('; '.join(s.label for s in k.actions[entry.action].suggestions))}"
            if entry.action
            else ", with no suggested order"
        )
        + ". An open or recent order for the same action silences it."
        + (f" Shown on the card of {_e(entry.joins)} when both apply." if entry.joins else "")
        + (f" Shown only with {_e(', '.join(entry.companion_of))}." if entry.companion_of else "")
        + "</p>"
        if entry.fires
        else "<p>No card of its own: a classification shown on other rules' cards.</p>"
    )
    parts = [
        f'<p><a href="{_e(index_href)}">Rule catalogue</a></p>',
        f"<h1>{_e(entry.id)}: {_e(entry.title)}</h1>",
        f"<p>{_e(FAMILIES[entry.family])}</p>",
        "<h2>Logic</h2>",
        f"<p>{_e(entry.render_logic(values))}</p>",
        "<h2>The card</h2>",
        card,
    ]
    if example:
        parts.append(
            f"<h2>Example</h2><p>{_e(example.get('scenario_description', ''))}</p>"
            f'<div class="card {_e(example.get("indicator", ""))}">'
            f"<p><b>{_e(example.get('summary', ''))}</b></p>"
            f"<p><small>{_e(example.get('indicator', ''))} · fixture scenario "
            f"<code>{_e(example.get('scenario', ''))}</code></small></p></div>"
        )
    if used:
        parts.append("<h2>Thresholds in force</h2>" + _threshold_rows(used))
    parts.append("<h2>Sources</h2><ul>" + "".join(f"<li>{_cite(c)}</li>" for c in entry.citations) + "</ul>")
    return _page(f"{entry.id}: {entry.title}", "\n".join(parts))
