"""The import direction of the architecture, enforced.

    app → trajectory → cds_hooks → rules → knowledge
                                 → fhir  → knowledge        (rules read only fhir.summary, the facts)
    security, feedback: beside the HTTP layer, below it

Each package may import only the packages its row allows (its own included); no two modules import
each other, directly or through others; third-party libraries stay in their layer: flask in the HTTP
layer, fhir.resources in the data layer, requests in the data layer and the JWK Set fetch. A clinician
can review ``service/knowledge`` and ``service/rules`` without reading any I/O code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1] / "service"
MODULES = sorted(SERVICE.rglob("*.py"))

# package (or top-level module) → what it may import from the service
ALLOWED: dict[str, set[str]] = {
    "service.knowledge": set(),
    "service.fhir": {"service.knowledge"},
    "service.rules": {"service.knowledge", "service.fhir.summary"},
    "service.config": set(),
    "service.errors": set(),
    "service.logs": set(),
    # operations plumbing every layer may use: Prometheus counters, a connection pool
    "service.metrics": set(),
    "service.dbpool": set(),
    "service.security": {"service.config", "service.errors", "service.metrics", "service.dbpool"},
    "service.feedback": {
        "service.config",
        "service.errors",
        "service.rules.core",
        "service.knowledge",
        "service.metrics",
        "service.dbpool",
    },
    "service.cds_hooks": {
        "service.config",
        "service.errors",
        "service.logs",
        "service.metrics",
        "service.fhir",
        "service.knowledge",
        "service.rules",
        "service.security",
        "service.feedback",
    },
    "service.fixtures": {"service.cds_hooks", "service.config", "service.knowledge"},
    # the SMART app: an HTTP package of its own, beside cds_hooks, reading through the same engine
    "service.trajectory": {
        "service.cds_hooks",
        "service.config",
        "service.errors",
        "service.fhir",
        "service.knowledge",
        "service.rules",
        "service.security",
    },
    "service.app": {
        "service.trajectory",
        "service.cds_hooks",
        "service.config",
        "service.errors",
        "service.feedback",
        "service.knowledge",
        "service.logs",
        "service.security",
    },
    "service.gunicorn_conf": {"service.config", "service.logs", "service.metrics", "service.app"},
    "service.gunicorn_worker": {"service.config", "service.logs"},
    "service.__main__": {
        "service.cds_hooks",
        "service.config",
        "service.errors",
        "service.feedback",
        "service.fixtures",
        "service.knowledge",
    },
    "service": set(),  # service/__init__.py
}
HTTP_LAYER = ("service.app", "service.cds_hooks", "service.trajectory")


def module_name(path: Path) -> str:
    rel = path.relative_to(SERVICE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    names: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for n in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:  # imports for type annotations only are no dependency at run time
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)  # "from service.rules import bone"
    return names


def owner(name: str) -> str:
    """The ALLOWED row a module belongs to (the longest matching prefix)."""
    best = ""
    for key in ALLOWED:
        if (name == key or name.startswith(key + ".")) and len(key) > len(best):
            best = key
    return best


def under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def service_imports(path: Path) -> set[str]:
    known = {module_name(p) for p in MODULES} - {"service"}  # the root package's __init__ is no layer
    return {n for n in imports_of(path) if n in known}


GRAPH = {module_name(p): service_imports(p) for p in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_point_one_way(path: Path) -> None:
    me = module_name(path)
    row = owner(me)
    assert row, f"{me} belongs to no layer of the architecture: add it to ALLOWED"
    bad = [
        n for n in GRAPH[me] if not under(n, row) and not any(under(n, allowed) for allowed in ALLOWED[row])
    ]
    assert not bad, f"{me} ({row}) may not import {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_third_party_libraries_stay_in_their_layer(path: Path) -> None:
    me, names = module_name(path), imports_of(path)
    top = {n.split(".")[0] for n in names}
    if top & {"flask", "werkzeug"}:
        assert me.startswith(HTTP_LAYER), "flask outside the HTTP layer"
    if "fhir" in top or "pydantic" in top:
        assert under(me, "service.fhir"), "fhir.resources outside service/fhir"
    if "requests" in top:
        assert under(me, "service.fhir") or me == "service.security.jwks", "requests outside service/fhir"
    if under(me, "service.rules") or under(me, "service.knowledge"):
        io = top & {"flask", "fhir", "requests", "psycopg", "sqlite3", "socket", "urllib", "subprocess"}
        assert not io, f"clinical logic and knowledge stay free of I/O libraries: {io}"


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components over the module graph: every component is one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w == v:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    # A package's __init__ importing its own modules (to declare rules) is not a cycle of logic.
    real = [c for c in cycles if not all(c[0].split(".")[:3] == m.split(".")[:3] for m in c)]
    assert not real, f"import cycles: {real}"


def test_the_data_layer_never_reads_the_rules() -> None:
    offenders = {
        m: [n for n in deps if under(n, "service.rules")]
        for m, deps in GRAPH.items()
        if under(m, "service.fhir")
    }
    assert not {m: d for m, d in offenders.items() if d}


def test_rules_read_only_the_summary_of_the_data_layer() -> None:
    for m, deps in GRAPH.items():
        if under(m, "service.rules"):
            assert {n for n in deps if under(n, "service.fhir")} <= {"service.fhir.summary"}, m
