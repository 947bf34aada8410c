"""Fixtures: the same store tests run against SQLite (a temp file) and a real PostgreSQL server
(``pg_url``: the session's throwaway cluster or ``NMD_CDS_TEST_PG_URL``; a throw-away schema per test,
dropped afterwards). PostgreSQL cases are marked ``postgres`` and fail with a clear message when the
server does not answer."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from service.config import Settings
from service.feedback.postgres_store import PostgresStore
from service.feedback.sql_store import SqlStore
from service.feedback.sqlite_store import SqliteStore


@dataclass(frozen=True)
class StoreSpec:
    """How to open the store under test; picklable, so child processes can open their own."""

    kind: str  # sqlite | postgres
    target: str  # file path or URL
    schema: str | None = None

    def open(self) -> SqlStore:
        if self.kind == "sqlite":
            return SqliteStore(self.target)
        return PostgresStore(self.target, schema=self.schema)


def _require_postgres(url: str) -> None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL at {url} is unreachable ({exc}); the feedback tests need it "
            "(unset NMD_CDS_TEST_PG_URL to let the tests start their own, or point it at a running server)",
            pytrace=False,
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    if request.param == "sqlite":
        yield StoreSpec("sqlite", str(tmp_path / "db" / "feedback.sqlite3"))
        return
    pg_url: str = request.getfixturevalue("pg_url")
    _require_postgres(pg_url)
    spec = StoreSpec("postgres", pg_url, f"nmd_test_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    yield spec
    cleanup = PostgresStore(pg_url, schema=spec.schema)
    cleanup.drop_schema()
    cleanup.close()


@pytest.fixture
def make_store(store_spec: StoreSpec) -> Iterator[Callable[[], SqlStore]]:
    opened: list[SqlStore] = []

    def make() -> SqlStore:
        store = store_spec.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], SqlStore]) -> SqlStore:
    s = make_store()
    s.migrate()
    return s


def settings_for(spec: StoreSpec, base: Settings) -> Settings:
    """App settings whose feedback store is the one under test (PostgreSQL via the URL's search_path)."""
    if spec.kind == "sqlite":
        return base.with_(sqlite_path=spec.target, database_url="")
    return base.with_(database_url=f"{spec.target}?options=-csearch_path%3D{spec.schema}")
