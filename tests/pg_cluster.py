"""A throwaway PostgreSQL cluster for the tests, and the session fixture ``pg_url``.

The suite tests the real PostgreSQL backend. When ``NMD_CDS_TEST_PG_URL`` names a server, the tests use
it (each test works in its own schema and drops it afterwards). Otherwise the first test that asks for
``pg_url`` starts a cluster of its own with the machine's PostgreSQL server binaries: ``initdb`` into a
temporary folder, ``pg_ctl start`` on a free loopback port (TCP only, trust authentication), stopped and
deleted at the end of the session. Nothing assumes a server on port 5432.

PostgreSQL refuses to run as root; when the tests run as root (as in CI), the server binaries run as the
``postgres`` system user, which then owns the temporary folder.

``python -m tests.pg_cluster`` checks that the binaries can be found (``scripts/test.sh`` runs it) and
prints one line saying how to install them when they cannot.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

URL_VARIABLE = "NMD_CDS_TEST_PG_URL"
BINDIR_VARIABLE = "NMD_CDS_TEST_PG_BINDIR"
INSTALL_HINT = "sudo apt-get install postgresql"
SYSTEM_USER = "postgres"  # who runs the server when the tests run as root
# Durability is worth nothing in a throwaway cluster; connections are many (processes x threads in tests).
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PgClusterError(RuntimeError):
    """The throwaway cluster could not be created, started or stopped (the message says why)."""


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: ``$NMD_CDS_TEST_PG_BINDIR``, ``pg_config --bindir``,
    the newest ``/usr/lib/postgresql/*/bin`` (Debian, Ubuntu), ``/usr/pgsql-*/bin`` (RHEL), then PATH."""
    candidates: list[Path] = []
    if os.environ.get(BINDIR_VARIABLE):
        candidates.append(Path(os.environ[BINDIR_VARIABLE]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"):
        candidates += sorted(
            (Path(p) for p in glob.glob(pattern)), key=lambda p: _version_key(p.parent.name), reverse=True
        )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PgClusterError(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found: install them ({INSTALL_HINT} on "
        f"Debian/Ubuntu) or set {URL_VARIABLE} to a PostgreSQL server the tests may use"
    )


def _version_key(name: str) -> tuple[int, ...]:
    digits = "".join(c if c.isdigit() else " " for c in name).split()
    return tuple(int(d) for d in digits)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One PostgreSQL cluster in ``data_dir``, listening on ``127.0.0.1:port``.

    ``url`` names the ``postgres`` database (superuser ``postgres``, no password). ``stop()`` is a fast
    shutdown and may be called any number of times; ``start()`` starts the same cluster again (the data
    stays), so a test can simulate an outage. ``close()`` stops it and deletes its folder.
    """

    def __init__(self, base_dir: Path, bindir: Path, port: int, run_as: str | None) -> None:
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.log_path = base_dir / "server.log"
        self.bindir = bindir
        self.port = port
        self.run_as = run_as
        self._owner_pid = os.getpid()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        group = pwd.getpwnam(self.run_as).pw_gid if self.run_as else None
        return subprocess.run(
            [str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base_dir,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            user=self.run_as,
            group=group,
            extra_groups=[] if self.run_as else None,
        )

    def _server_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def initdb(self) -> None:
        done = self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise PgClusterError(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.data_dir)).returncode == 0

    def start(self) -> PgCluster:
        """Start the server and wait until it accepts connections (no-op when it runs already)."""
        if self.running():
            return self
        # pg_ctl hands these to the server through the shell: quote them.
        options = " ".join(f"-c {k}={shlex.quote(v)}" for k, v in SERVER_SETTINGS.items())
        options += f" -p {self.port}"
        done = self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", "60",
            "-o", options,
        )  # fmt: skip
        if done.returncode != 0:
            raise PgClusterError(
                f"pg_ctl start on port {self.port} failed ({done.returncode}): {done.stderr.strip()}\n"
                f"server log:\n{self._server_log()}"
            )
        return self

    def stop(self) -> None:
        """Fast shutdown (open sessions are ended); does nothing when the server is not running."""
        if not self.data_dir.is_dir() or not self.running():
            return
        done = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60")
        if done.returncode != 0 and self.running():
            raise PgClusterError(f"pg_ctl stop failed ({done.returncode}): {done.stderr.strip()}")

    def close(self) -> None:
        """Stop the server and delete its folder."""
        atexit.unregister(self._close_at_exit)
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def _close_at_exit(self) -> None:
        if os.getpid() == self._owner_pid:  # not in a forked child that inherited the handler
            self.close()


def start_cluster(base_dir: Path | None = None) -> PgCluster:
    """Create a cluster in a new temporary folder (inside ``base_dir`` if given) and start it.

    As root, the folder is handed to the ``postgres`` user, who must be able to reach it: a ``base_dir``
    inside a folder only root may enter (such as pytest's ``tmp_path``) will not do.
    """
    bindir = find_bindir()
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            raise PgClusterError(
                f"PostgreSQL refuses to run as root and there is no '{SYSTEM_USER}' user to run it as: "
                f"install the server ({INSTALL_HINT}), which creates it, or set {URL_VARIABLE}"
            ) from None
        run_as = SYSTEM_USER
    base = Path(tempfile.mkdtemp(prefix="nmd-cds-pg-", dir=base_dir))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    cluster = PgCluster(base, bindir, _free_port(), run_as)
    atexit.register(cluster._close_at_exit)
    try:
        cluster.initdb()
        for _ in range(5):  # another process may take the free port before the server binds it
            try:
                return cluster.start()
            except PgClusterError:
                if "could not bind" not in cluster._server_log() and "in use" not in cluster._server_log():
                    raise
                cluster.port = _free_port()
        return cluster.start()
    except BaseException:
        cluster.close()
        raise


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database URL for the tests: ``$NMD_CDS_TEST_PG_URL``, or else a throwaway cluster
    started once per session (on first use) and stopped at its end. Tests must keep to their own schema."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
        return
    try:
        cluster = start_cluster()
    except PgClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield cluster.url
    finally:
        cluster.close()


def main() -> int:
    """Exit 0 when the tests can get a PostgreSQL (a URL is set, or the server binaries are found)."""
    if os.environ.get(URL_VARIABLE):
        return 0
    try:
        find_bindir()
    except PgClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
