"""Ordinary load on the default SQLite store, and a PostgreSQL outage, under real gunicorn with
authentication on. What clients saw is printed (run with -s) as well as asserted."""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.ops.harness import SERVICE, Client, Instance, base_env, free_port, gunicorn, override, request
from tests.pg_cluster import PgCluster, start_cluster

CONNECTIONS, CALLS = 16, 2000


def _worker(inst: Instance, calls: int, seen: Counter[str], errors: list[str], lock: threading.Lock) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=60)  # kept alive, like an EHR
    client = Client(inst.port, inst.base_url, conn=conn, timeout=60)
    pending: list[dict[str, Any]] = []
    for i in range(calls):
        try:
            if i % 4 == 3 and pending:  # a quarter of the calls are feedback on cards just received
                status, body = client.feedback([override(pending.pop())])
                kind = "feedback"
            else:
                status, body = client.cards(f"load-{threading.get_ident() % 1000}-{i % 7}")
                kind = "cards"
                pending += body.get("cards", [])[:1]
        except (OSError, http.client.HTTPException) as exc:
            status, kind, body = -1, "error", {"error": type(exc).__name__}
        with lock:
            seen[f"{kind} {status}"] += 1
            if status != 200:
                errors.append(f"{kind} {status} {json.dumps(body)[:200]}")
    conn.close()


def test_2000_calls_at_16_connections_on_sqlite_refuse_no_valid_client(tmp_path: Path) -> None:
    with gunicorn(base_env(tmp_path, free_port()), tmp_path) as inst:
        seen: Counter[str] = Counter()
        errors: list[str] = []
        lock = threading.Lock()
        per = CALLS // CONNECTIONS
        threads = [
            threading.Thread(target=_worker, args=(inst, per, seen, errors, lock)) for _ in range(CONNECTIONS)
        ]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join(600)
        elapsed = time.monotonic() - t0
        ledger_errors = sum(1 for line in inst.lines() if line.get("event") == "ledger_error")
    print(
        f"\nSQLite, {CONNECTIONS} connections: {dict(seen)} in {elapsed:.1f} s; "
        f"ledger errors {ledger_errors}",
        file=sys.stderr,
    )
    assert sum(seen.values()) == CALLS
    assert errors == []  # 0 refusals: every card call and every feedback post answered 200


# --- a PostgreSQL outage -----------------------------------------------------------------------------------


@pytest.fixture
def cluster() -> Any:
    c = start_cluster()
    yield c
    c.close()


def _probe(inst: Instance, client: Client, card: dict[str, Any]) -> dict[str, Any]:
    """What each kind of client sees right now."""
    out: dict[str, Any] = {}
    status, headers, _ = client.call("POST", SERVICE, {"hook": "patient-view"} | _hook())
    out["card call"] = (status, headers.get("retry-after"))
    status, headers, _ = client.call("GET", "/cds-services")
    out["discovery"] = (status, headers.get("retry-after"))
    status, headers, _ = client.call("POST", SERVICE + "/feedback", {"feedback": [override(card)]})
    out["feedback"] = (status, headers.get("retry-after"))
    status, headers, body = request("GET", inst.port, "/readyz")
    out["readyz"] = (status, json.loads(body)["status"])
    out["healthz"] = request("GET", inst.port, "/healthz")[0]
    return out


def _hook() -> dict[str, Any]:
    from tests.ops.harness import hook_body

    return hook_body("pt-outage")


def test_database_outage_is_503_with_retry_after_and_not_ready(tmp_path: Path, cluster: PgCluster) -> None:
    env = base_env(tmp_path, free_port(), NMD_CDS_DATABASE_URL=cluster.url)
    with gunicorn(env, tmp_path) as inst:
        client = Client(inst.port, inst.base_url)
        status, body = client.cards("pt-outage")
        assert status == 200 and body["cards"]
        card = body["cards"][0]
        up = _probe(inst, client, card)
        cluster.stop()
        down = [_probe(inst, client, card) for _ in range(3)]
        cluster.start()
        deadline = time.monotonic() + 30
        back = _probe(inst, client, card)
        while back["readyz"][0] != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            back = _probe(inst, client, card)
        errors = sum(1 for line in inst.lines() if line.get("event") == "replay_store_error")
        metrics = request("GET", inst.port, "/metrics")[2].decode()
    print(
        f"\nbefore: {up}\nduring the outage: {down}\nafter: {back}; replay store errors logged: {errors}",
        file=sys.stderr,
    )
    assert up == {
        "card call": (200, None),
        "discovery": (200, None),
        "feedback": (200, None),
        "readyz": (200, "ready"),
        "healthz": 200,
    }
    for seen in down:
        assert seen == {
            "card call": (503, "5"),
            "discovery": (503, "5"),
            "feedback": (503, "5"),
            "readyz": (503, "not_ready"),
            "healthz": 200,
        }
    assert back["readyz"] == (200, "ready")
    assert back["card call"] == back["discovery"] == back["feedback"] == (200, None)
    assert 'nmd_cds_store_errors_total{operation="replay_check",store="replay"}' in metrics


def test_cards_sent_while_the_ledger_was_down_take_feedback_once_it_is_back(
    tmp_path: Path, cluster: PgCluster
) -> None:
    """Authentication off (the replay store would 503 every call): cards still go out during the
    outage, are recorded when the database returns, and their feedback is stored, none lost."""
    env = base_env(
        tmp_path, free_port(), NMD_CDS_DATABASE_URL=cluster.url, NMD_CDS_AUTH="off", NMD_CDS_DEV_MODE="on"
    )
    with gunicorn(env, tmp_path) as inst:
        client = Client(inst.port, inst.base_url)
        assert client.cards("pt-warm")[0] == 200
        cluster.stop()
        during = [client.cards(f"pt-down-{i}") for i in range(6)]  # new connections: both workers
        cluster.start()
        cards = [card for status, body in during for card in body["cards"]]
        assert [status for status, _ in during] == [200] * 6 and cards
        answers: Counter[int] = Counter()
        stored = 0
        for card in cards:  # an EHR retries 503 after Retry-After (shortened here); 422 would be final
            for _ in range(40):
                status, body = client.feedback([override(card)])
                answers[status] += 1
                if status != 503:
                    break
                time.sleep(0.5)
            assert status == 200, body
            stored += body["stored"]
    with psycopg.connect(cluster.url) as conn:
        rows = conn.execute("SELECT count(*) FROM feedback").fetchone()[0]
    print(
        f"\ncards sent during the outage: {len(cards)}; feedback answers {dict(answers)}; rows {rows}",
        file=sys.stderr,
    )
    assert stored == len(cards) and rows == len(cards)
