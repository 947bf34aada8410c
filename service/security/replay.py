"""Replay protection: a ``jti`` is accepted once per issuer until its token expires.

``ReplayCache`` lives in the process: a fast first check. gunicorn's worker processes each keep their own,
so with authentication on it sits in front of a shared store in the service's database
(``service/security/replay_store.py``, ``LayeredReplay``): a token replayed to another worker is refused there
too. A store that cannot answer raises ``ReplayStoreError``: the token is not accepted (503, retry later) and
not remembered either. See docs/security.md.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Protocol


class ReplayStoreError(Exception):
    """The shared replay store could not answer; the message is safe to log (no token)."""


class ReplayGuard(Protocol):
    def seen_before(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record (iss, jti) until ``expires_at``; True if it was already recorded and has not expired."""
        ...


class ReplayCache:
    def __init__(self, max_entries: int = 200_000, clock: Callable[[], float] = time.time):
        self._expiry: dict[tuple[str, str], float] = {}
        self._heap: list[tuple[float, tuple[str, str]]] = []
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def seen_before(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record (iss, jti) until ``expires_at``; True if it was already recorded and has not expired."""
        key = (iss, jti)
        with self._lock:
            now = self._clock()
            self._purge(now)
            if key in self._expiry:
                return True
            if len(self._expiry) >= self._max:
                # Refuse rather than forget: forgetting a live jti would reopen the replay window.
                return True
            self._expiry[key] = expires_at
            heapq.heappush(self._heap, (expires_at, key))
            return False

    def forget(self, iss: str, jti: str) -> None:
        """Drop (iss, jti): its use was not completed (the shared store could not record it)."""
        with self._lock:
            self._expiry.pop((iss, jti), None)

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            _, key = heapq.heappop(self._heap)
            self._expiry.pop(key, None)

    def __len__(self) -> int:
        return len(self._expiry)


class LayeredReplay:
    """The in-process cache first (a replay to the same worker never reaches the database), then the
    shared store, which alone decides for a jti this process has not seen. Store errors propagate."""

    def __init__(self, local: ReplayCache, store: ReplayGuard):
        self.local = local
        self.store = store  # the database every worker and instance shares

    def seen_before(self, iss: str, jti: str, expires_at: float) -> bool:
        if self.local.seen_before(iss, jti, expires_at):
            return True
        try:
            return self.store.seen_before(iss, jti, expires_at)
        except ReplayStoreError:
            # The client is told to retry (503): the same token must then not be taken for a replay here.
            self.local.forget(iss, jti)
            raise
