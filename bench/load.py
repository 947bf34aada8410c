"""A closed-loop HTTP load generator: ``concurrency`` keep-alive connections, each sending the next request
as soon as the previous answer is read, for ``duration`` seconds; every request timed.

Why not wrk: wrk's latency figures are not every request's latency (on this service they break Little's
law by 3-10×: wg/wrk issues #33, #114), and it has no per-request tokens without a Lua script. Here
each request may carry the next unused token of a file (one per line: ``Authorization: Bearer <token>``),
and the client's own CPU use is reported by the caller (``bench/run.py`` runs this as a subprocess).

``python -m bench.load --port P --path /cds-services/x --body body.json [--tokens tokens.txt]
--concurrency 8 --duration 10`` prints one JSON object: requests, errors, elapsed seconds, latency
percentiles (ms) and the number of requests each connection completed (fairness).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT_S = 30.0


@dataclass
class Run:
    head: bytes  # request line and headers up to (not including) the Authorization header
    body: bytes
    tokens: list[str]
    deadline: float
    next_token: int = 0
    exhausted: bool = False
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    last_done: float = 0.0

    def request(self) -> list[bytes] | None:
        """The next request's bytes, or None when the run is over (time up or tokens used up)."""
        if time.perf_counter() >= self.deadline:
            return None
        if not self.tokens:
            return [self.head, b"\r\n", self.body]
        if self.next_token >= len(self.tokens):
            self.exhausted = True
            return None
        token = self.tokens[self.next_token]
        self.next_token += 1
        return [self.head, f"Authorization: Bearer {token}\r\n\r\n".encode(), self.body]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, server closes the connection); the body is read and discarded."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() == "close"


async def _connection(run: Run, host: str, port: int, done: list[int], index: int, delay: float) -> None:
    await asyncio.sleep(delay)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (parts := run.request()) is not None:
            t0 = time.perf_counter()
            try:
                writer.writelines(parts)
                await writer.drain()
                status, close = await asyncio.wait_for(_read_response(reader), TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                # TimeoutError (an OSError) included: counted by name, the connection is replaced
                run.failures[type(exc).__name__] = run.failures.get(type(exc).__name__, 0) + 1
                close = True
            else:
                t1 = time.perf_counter()
                run.latencies.append(t1 - t0)
                run.statuses[status] = run.statuses.get(status, 0) + 1
                run.last_done = t1
                done[index] += 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _main(run: Run, host: str, port: int, concurrency: int, ramp_s: float) -> list[int]:
    done = [0] * concurrency
    step = ramp_s / concurrency
    await asyncio.gather(*(_connection(run, host, port, done, i, i * step) for i in range(concurrency)))
    return done


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def load(
    host: str,
    port: int,
    path: str,
    body: bytes,
    concurrency: int,
    duration_s: float,
    tokens: list[str] | None = None,
    ramp_s: float = 0.0,
) -> dict:
    """``ramp_s``: connections open one after another over this time (0: all at once), as a client's
    pool grows; with all at once, one gevent worker may accept every connection (see bench/README.md)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
    ).encode()
    start = time.perf_counter()
    run = Run(head, body, tokens or [], start + duration_s)
    per_connection = asyncio.run(_main(run, host, port, concurrency, ramp_s))
    elapsed = (run.last_done or time.perf_counter()) - start  # requests in flight at the deadline finish
    ordered = sorted(run.latencies)
    ok = sum(n for status, n in run.statuses.items() if 200 <= status < 300)
    return {
        "concurrency": concurrency,
        "requests": len(ordered),
        "ok": ok,
        "errors": len(ordered) - ok + sum(run.failures.values()),
        "statuses": {str(k): v for k, v in sorted(run.statuses.items())},
        "failures": run.failures,
        "elapsed_s": elapsed,
        "rps": len(ordered) / elapsed if elapsed > 0 else 0.0,
        "mean_ms": statistics.fmean(ordered) * 1e3 if ordered else float("nan"),
        "p50_ms": _pct(ordered, 0.50) * 1e3,
        "p90_ms": _pct(ordered, 0.90) * 1e3,
        "p99_ms": _pct(ordered, 0.99) * 1e3,
        "max_ms": ordered[-1] * 1e3 if ordered else float("nan"),
        "per_connection": per_connection,
        "tokens_exhausted": run.exhausted,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--body", type=Path, required=True)
    ap.add_argument("--tokens", type=Path, help="one bearer token per line, each used once")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--ramp", type=float, default=0.0, help="seconds over which the connections open")
    args = ap.parse_args(argv)
    tokens = args.tokens.read_text().split() if args.tokens else None
    result = load(
        args.host,
        args.port,
        args.path,
        args.body.read_bytes(),
        args.concurrency,
        args.duration,
        tokens,
        args.ramp,
    )
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
