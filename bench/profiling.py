"""cProfile of ``Engine.handle_body`` for one generated request (default: all-relevant, 1,000 Observations),
with the in-process phase's production-like engine (SQLite card ledger, INFO log lines written).

``python -m bench.profiling [--size 1000] [--workload all-relevant] [--calls 20] [--out FILE]`` writes the
top 40 by cumulative and by own time (the raw text) to FILE and prints a short summary: the functions
with the largest own time, and their share of the profiled total. cProfile's overhead inflates
call-heavy code (small functions called per Observation) more than C calls: read shares, not ms.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
from pathlib import Path
from typing import Any

from bench import generate

SERVICE = "nmd-bone-health"
# Stages of a call: (label, file suffix, function); the cumulative time of each, as a share of the call.
STAGES = (
    ("Engine.handle_body (the call)", "cds_hooks/handler.py", "handle_body"),
    ("· JSON parse + depth/length limit walk", "cds_hooks/request.py", "parse_json"),
    ("· · limit walk alone", "cds_hooks/request.py", "_check_limits"),
    ("· hook request checks", "cds_hooks/request.py", "parse_hook_request"),
    ("· prefetch resolution", "cds_hooks/prefetch.py", "resolve_prefetch"),
    ("· summary (data layer)", "fhir/build.py", "summarise"),
    ("· · admission (patient, duplicates, versions)", "fhir/intake.py", "admit"),
    ("· · settling: whose data, panel links, duplicates, versions", "fhir/intake.py", "_settle"),
    ("· · Observation classification by code", "fhir/intake.py", "_obs_kind"),
    ("· · FHIR validation of what is read", "fhir/intake.py", "_valid"),
    ("· · measurements from Observations", "fhir/observations.py", "measurements"),
    ("· · · code/text → concept", "fhir/observations.py", "concept_of"),
    ("· · · text scanning", "fhir/observations.py", "_words"),
    ("· rules", "rules/registry.py", "evaluate"),
    ("· cards", "cds_hooks/cards.py", "cards_from"),
    ("· card ledger (SQLite)", "feedback/ledger.py", "filter_and_record"),
)
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "profile.txt"


def profile(
    size: int = 1_000, workload: str = "all-relevant", calls: int = 20, out: Path = DEFAULT_OUT, top: int = 40
) -> dict[str, Any]:
    from bench.run import production_engine

    body = generate.body(size, workload=workload)
    with tempfile.TemporaryDirectory(prefix="nmd-bench-prof-") as tmp:
        engine = production_engine(Path(tmp), ledger=True)
        engine.handle_body(SERVICE, body)  # warm-up: the ledger's connection, lazy imports
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            engine.handle_body(SERVICE, body)
        prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    total = stats.total_tt  # type: ignore[attr-defined]
    text.write(
        f"cProfile of Engine.handle_body: {workload}, {size:,} Observations, {calls} calls, "
        f"{total * 1e3 / calls:.1f} ms per call under the profiler\n\n=== by cumulative time ===\n"
    )
    stats.sort_stats("cumulative").print_stats(top)
    text.write("\n=== by own time (tottime) ===\n")
    stats.sort_stats("tottime").print_stats(top)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text.getvalue())
    rows = []
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda kv: kv[1][2],
        reverse=True,
    )[:15]:
        rows.append(
            {
                "function": f"{_short(filename)}:{line} {name}",
                "calls_per_request": ncalls / calls,
                "own_ms": tottime * 1e3 / calls,
                "own_share": tottime / total,
                "cum_ms": cumtime * 1e3 / calls,
            }
        )
    cumulative = {
        (filename, name): cumtime
        for (filename, _, name), (_, _, _, cumtime, _) in stats.stats.items()  # type: ignore[attr-defined]
    }
    call = sum(t for (f, n), t in cumulative.items() if f.endswith(STAGES[0][1]) and n == STAGES[0][2])
    stages = []
    for label, suffix, name in STAGES:  # a stage this version of the service does not have is left out
        found = [t for (f, n), t in cumulative.items() if f.endswith(suffix) and n == name]
        if found:
            stages.append({"stage": label, "ms": sum(found) * 1e3 / calls, "share": sum(found) / call})
    with out.open("a") as f:
        f.write("\n=== stages (cumulative, share of handle_body) ===\n")
        f.writelines(f"{r['share']:6.1%} {r['ms']:8.2f} ms  {r['stage']}\n" for r in stages)
    return {
        "workload": workload,
        "size": size,
        "calls": calls,
        "ms_per_call": total * 1e3 / calls,
        "out": str(out),
        "top": rows,
        "stages": stages,
    }


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return filename.replace(root, "")


def print_summary(result: dict[str, Any]) -> None:
    print(
        f"\n### Profile: Engine.handle_body, {result['workload']}, {result['size']:,} Observations "
        f"({result['calls']} calls, {result['ms_per_call']:.1f} ms per call under cProfile; "
        f"full text: {result['out']})\n"
    )
    print("| stage (cumulative) | ms under cProfile | share of the call |")
    print("|---|---:|---:|")
    for r in result["stages"]:
        print(f"| {r['stage']} | {r['ms']:.2f} | {r['share']:.1%} |")
    print()
    print("| function (largest own time) | calls/request | own ms | share | cumulative ms |")
    print("|---|---:|---:|---:|---:|")
    for r in result["top"]:
        print(
            f"| `{r['function']}` | {r['calls_per_request']:,.0f} | {r['own_ms']:.2f} | "
            f"{r['own_share']:.1%} | {r['cum_ms']:.2f} |"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__)
    ap.add_argument("--size", type=int, default=1_000)
    ap.add_argument("--workload", default="all-relevant", choices=sorted(generate.WORKLOADS))
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    print_summary(profile(args.size, args.workload, args.calls, args.out))


if __name__ == "__main__":
    main()
