"""A site's local weight code, end to end: without the site file the weights are not read (no card);
with it, the chart gets exactly the card the LOINC-coded chart gets, and discovery asks for the code."""

from __future__ import annotations

import copy
import json

import pytest

from service.app import create_app
from tests import builders as b
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"
LOCAL = "https://ehr.example.org/codes"
RULES = "org.example.nmd-cds.rules"


def _local(resources: list[dict]) -> list[dict]:
    """The same chart with its body weights under the site's own code."""
    out = copy.deepcopy(resources)
    for r in out:
        codings = r.get("code", {}).get("coding", [])
        if any(c.get("code") == "29463-7" for c in codings):
            r["code"] = {"coding": [{"system": LOCAL, "code": "WT", "display": "Weight"}], "text": "Weight"}
    return out


def _outcome(body: dict) -> list[tuple]:
    return sorted((c["summary"], c["indicator"], tuple(c["extension"][RULES])) for c in body["cards"])


@pytest.fixture
def site_file(tmp_path):
    path = tmp_path / "site.json"
    mapping = {
        "system": LOCAL,
        "code": "WT",
        "display": "Weight",
        "same_as": {"system": "loinc", "code": "29463-7"},
    }
    path.write_text(json.dumps({"local_codes": [mapping]}))
    return str(path)


def test_local_weight_code_gives_the_loinc_card_only_with_the_site_file(settings, site_file):
    chart = b.als_weight_loss(TODAY)
    loinc = (
        create_app(settings).test_client().post(URL, json=b.hook_request(b.full_prefetch(chart))).get_json()
    )
    local_request = b.hook_request(b.full_prefetch(_local(chart)))
    without = create_app(settings).test_client().post(URL, json=local_request).get_json()
    with_site = (
        create_app(settings.with_(site_file=site_file)).test_client().post(URL, json=local_request).get_json()
    )
    assert any(r.startswith("NUT-") for c in loinc["cards"] for r in c["extension"][RULES])
    assert not any(r.startswith("NUT-") for c in without["cards"] for r in c["extension"][RULES])
    assert _outcome(with_site) == _outcome(loinc)


def test_discovery_asks_for_the_local_code(settings, site_file):
    services = create_app(settings.with_(site_file=site_file)).test_client().get("/cds-services").get_json()
    template = services["services"][0]["prefetch"]["observations"]
    assert f"{LOCAL}|WT" in template
