"""SQLite backend: an embedded file (WAL mode), created with its parent directory on first use.

One connection per thread and process (reconnects after a fork). Write transactions start with
``BEGIN IMMEDIATE`` so concurrent writers queue on ``busy_timeout`` instead of failing on a lock
upgrade: 10 s for feedback and the CLI, 250 ms for the card path (a quick transaction), set on the
connection before each transaction because one thread's connection serves both. Card recording
runs with ``synchronous=NORMAL`` (durable against a process crash, fast); feedback commits use
``synchronous=FULL`` because the caller is told they are stored.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.feedback.sql_store import SqlStore
from service.feedback.store import FeedbackItem, FeedbackResult, StoreError

BUSY_TIMEOUT_MS = 10_000
QUICK_BUSY_TIMEOUT_MS = 250  # the card path: a locked store must not eat the CDS call's ~500 ms budget


class SqliteStore(SqlStore):
    dialect = "sqlite"
    placeholder = "?"
    driver_errors = (sqlite3.Error,)

    def __init__(
        self,
        path: str | os.PathLike[str],
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        quick_busy_timeout_ms: int = QUICK_BUSY_TIMEOUT_MS,
    ):
        super().__init__()
        self.busy_timeout_ms = busy_timeout_ms
        self.quick_busy_timeout_ms = quick_busy_timeout_ms
        if str(path) == ":memory:":
            raise ValueError("the feedback store needs a file (each thread has its own connection)")
        self.path = Path(path)

    def _connect(self, busy_ms: int | None = None) -> sqlite3.Connection:
        """This thread's connection, its busy timeout set to ``busy_ms`` (default: the long one)."""
        busy_ms = self.busy_timeout_ms if busy_ms is None else busy_ms
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            if self._local.busy_ms != busy_ms:
                conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
                self._local.busy_ms = busy_ms
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the driver never opens transactions behind our back.
        conn = sqlite3.connect(
            self.path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._register(conn, busy_ms=busy_ms)
        return conn

    @contextmanager
    def _tx(self, write: bool = True, quick: bool = False) -> Iterator[Any]:
        try:
            conn = self._connect(self.quick_busy_timeout_ms if quick else self.busy_timeout_ms)
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except (sqlite3.Error, OSError) as exc:
            self._drop()
            raise StoreError(f"SQLite store unavailable: {exc}") from exc
        try:
            yield cur
            cur.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise StoreError(f"SQLite store failed: {exc}") from exc
        except BaseException:
            self._rollback(conn)
            raise

    def _rollback(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            self._drop()

    def record_feedback(
        self, service_id: str, items: Sequence[FeedbackItem], received_at: str
    ) -> FeedbackResult:
        self._ensure_ready()
        self._pragma("synchronous = FULL")
        try:
            return super().record_feedback(service_id, items, received_at)
        finally:
            self._pragma("synchronous = NORMAL")

    def _pragma(self, setting: str) -> None:
        try:
            self._connect().execute(f"PRAGMA {setting}")
        except sqlite3.Error as exc:
            self._drop()
            raise StoreError(f"SQLite store failed: {exc}") from exc
