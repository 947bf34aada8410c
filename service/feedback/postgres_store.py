"""PostgreSQL backend (psycopg 3): connections from the store's pool, lent per transaction.

Tables live in ``schema`` (created on first use) when one is given; otherwise in the first schema of
the connection's search_path, which a URL can set (``?options=-csearch_path%3Dnmd_cds``) — so tests
and several deployments can share one database. Connections are in autocommit mode and each operation opens
one explicit transaction; a broken connection is dropped and re-opened on the next call. Timeouts
bound how long a slow or unreachable database can delay a caller: 5 s (connect and statement) for
feedback, and for the card path (quick transactions) a 250 ms statement timeout (``SET LOCAL``, so
it ends with the transaction) and a 2 s connect timeout — psycopg's floor, it raises anything lower.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from service.dbpool import quiet_socket
from service.feedback.sql_store import SqlStore
from service.feedback.store import StoreError

# Any constant works: it only has to be the same in every process migrating this database.
MIGRATION_LOCK_ID = 0x4E4D4443
QUICK_CONNECT_TIMEOUT_S = 2  # psycopg (like libpq) treats 1 s as 2 s
QUICK_STATEMENT_TIMEOUT_MS = 250  # the card path: a CDS call has a ~500 ms budget


class PostgresStore(SqlStore):
    dialect = "postgres"
    placeholder = "%s"
    driver_errors = (psycopg.Error,)

    def __init__(
        self,
        url: str,
        schema: str | None = None,
        connect_timeout_s: int = 5,
        statement_timeout_ms: int | None = 5000,
        quick_connect_timeout_s: int = QUICK_CONNECT_TIMEOUT_S,
        quick_statement_timeout_ms: int = QUICK_STATEMENT_TIMEOUT_MS,
    ):
        super().__init__()
        self.quick_connect_timeout_s = quick_connect_timeout_s
        self.quick_statement_timeout_ms = quick_statement_timeout_ms
        self.url = url
        self.schema = schema
        self.connect_timeout_s = connect_timeout_s
        self.statement_timeout_ms = statement_timeout_ms

    def _open(self) -> psycopg.Connection[Any]:
        timeout = getattr(self._current, "connect_timeout_s", self.connect_timeout_s)
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=timeout)
        try:
            if self.schema:
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            if self.statement_timeout_ms:
                conn.execute(
                    sql.SQL("SET statement_timeout = {}").format(sql.Literal(self.statement_timeout_ms))
                )
        except psycopg.Error:
            conn.close()
            raise
        return conn

    @staticmethod
    def _usable(conn: Any) -> bool:
        return quiet_socket(conn)  # after a server restart an idle connection is dead: never lent again

    @contextmanager
    def _tx(self, write: bool = True, quick: bool = False, durable: bool = False) -> Iterator[Any]:
        # A new connection waits the card path's short connect timeout when ``quick``.
        self._current.connect_timeout_s = self.quick_connect_timeout_s if quick else self.connect_timeout_s
        try:
            conn = self._pool.acquire()
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL store unavailable: {type(exc).__name__}") from exc
        self._current.conn = conn
        try:
            with conn.transaction(), conn.cursor() as cur:
                if quick:  # SET LOCAL: back to the session's (long) timeout when the transaction ends
                    cur.execute(
                        sql.SQL("SET LOCAL statement_timeout = {}").format(
                            sql.Literal(self.quick_statement_timeout_ms)
                        )
                    )
                yield cur
        except psycopg.Error as exc:
            self._finish(conn)
            raise StoreError(f"PostgreSQL store failed: {type(exc).__name__}: {exc}") from exc
        except BaseException:
            self._finish(conn)
            raise
        self._finish(conn)

    def _finish(self, conn: psycopg.Connection[Any]) -> None:
        self._current.conn = None
        broken = conn.broken or conn.closed
        self._pool.release(conn, broken=broken)
        if broken:  # the server went away: its other idle connections are dead too
            self._pool.close()

    def _lock_for_migration(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        # Under the lock: concurrent CREATE SCHEMA IF NOT EXISTS can otherwise fail on a unique index.
        schema = self.schema
        if not schema:
            cur.execute("SHOW search_path")
            first = cur.fetchone()[0].split(",")[0].strip().strip('"')
            schema = None if first in ("", "$user") else first
        if schema:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))

    def drop_schema(self) -> None:
        """Remove this store's schema and everything in it (tests and decommissioning only)."""
        if not self.schema:
            raise ValueError("drop_schema needs an explicit schema")
        with self._tx() as cur:
            cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))
        self._ready = False
