"""Server-side sessions of the trajectory app, kept in the service's database so every worker sees them.

gunicorn runs several worker processes: the launch, the OAuth callback and the page view of one user
may land in different ones, so sessions live in the service's database (the SQLite file or the
PostgreSQL URL of the settings), in this module's own table ``trajectory_session``. The browser holds
only an opaque random id (HTTP-only, SameSite=Lax cookie); rows are keyed by the SHA-256 of that id,
so a copy of the table cannot be used to ride a session. A row holds JSON: the launch state (PKCE
verifier, OAuth state, token endpoint) and, after authorization, the access token and the patient in
context. Rows expire (``app_session_ttl_s``, never later than their token) and expired rows are
deleted on every write. One short connection per operation: the app makes a handful per page view.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.config import Settings

TABLE = "trajectory_session"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "id_hash TEXT PRIMARY KEY, expires_at DOUBLE PRECISION NOT NULL, data TEXT NOT NULL)"
)


class SessionStoreError(Exception):
    """The database did not answer; the message is safe to log (no ids, no tokens)."""


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


class SessionStore(ABC):
    """create / get / rotate / delete sessions; ``now`` is injectable so tests can expire them."""

    placeholder = "?"

    def __init__(self, now: Callable[[], float] = time.time):
        self.now = now
        self._ready = False

    @abstractmethod
    def _cursor(self) -> Any:
        """A context manager yielding a cursor inside one committed transaction."""

    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._cursor() as cur:
            if not self._ready:
                cur.execute(CREATE)
                self._ready = True
            yield cur

    def create(self, data: dict[str, Any], ttl_s: float) -> str:
        """A new session holding ``data``; returns its id (for the cookie only)."""
        sid = secrets.token_urlsafe(32)
        now = self.now()
        with self._tx() as cur:
            cur.execute(self._q(f"DELETE FROM {TABLE} WHERE expires_at <= ?"), (now,))
            cur.execute(
                self._q(f"INSERT INTO {TABLE} (id_hash, expires_at, data) VALUES (?, ?, ?)"),
                (_hash(sid), now + ttl_s, json.dumps(data)),
            )
        return sid

    def get(self, sid: str | None) -> dict[str, Any] | None:
        """The session's data, or None when there is no such session or it has expired."""
        if not sid:
            return None
        with self._tx() as cur:
            cur.execute(
                self._q(f"SELECT data FROM {TABLE} WHERE id_hash = ? AND expires_at > ?"),
                (_hash(sid), self.now()),
            )
            row = cur.fetchone()
        return json.loads(row[0]) if row else None

    def rotate(self, sid: str, data: dict[str, Any], ttl_s: float) -> str:
        """Replace a session by a new one (new id, new data): the id used before login dies with it."""
        self.delete(sid)
        return self.create(data, ttl_s)

    def delete(self, sid: str | None) -> None:
        if not sid:
            return
        with self._tx() as cur:
            cur.execute(self._q(f"DELETE FROM {TABLE} WHERE id_hash = ?"), (_hash(sid),))


class SqliteSessions(SessionStore):
    def __init__(self, path: str | Path, now: Callable[[], float] = time.time):
        super().__init__(now)
        self.path = Path(path)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise SessionStoreError(f"session store unavailable: {type(exc).__name__}") from exc
        try:
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            yield cur
            cur.execute("COMMIT")
        except sqlite3.Error as exc:
            raise SessionStoreError(f"session store failed: {type(exc).__name__}") from exc
        finally:
            conn.close()


class PostgresSessions(SessionStore):
    placeholder = "%s"

    def __init__(self, url: str, now: Callable[[], float] = time.time, connect_timeout_s: int = 5):
        super().__init__(now)
        self.url = url
        self.connect_timeout_s = connect_timeout_s

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout_s)
        except psycopg.Error as exc:
            raise SessionStoreError(f"session store unavailable: {type(exc).__name__}") from exc
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except psycopg.errors.UniqueViolation as exc:  # two workers creating the table at once
            self._ready = False
            raise SessionStoreError("session store busy: retry") from exc
        except psycopg.Error as exc:
            raise SessionStoreError(f"session store failed: {type(exc).__name__}") from exc
        finally:
            conn.close()


def open_sessions(settings: Settings) -> SessionStore:
    """The store of the service's database: PostgreSQL when ``database_url`` is set, else SQLite."""
    if settings.database_url:
        return PostgresSessions(settings.database_url)
    return SqliteSessions(settings.sqlite_file())
