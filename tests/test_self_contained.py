"""The project stands on its own: no code, knowledge file, fixture or document points at the team's
internal reference (sections such as "§4 item 7", "edge case 9", "clinical-knowledge"), which a user of
the repository does not have. Clinical facts cite their published sources (service/knowledge/citations.yaml);
standards are cited by name (an RFC section is fine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHERE = [
    "service",
    "fhir_fixtures/scenarios",
    "tests",
    "docs",
    "bench",
    "scripts",
    "README.md",
    "fhir_fixtures/README.md",
]
SKIP = ("tests/data/", "node_modules", "__pycache__", "tests/test_self_contained.py")
SUFFIXES = {".py", ".yaml", ".yml", ".json", ".md", ".html", ".sh", ".toml"}
INTERNAL = re.compile(
    r"clinical[- ]knowledge(?:\.md)?\s*§|clinical-knowledge|(?<!RFC )(?<!RFC \d{4} )§\s?\d|edge cases? \d"
)


def _files() -> list[Path]:
    out: list[Path] = []
    for where in WHERE:
        path = ROOT / where
        found = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        out += [p for p in found if p.suffix in SUFFIXES and not any(s in p.as_posix() for s in SKIP)]
    return sorted(out)


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reference_to_the_internal_clinical_document(path: Path) -> None:
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        found = INTERNAL.search(line)
        assert not found, (
            f"{path.relative_to(ROOT)}:{n}: {found.group()!r} points at a document users do not have"
        )
