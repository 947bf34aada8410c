"""The code stays ruff-clean (rules B, E, F, I, UP, W from pyproject.toml) and ruff-formatted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "service", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_check_is_clean():
    done = ruff("check", "--no-cache")
    assert done.returncode == 0, done.stdout[-3000:]


def test_ruff_format_is_clean():
    done = ruff("format", "--check", "--no-cache")
    assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_is_clean():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "service"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:]
