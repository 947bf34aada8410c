"""After PostgreSQL restarts, the connections idle in a process's pools are dead. The first call after
the restart must not get one of them (a 503 for a client that did nothing wrong): an idle connection on
which the server's "terminating connection" arrived is closed, not lent. Real server, restarted."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from service.feedback.postgres_store import PostgresStore
from service.security.replay_store import PostgresReplayStore
from tests.pg_cluster import PgCluster, start_cluster

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    c = start_cluster()
    yield c
    c.close()


def _restart(cluster: PgCluster) -> None:
    cluster.stop()
    cluster.start()
    time.sleep(0.2)  # the old backends' goodbye has reached the client sockets


@pytest.mark.parametrize("idle", [1, 3])
def test_the_feedback_store_answers_the_first_call_after_a_restart(cluster: PgCluster, idle: int) -> None:
    store = PostgresStore(cluster.url)
    try:
        store.migrate()
        held = [store._pool.acquire() for _ in range(idle)]  # several connections idle in the pool
        for conn in held:
            store._pool.release(conn)
        assert store._pool.idle() == idle
        _restart(cluster)
        store.ping()  # would raise StoreError on a dead pooled connection
        assert store.report_rows("2000-01-01", "2100-01-01") == []
    finally:
        store.close()


def test_the_replay_store_answers_the_first_call_after_a_restart(cluster: PgCluster) -> None:
    store = PostgresReplayStore(cluster.url)
    try:
        assert store.seen_before("iss", "jti-1", time.time() + 60) is False
        _restart(cluster)
        store.ping()
        assert store.seen_before("iss", "jti-1", time.time() + 60) is True  # the data survived
    finally:
        store.close()
