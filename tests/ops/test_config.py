"""Strict configuration: every unusable setting refuses start-up with one line naming it (no traceback),
through the real start command; and the table of what is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from service.config import ConfigError, Settings
from tests.ops.harness import GUNICORN, ROOT, base_env, free_port

BASE = {"NMD_CDS_AUTH": "off", "NMD_CDS_DEV_MODE": "on"}


@pytest.mark.parametrize(
    "env, says",
    [
        ({"NMD_CDS_WORKER": "4"}, "NMD_CDS_WORKER: unknown setting (did you mean NMD_CDS_WORKERS?)"),
        ({"NMD_CDS_WORKERS": "0"}, "NMD_CDS_WORKERS=0: must be between 1 and 64"),
        ({"NMD_CDS_WORKERS": "two"}, "NMD_CDS_WORKERS='two': invalid literal"),
        ({"NMD_CDS_PORT": "70000"}, "NMD_CDS_PORT=70000: must be between 1 and 65535"),
        ({"NMD_CDS_LOG_LEVEL": "LOUD"}, "NMD_CDS_LOG_LEVEL='LOUD': must be one of DEBUG, INFO"),
        ({"NMD_CDS_AUTH": "maybe"}, "NMD_CDS_AUTH='maybe': expected on/off"),
        ({"NMD_CDS_FHIR_TIMEOUT_S": "nan"}, "NMD_CDS_FHIR_TIMEOUT_S='nan': must be a finite number"),
        ({"NMD_CDS_RETENTION_DAYS": "0"}, "NMD_CDS_RETENTION_DAYS=0: must be between 1 and 36500"),
        ({"NMD_CDS_TODAY": "2026-13-01"}, "NMD_CDS_TODAY='2026-13-01'"),
        ({"NMD_CDS_BASE_URL": "cds.example.org"}, "NMD_CDS_BASE_URL='cds.example.org': must be an absolute"),
        ({"NMD_CDS_CORS_ORIGINS": "sandbox"}, "NMD_CDS_CORS_ORIGINS: 'sandbox' is not '*' or an origin"),
        ({"NMD_CDS_DATABASE_URL": "mysql://x/y"}, "NMD_CDS_DATABASE_URL: must be a postgresql:// URL"),
        (
            {"NMD_CDS_INSTANCES": "2"},
            "NMD_CDS_INSTANCES=2: several instances need shared state in PostgreSQL",
        ),
        (
            {"NMD_CDS_AUTH": "on", "NMD_CDS_DEV_MODE": "off", "NMD_CDS_BASE_URL": ""},
            "NMD_CDS_BASE_URL is required with authentication on outside dev mode",
        ),
        (
            {"NMD_CDS_AUTH": "on", "NMD_CDS_DEV_MODE": "off", "NMD_CDS_TRUSTED_ISSUERS_FILE": "/no.json"},
            "NMD_CDS_TRUSTED_ISSUERS_FILE=/no.json: cannot read JSON",
        ),
        ({"NMD_CDS_SITE_FILE": "/nonexistent.yaml"}, "NMD_CDS_SITE_FILE: /nonexistent.yaml: cannot be read"),
    ],
)
def test_the_start_command_refuses_with_one_line(tmp_path: Path, env: dict[str, str], says: str) -> None:
    full = base_env(tmp_path, free_port(), **BASE)
    full.pop("NMD_CDS_TRUSTED_ISSUERS_FILE")
    full.update(env)
    done = subprocess.run(
        [str(GUNICORN), "-c", "python:service.gunicorn_conf"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=30,
    )
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    problems = [line for line in lines if line.startswith("configuration error: ")]
    assert done.returncode == 2, lines[-5:]
    assert len(problems) == 1 and says in problems[0], lines
    assert not any("Traceback" in line for line in lines)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"NMD_CDS_WORKERS": "0", "NMD_CDS_PORTT": "1", "NMD_CDS_LOG_LEVEL": "x"})
    assert len(info.value.lines()) == 3  # the misspelt name, 0 workers and the log level
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"NMD_CDS_WORKERS": "0", "NMD_CDS_LOG_LEVEL": "x", "NMD_CDS_THREADS": "0"})
    assert len(info.value.lines()) == 3 and all(
        line.startswith("configuration error: ") for line in info.value.lines()
    )


@pytest.mark.parametrize(
    "env",
    [
        {"NMD_CDS_TEST_PG_URL": "postgresql://x"},  # the test suite's own variables are not settings
        {"NMD_CDS_WORKERS": "4", "NMD_CDS_LOG_LEVEL": "debug"},
        {
            "NMD_CDS_INSTANCES": "3",
            "NMD_CDS_DATABASE_URL": "postgresql://db/cds",
            "NMD_CDS_PATIENT_HASH_SECRET": "s",
        },
    ],
)
def test_good_settings_are_accepted(env: dict[str, str]) -> None:
    Settings.from_env(env).check(serving=False)


@pytest.mark.parametrize(
    "settings, serving_problem",
    [
        (Settings(auth=True, dev_mode=False), True),
        (Settings(auth=True, dev_mode=False, base_url="https://cds.example.org"), False),
        (
            Settings(auth=True, dev_mode=False, behind_proxy=True),
            False,
        ),  # explicit trust of the proxy's headers
        (Settings(auth=True, dev_mode=True), False),
        (Settings(auth=False), False),
    ],
)
def test_production_needs_a_fixed_audience(settings: Settings, serving_problem: bool) -> None:
    assert bool(settings.serving_problems()) is serving_problem
    settings.check()  # the command-line tools do not need one


def test_instances_need_postgres_and_a_patient_hash_secret() -> None:
    problems = Settings(instances=2).problems()
    assert [p.split(":")[0] for p in problems] == ["NMD_CDS_INSTANCES=2", "NMD_CDS_INSTANCES=2"]
    assert "DATABASE_URL" in problems[0] and "PATIENT_HASH_SECRET" in problems[1]
