"""No Docker engine runs here, so run the image's exact start command (CMD, ENV) outside Docker."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dockerfile_instruction(name: str) -> str:
    text = ROOT.joinpath("Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(name + " ")]
    assert lines, f"Dockerfile has no {name}"
    return lines[-1][len(name) + 1 :].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dockerfile_basics():
    text = ROOT.joinpath("Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "/healthz" in dockerfile_instruction("HEALTHCHECK")


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split into build stages at FROM."""
    text = ROOT.joinpath("Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    out: list[list[str]] = []
    for line in lines:
        if line.startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(line)
    return out


def test_base_image_is_pinned_by_version():
    """python:3.X.Y-slim-<debian release>, not a moving tag such as python:3.11-slim."""
    text = ROOT.joinpath("Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    for stage in stages():
        image = stage[0].split()[1]
        image = args.get(image.removeprefix("${").removesuffix("}"), image)
        assert re.fullmatch(r"python:3\.\d+\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?", image), image


def test_final_image_gets_the_installed_environment_only():
    build, *_, final = stages()
    assert len(stages()) >= 2, "multi-stage: install in one stage, copy the result into the final one"
    assert any(re.match(r"COPY --from=\w+ ", line) for line in final)
    assert not any(re.search(r"pip install|apt-get install|gcc|build-essential", line) for line in final)
    installing = " ".join(line for line in build if "pip install" in line or line.startswith("ENV"))
    assert "PIP_NO_CACHE_DIR=1" in installing or "--no-cache-dir" in installing


def test_sqlite_store_is_on_a_volume():
    volumes = json.loads(dockerfile_instruction("VOLUME"))
    sqlite_path = re.search(r"NMD_CDS_SQLITE_PATH=(\S+)", " ".join(stages()[-1])).group(1)  # type: ignore[union-attr]
    assert any(sqlite_path.startswith(v.rstrip("/") + "/") for v in volumes), (sqlite_path, volumes)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or a parent folder decides; ! re-includes."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, c) for c in candidates):
            excluded = not negate
    return excluded


def test_dockerignore_sends_only_what_the_image_needs():
    lines = ROOT.joinpath(".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        ".cache/fhir-r4-examples/package/Patient-example.json",
        "tests/fhir_server/node_modules/@medplum/core/package.json",
        "node_modules/x/index.js",
        "var/nmd-cds.sqlite3",
        "service/__pycache__/app.cpython-311.pyc",
        "service/cds_hooks/__pycache__/routes.cpython-311.pyc",
        "nmd_cds.egg-info/PKG-INFO",
    ):
        assert dockerignored(path, patterns), f"{path} would be sent to the Docker daemon"
    for path in (
        "pyproject.toml",
        "README.md",
        "service/app.py",
        "service/cds_hooks/schemas/response.schema.json",
    ):
        assert not dockerignored(path, patterns), f"{path} is needed by the build"


def test_image_start_command_serves_health_and_requires_auth(tmp_path):
    cmd = json.loads(dockerfile_instruction("CMD"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NMD_CDS_")}
    env.update(
        NMD_CDS_HOST="127.0.0.1",
        NMD_CDS_PORT=str(port),
        NMD_CDS_WORKERS="1",
        NMD_CDS_BASE_URL="https://cds.example.org",  # production refuses to start without a fixed audience
        NMD_CDS_SQLITE_PATH=str(tmp_path / "feedback.sqlite3"),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    assert json.load(resp) == {"status": "ok"}
                    break
            except (urllib.error.URLError, OSError):
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "service did not start within 30 s"
                time.sleep(0.2)
        # Secure by default: with no configuration, discovery needs a JWT.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/cds-services", timeout=5)
            raise AssertionError("discovery answered without authentication")
        except urllib.error.HTTPError as err:
            assert err.code == 401
        # The HEALTHCHECK command itself succeeds against the running service.
        check = json.loads(dockerfile_instruction("HEALTHCHECK").split("CMD", 1)[1].strip())
        assert subprocess.run(check, env=env, timeout=10).returncode == 0
    finally:
        proc.terminate()
        proc.wait(timeout=15)
