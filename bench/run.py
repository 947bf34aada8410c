"""The benchmark: in-process handling time against the JSON-parse floor, HTTP throughput and latency
under gunicorn with wrk, start-up time, and peak memory of the largest request. Prints Markdown tables.

Run from the repository root: ``.venv/bin/python -m bench`` (``--help`` for options; ``--quick`` for a
short run). Only loopback traffic; every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench import generate, trajectory

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "nmd-bone-health"
SIZES = (30, 200, 1_000, 5_000, 20_000)
CONCURRENCY = (1, 8, 32)
HTTP_OBSERVATIONS = 200


# --- in-process ------------------------------------------------------------------------------------
def _repeats(n: int, quick: bool) -> int:
    """Enough samples for a stable median and p95, bounded to a few seconds per size."""
    full = {30: 300, 200: 150, 1_000: 40, 5_000: 12, 20_000: 6}.get(n, 10)
    return max(3, full // 4) if quick else full


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def in_process(sizes: tuple[int, ...], quick: bool) -> list[dict]:
    from service.cds_hooks.handler import Engine
    from service.config import Settings

    logging.getLogger("nmd_cds").setLevel(logging.WARNING)  # the per-call log line is not under test
    engine = Engine.create(Settings(auth=False, dev_mode=True, today=generate.TODAY))
    rows = []
    for n in sizes:
        body = generate.body(n)
        cards = len(engine.handle_body(SERVICE, body)["cards"])  # warm-up (lazy imports, caches)
        handle, floor = [], []
        for _ in range(_repeats(n, quick)):
            t0 = time.perf_counter()
            json.dumps(engine.handle_body(SERVICE, body))
            t1 = time.perf_counter()
            json.loads(body)
            t2 = time.perf_counter()
            handle.append(t1 - t0)
            floor.append(t2 - t1)
        med, fl = statistics.median(handle), statistics.median(floor)
        rows.append(
            {
                "observations": n,
                "body_kb": len(body) / 1024,
                "cards": cards,
                "samples": len(handle),
                "median_ms": med * 1e3,
                "p95_ms": _pct(handle, 0.95) * 1e3,
                "floor_ms": fl * 1e3,
                "ratio": med / fl,
                "us_per_obs": med * 1e6 / n,
            }
        )
    return rows


# --- gunicorn --------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(port: int, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "NMD_CDS_AUTH": "off",
            "NMD_CDS_DEV_MODE": "on",
            "NMD_CDS_TODAY": generate.TODAY.isoformat(),
            "NMD_CDS_HOST": "127.0.0.1",
            "NMD_CDS_PORT": str(port),
            "NMD_CDS_WORKERS": "2",
            "NMD_CDS_SQLITE_PATH": str(tmp / "bench.sqlite3"),
            "NMD_CDS_LOG_LEVEL": "WARNING",
        }
    )
    return env


@contextlib.contextmanager
def gunicorn(tmp: Path) -> Iterator[tuple[int, float]]:
    """The service as scripts/run.sh starts it (2 workers); yields (port, seconds to first 200)."""
    port = _free_port()
    log = (tmp / f"gunicorn-{port}.log").open("wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "python:service.gunicorn_conf", "service.app:create_app()"],
        cwd=ROOT,
        env=_env(port, tmp),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        startup = _wait_ready(port, proc, t0)
        yield port, startup
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(port: int, proc: subprocess.Popen, t0: float, limit_s: float = 30.0) -> float:
    url = f"http://127.0.0.1:{port}/healthz"
    while time.perf_counter() - t0 < limit_s:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("gunicorn did not answer /healthz within 30 s")


def startup_times(tmp: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with gunicorn(tmp) as (_, startup):
            times.append(startup)
    return times


# --- wrk -------------------------------------------------------------------------------------------
def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get (Debian package 'wrk') ...", file=sys.stderr)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "wrk"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


_LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "rb"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect +
    summary.errors.read + summary.errors.write, summary.errors.timeout))
end
"""


def http(tmp: Path, duration_s: int, concurrency: tuple[int, ...]) -> list[dict]:
    wrk = ensure_wrk()
    body_file = tmp / "body-200.json"
    body_file.write_bytes(generate.body(HTTP_OBSERVATIONS))
    script = tmp / "post.lua"
    script.write_text(_LUA.replace("{body}", str(body_file)))
    rows = []
    with gunicorn(tmp) as (port, _):
        url = f"http://127.0.0.1:{port}/cds-services/{SERVICE}"
        check = urllib.request.Request(url, body_file.read_bytes(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(check, timeout=10) as resp:  # one real answer before measuring
            assert resp.status == 200 and "cards" in json.loads(resp.read())
        for c in concurrency:
            out = subprocess.run(
                [
                    wrk,
                    "-t",
                    str(min(c, 2)),
                    "-c",
                    str(c),
                    "-d",
                    f"{duration_s}s",
                    "--timeout",
                    "5s",
                    "-s",
                    str(script),
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=duration_s + 30,
                check=True,
            ).stdout
            m = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
            if not m:
                raise RuntimeError(f"unexpected wrk output:\n{out}")
            reqs, dur_us, p50, p99, bad_status, sock_err, timeouts = map(int, m.groups())
            rows.append(
                {
                    "concurrency": c,
                    "requests": reqs,
                    "rps": reqs / (dur_us / 1e6),
                    "p50_ms": p50 / 1e3,
                    "p99_ms": p99 / 1e3,
                    "errors": bad_status + sock_err + timeouts,
                }
            )
    return rows


# --- memory ----------------------------------------------------------------------------------------
_MEMORY_PROBE = """
import json, sys, time, tracemalloc
from service.cds_hooks.handler import Engine
from service.config import Settings
from bench import generate

def vm(field):  # kB from /proc/self/status; VmHWM is reset by exec, unlike ru_maxrss
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field))

engine = Engine.create(Settings(auth=False, dev_mode=True, today=generate.TODAY))
engine.handle_body("nmd-bone-health", generate.body(30))  # lazy imports and caches done
body = open(sys.argv[1], "rb").read()
hwm_before, rss_before = vm("VmHWM"), vm("VmRSS")
t0 = time.perf_counter()
json.dumps(engine.handle_body("nmd-bone-health", body))
call_s = time.perf_counter() - t0
hwm_after = vm("VmHWM")
tracemalloc.start()
json.dumps(engine.handle_body("nmd-bone-health", body))
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"tracemalloc_peak_mb": peak / 2**20, "rss_before_mb": rss_before / 1024,
                  "hwm_before_mb": hwm_before / 1024, "hwm_after_mb": hwm_after / 1024, "call_s": call_s}))
"""


def memory(tmp: Path, n: int) -> dict:
    """Peak memory of one call in a fresh process: tracemalloc peak (Python allocations made during
    the call, the body itself excluded) and the RSS high-water mark before/after the first call."""
    body_file = tmp / f"body-{n}.json"
    body_file.write_bytes(generate.body(n))
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(body_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        env={**os.environ, "NMD_CDS_LOG_LEVEL": "WARNING"},
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(observations=n, body_mb=body_file.stat().st_size / 2**20)
    return result


# --- report ----------------------------------------------------------------------------------------
def machine() -> str:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in open("/proc/cpuinfo")
                if line.startswith("model name")
            ),
            cpu,
        )
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · nproc {os.cpu_count()} · {cpu} · Python "
        f"{platform.python_version()} · load average at start {load}"
    )


def print_tables(proc_rows: list[dict], http_rows: list[dict], starts: list[float], mem: dict | None) -> None:
    print("\n### In-process: Engine.handle_body + json.dumps vs json.loads of the same body (the floor)\n")
    print(
        "| Observations | body KiB | cards | samples | median ms | p95 ms | json.loads ms | ratio | µs/Obs |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in proc_rows:
        print(
            f"| {r['observations']:,} | {r['body_kb']:,.0f} | {r['cards']} | {r['samples']} | "
            f"{r['median_ms']:.2f} | {r['p95_ms']:.2f} | {r['floor_ms']:.2f} | {r['ratio']:.1f}× | "
            f"{r['us_per_obs']:.1f} |"
        )
    if http_rows:
        print(
            "\n### HTTP: gunicorn, 2 workers, auth off, wrk on loopback, "
            f"{HTTP_OBSERVATIONS}-Observation request\n"
        )
        print("| concurrency | requests | req/s | p50 ms | p99 ms | errors |")
        print("|---:|---:|---:|---:|---:|---:|")
        for r in http_rows:
            print(
                f"| {r['concurrency']} | {r['requests']:,} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['errors']} |"
            )
    if starts:
        print("\n### Start-up: gunicorn command → first 200 on /healthz\n")
        print(
            f"median {statistics.median(starts):.2f} s over {len(starts)} runs "
            f"(min {min(starts):.2f}, max {max(starts):.2f})"
        )
    if mem:
        print(
            f"\n### Peak memory, {mem['observations']:,}-Observation request "
            f"({mem['body_mb']:.1f} MiB body)\n"
        )
        print(
            f"tracemalloc peak during the call: **{mem['tracemalloc_peak_mb']:.0f} MiB** of Python objects "
            "(the body bytes excluded). Process RSS (/proc/self/status) after import, start-up, a warm-up "
            f"call and reading the body: {mem['rss_before_mb']:.0f} MiB "
            f"(high-water {mem['hwm_before_mb']:.0f} MiB) → high-water after the call "
            f"{mem['hwm_after_mb']:.0f} MiB: "
            f"**+{mem['hwm_after_mb'] - mem['hwm_before_mb']:.0f} MiB** (call {mem['call_s'] * 1e3:.0f} ms)"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer samples, 3 s per wrk run")
    ap.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), default=SIZES)
    ap.add_argument(
        "--skip", default="", help="comma-separated phases to skip: http,startup,memory,trajectory"
    )
    ap.add_argument("--duration", type=int, default=None, help="seconds per wrk run (default 10, quick 3)")
    ap.add_argument("--json", type=Path, help="also write the raw results to this file")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    duration = args.duration or (3 if args.quick else 10)
    print(machine())
    proc_rows = in_process(args.sizes, args.quick)
    with tempfile.TemporaryDirectory(prefix="nmd-bench-") as tmpdir:
        tmp = Path(tmpdir)
        starts = [] if "startup" in skip else startup_times(tmp, 3 if args.quick else 5)
        http_rows = [] if "http" in skip else http(tmp, duration, CONCURRENCY)
        mem = None if "memory" in skip else memory(tmp, max(args.sizes))
    print_tables(proc_rows, http_rows, starts, mem)
    traj_rows = (
        [] if "trajectory" in skip else trajectory.run((200, 1_000), args.quick)
    )  # bench/trajectory.py
    if traj_rows:
        trajectory.print_table(traj_rows)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "in_process": proc_rows,
                    "http": http_rows,
                    "startup_s": starts,
                    "memory": mem,
                    "trajectory": traj_rows,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
