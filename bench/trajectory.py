"""Server time to render the trajectory app's page (``/app/``) for the benchmark's DMD patient.

Timed: ``service.trajectory.routes.render_page`` — the summary, the cards, the chart models, the SVG and
the HTML template, from the FHIR resources already read — i.e. the service's own work for one page
view. Not timed: the FHIR reads (they depend on the EHR's server; the page view logs them as
``ms_fhir``). Target: under 300 ms for 1,000 Observations on the reference machine.

``python -m bench.trajectory [--sizes 200,1000,5000] [--quick]``; ``python -m bench`` runs it too
(skip it with ``--skip trajectory``).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import generate

SIZES = (200, 1_000, 5_000)
TARGET_MS = 300.0


def _resources(n: int) -> list[dict[str, Any]]:
    from service.fhir.build import unbundle

    prefetch = generate.request(n)["prefetch"]
    return [r for value in prefetch.values() if value for r in unbundle(value)]


def run(sizes: tuple[int, ...] = SIZES, quick: bool = False) -> list[dict[str, Any]]:
    from service.app import create_app
    from service.cds_hooks.prefetch import ResolvedData
    from service.cds_hooks.services import NMD_BONE_HEALTH_ID
    from service.config import Settings
    from service.trajectory.routes import render_page

    rows = []
    with tempfile.TemporaryDirectory(prefix="nmd-bench-traj-") as tmp:
        settings = Settings(
            auth=False, dev_mode=True, today=generate.TODAY, sqlite_path=str(Path(tmp) / "db.sqlite3")
        )
        app = create_app(settings)
        logging.getLogger("nmd_cds").setLevel(logging.WARNING)
        engine = app.extensions["nmd_cds_engine"]
        keys = frozenset(engine.services[NMD_BONE_HEALTH_ID].prefetch)  # the prefetch the service asks for
        for n in sizes:
            data = ResolvedData(_resources(n), keys, ())
            samples = []
            with app.test_request_context("/app/"):
                html = render_page(engine, data, generate.PATIENT_ID)  # warm-up
                for _ in range(5 if quick else 20 if n <= 1_000 else 8):
                    t0 = time.perf_counter()
                    render_page(engine, data, generate.PATIENT_ID)
                    samples.append((time.perf_counter() - t0) * 1000)
            ordered = sorted(samples)
            rows.append(
                {
                    "observations": n,
                    "resources": len(data.resources),
                    "html_kb": len(html.encode()) / 1024,
                    "points": html.count('class="point"'),
                    "samples": len(samples),
                    "median_ms": statistics.median(samples),
                    "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n### Trajectory page: server time to render /app/ from the FHIR resources (no FHIR reads)\n")
    print(f"Target: under {TARGET_MS:.0f} ms at 1,000 Observations.\n")
    print("| Observations | resources | points drawn | HTML KiB | samples | median ms | p95 ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['observations']:,} | {r['resources']:,} | {r['points']:,} | {r['html_kb']:.0f} | "
            f"{r['samples']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} |"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.trajectory", description=__doc__)
    ap.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), default=SIZES)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print_table(run(args.sizes, args.quick))


if __name__ == "__main__":
    main()
