"""The card path never waits long on the store, and start-up leaves no connection to inherit."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from service.app import create_app
from service.config import Settings
from service.feedback.ledger import FeedbackLedger, create_ledger
from service.feedback.sql_store import SqlStore
from tests import builders as b
from tests.conftest import TODAY
from tests.feedback.conftest import StoreSpec, settings_for
from tests.feedback.helpers import SERVICE, card, finding

# Not a speed bound: a liveness guard, shorter than the old 10 s (SQLite) / 5 s (PostgreSQL) waits.
GUARD_S = 4.0


@contextmanager
def locked(spec: StoreSpec) -> Iterator[None]:
    """Another process holding the write lock (SQLite) or the card table (PostgreSQL)."""
    if spec.kind == "sqlite":
        other = sqlite3.connect(spec.target, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    with psycopg.connect(spec.target) as conn:  # not autocommit: the lock lasts until rollback
        table = sql.Identifier(spec.schema or "", "issued_card")
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
        try:
            yield
        finally:
            conn.rollback()


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()), daemon=True)
    thread.start()
    return thread, out


def test_locked_store_does_not_stall_the_ledger(store: SqlStore, store_spec: StoreSpec, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="nmd_cds.feedback")
    ledger = FeedbackLedger(store, b"k", 180, 7)
    issued = [(finding(), card())]
    with locked(store_spec):
        thread, out = _in_thread(
            lambda: ledger.filter_and_record(issued, patient_id="p", hook_instance="h", service_id=SERVICE)
        )
        thread.join(GUARD_S)
        finished_under_lock = not thread.is_alive()
    thread.join()
    assert finished_under_lock, "the card path waited on the lock like the feedback endpoint does"
    assert out == [[c for _, c in issued]]  # cards sent unfiltered
    assert [r.event for r in caplog.records] == ["ledger_error"]


def test_card_call_returns_cards_while_sqlite_is_locked(settings: Settings, caplog) -> None:
    client = create_app(settings).test_client()
    caplog.set_level(logging.ERROR, logger="nmd_cds.feedback")
    body = b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))
    with locked(StoreSpec("sqlite", settings.sqlite_path)):
        thread, out = _in_thread(lambda: client.post("/cds-services/nmd-bone-health", json=body))
        thread.join(GUARD_S)
        finished_under_lock = not thread.is_alive()
    thread.join()
    assert finished_under_lock
    [resp] = out
    assert resp.status_code == 200 and resp.get_json()["cards"]
    assert [r.event for r in caplog.records if r.name == "nmd_cds.feedback"] == ["ledger_error"]


def _wait_setting(store: SqlStore, conn: Any) -> str:
    query = "PRAGMA busy_timeout" if store.dialect == "sqlite" else "SHOW statement_timeout"
    return str(conn.execute(query).fetchone()[0])


@pytest.mark.parametrize(
    "path, sqlite_wait, postgres_wait",
    [("card call (issue)", "250", "250ms"), ("feedback (record_feedback)", "10000", "5s")],
)
def test_each_path_waits_its_own_time(
    store: SqlStore, path: str, sqlite_wait: str, postgres_wait: str
) -> None:
    """Observed inside the operation's own transaction, on the connection it uses."""
    seen: list[str] = []
    if path.startswith("card"):
        rec = finding()
        ledger = FeedbackLedger(store, b"k", 180, 7)
        real_decide = ledger._decide

        def spy(records, past, now):
            seen.append(_wait_setting(store, store.active_connection()))
            return real_decide(records, past, now)

        ledger._decide = spy  # type: ignore[method-assign]
        ledger.filter_and_record([(rec, card())], patient_id="p", hook_instance="h", service_id=SERVICE)
    else:
        with store._tx() as cur:  # the same transaction setup record_feedback uses
            seen.append(_wait_setting(store, cur))
    assert seen == [sqlite_wait if store.dialect == "sqlite" else postgres_wait]


def test_create_ledger_leaves_no_connection_open(store_spec: StoreSpec, settings: Settings) -> None:
    """gunicorn preloads the app: a connection opened in the master would be shared by every worker."""
    ledger = create_ledger(settings_for(store_spec, settings))
    store = ledger.store
    assert isinstance(store, SqlStore) and store._ready  # migrated at start-up
    assert store._pool.idle() == 0 and store.active_connection() is None  # migrated, then closed
    issued = [(finding(), card())]
    assert ledger.filter_and_record(issued, patient_id="p", hook_instance="h", service_id=SERVICE)
    assert [r.card_uuid for r in store.report_rows("0000", "9999")] == [issued[0][1]["uuid"]]
    store.close()


def test_cards_sent_while_the_store_was_locked_are_recorded_and_take_feedback(
    store_spec: StoreSpec, settings: Settings, caplog
) -> None:
    """In one process: the card call does not wait, the cards are kept, and the feedback endpoint records
    them before it would call them unknown (no 422, nothing lost)."""
    caplog.set_level(logging.ERROR, logger="nmd_cds.feedback")
    app = create_app(settings_for(store_spec, settings))
    client = app.test_client()
    ledger = app.extensions["nmd_cds_engine"].ledger
    body = b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))
    with locked(store_spec):
        cards = client.post("/cds-services/nmd-bone-health", json=body).get_json()["cards"]
    assert cards and ledger.pending() == len(cards)
    item = {
        "card": cards[0]["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-21T10:00:00Z",
        "overrideReason": {"reason": {"code": "patient-declined"}},
    }
    resp = client.post("/cds-services/nmd-bone-health/feedback", json={"feedback": [item]})
    assert resp.status_code == 200 and resp.get_json() == {"stored": 1, "duplicates": 0}
    assert ledger.pending() == 0
    assert {r.card_uuid for r in ledger.store.report_rows("0000", "9999")} == {c["uuid"] for c in cards}
    ledger.store.close()
