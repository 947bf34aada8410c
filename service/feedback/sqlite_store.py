"""SQLite backend: an embedded file (WAL mode), created with its parent directory on first use.

Connections come from the store's pool (lent per transaction; new ones after a fork). Write
transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue on ``busy_timeout`` instead of
failing on a lock upgrade: 10 s for feedback and the CLI, 250 ms for the card path (a quick
transaction), set on the connection before each transaction because one connection serves both.
Card recording runs with ``synchronous=NORMAL`` (durable against a process crash, fast); feedback
commits use ``synchronous=FULL`` because the caller is told they are stored.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.feedback.sql_store import SqlStore
from service.feedback.store import StoreError

BUSY_TIMEOUT_MS = 10_000
QUICK_BUSY_TIMEOUT_MS = 250  # the card path: a locked store must not eat the CDS call's ~500 ms budget


class _Connection(sqlite3.Connection):
    """A connection that remembers its busy timeout and sync mode, so they are set only on change."""

    busy_ms = -1
    synchronous = ""


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
            raise ValueError("the feedback store needs a file (each connection opens it)")
        self.path = Path(path)

    def _open(self) -> _Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the driver never opens transactions behind our back.
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
            factory=_Connection,
        )
        try:
            self._wal(conn)
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _wal(self, conn: _Connection) -> None:
        """Switch the file to WAL. Processes opening a new file at once race for it, and SQLite answers
        the loser "database is locked" without waiting: retried within the busy timeout, and done as
        soon as another process has made the file WAL."""
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.01)

    @staticmethod
    def _configure(conn: _Connection, busy_ms: int, synchronous: str) -> None:
        if conn.busy_ms != busy_ms:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            conn.busy_ms = busy_ms
        if conn.synchronous != synchronous:
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.synchronous = synchronous

    @contextmanager
    def _tx(self, write: bool = True, quick: bool = False, durable: bool = False) -> Iterator[Any]:
        busy_ms = self.quick_busy_timeout_ms if quick else self.busy_timeout_ms
        try:
            conn = self._pool.acquire()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"SQLite store unavailable: {exc}") from exc
        try:
            self._configure(conn, busy_ms, "FULL" if durable else "NORMAL")
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            self._pool.release(conn, broken=True)
            raise StoreError(f"SQLite store unavailable: {exc}") from exc
        self._current.conn = conn
        try:
            yield cur
            cur.execute("COMMIT")
        except sqlite3.Error as exc:
            self._finish(conn, rollback=True)
            raise StoreError(f"SQLite store failed: {exc}") from exc
        except BaseException:
            self._finish(conn, rollback=True)
            raise
        self._finish(conn, rollback=False)

    def _finish(self, conn: _Connection, rollback: bool) -> None:
        self._current.conn = None
        broken = False
        if rollback:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                broken = True
        self._pool.release(conn, broken=broken)
