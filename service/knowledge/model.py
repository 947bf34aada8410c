"""The knowledge as typed, immutable objects: citations, thresholds, value sets and the rule catalogue.

Built by ``service.knowledge.load`` from the data files beside this module (and a site's overrides);
read by the data layer (value sets, medication intervals) and the rules (thresholds, catalogue).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from service.knowledge.concepts import ActionKind, Indicator, Topic


@dataclass(frozen=True, slots=True)
class Citation:
    id: str
    label: str  # short name shown on a card
    reference: str  # full reference for the catalogue
    url: str
    year: int


# Units as a clinician writes them after a number.
_UNIT_TEXT = {"kg/m2": "kg/m²", "cm[H2O]": "cmH₂O", "fractures": "fractures", "grade": ""}


class Threshold(float):
    """A clinical number in force: behaves as a float in comparisons and arithmetic, and carries its
    exact decimal value, unit, sources, [R] flag, effective date and whether a site overrode it."""

    key: str
    value: Decimal
    unit: str
    citations: tuple[Citation, ...]
    recalled: bool
    effective_from: date
    description: str
    overridden: bool

    def __new__(
        cls,
        value: Decimal,
        *,
        key: str,
        unit: str,
        citations: tuple[Citation, ...],
        recalled: bool,
        effective_from: date,
        description: str,
        overridden: bool = False,
    ) -> Threshold:
        obj = super().__new__(cls, float(value))
        obj.key, obj.value, obj.unit, obj.citations = key, value, unit, citations
        obj.recalled, obj.effective_from = recalled, effective_from
        obj.description, obj.overridden = description, overridden
        return obj

    def __reduce__(self) -> Any:  # pickling (gunicorn preload, multiprocessing) keeps the attributes
        return (_rebuild, (self.value, self.__dict__))

    @property
    def number(self) -> str:
        """The exact value as written: "12", "-2.5", "1.1"."""
        return format(self.value, "f")

    @property
    def text(self) -> str:
        """Value with unit, as card and catalogue text: "12 months", "−2.5 SD", "5 %", "1.1 L"."""
        unit = _UNIT_TEXT.get(self.unit, self.unit)
        if not unit:
            return self.number
        return f"{self.number} {unit}"


def _rebuild(value: Decimal, attrs: dict[str, Any]) -> Threshold:
    return Threshold(value, **{k: v for k, v in attrs.items() if k != "value"})


@dataclass(frozen=True, slots=True)
class DatedValue:
    effective_from: date
    value: Decimal
    overridden: bool = False


@dataclass(frozen=True)
class ThresholdSpec:
    """One threshold as declared: all its dated values (defaults and site overrides)."""

    key: str  # "family.name"
    description: str
    unit: str
    citations: tuple[Citation, ...]
    recalled: bool
    values: tuple[DatedValue, ...]  # sorted by date

    def at(self, when: date) -> Threshold:
        """The value in force on ``when`` (the earliest one for a date before every value)."""
        chosen = self.values[0]
        for v in self.values:
            if v.effective_from <= when:
                chosen = v
        return Threshold(
            chosen.value,
            key=self.key,
            unit=self.unit,
            citations=self.citations,
            recalled=self.recalled,
            effective_from=chosen.effective_from,
            description=self.description,
            overridden=chosen.overridden,
        )


# --- value sets ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Code:
    """One code of a value set and what it means there (``attrs``: concept, site, disorder, drug …)."""

    system: str  # canonical system URI
    code: str
    display: str
    status: str  # verified | single-source | unverified | recalled | local
    attrs: Mapping[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)


@dataclass(frozen=True, slots=True)
class TextEntry:
    """A phrase that means a concept where no code exists (lower-case, matched as a substring)."""

    text: str
    attrs: Mapping[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)


def dotted(code: str) -> str:
    """An ICD-10 code with its dot: "G7101" → "G71.01" (codes of 3 characters or less unchanged)."""
    code = code.strip().upper()
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


_RANGE = re.compile(r"^([A-Z]\d\d)-([A-Z]\d\d)$")


@dataclass(frozen=True)
class ValueSet:
    """Codes (and phrases) that mean a concept. ``hierarchical`` systems match descendants by prefix
    (ICD-10-CM "G71.0" matches G71.00 … G71.09; the longest matching prefix wins), and an entry may
    be a range of 3-character categories ("V00-V99", "X92-Y09": every code of those categories),
    tried after the prefixes."""

    id: str
    description: str
    codes: tuple[Code, ...]
    texts: tuple[TextEntry, ...] = ()
    hierarchical: frozenset[str] = frozenset()  # system URIs matched by prefix
    _index: dict[tuple[str, str], Code] = field(default_factory=dict, repr=False, compare=False)
    _ranges: list[tuple[str, str, str, Code]] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        for c in self.codes:
            span = _RANGE.match(c.code) if c.system in self.hierarchical else None
            if span:
                self._ranges.append((c.system, span[1], span[2], c))
                continue
            key = (c.system, dotted(c.code) if c.system in self.hierarchical else c.code)
            self._index.setdefault(key, c)

    def lookup(self, system: str, code: str) -> Code | None:
        """The entry for a (canonical system URI, code) pair, or None."""
        found = self._index.get((system, code))
        if found is not None or system not in self.hierarchical:
            return found
        d = dotted(code)
        while len(d) >= 3:
            found = self._index.get((system, d))
            if found is not None:
                return found
            d = d[:-1].rstrip(".")
        category = code.strip().upper()[:3]
        for rsystem, low, high, entry in self._ranges:
            if rsystem == system and low <= category <= high:
                return entry
        return None

    def match_text(self, words: str) -> TextEntry | None:
        """The first phrase contained in ``words`` (already lower-case)."""
        for t in self.texts:
            if t.text in words:
                return t
        return None

    def pairs(self) -> list[tuple[str, str]]:
        """(system URI, code) of every code, in file order (for prefetch templates and pre-filters)."""
        return [(c.system, c.code) for c in self.codes]


@dataclass(frozen=True)
class Vocabulary:
    """All value sets, and the systems they use: an incoming system URI (any alias) maps to the
    canonical URI the value sets are keyed by."""

    valuesets: Mapping[str, ValueSet]
    systems: Mapping[str, str]  # any known URI of a system → its canonical URI
    names: Mapping[str, str]  # short name (loinc, snomed …) → canonical URI

    def __getitem__(self, valueset_id: str) -> ValueSet:
        return self.valuesets[valueset_id]

    def canonical(self, system: str) -> str:
        return self.systems.get(system, system)

    def uri(self, name: str) -> str:
        """The canonical URI of a short system name ("loinc")."""
        return self.names[name]

    def lookup(self, valueset_id: str, system: str, code: str) -> Code | None:
        return self.valuesets[valueset_id].lookup(self.canonical(system), code)


# --- the rule catalogue -----------------------------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{([a-z_]+\.[a-z0-9_]+)\}")


@dataclass(frozen=True)
class RuleEntry:
    """One rule as a clinician reviews it: what it is for, its logic in plain words, its sources."""

    id: str
    title: str
    family: str  # bone | nutrition | respiratory
    topic: Topic
    action: ActionKind | None
    indicators: tuple[Indicator, ...]  # () = a classification that feeds other rules, no card of its own
    logic: str  # plain language; {family.key} placeholders render the threshold in force
    citations: tuple[Citation, ...]
    thresholds: tuple[str, ...]  # threshold keys the rule reads
    joins: str | None = None  # fold into the card of this rule when both fire
    companion_of: tuple[str, ...] = ()  # shown only on the card of one of these rules, never alone
    citations_by_disorder: Mapping[str, tuple[Citation, ...]] = field(default_factory=dict)

    @property
    def fires(self) -> bool:
        return bool(self.indicators)

    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.logic)

    def render_logic(self, values: Mapping[str, Threshold]) -> str:
        """``logic`` with each {family.key} replaced by the value in force ("12 months")."""
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)].text, self.logic)


@dataclass(frozen=True)
class Catalogue:
    """Every rule, in the order the catalogue file lists them."""

    rules: Mapping[str, RuleEntry]
    topic_display: Mapping[Topic, str]

    def __getitem__(self, rule_id: str) -> RuleEntry:
        return self.rules[rule_id]

    def __iter__(self) -> Iterator[RuleEntry]:
        return iter(self.rules.values())

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self.rules
