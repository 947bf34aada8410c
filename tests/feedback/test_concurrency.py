"""Nothing lost: parallel writers and a writer killed mid-stream, on both backends."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.feedback.store import ts
from tests.feedback.helpers import issued, record
from tests.feedback.workers import post_items, write_forever

PROCESSES, PER_PROCESS = 4, 250


def test_parallel_writers_store_every_acknowledged_item_exactly_once(store) -> None:
    cards = [issued() for _ in range(PROCESSES * PER_PROCESS)]
    record(store, *cards)
    base = datetime(2026, 1, 5, tzinfo=UTC)
    stamps = [ts(base + timedelta(seconds=i)) for i in range(len(cards))]
    uuids = [c.card_uuid for c in cards]
    jobs = []
    for p in range(PROCESSES):
        mine = slice(p * PER_PROCESS, (p + 1) * PER_PROCESS)
        # Every process also re-posts its neighbour's first 50 items: duplicates race with originals.
        nxt = (p + 1) % PROCESSES
        theirs = slice(nxt * PER_PROCESS, nxt * PER_PROCESS + 50)
        jobs.append((uuids[mine] + uuids[theirs], stamps[mine] + stamps[theirs]))
    spec = _spec_of(store)
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results = pool.starmap(post_items, [(spec, u, s) for u, s in jobs])
    acked = {key for result in results for key in result}
    assert len(acked) == len(cards)
    stored = [(i.card_uuid, i.outcome_at) for i in store.feedback_for(uuids)]
    assert len(stored) == len(cards)  # exactly once: no duplicate rows
    assert set(stored) == acked


def test_writer_killed_mid_stream_loses_nothing_it_acknowledged(store, tmp_path: Path) -> None:
    ack_path = tmp_path / "acks.txt"
    spec = _spec_of(store)
    child = multiprocessing.get_context("spawn").Process(target=write_forever, args=(spec, str(ack_path)))
    child.start()
    deadline = time.monotonic() + 60
    while _count(ack_path) < 200 and time.monotonic() < deadline and child.is_alive():
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL  # killed, not finished or crashed on its own
    lines = ack_path.read_text().splitlines()
    assert len(lines) >= 200
    cards = [line.split()[1] for line in lines if line.startswith("card ")]
    acked_feedback = {line.split()[1] for line in lines if line.startswith("feedback ")}
    rows = store.report_rows("2000-01-01T00:00:00.000000Z", "2100-01-01T00:00:00.000000Z")
    assert set(cards) <= {r.card_uuid for r in rows}
    assert acked_feedback <= {i.card_uuid for i in store.feedback_for(cards)}


def _count(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def _spec_of(store):  # the picklable description the conftest used to open this store
    from tests.feedback.conftest import StoreSpec

    if store.dialect == "sqlite":
        return StoreSpec("sqlite", str(store.path))
    return StoreSpec("postgres", store.url, store.schema)
