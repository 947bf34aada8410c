"""The rule catalogue is the truth: every rule it lists with a card fires in at least one truth-table
row, every rule a card or a truth table produces is catalogued, and the published pages render every
rule with its logic, thresholds in force and sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from service.knowledge import default_knowledge
from service.rules.core import DECLARED
from service.rules.registry import ORDER, check

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = default_knowledge().catalogue


def test_declared_rules_and_catalogue_agree():
    check(CATALOGUE)  # raises naming every rule that is declared but not catalogued, or the reverse
    assert set(ORDER) == set(DECLARED) == {e.id for e in CATALOGUE if e.fires}


@pytest.fixture(scope="module")
def fired_in_truth_tables(tmp_path_factory) -> set[str]:
    """Run the truth tables (tests/rules) once more, recording which rules fire."""
    out = tmp_path_factory.mktemp("fired") / "fired.json"
    env = {**os.environ, "NMD_CDS_RECORD_FIRED": str(out)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/rules",
            "-q",
            "-p",
            "tests.rules.record",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    return set(json.loads(out.read_text()))


def test_every_catalogued_rule_fires_in_a_truth_table(fired_in_truth_tables):
    cards = {e.id for e in CATALOGUE if e.fires} | {"BMD-02"}  # BMD-02 is shown on therapy cards
    assert cards - fired_in_truth_tables == set()


def test_every_rule_a_truth_table_fires_is_catalogued(fired_in_truth_tables):
    assert fired_in_truth_tables - set(CATALOGUE.rules) == set()


@pytest.mark.parametrize("entry", list(CATALOGUE), ids=lambda e: e.id)
def test_rule_page_names_the_rule_and_its_thresholds(client, entry):
    page = client.get(f"/knowledge/rules/{entry.id}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert entry.id in text and entry.title.replace("'", "&#x27;") in text
    assert "{" not in entry.render_logic(default_knowledge().thresholds(date.today()).all())
    as_json = client.get(f"/knowledge/rules/{entry.id}?format=json").get_json()
    assert as_json["id"] == entry.id and [t["key"] for t in as_json["thresholds"]] == list(entry.thresholds)
    assert all(c["url"].startswith("https://") for c in as_json["citations"])


def test_catalogue_page_lists_every_rule(client):
    page = client.get("/knowledge").get_data(as_text=True)
    assert all(f'href="/knowledge/rules/{e.id}"' in page for e in CATALOGUE)
    doc = client.get("/knowledge", headers={"Accept": "application/json"}).get_json()
    assert [r["id"] for r in doc["rules"]] == list(CATALOGUE.rules)


def test_unknown_rule_is_a_json_404(client):
    resp = client.get("/knowledge/rules/XX-99")
    assert resp.status_code == 404 and "GET /knowledge" in resp.get_json()["message"]


def test_the_cli_writes_the_catalogue(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "service", "knowledge", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "index.html").is_file() and (tmp_path / "catalogue.json").is_file()
    assert sorted(p.stem for p in (tmp_path / "rules").glob("*.html")) == sorted(CATALOGUE.rules)


def test_example_cards_are_fresh():
    """service/knowledge/examples.json is regenerated when the kit or the rules change."""
    from service.fixtures.examples import kit_examples
    from service.knowledge import examples

    assert kit_examples(default_knowledge()) == examples.load(), "run: python -m service knowledge examples"
