"""The app's server-side sessions: in the service's database (SQLite file or PostgreSQL), seen by every
process, keyed by a hash of the cookie's id, expiring, and a down database is a clear 503 page."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from service.app import create_app
from service.trajectory import routes
from service.trajectory.sessions import (
    TABLE,
    PostgresSessions,
    SessionStore,
    SessionStoreError,
    SqliteSessions,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_args(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(kind, target): a SQLite file, or a PostgreSQL URL whose search_path is a throw-away schema (on
    ``pg_url``: the session's throwaway cluster, or the server NMD_CDS_TEST_PG_URL names)."""
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "var" / "service.sqlite3")
        return
    pg_url: str = request.getfixturevalue("pg_url")
    schema = f"traj_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {pg_url} is unreachable ({exc})", pytrace=False)
    options = f"options=-csearch_path%3D{schema}"
    yield "postgres", f"{pg_url}{'&' if '?' in pg_url else '?'}{options}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def open_store(kind: str, target: str) -> SessionStore:
    return SqliteSessions(target) if kind == "sqlite" else PostgresSessions(target)


def rows(store: SessionStore) -> list[tuple]:
    with store._tx() as cur:
        cur.execute(f"SELECT id_hash, expires_at, data FROM {TABLE}")
        return list(cur.fetchall())


def test_create_get_rotate_delete(store_args):
    store = open_store(*store_args)
    sid = store.create({"stage": "authorizing", "state": "s1"}, 60)
    assert store.get(sid) == {"stage": "authorizing", "state": "s1"}
    assert store.get("not-a-session") is None and store.get(None) is None and store.get("") is None
    new = store.rotate(sid, {"stage": "ready", "patient": "p"}, 60)
    assert new != sid and store.get(sid) is None and store.get(new) == {"stage": "ready", "patient": "p"}
    store.delete(new)
    assert store.get(new) is None


def test_the_table_holds_hashes_not_the_cookies_ids(store_args):
    store = open_store(*store_args)
    sid = store.create({"x": 1}, 60)
    (stored,) = rows(store)
    assert sid not in repr(stored) and len(stored[0]) == 64


def test_sessions_expire_and_expired_rows_are_deleted_on_the_next_write(store_args):
    now = [1_000_000.0]
    store = open_store(*store_args)
    store.now = lambda: now[0]
    old = store.create({"n": 1}, 60)
    now[0] += 61
    assert store.get(old) is None
    store.create({"n": 2}, 60)
    assert len(rows(store)) == 1


def test_another_process_sees_the_session(store_args):
    """gunicorn's workers are processes: a session made in one is read in another."""
    kind, target = store_args
    sid = open_store(kind, target).create({"stage": "ready", "patient": "p-42"}, 60)
    code = (
        "import sys, json\n"
        "from service.trajectory.sessions import SqliteSessions, PostgresSessions\n"
        "kind, target, sid = sys.argv[1:4]\n"
        "store = SqliteSessions(target) if kind == 'sqlite' else PostgresSessions(target)\n"
        "print(json.dumps(store.get(sid)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, kind, target, sid], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"stage": "ready", "patient": "p-42"}'


@pytest.mark.parametrize(
    "store",
    [
        SqliteSessions("/proc/nmd-cds-no-such-dir/db.sqlite3"),
        PostgresSessions("postgresql://postgres@127.0.0.1:1/none", connect_timeout_s=2),
    ],
    ids=["sqlite-unwritable", "postgres-down"],
)
def test_a_store_that_is_down_raises_and_the_app_answers_503(store, settings):
    with pytest.raises(SessionStoreError) as caught:
        store.create({}, 60)
    assert "session store" in str(caught.value)
    app = create_app(settings)
    app.extensions[routes.SESSIONS] = store
    browser = app.test_client()
    browser.set_cookie(routes.COOKIE, "abc", path="/app/")
    page = browser.get("/app/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "cannot keep your session" in page.get_data(as_text=True)


def test_the_app_uses_the_services_database(settings, tmp_path):
    sqlite_app = create_app(settings)
    store = sqlite_app.extensions[routes.SESSIONS]
    assert isinstance(store, SqliteSessions) and store.path == settings.sqlite_file()
    elsewhere = settings.with_(database_url="postgresql://postgres@db.example.org/nmd")  # not connected yet
    assert isinstance(routes.open_sessions(elsewhere), PostgresSessions)
