"""Every clinical number the rules use: value, unit, citation, and whether it is recalled ([R]).

Each rule family declares its thresholds once, in its own table module (``thresholds_bone.py``,
``thresholds_nutrition.py``), with ``threshold(...)``. An institution may override values with a
JSON settings file (``NMD_CDS_THRESHOLDS_FILE``) validated against a JSON Schema generated from the
declared thresholds; an unknown key or a value of the wrong type stops the service at start-up with
a message naming the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import jsonschema

from service.rules.citations import Citation

# Every note about a recalled figure carries this mark; the card builder flags such cards' source.
RECALLED_MARK = "[R]"


@dataclass(frozen=True, slots=True)
class Threshold:
    key: str  # "family.name", e.g. "nutrition.weight_loss_warning_pct"
    value: float
    unit: str  # "%", "months", "days", "SD", "ng/mL", "kg/m2", "L", "years", ...
    citations: tuple[Citation, ...]
    recalled: bool = False  # [R] in clinical-knowledge.md: a default the institution must review
    description: str = ""
    overridden: bool = False  # set when an institution's file changed the value

    @property
    def source_note(self) -> str:
        """How a card's source should name this figure, e.g. 'DMD CC 2018 [R, review locally]'."""
        names = "; ".join(c.label for c in self.citations)
        if self.overridden:
            return f"{names} (institution override)"
        return (
            f"{names} {RECALLED_MARK} recalled figure, institution review required"
            if self.recalled
            else names
        )


_REGISTRY: dict[str, Threshold] = {}


def threshold(
    key: str,
    value: float,
    unit: str,
    *citations: Citation,
    recalled: bool = False,
    description: str = "",
) -> Threshold:
    """Declare a threshold (once, at import of its table module) and return its default."""
    if key in _REGISTRY:
        raise ValueError(f"threshold {key!r} declared twice")
    t = Threshold(key, float(value), unit, tuple(citations), recalled, description)
    _REGISTRY[key] = t
    return t


class ThresholdError(ValueError):
    """The institution's thresholds file is not valid; the message names the bad key."""


class Thresholds(Mapping[str, Threshold]):
    """The thresholds in force: defaults plus institution overrides. Look up with ``t["key"]``."""

    def __init__(self, values: dict[str, Threshold]):
        self._values = values

    def __getitem__(self, key: str) -> Threshold:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def v(self, key: str) -> float:
        return self._values[key].value


def _load_tables() -> None:
    # Importing the table modules registers their thresholds.
    import importlib
    import pkgutil

    import service.rules as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("thresholds_"):
            importlib.import_module(f"service.rules.{mod.name}")


def overrides_schema() -> dict:
    """JSON Schema of an institution's thresholds file: {"thresholds": {key: number}}."""
    _load_tables()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "thresholds": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    k: {"type": "number", "description": f"{t.description} ({t.unit})"}
                    for k, t in sorted(_REGISTRY.items())
                },
            },
            "comment": {"type": "string"},
        },
    }


def load_thresholds(overrides_file: str | Path | None = None) -> Thresholds:
    """Defaults, with the institution's overrides applied; raises ThresholdError naming the bad key."""
    _load_tables()
    values = dict(_REGISTRY)
    if overrides_file:
        path = Path(overrides_file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ThresholdError(f"thresholds file {path}: {exc}") from exc
        validator = jsonschema.Draft202012Validator(overrides_schema())
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            problems = "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in errors
            )
            raise ThresholdError(f"thresholds file {path} is invalid: {problems}")
        for key, value in data.get("thresholds", {}).items():
            values[key] = replace(values[key], value=float(value), overridden=True)
    return Thresholds(values)
