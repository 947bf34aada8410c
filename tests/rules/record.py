"""A pytest plugin that records which rules fire while the truth tables run (for the catalogue test):
it wraps the registry's ``evaluate`` before the test modules import it, and writes the fired rule ids
to the file named by ``NMD_CDS_RECORD_FIRED`` at the end of the session."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

FIRED: set[str] = set()


def pytest_configure(config: pytest.Config) -> None:
    from service.rules import registry

    original = registry.evaluate

    def recording(*args: Any, **kwargs: Any) -> registry.Evaluation:
        result = original(*args, **kwargs)
        for outcome in result.outcomes.values():
            if isinstance(outcome, tuple):
                FIRED.update(rid for s in outcome for rid in (s.rule, *s.also))
        return result

    registry.evaluate = recording  # type: ignore[assignment]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("NMD_CDS_RECORD_FIRED")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(sorted(FIRED), f)
