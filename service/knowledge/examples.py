"""Example cards for the catalogue: for each rule, the first card of the fixture kit that carries it
(scenario, its description, the card's summary and indicator), kept in ``examples.json`` beside this
module. ``python -m service knowledge examples`` regenerates it; a test keeps it in step."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parent / "examples.json"


@cache
def load() -> dict[str, dict[str, Any]]:
    """Rule id → example card; empty when the file is absent."""
    try:
        return dict(json.loads(PATH.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def collect(
    results: list[tuple[dict[str, Any], list[dict[str, Any]]]], rule_ids_of: Any
) -> dict[str, dict[str, Any]]:
    """From (scenario, cards) pairs in kit order: each rule's first card. ``rule_ids_of(card)`` names
    the rules a card carries."""
    out: dict[str, dict[str, Any]] = {}
    for scenario, cards in results:
        for card in cards:
            for rid in rule_ids_of(card):
                out.setdefault(
                    rid,
                    {
                        "scenario": scenario["name"],
                        "scenario_description": scenario.get("description", ""),
                        "summary": card["summary"],
                        "indicator": card["indicator"],
                    },
                )
    return dict(sorted(out.items()))


def dump(examples: dict[str, dict[str, Any]], path: Path = PATH) -> None:
    path.write_text(json.dumps(examples, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
