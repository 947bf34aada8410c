"""Every fixture scenario, loaded into the real FHIR server, gives the expected cards on both paths:
full prefetch, and no prefetch (the service reads fhirServer with a bearer token, paging with _count)."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from service.app import create_app
from service.fixtures.render import load_scenarios, render_scenario
from service.knowledge import default_knowledge
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"
SCENARIOS = list(load_scenarios())
TOPICS = {
    "spine-imaging",
    "bone-therapy",
    "bone-therapy-review",
    "bmd-sites",
    "bmd-surveillance",
    "vitamin-d",
    "nutrition-referral",
    "respiratory-review",
}


RULES = "org.example.nmd-cds.rules"


def outcome(body: dict) -> list[tuple[str, str, tuple[str, ...]]]:
    """Each card's topic, indicator and the catalogued rules behind it."""
    return sorted(
        (c["source"]["topic"]["code"], c["indicator"], tuple(sorted(c["extension"][RULES])))
        for c in body["cards"]
    )


def expected_outcome(scenario: dict) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted(
        (c["topic"], c["indicator"], tuple(sorted(c["rules"]))) for c in scenario["expected"]["cards"]
    )


def test_the_kit_is_complete():
    assert len(SCENARIOS) >= 40
    catalogue = default_knowledge().catalogue
    assert all(r in catalogue for s in SCENARIOS for c in s["expected"]["cards"] for r in c["rules"])
    names = [s["name"] for s in SCENARIOS]
    assert len(set(names)) == len(names)
    assert len({s["patientId"] for s in SCENARIOS}) == len(SCENARIOS), "patient ids must not collide"
    shown = Counter(c["topic"] for s in SCENARIOS for c in s["expected"]["cards"])
    assert set(shown) == TOPICS, f"topics never shown: {TOPICS - set(shown)}"
    assert sum(1 for s in SCENARIOS if not s["expected"]["cards"]) >= 3, "need patients that get no card"


@pytest.fixture(scope="module")
def loaded(fhir_server):
    for scenario in SCENARIOS:
        fhir_server.load_bundle(render_scenario(scenario, TODAY)["bundle"])
    return fhir_server


@pytest.mark.fhir_server
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario_gives_expected_cards_on_both_paths(scenario, loaded, settings, assert_valid_response):
    client = create_app(
        settings.with_(fhir_page_count=3, fhir_allowed_servers=(loaded.base_url,))
    ).test_client()
    rendered = render_scenario(scenario, TODAY)
    with_prefetch = client.post(URL, json=rendered["request"])
    assert with_prefetch.status_code == 200, with_prefetch.get_json()
    without = copy.deepcopy(rendered["request"])
    del without["prefetch"]
    without["fhirServer"] = loaded.base_url
    without["fhirAuthorization"] = {
        "access_token": loaded.token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "nmd-cds",
        "patient": scenario["patientId"],
    }
    fetched = client.post(URL, json=without)
    assert fetched.status_code == 200, fetched.get_json()
    a = assert_valid_response(with_prefetch.get_json())
    b = assert_valid_response(fetched.get_json())
    assert outcome(a) == outcome(b), "prefetch and FHIR-server paths disagree"
    assert [c["summary"] for c in sorted(a["cards"], key=lambda c: c["summary"])] == [
        c["summary"] for c in sorted(b["cards"], key=lambda c: c["summary"])
    ]
    assert outcome(a) == expected_outcome(scenario), "\n".join(c["summary"] for c in a["cards"])


def test_committed_rendering_matches_the_scenarios(tmp_path):
    """fhir_fixtures/rendered/ (the kit for 2026-11-21) must be regenerated when a scenario changes."""
    from pathlib import Path

    from service.fixtures.render import render_all

    committed = Path(__file__).resolve().parents[2] / "fhir_fixtures" / "rendered"
    render_all(TODAY, tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.json"))
    assert fresh == sorted(p.relative_to(committed) for p in committed.rglob("*.json"))
    for rel in fresh:
        assert (tmp_path / rel).read_text() == (committed / rel).read_text(), (
            f"{rel} is stale: python -m service fixtures render --today {TODAY} --out fhir_fixtures/rendered"
        )


def test_the_kit_readme_lists_every_scenario_as_the_files_say():
    """fhir_fixtures/README.md holds `python -m service fixtures table` (descriptions and expected cards)."""
    from pathlib import Path

    from service.fixtures.render import kit_table

    readme = (Path(__file__).resolve().parents[2] / "fhir_fixtures" / "README.md").read_text(encoding="utf-8")
    assert kit_table(SCENARIOS) in readme, "run: python -m service fixtures table, and paste it in the README"
