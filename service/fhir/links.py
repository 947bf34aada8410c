"""Results reached through other resources of the request: members of a panel
Observation (``hasMember``) and results of a DiagnosticReport (``result``), by relative or absolute
reference, ``urn:uuid`` fullUrl, or as contained resources (``#id``).

A result found this way is read like any Observation, with what it leaves out taken from its panel or
report: its date (effective[x] and issued), its bodySite, and whose it is (a result with no subject of
its own belongs to its parent's patient, see ``whose``). A contained result becomes a resource of its
own, labelled ``DiagnosticReport/<id>#<contained id>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.fhir.fhirjson import as_dict, as_list, reference, text
from service.fhir.whose import target

CHILD_KEYS = {"Observation": "hasMember", "DiagnosticReport": "result"}
_DATE_KEYS = ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "effectiveTiming", "issued")


@dataclass
class Item:
    """One resource of the request, its source label and the fullUrl of its Bundle entry (if any)."""

    res: dict
    source: str
    url: str | None = None
    parent: dict | None = None  # the panel / report that lists it


def key_of(ref: str) -> str | None:
    """The look-up key of a reference: "Type/id" for relative/absolute ones, the urn itself, or None."""
    if ref.startswith("urn:"):
        return ref
    found = target(ref)
    return f"{found[0]}/{found[1]}" if found else None


def children(res: dict) -> list[str]:
    """The member / result references of a panel Observation or a DiagnosticReport."""
    key = CHILD_KEYS.get(text(res.get("resourceType")))
    if key is None or key not in res:
        return []
    return [r for r in (reference(v) for v in as_list(res[key])) if r]


def _inherit(child: dict, parent: dict) -> dict:
    """``child`` with the date and bodySite of ``parent`` where it has none (a copy when changed)."""
    add = {}
    if not any(k in child for k in _DATE_KEYS):
        add.update({k: parent[k] for k in _DATE_KEYS if k in parent})
    if "bodySite" not in child and "bodySite" in parent and child.get("resourceType") == "Observation":
        add["bodySite"] = parent["bodySite"]
    return {**child, **add} if add else child


@dataclass
class Linked:
    """The request's items with panel members and report results attached to their parents."""

    items: list[Item]
    missing: list[tuple[Item, str]] = field(default_factory=list)  # (parent, reference not in the request)
    parents: dict[str, list[str]] = field(default_factory=dict)  # panel / report source → its results


def link(items: list[Item]) -> Linked:
    """Attach every member / result to its parent (first parent wins); contained ones become items."""
    parents = [(item, refs) for item in items if (refs := children(item.res))]
    if not parents:  # most charts: nothing to link
        return Linked(list(items))
    index: dict[str, Item] = {}
    for item in items:
        rtype, rid = text(item.res.get("resourceType")), text(item.res.get("id"))
        if rid:
            index.setdefault(f"{rtype}/{rid}", item)
        if item.url:
            index.setdefault(item.url, item)
            absolute = key_of(item.url)
            if absolute:
                index.setdefault(absolute, item)
    out = Linked(list(items))
    for item, refs in parents:
        contained = {text(as_dict(c).get("id")): as_dict(c) for c in as_list(item.res.get("contained"))}
        for ref in refs:
            if ref.startswith("#"):
                found = contained.get(ref[1:])
                if found is None or found.get("resourceType") != "Observation":
                    out.missing.append((item, ref))
                    continue
                child = Item(_inherit(found, item.res), f"{item.source}{ref}", None, item.res)
                out.items.append(child)
                out.parents.setdefault(item.source, []).append(child.source)
                continue
            key = key_of(ref)
            target_item = index.get(key) if key else None
            if target_item is None:
                out.missing.append((item, ref))
            elif target_item.parent is None and target_item is not item:
                target_item.parent = item.res
                target_item.res = _inherit(target_item.res, item.res)
                out.parents.setdefault(item.source, []).append(target_item.source)
    return out
