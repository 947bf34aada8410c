"""Start and stop the real FHIR R4 test server (Medplum's engine on Node 22, see README.md) from Python."""

from __future__ import annotations

import atexit
import os
import platform
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

SERVER_DIR = Path(__file__).resolve().parent
SERVER_SCRIPT = SERVER_DIR / "server.mjs"
INSTALL_HINT = "(cd tests/fhir_server && npm ci --ignore-scripts --no-audit --no-fund)"
_LISTENING = re.compile(r"listening on (http://\S+)")


class FhirServerError(RuntimeError):
    """The test FHIR server could not start, or answered a request with an error."""


def node_binary() -> Path:
    """The Node 22 that package.json installs into node_modules (the machine's own node is too old)."""
    override = os.environ.get("FHIR_TEST_NODE")
    if override:
        return Path(override)
    machine = platform.machine().lower()
    arch = "arm64" if machine in ("aarch64", "arm64") else "x64"
    return SERVER_DIR / "node_modules" / f"node-linux-{arch}" / "bin" / "node"


def _outcome_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:2000]
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        return "; ".join(
            (issue.get("details") or {}).get("text") or issue.get("diagnostics") or issue.get("code", "")
            for issue in body.get("issue", [])
        )
    return str(body)[:2000]


class FhirTestServer:
    """One in-memory FHIR R4 server process on 127.0.0.1 and a free port.

    Attributes once started: ``base_url`` (e.g. ``http://127.0.0.1:41234/fhir``, no trailing slash),
    ``token`` (the bearer token every request must carry, or None for an open server), ``port``,
    ``pid``, ``session`` (a ``requests.Session`` that already sends the token).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_path: str = "/fhir",
        page_size: int | None = None,
        startup_timeout: float = 30.0,
        log_requests: bool = False,
    ) -> None:
        self.token = token
        self.base_path = base_path
        self.page_size = page_size
        self.startup_timeout = startup_timeout
        self.log_requests = log_requests
        self.base_url: str = ""
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self._log_file: Any = None
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/fhir+json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    # --- life cycle -------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def start(self) -> FhirTestServer:
        if self.process is not None:
            return self
        node = node_binary()
        fhir_router = SERVER_DIR / "node_modules" / "@medplum" / "fhir-router"
        if not node.exists() or not fhir_router.exists():
            raise FhirServerError(
                f"The FHIR test server is not installed ({node if not node.exists() else fhir_router} "
                f"is missing). Install it with: {INSTALL_HINT}"
            )
        args = [str(node), str(SERVER_SCRIPT), "--host", "127.0.0.1", "--port", "0", "--watch-stdin"]
        args += ["--base-path", self.base_path]
        if self.page_size is not None:
            args += ["--page-size", str(self.page_size)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FHIR_")}
        if self.token:
            env["FHIR_TOKEN"] = self.token  # not on the command line, so `ps` does not show it
        if self.log_requests:
            env["FHIR_LOG"] = "1"
        fd, log_name = tempfile.mkstemp(prefix="fhir-test-server-", suffix=".log")
        self.log_path = Path(log_name)
        self._log_file = os.fdopen(fd, "wb")
        self.process = subprocess.Popen(
            args,
            cwd=SERVER_DIR,
            env=env,
            stdin=subprocess.PIPE,  # the server exits when this pipe closes, i.e. when we die
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() kills the group
        )
        atexit.register(self.stop)
        try:
            self._wait_until_ready()
        except BaseException as exc:
            log = self.read_log()
            self.stop()
            if not isinstance(exc, Exception):
                raise
            raise FhirServerError(
                f"FHIR test server did not start ({exc}). Is it installed ({INSTALL_HINT})? "
                f"Its output:\n{log}"
            ) from exc
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        assert self.process is not None
        while not self.base_url:
            match = _LISTENING.search(self.read_log())
            if match:
                self.base_url = match.group(1).rstrip("/")
                self.port = int(re.search(r":(\d+)", self.base_url.split("//", 1)[1]).group(1))  # type: ignore[union-attr]
                break
            if self.process.poll() is not None:
                raise FhirServerError(f"exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                raise FhirServerError(f"no 'listening on' line after {self.startup_timeout} s")
            time.sleep(0.05)
        while True:
            try:
                if self.session.get(f"{self.base_url}/metadata", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise FhirServerError("/metadata did not answer 200")
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server (its whole process group) and wait for it. Safe to call more than once."""
        process, self.process = self.process, None
        atexit.unregister(self.stop)
        if process is not None:
            if process.poll() is None:
                for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                    try:
                        os.killpg(process.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        process.wait(timeout=wait)
                        break
                    except subprocess.TimeoutExpired:
                        continue
            else:
                try:  # the leader is gone; make sure nothing else of its group is left
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if process.stdin:
                process.stdin.close()
            process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> FhirTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def read_log(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    # --- data -------------------------------------------------------------------------------------

    def url(self, path: str = "") -> str:
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def load_bundle(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction (or batch) Bundle to the base URL; return the response Bundle.

        Raises FhirServerError with the OperationOutcome text on a non-2xx answer, or when an entry of a
        batch failed.
        """
        response = self.session.post(
            self.base_url, json=bundle, headers={"Content-Type": "application/fhir+json"}, timeout=60
        )
        if not response.ok:
            raise FhirServerError(f"Bundle rejected ({response.status_code}): {_outcome_text(response)}")
        result = response.json()
        failed = []
        for i, entry in enumerate(result.get("entry", [])):
            status = str((entry.get("response") or {}).get("status", ""))
            if status and not status.startswith("2"):
                outcome = (entry.get("response") or {}).get("outcome") or {}
                texts = [
                    (x.get("details") or {}).get("text", x.get("code")) for x in outcome.get("issue", [])
                ]
                failed.append(f"entry {i}: {status} {'; '.join(map(str, texts))}")
        if failed:
            raise FhirServerError("Bundle entries failed: " + " | ".join(failed))
        return result

    def get(self, path_or_url: str, params: Any = None) -> dict[str, Any]:
        """GET a path relative to the base URL (or an absolute URL); raise FhirServerError on non-2xx."""
        url = path_or_url if path_or_url.startswith("http") else self.url(path_or_url)
        response = self.session.get(url, params=params, timeout=30)
        if not response.ok:
            raise FhirServerError(f"GET {url} -> {response.status_code}: {_outcome_text(response)}")
        return response.json()

    def search_all(self, resource_type: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Search and follow the `next` links; return the resources of every page (search mode `match`)."""
        resources: list[dict[str, Any]] = []
        bundle = self.get(resource_type, params)
        for _ in range(10_000):
            resources += [
                e["resource"]
                for e in bundle.get("entry", [])
                if (e.get("search") or {}).get("mode", "match") == "match"
            ]
            next_url = next(
                (link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None
            )
            if not next_url:
                return resources
            bundle = self.get(next_url)
        raise FhirServerError("too many pages")

    def reset(self) -> None:
        """Delete every resource (DELETE <base>/$reset): the server is empty again."""
        response = self.session.delete(self.url("$reset"), timeout=30)
        if not response.ok:
            raise FhirServerError(f"reset failed ({response.status_code}): {_outcome_text(response)}")
