"""A throw-away PostgreSQL cluster for tests that must stop the database (outages) without disturbing the
machine's server on 5432, which other tests share.

``start_cluster()`` runs ``initdb`` in a temporary folder and ``pg_ctl start`` on a free loopback port
(trust authentication, user ``postgres``); ``stop()`` is a fast shutdown and ``start()`` brings the same
data directory back on the same port. initdb and postgres refuse to run as root: as root they run as the
``postgres`` system user. Binaries come from ``pg_config --bindir`` or /usr/lib/postgresql/*/bin.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = "apt-get install -y postgresql"


def _bindir() -> Path:
    candidates: list[str] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise RuntimeError(f"PostgreSQL server binaries (initdb, pg_ctl) not found; install them: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self, base_dir: Path, port: int):
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self._bin = _bindir()
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self._bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            user=self._user,
            timeout=120,
        )
        if done.returncode != 0:
            log = (
                (self.base_dir / "postgres.log").read_text()
                if (self.base_dir / "postgres.log").exists()
                else ""
            )
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-500:]} {log[-500:]}")

    def init(self) -> None:
        if self._user:
            os.chown(self.base_dir, pwd.getpwnam(self._user).pw_uid, -1)
        self._run("initdb", "-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base_dir} -c fsync=off"
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.base_dir / "postgres.log"),
            "-o",
            options,
        )

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))

    def close(self) -> None:
        try:
            self.stop()
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_cluster(base_dir: Path | None = None) -> PgCluster:
    folder = Path(tempfile.mkdtemp(prefix="nmd-pg-", dir=base_dir))
    cluster = PgCluster(folder, _free_port())
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = start_cluster()
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def pg_url(pg_cluster: PgCluster) -> str:
    return pg_cluster.url
