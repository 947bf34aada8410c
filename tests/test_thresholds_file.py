"""An institution's site file (thresholds and local codes): valid overrides apply; a bad file stops
start-up naming the bad key."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from service.app import create_app
from service.knowledge import KnowledgeError, load_knowledge
from tests.conftest import TODAY


@pytest.mark.parametrize(
    "content, names",
    [
        ({"thresholds": {"bone.no_such_interval": 3}}, "bone.no_such_interval"),
        ({"thresholds": {"nutrition.weight_loss_warning_pct": "five"}}, "nutrition.weight_loss_warning_pct"),
        ({"threshold": {}}, "threshold"),
        ("{not json", "thresholds.json: not valid JSON"),
    ],
)
def test_bad_file_refuses_to_start_naming_the_key(tmp_path, settings, content, names):
    path = tmp_path / "thresholds.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(KnowledgeError) as err:
        create_app(settings.with_(site_file=str(path)))
    assert names in str(err.value)


def test_valid_override_applies_and_is_marked(tmp_path):
    key = next(k for k in load_knowledge().specs if k.startswith("nutrition."))
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"comment": "signed off 2026-11", "thresholds": {key: 4.5}}))
    t = load_knowledge(path).thresholds(TODAY).all()[key]
    assert t == 4.5 and t.overridden


def test_cli_reports_a_bad_file_without_a_traceback(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"thresholds": {"bone.unknown": 1}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NMD_CDS_")}
    env["NMD_CDS_SITE_FILE"] = str(path)
    done = subprocess.run(
        [sys.executable, "-m", "service", "thresholds", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "bone.unknown" in done.stderr and "Traceback" not in done.stderr
