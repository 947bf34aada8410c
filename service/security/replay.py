"""Replay protection: a ``jti`` is accepted once per issuer until its token expires.

The cache lives in the process. Several gunicorn workers each keep their own, so a token replayed to
another worker would be accepted there: run one worker with threads, use sticky routing, or put a
shared store (Redis, PostgreSQL) behind the same ``seen_before`` interface. See docs/security.md.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable


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

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            _, key = heapq.heappop(self._heap)
            self._expiry.pop(key, None)

    def __len__(self) -> int:
        return len(self._expiry)
