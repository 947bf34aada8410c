"""Read the knowledge files, validate them (JSON Schema, then cross-references), apply a site's file.

``load_knowledge(site_file)`` is called once at start-up; any problem raises ``KnowledgeError`` whose
message names the file, the key and what is wrong, and the service refuses to start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from service.knowledge.concepts import (
    ActionKind,
    Concept,
    DrugClass,
    FractureKind,
    Indicator,
    Nmd,
    Site,
    Symptom,
    Topic,
)
from service.knowledge.knowledge import ActionSpec, Knowledge, Suggestion
from service.knowledge.model import (
    Catalogue,
    Citation,
    Code,
    DatedValue,
    RuleEntry,
    TextEntry,
    ThresholdSpec,
    ValueSet,
    Vocabulary,
)
from service.knowledge.thresholds import FAMILIES

HERE = Path(__file__).resolve().parent
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Attributes a value-set entry may carry, and the values each may take (None: any text).
ATTRIBUTES: dict[str, set[str] | None] = {
    "concept": {c.value for c in Concept},
    "site": {s.value for s in Site},
    "laterality": {"left", "right"},
    "side": {"left", "right"},
    "disorder": {n.value for n in Nmd},
    "symptom": {s.value for s in Symptom},
    "kind": {k.value for k in FractureKind} | {"any"},
    "mechanism": {"fragility", "unconfirmed", "high_energy", "low_energy"},
    "bone": None,
    "level": None,
    "imaging": {"lateral_spine_xr", "dxa_vfa", "scoliosis_series", "thoracic", "lumbar"},
    "action": {a.value for a in ActionKind},
    "drug": None,
    "drug_class": {d.value for d in DrugClass},
    "needs_spine_text": None,
    "form": None,
}


class KnowledgeError(ValueError):
    """A knowledge or site file is not valid; the message names the file, the key and the problem."""


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return _stringify_dates(yaml.load(text, Loader=_Loader))
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise KnowledgeError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from exc


def _stringify_dates(value: Any) -> Any:
    """YAML reads 2018-01-01 as a date; the schemas and the loader want the ISO text."""
    if isinstance(value, dict):
        return {(k.isoformat() if isinstance(k, date) else k): _stringify_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_dates(v) for v in value]
    return value


@cache
def _schema(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((HERE / "schemas" / f"{name}.schema.json").read_text()))


def _validate(data: Any, schema: str, where: str) -> None:
    errors = sorted(_schema(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        e = errors[0]
        key = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise KnowledgeError(f"{where}: {key}: {e.message}{more}")


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise KnowledgeError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def _name(path: Path) -> str:
    """A knowledge file as the service's repository names it (service/knowledge/...), else in full."""
    try:
        return path.relative_to(HERE.parent.parent).as_posix()
    except ValueError:
        return str(path)


# --- pieces -----------------------------------------------------------------------------------------
def _citations(root: Path) -> dict[str, Citation]:
    path = root / "citations.yaml"
    data = _read(path)
    _validate(data, "citations", _name(path))
    return {k: Citation(k, v["label"], v["reference"], v["url"], v["year"]) for k, v in data.items()}


def _cites(ids: list[str], citations: Mapping[str, Citation], where: str) -> tuple[Citation, ...]:
    missing = [i for i in ids if i not in citations]
    if missing:
        raise KnowledgeError(f"{where}: unknown citation(s) {', '.join(missing)} (see citations.yaml)")
    return tuple(citations[i] for i in ids)


def _thresholds(root: Path, citations: Mapping[str, Citation]) -> dict[str, ThresholdSpec]:
    specs: dict[str, ThresholdSpec] = {}
    for family, cls in FAMILIES.items():
        path = root / "thresholds" / f"{family}.yaml"
        where = _name(path)
        data = _read(path)
        _validate(data, "thresholds", where)
        wanted = [f.name for f in fields(cls)]
        missing = [k for k in wanted if k not in data]
        unknown = [k for k in data if k not in wanted]
        if missing:
            hint = f"; not read: {', '.join(unknown)}" if unknown else ""
            raise KnowledgeError(f"{where}: {missing[0]}: missing (the service reads it){hint}")
        if unknown:
            raise KnowledgeError(f"{where}: {unknown[0]}: not a threshold the service reads")
        for name, t in data.items():
            key = f"{family}.{name}"
            values = tuple(
                sorted(
                    (
                        DatedValue(_date(d, f"{where}: {name}"), Decimal(str(v)))
                        for d, v in t["values"].items()
                    ),
                    key=lambda dv: dv.effective_from,
                )
            )
            specs[key] = ThresholdSpec(
                key=key,
                description=t["description"],
                unit=t["unit"],
                citations=_cites(t["cites"], citations, f"{where}: {name}"),
                recalled=bool(t.get("recalled", False)),
                values=values,
            )
    return specs


def _systems(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    path = root / "systems.yaml"
    data = _read(path)
    _validate(data, "systems", _name(path))
    names = {name: uris[0] for name, uris in data.items()}
    aliases = {uri: uris[0] for uris in data.values() for uri in uris}
    return names, aliases


def _system(name: str, names: Mapping[str, str], aliases: Mapping[str, str], where: str) -> str:
    if name in names:
        return names[name]
    if name in aliases:
        return aliases[name]
    if "://" in name or name.startswith("urn:"):
        return name  # a site's own system
    raise KnowledgeError(f"{where}: unknown code system {name!r} (see systems.yaml)")


def _attrs(raw: Mapping[str, Any], skip: set[str], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k in skip:
            continue
        if k not in ATTRIBUTES:
            raise KnowledgeError(f"{where}: unknown attribute {k!r}")
        allowed = ATTRIBUTES[k]
        if allowed is not None and v not in allowed:
            raise KnowledgeError(f"{where}: {k}: {v!r} is not one of {', '.join(sorted(allowed))}")
        out[k] = v
    return out


def _valuesets(root: Path, names: Mapping[str, str], aliases: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Raw value sets (codes with canonical systems), before a site's local codes join them."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "valuesets").glob("*.yaml")):
        where = _name(path)
        data = _read(path)
        _validate(data, "valuesets", where)
        for vs_id, vs in data.items():
            if vs_id in out:
                raise KnowledgeError(f"{where}: {vs_id}: value set declared twice")
            codes = []
            for i, c in enumerate(vs["codes"]):
                at = f"{where}: {vs_id}/codes/{i} ({c['code']})"
                system = _system(c["system"], names, aliases, at)
                codes.append(
                    Code(
                        system,
                        c["code"],
                        c["display"],
                        c["status"],
                        _attrs(c, {"system", "code", "display", "status"}, at),
                    )
                )
            texts = [
                TextEntry(t["text"].lower(), _attrs(t, {"text"}, f"{where}: {vs_id}/text/{i}"))
                for i, t in enumerate(vs.get("text", []))
            ]
            texts.sort(key=lambda t: -len(t.text))  # "methylprednisolone" before "prednisolone"
            hierarchical = frozenset(
                _system(s, names, aliases, f"{where}: {vs_id}") for s in vs.get("hierarchical", [])
            )
            out[vs_id] = {
                "description": vs["description"],
                "codes": codes,
                "texts": texts,
                "hierarchical": hierarchical,
            }
    return out


def _catalogue(
    root: Path, citations: Mapping[str, Citation], specs: Mapping[str, ThresholdSpec]
) -> Catalogue:
    path = root / "rules.yaml"
    where = _name(path)
    data = _read(path)
    _validate(data, "catalogue", where)
    topics = {}
    for code, display in data["topics"].items():
        try:
            topics[Topic(code)] = display
        except ValueError:
            raise KnowledgeError(f"{where}: topics/{code}: not a topic the service knows") from None
    missing_topics = [t.value for t in Topic if t not in topics]
    if missing_topics:
        raise KnowledgeError(f"{where}: topics: missing {', '.join(missing_topics)}")
    rules: dict[str, RuleEntry] = {}
    for rid, r in data["rules"].items():
        at = f"{where}: rules/{rid}"
        try:
            topic = Topic(r["topic"])
            action = ActionKind(r["action"]) if r["action"] else None
        except ValueError as exc:
            raise KnowledgeError(f"{at}: {exc}") from None
        unknown = [k for k in r["thresholds"] if k not in specs]
        if unknown:
            raise KnowledgeError(f"{at}: thresholds: unknown key {unknown[0]}")
        entry = RuleEntry(
            id=rid,
            title=r["title"],
            family=r["family"],
            topic=topic,
            action=action,
            indicators=tuple(Indicator(i) for i in r["indicators"]),
            logic=" ".join(r["logic"].split()),
            citations=_cites(r["cites"], citations, at),
            thresholds=tuple(r["thresholds"]),
            joins=r.get("joins"),
            companion_of=tuple(r.get("companion_of", [])),
            citations_by_disorder={
                d: _cites(ids, citations, f"{at}: cites_for/{d}") for d, ids in r.get("cites_for", {}).items()
            },
        )
        bad = [p for p in entry.placeholders() if p not in specs]
        if bad:
            raise KnowledgeError(f"{at}: logic: {{{bad[0]}}} is not a threshold")
        undeclared = [p for p in entry.placeholders() if p not in entry.thresholds]
        if undeclared:
            raise KnowledgeError(f"{at}: logic uses {{{undeclared[0]}}} but thresholds does not list it")
        for d in entry.citations_by_disorder:
            if d not in {n.value for n in Nmd}:
                raise KnowledgeError(f"{at}: cites_for: {d!r} is not a disorder")
        rules[rid] = entry
    for entry in rules.values():
        for other in (entry.joins, *entry.companion_of):
            if other and other not in rules:
                raise KnowledgeError(f"{where}: rules/{entry.id}: refers to unknown rule {other}")
    return Catalogue(rules, topics)


def _actions(
    root: Path, names: Mapping[str, str], aliases: Mapping[str, str]
) -> dict[ActionKind, ActionSpec]:
    path = root / "actions.yaml"
    where = _name(path)
    data = _read(path)
    _validate(data, "actions", where)
    out: dict[ActionKind, ActionSpec] = {}
    for name, spec in data.items():
        try:
            action = ActionKind(name)
        except ValueError:
            raise KnowledgeError(f"{where}: {name}: not an action the service knows") from None
        out[action] = ActionSpec(
            action,
            spec["label"],
            tuple(
                Suggestion(
                    s["label"],
                    s["text"],
                    _system(s["code"]["system"], names, aliases, f"{where}: {name}"),
                    s["code"]["code"],
                    s["code"]["display"],
                )
                for s in spec["suggestions"]
            ),
        )
    missing = [a.value for a in ActionKind if a not in out]
    if missing:
        raise KnowledgeError(f"{where}: missing action(s) {', '.join(missing)}")
    return out


# --- a site's file ----------------------------------------------------------------------------------
def _apply_site_thresholds(specs: dict[str, ThresholdSpec], overrides: Mapping[str, Any], where: str) -> None:
    for key, value in overrides.items():
        if key not in specs:
            raise KnowledgeError(f"{where}: thresholds/{key}: not a threshold the service reads")
        spec = specs[key]
        if isinstance(value, dict):
            dated = {v.effective_from: v for v in spec.values}
            for d, v in value.items():
                when = _date(d, f"{where}: thresholds/{key}")
                dated[when] = DatedValue(when, Decimal(str(v)), overridden=True)
            values = tuple(sorted(dated.values(), key=lambda dv: dv.effective_from))
        else:
            values = (DatedValue(spec.values[0].effective_from, Decimal(str(value)), overridden=True),)
        specs[key] = ThresholdSpec(
            spec.key, spec.description, spec.unit, spec.citations, spec.recalled, values
        )


def _apply_local_codes(
    raw: dict[str, dict[str, Any]],
    local: list[Mapping[str, Any]],
    names: Mapping[str, str],
    aliases: Mapping[str, str],
    where: str,
) -> list[Code]:
    added: list[Code] = []
    for i, entry in enumerate(local):
        at = f"{where}: local_codes/{i} ({entry['code']})"
        system = _system(entry["system"], names, aliases, at)
        display = entry.get("display", entry["code"])
        if "same_as" in entry:
            target_system = _system(entry["same_as"]["system"], names, aliases, at)
            target_code = entry["same_as"]["code"]
            joined = 0
            for vs in raw.values():
                for c in list(vs["codes"]):
                    if c.system == target_system and c.code == target_code:
                        code = Code(system, entry["code"], display, "local", dict(c.attrs))
                        vs["codes"].append(code)
                        added.append(code)
                        joined += 1
            if not joined:
                raise KnowledgeError(
                    f"{at}: same_as {entry['same_as']['system']}|{target_code} is in no value set"
                )
        else:
            vs_id = entry["valueset"]
            if vs_id not in raw:
                raise KnowledgeError(f"{at}: valueset {vs_id!r} does not exist")
            code = Code(
                system, entry["code"], display, "local", _attrs(entry.get("attributes", {}), set(), at)
            )
            raw[vs_id]["codes"].append(code)
            added.append(code)
    return added


def load_knowledge(site_file: str | Path | None = None, root: Path = HERE) -> Knowledge:
    """The knowledge files (in ``root``), validated, with a site's overrides and local codes applied."""
    citations = _citations(root)
    specs = _thresholds(root, citations)
    names, aliases = _systems(root)
    raw = _valuesets(root, names, aliases)
    local: list[Code] = []
    site = ""
    if site_file:
        path = Path(site_file)
        site = str(path)
        data = _read(path)
        _validate(data, "site", site)
        _apply_site_thresholds(specs, data.get("thresholds", {}), site)
        local = _apply_local_codes(raw, data.get("local_codes", []), names, aliases, site)
    vocabulary = Vocabulary(
        {
            k: ValueSet(k, v["description"], tuple(v["codes"]), tuple(v["texts"]), v["hierarchical"])
            for k, v in raw.items()
        },
        aliases,
        names,
    )
    return Knowledge(
        citations=citations,
        specs=specs,
        vocabulary=vocabulary,
        catalogue=_catalogue(root, citations, specs),
        actions=_actions(root, names, aliases),
        local_codes=tuple(local),
        site_file=site,
    )


@cache
def default_knowledge() -> Knowledge:
    """The knowledge without a site's file (tests, tools); loaded once per process."""
    return load_knowledge(None)
