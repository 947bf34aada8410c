"""Shared replay stores: the ``jti`` values seen by every worker process, in the service's database.

gunicorn runs several worker processes; an in-process cache alone would accept a token replayed to another
worker. These stores keep ``(iss, jti, expires_at)`` in table ``jwt_replay`` of the service's database —
SQLite at ``sqlite_path`` or PostgreSQL at ``database_url`` — and answer "seen before" with one atomic
upsert: a live row wins, an expired row is taken over. Expired rows are purged every ``purge_every`` inserts.

Connections come from a pool (``service.dbpool``), opened on first use and never shared across a fork: the
app is preloaded in the gunicorn master, which must not hold a connection its workers would share. Any
database failure raises ``ReplayStoreError``; the token is not accepted (fail closed) and the caller gets
503 with Retry-After, not 401: the client did nothing wrong and may retry.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from service.config import Settings
from service.dbpool import ConnectionPool, quiet_socket
from service.security.replay import LayeredReplay, ReplayCache, ReplayGuard, ReplayStoreError

TABLE = "jwt_replay"
# A request waits at most this long for another writer, then gets 503. The write is tiny: the wait is
# only long under a burst of feedback commits (synchronous=FULL) on the same file.
SQLITE_BUSY_TIMEOUT_MS = 5000
PURGE_EVERY = 500
PG_CONNECT_TIMEOUT_S = 2
PG_STATEMENT_TIMEOUT_MS = 1000
# Any constant: it only has to be the same in every process creating the table.
PG_CREATE_LOCK_ID = 0x4A544952

_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "iss TEXT NOT NULL, jti TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (iss, jti))"
)
# rowcount 1: inserted (or an expired row taken over) — first use; rowcount 0: a live row exists — replay.
_UPSERT = (
    f"INSERT INTO {TABLE} (iss, jti, expires_at) VALUES ({{p}}, {{p}}, {{p}}) "
    f"ON CONFLICT (iss, jti) DO UPDATE SET expires_at = excluded.expires_at "
    f"WHERE {TABLE}.expires_at < {{p}}"
)
_PURGE = f"DELETE FROM {TABLE} WHERE expires_at < {{p}}"


class _SqlReplayStore:
    """The seen-before logic over a pool of connections (``service.dbpool``); subclasses connect."""

    kind = "SQL"
    placeholder = "?"

    def __init__(self, *, purge_every: int = PURGE_EVERY, clock: Callable[[], float] = time.time):
        self._purge_every = purge_every
        self._clock = clock
        self._pool: ConnectionPool[Any] = ConnectionPool(
            self._open, lambda conn: conn.close(), usable=self._usable
        )
        self._inserts = itertools.count(1)

    def seen_before(self, iss: str, jti: str, expires_at: float) -> bool:
        now = self._clock()
        p = self.placeholder
        # One retry on a fresh connection: after a database restart the pooled connection is dead, and
        # the upsert on it was never applied (autocommit: a statement that fails commits nothing).
        for attempt in (1, 2):
            try:
                conn = self._pool.acquire()
            except (sqlite3.Error, psycopg.Error, OSError) as exc:
                what = f"{self.kind} replay store unavailable ({type(exc).__name__})"
                raise ReplayStoreError(what) from exc
            try:
                rowcount = conn.execute(_UPSERT.format(p=p), (iss, jti, expires_at, now)).rowcount
                if next(self._inserts) % self._purge_every == 0:
                    self._purge(conn, now)
            except (sqlite3.Error, psycopg.Error, OSError) as exc:
                self._pool.release(conn, broken=True)
                if attempt == 1 and self._connection_lost(conn):
                    self._pool.close()  # the other idle connections went with the server
                    continue
                what = f"{self.kind} replay store failed ({type(exc).__name__}: {exc})"
                raise ReplayStoreError(what) from exc
            self._pool.release(conn)
            return rowcount == 0
        raise AssertionError("unreachable")  # pragma: no cover

    def _purge(self, conn: Any, now: float) -> None:
        try:
            conn.execute(_PURGE.format(p=self.placeholder), (now,))
        except (sqlite3.Error, psycopg.Error):
            pass  # housekeeping only: the jti is recorded; the next purge catches up

    def ping(self) -> None:
        """Raise ReplayStoreError unless the store answers now (readiness)."""
        try:
            with self._pool.connection() as conn:
                conn.execute(f"SELECT count(*) FROM {TABLE} WHERE 1 = 0")
        except (sqlite3.Error, psycopg.Error, OSError) as exc:
            raise ReplayStoreError(f"{self.kind} replay store unavailable ({type(exc).__name__})") from exc

    def _connection_lost(self, conn: Any) -> bool:
        return False

    @staticmethod
    def _usable(conn: Any) -> bool:
        return True

    def _open(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        self._pool.close()


class SqliteReplayStore(_SqlReplayStore):
    """Table ``jwt_replay`` in the SQLite file (WAL mode) the feedback store also uses."""

    kind = "SQLite"

    def __init__(self, path: str | os.PathLike[str], **kwargs: Any):
        super().__init__(**kwargs)
        if str(path) == ":memory:":
            raise ValueError("the replay store needs a file shared by the worker processes")
        self.path = Path(path)

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit (isolation_level=None): each upsert is its own short write transaction.
        conn = sqlite3.connect(
            self.path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_CREATE.replace("DOUBLE PRECISION", "REAL"))
        except sqlite3.Error:
            conn.close()
            raise
        return conn


class PostgresReplayStore(_SqlReplayStore):
    """Table ``jwt_replay`` in the first schema of the connection's search_path (the URL may set it)."""

    kind = "PostgreSQL"
    placeholder = "%s"

    def __init__(self, url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.url = url

    def _connection_lost(self, conn: Any) -> bool:
        return bool(conn.broken or conn.closed)

    @staticmethod
    def _usable(conn: Any) -> bool:
        return quiet_socket(conn)

    def _open(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S)
        try:
            conn.execute(f"SET statement_timeout = {PG_STATEMENT_TIMEOUT_MS}")
            # Concurrent CREATE TABLE IF NOT EXISTS can collide on the catalog: serialise it.
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_CREATE_LOCK_ID,))
                conn.execute(_CREATE)
        except psycopg.Error:
            conn.close()
            raise
        return conn


def replay_guard(settings: Settings, clock: Callable[[], float] = time.time) -> ReplayGuard:
    """The in-process cache in front of the shared store of ``settings``' database (nothing connects yet)."""
    shared: _SqlReplayStore = (
        PostgresReplayStore(settings.database_url, clock=clock)
        if settings.database_url
        else SqliteReplayStore(settings.sqlite_file(), clock=clock)
    )
    return LayeredReplay(ReplayCache(clock=clock), shared)
