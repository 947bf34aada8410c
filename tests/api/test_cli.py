"""python -m service evaluate prints what the HTTP endpoint answers (same code path)."""

from __future__ import annotations

import json

from tests import builders as b
from tests.api.cli import run_cli
from tests.conftest import TODAY


def comparable(body: dict) -> list:
    """Cards without their per-call uuids and without the base URL of their links (the request's host)."""
    out = []
    for card in body["cards"]:
        links = [dict(link, url=link["url"].split("/", 3)[-1]) for link in card["links"]]
        card = dict(card, uuid=None, links=links)
        card["suggestions"] = [dict(s, uuid=None) for s in card.get("suggestions", [])]
        out.append(card)
    return out


def test_evaluate_matches_http(client, tmp_path):
    request = b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    done = run_cli("evaluate", str(path))
    assert done.returncode == 0, done.stderr
    http = client.post("/cds-services/nmd-bone-health", json=request).get_json()
    assert comparable(json.loads(done.stdout)) == comparable(http)
    assert http["cards"]


def test_evaluate_reports_errors_like_http():
    done = run_cli("evaluate", "-", stdin="{}")
    assert done.returncode == 1
    assert "HTTP 400" in done.stderr
    assert json.loads(done.stdout)["error"] == "invalid_request"
