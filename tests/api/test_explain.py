"""The explain report, on the CLI and over HTTP: every catalogued rule fired or why not, the facts,
dropped resources with their reason, and the codes no value set knows — the integrator's way from
"{"cards": []}" to the site mapping that fixes it. Same evaluation as the endpoint; never logged."""

from __future__ import annotations

import copy
import json
import logging
import subprocess
from pathlib import Path

import pytest

from service.app import create_app
from service.cds_hooks.cards import OVERRIDE_REASON_SYSTEM
from service.cds_hooks.cards import RULES_EXTENSION as RULES
from service.cds_hooks.explain import text as explain_text
from service.feedback.backends import open_store
from service.knowledge import default_knowledge
from tests import builders as b
from tests.api.cli import run_cli
from tests.conftest import TODAY
from tests.security import tokens as t

LOCAL = "https://ehr.example.org/codes"
URL = "/cds-services/nmd-bone-health"


def local_weights(resources: list[dict]) -> list[dict]:
    """The chart as a hospital sends it: body weights under the site's own code."""
    out = copy.deepcopy(resources)
    for r in out:
        if any(c.get("code") == "29463-7" for c in r.get("code", {}).get("coding", [])):
            r["code"] = {"coding": [{"system": LOCAL, "code": "WT-KG", "display": "Weight (kg)"}]}
    return out


def cli(*args: str, site_file: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run_cli(*args, stdin=stdin, **({"NMD_CDS_SITE_FILE": site_file} if site_file else {}))


@pytest.fixture(autouse=True)
def _store_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # explain reads the service's feedback store (which cards feedback would withhold): the test's own
    monkeypatch.setenv("NMD_CDS_SQLITE_PATH", str(tmp_path / "feedback.sqlite3"))


@pytest.fixture
def local_chart_file(tmp_path: Path) -> Path:
    request = b.hook_request(b.full_prefetch(local_weights(b.als_weight_loss(TODAY))))
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    return path


def test_a_local_weight_code_is_listed_and_the_nutrition_rules_say_they_lack_weights(
    local_chart_file, tmp_path
):
    done = cli("explain", str(local_chart_file), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {"system": LOCAL, "code": "WT-KG", "display": "Weight (kg)", "count": 2} in doc[
        "unrecognised_codes"
    ]
    rules = {r["id"]: r for r in doc["rules"]}
    for rid in ("NUT-01", "NUT-02", "NUT-03"):
        assert (
            rules[rid]["fired"] is False and rules[rid]["kind"] == "missing" and "weight" in rules[rid]["why"]
        )
    assert not any(r.startswith("NUT-0") for c in doc["cards"] for r in c["rules"])
    # the site maps its code: the same chart now gets the weight-loss card
    site = tmp_path / "site.yaml"
    site.write_text(
        f"local_codes:\n  - {{system: '{LOCAL}', code: WT-KG, same_as: {{system: loinc, code: 29463-7}}}}\n"
    )
    mapped = json.loads(cli("explain", str(local_chart_file), "--json", site_file=str(site)).stdout)
    assert mapped["unrecognised_codes"] == []
    assert any(r == "NUT-01" for c in mapped["cards"] for r in c["rules"])  # 72.0 → 67.6 kg: 6.1 %
    assert {r["id"]: r["fired"] for r in mapped["rules"]}["NUT-01"] is True


def test_every_catalogued_rule_is_reported_with_fired_and_why(local_chart_file):
    doc = json.loads(cli("explain", str(local_chart_file), "--json").stdout)
    assert [r["id"] for r in doc["rules"]] == list(default_knowledge().catalogue.rules)
    assert all(set(r) >= {"id", "fired"} and (r["fired"] or r["why"]) for r in doc["rules"])
    assert {"rules", "dropped", "unrecognised_codes", "facts", "cards"} <= set(doc)


def test_dropped_resources_carry_their_reason(tmp_path):
    chart = b.als_weight_loss(TODAY) + [b.quantity_obs("odd", "29463-7", 11, "stone", TODAY)]
    path = tmp_path / "request.json"
    path.write_text(json.dumps(b.hook_request(b.full_prefetch(chart))))
    doc = json.loads(cli("explain", str(path), "--json").stdout)
    assert {"resource": "Observation/odd", "reason": "unknown unit 'stone'"} in doc["dropped"]


def test_explain_shows_the_cards_the_endpoint_gives(client, local_chart_file):
    request = json.loads(local_chart_file.read_text())
    body = client.post(URL, json=request).get_json()
    doc = json.loads(cli("explain", str(local_chart_file), "--json").stdout)
    assert [c["summary"] for c in doc["cards"]] == [c["summary"] for c in body["cards"]]


def test_text_report_names_the_code_to_map(local_chart_file):
    done = cli("explain", str(local_chart_file))
    assert done.returncode == 0 and f"{LOCAL}|WT-KG" in done.stdout and "missing data" in done.stdout


def test_http_explain_is_off_unless_configured(client):
    resp = client.post(f"{URL}/explain", json=b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY))))
    assert resp.status_code == 404 and "NMD_CDS_EXPLAIN_ENDPOINT" in resp.get_json()["message"]


def test_http_explain_needs_an_authenticated_client_and_is_never_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    jwks = t.write_jwks(tmp_path / "jwks.json", t.key("ES384"))
    issuers = t.write_issuers(tmp_path / "issuers.json", {t.ISS: {"jwks_file": str(jwks)}})
    app = create_app(
        today=TODAY,
        sqlite_path=str(tmp_path / "f.sqlite3"),
        patient_hash_secret="s",
        trusted_issuers_file=str(issuers),
        base_url="https://cds.example.org",
        explain_endpoint=True,
    )
    client = app.test_client()
    request = b.hook_request(b.full_prefetch(local_weights(b.als_weight_loss(TODAY))))
    assert client.post(f"{URL}/explain", json=request).status_code == 401
    token = t.token(t.key("ES384"), aud=f"https://cds.example.org{URL}/explain")
    with caplog.at_level(logging.DEBUG):
        resp = client.post(f"{URL}/explain", json=request, headers={"Authorization": t.bearer(token)})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert resp.get_json()["unrecognised_codes"]
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert b.PATIENT_ID not in logged and "WT-KG" not in logged and "67.6" not in logged


def test_a_card_feedback_withholds_is_reported_as_suppressed_and_nothing_is_recorded(settings):
    """Overridden with a silencing reason and the evidence unchanged: the service withholds the card, and
    explain says so (which card, why) without recording a card of its own."""
    from datetime import UTC, datetime

    client = create_app(settings.with_(explain_endpoint=True)).test_client()
    request = b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))
    (card, *_) = client.post(URL, json=request).get_json()["cards"]
    before = client.post(f"{URL}/explain", json=request).get_json()
    assert before["feedback_checked"] and not any("suppressed" in c for c in before["cards"])
    override = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "overrideReason": {"reason": {"code": "patient-declined", "system": OVERRIDE_REASON_SYSTEM}},
    }
    assert client.post(f"{URL}/feedback", json={"feedback": [override]}).status_code == 200
    doc = client.post(f"{URL}/explain", json=request).get_json()
    (shown,) = [c for c in doc["cards"] if c["summary"] == card["summary"]]
    assert shown["suppressed"].startswith("overridden (patient-declined)")
    lead = card["extension"][RULES][0]
    (row,) = [r for r in doc["rules"] if r["id"] == lead]
    assert (row["fired"], row["kind"]) == (False, "suppressed")
    store = open_store(settings)
    recorded = len(store.report_rows("2000-01-01", "2100-01-01"))
    again = client.post(URL, json=request).get_json()["cards"]
    assert card["summary"] not in [c["summary"] for c in again]  # the endpoint agrees with the report
    assert len(store.report_rows("2000-01-01", "2100-01-01")) > recorded  # the call records; explain did not
    assert recorded == len(before["cards"])
    assert "not shown: overridden (patient-declined)" in explain_text(doc)


def test_the_kit_chart_with_a_local_weight_code_and_its_site_file(tmp_path):
    """The integrator's path in the fixture kit: explain names the hospital's code and the nutrition rules
    lacking weights; the kit's site file maps it, and the chart gets the LOINC chart's cards."""
    from service.fixtures.render import load_scenarios, render_scenario

    kit = {s["name"]: s for s in load_scenarios()}
    request = tmp_path / "request.json"
    request.write_text(json.dumps(render_scenario(kit["als-weights-local-code"], TODAY)["request"]))
    doc = json.loads(cli("explain", "--json", str(request)).stdout)
    assert doc["cards"] == []
    (code,) = doc["unrecognised_codes"]
    assert (code["code"], code["count"]) == ("WT", 6)
    rules = {r["id"]: r for r in doc["rules"]}
    assert all(rules[r]["kind"] == "missing" and "weight" in rules[r]["why"] for r in ("NUT-02", "NUT-05"))
    site = str(Path(__file__).resolve().parents[2] / "fhir_fixtures" / "site-local-weight.yaml")
    mapped = json.loads(cli("explain", "--json", str(request), site_file=site).stdout)
    expected = kit["als-weight-loss-fvc-falling"]["expected"]["cards"]
    assert [c["rules"] for c in mapped["cards"]] == [c["rules"] for c in expected]
    assert mapped["unrecognised_codes"] == []
