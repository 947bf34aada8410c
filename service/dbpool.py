"""A small pool of database connections, safe for threads, greenlets and fork.

The stores used to keep one connection per thread (``threading.local``). Under gunicorn's gevent workers
``threading.local`` is per greenlet, i.e. per client connection: every HTTP connection would open (and keep)
its own database connections. The pool lends a connection for one transaction and takes it back, so a
process holds as many connections as it runs transactions at once (one under gevent with SQLite, whose
calls never yield; a few with PostgreSQL, whose waits yield to other greenlets).

After a fork the parent's connections are forgotten, never closed or used: gunicorn preloads the app in
the master, and a connection shared by two processes corrupts both sides' protocol state.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

C = TypeVar("C")

MAX_IDLE = 8


class ConnectionPool(Generic[C]):
    def __init__(
        self,
        open_: Callable[[], C],
        close: Callable[[C], None],
        max_idle: int = MAX_IDLE,
        usable: Callable[[C], bool] = lambda conn: True,
    ):
        self._open = open_
        self._close = close
        self._usable = usable  # a cheap check of an idle connection before it is lent (no round trip)
        self._max_idle = max_idle
        self._idle: list[C] = []
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.opened = 0  # connections opened by this process (tests)

    def _forget_if_forked(self) -> None:
        if self._pid != os.getpid():
            self._idle, self._pid, self.opened = [], os.getpid(), 0

    def acquire(self) -> C:
        while True:
            with self._lock:
                self._forget_if_forked()
                idle = self._idle.pop() if self._idle else None
            if idle is None:
                break
            if self._usable(idle):
                return idle
            self._safe_close(idle)  # e.g. the server restarted while it sat idle
        conn = self._open()  # outside the lock: opening may wait on the network
        with self._lock:
            self.opened += 1
        return conn

    def release(self, conn: C, broken: bool = False) -> None:
        with self._lock:
            keep = not broken and self._pid == os.getpid() and len(self._idle) < self._max_idle
            if keep:
                self._idle.append(conn)
        if not keep and self._pid == os.getpid():
            self._safe_close(conn)

    @contextmanager
    def connection(self) -> Iterator[C]:
        """A connection for the block; dropped (closed) if the block raises, returned to the pool if not."""
        conn = self.acquire()
        try:
            yield conn
        except BaseException:
            self.release(conn, broken=True)
            raise
        self.release(conn)

    def idle(self) -> int:
        with self._lock:
            self._forget_if_forked()
            return len(self._idle)

    def close(self) -> None:
        """Close the idle connections (those lent out are closed when they come back past ``max_idle``)."""
        with self._lock:
            self._forget_if_forked()
            conns, self._idle = self._idle, []
        for conn in conns:
            self._safe_close(conn)

    def _safe_close(self, conn: C) -> None:
        try:
            self._close(conn)
        except Exception:  # noqa: BLE001 - a connection that fails to close is gone anyway
            pass


def quiet_socket(conn: Any) -> bool:
    """Whether an idle network connection (psycopg's: ``fileno``, ``broken``, ``closed``) may be lent
    again without a round trip: nothing arrived on it. A restarted PostgreSQL sends its "terminating
    connection" message and closes the socket, which then reads as ready."""
    if getattr(conn, "broken", False) or getattr(conn, "closed", False):
        return False
    try:
        ready, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not ready
