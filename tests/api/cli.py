"""Run ``python -m service`` as a user would, in a clean environment: the service's own variables are
dropped (except the test's SQLite file), "today" is pinned and authentication is off."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import TODAY


def run_cli(*args: str, stdin: str | None = None, **settings: str) -> subprocess.CompletedProcess:
    """``settings``: extra NMD_CDS_* variables by name, e.g. ``NMD_CDS_SITE_FILE="site.yaml"``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NMD_CDS_") or k == "NMD_CDS_SQLITE_PATH"}
    env.update(NMD_CDS_TODAY=TODAY.isoformat(), NMD_CDS_AUTH="off", NMD_CDS_DEV_MODE="on", **settings)
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
