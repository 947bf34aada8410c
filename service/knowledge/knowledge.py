"""``Knowledge``: everything the service knows, loaded once — citations, thresholds (by date), value
sets with the site's local codes, the rule catalogue, and what each action orders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from threading import Lock
from typing import Any

from service.knowledge.concepts import ActionKind
from service.knowledge.model import Catalogue, Citation, Code, Threshold, ThresholdSpec, Vocabulary
from service.knowledge.thresholds import FAMILIES, Thresholds


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One order a card can suggest: a draft ServiceRequest with this code and text."""

    label: str
    text: str
    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class ActionSpec:
    action: ActionKind
    label: str
    suggestions: tuple[Suggestion, ...]


@dataclass(frozen=True, eq=False)  # hashed by identity: caches may key on the loaded knowledge
class Knowledge:
    citations: Mapping[str, Citation]
    specs: Mapping[str, ThresholdSpec]  # every threshold with all its dated values
    vocabulary: Vocabulary
    catalogue: Catalogue
    actions: Mapping[ActionKind, ActionSpec]
    local_codes: tuple[Code, ...] = ()
    site_file: str = ""
    _by_date: dict[date, Thresholds] = field(default_factory=dict, repr=False, compare=False)
    _lock: Lock = field(default_factory=Lock, repr=False, compare=False)

    def thresholds(self, when: date) -> Thresholds:
        """Every threshold in force on ``when`` (built once per date)."""
        found = self._by_date.get(when)
        if found is None:
            with self._lock:
                found = self._by_date.get(when) or self._build(when)
                if len(self._by_date) > 64:  # a long-running process sees one date a day
                    self._by_date.clear()
                self._by_date[when] = found
        return found

    def _build(self, when: date) -> Thresholds:
        groups: dict[str, Any] = {}
        for family, cls in FAMILIES.items():
            values: dict[str, Threshold] = {
                f.name: self.specs[f"{family}.{f.name}"].at(when) for f in fields(cls)
            }
            groups[family] = cls(**values)
        return Thresholds(**groups)
