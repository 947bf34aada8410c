"""Real gunicorn instances of the service on loopback, started exactly as scripts/run.sh and the Docker
image start it (``gunicorn -c python:service.gunicorn_conf``), with authentication on and a locally
generated ES384 issuer, plus an HTTP client that signs a fresh token for every request."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import builders as b
from tests.conftest import TODAY
from tests.security import tokens as t

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
SERVICE = "/cds-services/nmd-bone-health"
KEY = t.key("ES384")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def issuers_file(folder: Path) -> Path:
    jwks = t.write_jwks(folder / "jwks.json", KEY)
    return t.write_issuers(folder / "issuers.json", {t.ISS: {"jwks_file": str(jwks)}})


def base_env(folder: Path, port: int, **settings: str) -> dict[str, str]:
    """A clean environment: no NMD_CDS_* from the caller, production mode with auth on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NMD_CDS_", "PROMETHEUS_"))}
    env.update(
        NMD_CDS_HOST="127.0.0.1",
        NMD_CDS_PORT=str(port),
        NMD_CDS_WORKERS="2",
        NMD_CDS_TODAY=TODAY.isoformat(),
        NMD_CDS_BASE_URL=f"http://127.0.0.1:{port}",
        NMD_CDS_TRUSTED_ISSUERS_FILE=str(issuers_file(folder)),
        NMD_CDS_SQLITE_PATH=str(folder / "nmd-cds.sqlite3"),
        NMD_CDS_PATIENT_HASH_SECRET="ops-test-secret",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    env.update(settings)
    return env


@dataclass
class Instance:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    base_url: str

    def lines(self) -> list[dict[str, Any]]:
        """The JSON lines the instance wrote (stdout and stderr); a non-JSON line fails the test."""
        out = []
        for raw in self.log.read_text().splitlines():
            if raw.strip():
                out.append(json.loads(raw))
        return out

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (a crash, not a shutdown)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


@contextmanager
def gunicorn(env: dict[str, str], folder: Path, name: str = "service") -> Iterator[Instance]:
    port = int(env["NMD_CDS_PORT"])
    log = folder / f"{name}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(GUNICORN), "-c", "python:service.gunicorn_conf"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    inst = Instance(port, proc, log, env["NMD_CDS_BASE_URL"])
    try:
        wait_healthy(port, proc, log)
        yield inst
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                inst.kill()


def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"gunicorn exited: {log.read_text()[-2000:]}"
        try:
            status, _, _ = request("GET", port, "/healthz", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not answer /healthz within {limit_s} s")


def token_for(base_url: str, path: str, **claims: Any) -> str:
    return t.token(KEY, aud=base_url + path, **claims)


def request(
    method: str,
    port: int,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; returns (status, headers with lower-case names, body)."""
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    try:
        c.request(method, path, body=data, headers=hdrs)
        resp = c.getresponse()
        payload = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
    finally:
        if own:
            c.close()


@dataclass
class Client:
    """Signs a fresh token per request (aud = base_url + path), as an EHR does."""

    port: int
    base_url: str
    conn: http.client.HTTPConnection | None = None
    timeout: float = 30
    statuses: list[int] = field(default_factory=list)

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": t.bearer(token_for(self.base_url, path)), **kw.pop("headers", {})}
        try:
            out = request(method, self.port, path, body, headers, self.timeout, self.conn, **kw)
        except (OSError, http.client.HTTPException):
            if self.conn is not None:  # a kept-alive connection the server closed: reconnect once
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise
        self.statuses.append(out[0])
        return out

    def cards(self, pid: str = "p1") -> tuple[int, dict[str, Any]]:
        status, headers, payload = self.call("POST", SERVICE, hook_body(pid))
        return status, _json(headers, payload)

    def feedback(self, items: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        status, headers, payload = self.call("POST", SERVICE + "/feedback", {"feedback": items})
        return status, _json(headers, payload)


def _json(headers: dict[str, str], payload: bytes) -> dict[str, Any]:
    """The JSON body; a proxy's own error page (nginx's 502 is HTML) becomes {"raw": ...}."""
    if headers.get("content-type", "").startswith("application/json"):
        return dict(json.loads(payload))
    return {"raw": payload[:200].decode("latin-1")}


def hook_body(pid: str = "p1") -> dict[str, Any]:
    return b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY, pid=pid)), pid=pid)


def override(
    card: dict[str, Any], code: str = "already-done-elsewhere", at: str = "2026-11-21T10:00:00Z"
) -> dict:
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": at,
        "overrideReason": {
            "reason": {"code": code, "system": "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"}
        },
    }
