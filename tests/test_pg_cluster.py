"""The tests' throwaway PostgreSQL cluster (tests/pg_cluster.py): its life cycle, and the one-line
message when the server binaries are missing."""

from __future__ import annotations

import glob
import shutil

import psycopg
import pytest

from tests import pg_cluster


@pytest.mark.postgres
def test_cluster_stops_starts_again_with_its_data_and_is_deleted_on_close() -> None:
    cluster = pg_cluster.start_cluster()
    try:
        assert cluster.url == f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        assert cluster.port != 5432 and cluster.data_dir.is_dir()
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (x int)")
            conn.execute("INSERT INTO kept VALUES (7)")
        cluster.stop()
        cluster.stop()  # idempotent
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(cluster.url, connect_timeout=3)
        cluster.start()
        with psycopg.connect(cluster.url) as conn:
            assert conn.execute("SELECT x FROM kept").fetchall() == [(7,)]
    finally:
        cluster.close()
    assert not cluster.data_dir.exists()
    cluster.close()  # idempotent


def _no_binaries_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pg_cluster.BINDIR_VARIABLE, raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(glob, "glob", lambda pattern: [])


def test_missing_binaries_give_one_line_naming_the_apt_command(monkeypatch, capsys) -> None:
    _no_binaries_anywhere(monkeypatch)
    monkeypatch.delenv(pg_cluster.URL_VARIABLE, raising=False)
    assert pg_cluster.main() == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install postgresql" in err and "NMD_CDS_TEST_PG_URL" in err


def test_a_given_url_needs_no_binaries(monkeypatch) -> None:
    _no_binaries_anywhere(monkeypatch)
    monkeypatch.setenv(pg_cluster.URL_VARIABLE, "postgresql://postgres@db.example.org/test")
    assert pg_cluster.main() == 0


def test_bindir_setting_wins(monkeypatch, tmp_path) -> None:
    found = pg_cluster.find_bindir()
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("initdb", "pg_ctl", "postgres"):
        (fake / tool).symlink_to(found / tool)
    monkeypatch.setenv(pg_cluster.BINDIR_VARIABLE, str(fake))
    assert pg_cluster.find_bindir() == fake
