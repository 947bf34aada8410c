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
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "/healthz" in dockerfile_instruction("HEALTHCHECK")


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
