"""The import direction of the architecture: cds_hooks → rules → fhir.summary, and cds_hooks → fhir.

Rules stay pure (no flask, fhir.resources, requests or I/O packages) so a clinician can review them alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1] / "service"
MODULES = sorted(SERVICE.rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def rel(path: Path) -> str:
    return path.relative_to(SERVICE.parent).as_posix()


def uses(names: set[str], package: str) -> bool:
    return any(n == package or n.startswith(package + ".") for n in names)


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_import_direction(path: Path) -> None:
    names = imports_of(path)
    where = rel(path)
    if uses(names, "flask") or uses(names, "werkzeug"):
        assert where == "service/app.py" or where.startswith(("service/cds_hooks/", "service/trajectory/")), (
            "flask outside the HTTP layer"
        )
    if uses(names, "fhir") or uses(names, "pydantic"):
        assert where.startswith("service/fhir/"), "fhir.resources outside service/fhir"
    if uses(names, "requests"):
        # The JWK Set fetch of client authentication is the one HTTP read outside the FHIR client.
        assert where.startswith("service/fhir/") or where == "service/security/jwks.py", (
            "requests outside service/fhir"
        )
    if where.startswith("service/rules/"):
        forbidden = [
            n
            for n in names
            if n.split(".")[0] in {"flask", "fhir", "requests", "psycopg", "sqlite3", "socket", "urllib"}
            or uses({n}, "service.cds_hooks")
            or uses({n}, "service.feedback")
            or (uses({n}, "service.fhir") and n not in {"service.fhir.summary", "service.fhir.codes"})
        ]
        assert not forbidden, f"rules must stay pure: {forbidden}"
