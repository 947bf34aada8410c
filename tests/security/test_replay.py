"""Replay protection shared by worker processes: a jti used in one process is refused in every other one,
on SQLite and PostgreSQL; a replay store that cannot answer refuses the token (fail closed)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import psycopg
import pytest

from service import dbpool
from service.app import create_app
from service.config import Settings
from service.errors import Unauthorized, Unavailable
from service.security.auth import Authenticator
from service.security.replay import ReplayStoreError
from service.security.replay_store import SqliteReplayStore
from tests.security import tokens as t
from tests.security.conftest import app_settings
from tests.security.replay_workers import serve

BASE = "https://cds.example.org"
NOW = 1_800_000_000.0


def discovery_header() -> dict[str, str]:
    return {"Authorization": t.bearer(t.token(t.key("ES256"), aud=BASE + "/cds-services"))}


# --- the store itself -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "earlier, now, expected",
    [
        ([], NOW, False),  # first use
        ([("iss-a", "j1", NOW + 60)], NOW, True),  # live row: replay
        ([("iss-b", "j1", NOW + 60)], NOW, False),  # same jti from another issuer
        ([("iss-a", "j1", NOW - 1)], NOW, False),  # expired row, not yet purged: taken over
        ([("iss-a", "j1", NOW - 1), ("iss-a", "j1", NOW + 60)], NOW, True),  # ... and then live again
    ],
)
def test_sqlite_store_answers_seen_before(tmp_path: Path, earlier, now, expected) -> None:
    store = SqliteReplayStore(tmp_path / "db.sqlite3", clock=lambda: now)
    for iss, jti, exp in earlier:
        store.seen_before(iss, jti, exp)
    assert store.seen_before("iss-a", "j1", NOW + 60) is expected


def test_sqlite_store_purges_expired_rows_every_n_inserts(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    clock = [NOW]
    store = SqliteReplayStore(path, purge_every=3, clock=lambda: clock[0])
    store.seen_before("iss", "old", NOW + 10)
    clock[0] = NOW + 100
    store.seen_before("iss", "a", NOW + 200)
    assert _jtis(path) == {"old", "a"}
    store.seen_before("iss", "b", NOW + 200)  # third insert: purge
    assert _jtis(path) == {"a", "b"}


def _jtis(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT jti FROM jwt_replay")}


def test_store_connects_on_first_use_not_in_create_app(tmp_path: Path, issuers_path: Path) -> None:
    # gunicorn preloads the app in the master: a connection opened there would be shared by forked workers.
    settings = app_settings(tmp_path, trusted_issuers_file=str(issuers_path), base_url=BASE)
    client = create_app(settings).test_client()
    assert "jwt_replay" not in _tables(Path(settings.sqlite_path))
    assert client.get("/cds-services", headers=discovery_header()).status_code == 200
    assert "jwt_replay" in _tables(Path(settings.sqlite_path))


def _tables(path: Path) -> set[str]:
    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_connection_is_reopened_after_a_fork(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqliteReplayStore(tmp_path / "db.sqlite3")
    store.seen_before("iss", "j1", 4e9)
    [parent_conn] = store._pool._idle
    monkeypatch.setattr(dbpool.os, "getpid", lambda: -1)  # what a forked child sees
    assert store.seen_before("iss", "j1", 4e9) is True  # the child still sees the parent's row
    assert store._pool._idle and store._pool._idle[0] is not parent_conn
    parent_conn.execute("SELECT 1")  # the parent's connection was left alone, not closed by the child


# --- fail closed ------------------------------------------------------------------------------------------


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    SqliteReplayStore(path).seen_before("iss", "warm-up", 4e9)  # create the table first
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@pytest.mark.parametrize(
    "case",
    ["sqlite path unusable", "sqlite locked by another writer", "postgres unreachable"],
)
def test_replay_store_unavailable_means_503_not_401(tmp_path: Path, issuers_path: Path, case: str) -> None:
    (tmp_path / "a-file").write_text("")
    db = tmp_path / "db.sqlite3"
    settings = {
        "sqlite path unusable": Settings(sqlite_path=str(tmp_path / "a-file" / "db.sqlite3")),
        "sqlite locked by another writer": Settings(sqlite_path=str(db)),
        "postgres unreachable": Settings(database_url="postgresql://postgres@127.0.0.1:1/test"),
    }[case].with_(trusted_issuers_file=str(issuers_path))
    auth = Authenticator(settings)
    token = t.bearer(t.token(t.key("ES256")))
    with write_locked(db) if "locked" in case else nullcontext():
        with pytest.raises(Unavailable) as info:
            auth.verify(token, t.AUD)
    assert info.value.status == 503 and info.value.headers() == {"Retry-After": "5"}
    if case == "sqlite locked by another writer":  # the store is back: the same token is accepted once
        auth.verify(token, t.AUD)
        with pytest.raises(Unauthorized):
            auth.verify(token, t.AUD)


def test_store_error_is_raised_not_swallowed(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ReplayStoreError, match="SQLite"):
        SqliteReplayStore(tmp_path / "a-file" / "db.sqlite3").seen_before("iss", "j", 4e9)


# --- two worker processes ---------------------------------------------------------------------------------


@contextmanager
def workers(settings: Settings, n: int = 2) -> Iterator[list]:
    ctx = multiprocessing.get_context("spawn")
    procs, pipes = [], []
    try:
        for _ in range(n):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=serve, args=(settings, theirs), daemon=True)
            proc.start()
            procs.append(proc)
            pipes.append(mine)
        for pipe in pipes:
            assert pipe.poll(60), "worker did not start"
            assert pipe.recv() == "ready"
        yield pipes
    finally:
        for pipe in pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()


def get(pipe, headers: dict[str, str]) -> int:
    pipe.send(("/cds-services", headers))
    assert pipe.poll(60), "worker did not answer"
    return pipe.recv()


def _replay_across(settings: Settings) -> None:
    with workers(settings) as (a, b):
        first = discovery_header()
        assert [get(a, first), get(b, first), get(a, first)] == [200, 401, 401]
        second = discovery_header()
        assert [get(b, second), get(a, second)] == [200, 401]


def test_token_used_in_one_process_is_refused_in_another_sqlite(tmp_path: Path, issuers_path: Path) -> None:
    _replay_across(app_settings(tmp_path, trusted_issuers_file=str(issuers_path), base_url=BASE))


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    schema = f"nmd_replay_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {pg_url} is unreachable ({exc})", pytrace=False)
    yield schema
    with psycopg.connect(pg_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
def test_token_used_in_one_process_is_refused_in_another_postgres(
    tmp_path: Path, issuers_path: Path, pg_url: str, pg_schema: str
) -> None:
    url = f"{pg_url}?options=-csearch_path%3D{pg_schema}"
    _replay_across(
        app_settings(tmp_path, trusted_issuers_file=str(issuers_path), base_url=BASE, database_url=url)
    )
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM jwt_replay").fetchone() == (2,)
