"""Invalid Unicode (a lone UTF-16 surrogate, from a \\ud800 escape) is a 400 on both backends, in every
field that reaches a store: feedback fields and the token's jti. Nothing is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.app import create_app
from service.config import Settings
from tests import builders as b
from tests.conftest import TODAY
from tests.feedback.conftest import StoreSpec, settings_for
from tests.security import tokens as t

URL = "/cds-services/nmd-bone-health"
FEEDBACK = URL + "/feedback"
BASE = "https://cds.example.org"
LONE = "\\ud800"  # as the JSON escape goes on the wire
REASONS = "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"


def _items(card: dict) -> tuple[dict, dict]:
    overridden = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-21T10:00:00Z",
        "overrideReason": {"reason": {"code": "patient-declined", "system": REASONS, "display": "x"}},
    }
    accepted = {
        "card": card["uuid"],
        "outcome": "accepted",
        "outcomeTimestamp": "2026-11-21T10:00:01Z",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
    }
    return overridden, accepted


@pytest.mark.parametrize(
    "field, which",
    [
        ("card", 0),
        ("overrideReason/reason/code", 0),
        ("overrideReason/reason/system", 0),
        ("overrideReason/reason/display", 0),
        ("acceptedSuggestions/0/id", 1),
        ("card", 1),
    ],
)
def test_lone_surrogate_in_feedback_is_400_and_nothing_is_stored(
    store_spec: StoreSpec, settings: Settings, field: str, which: int
) -> None:
    app = create_app(settings_for(store_spec, settings))
    client = app.test_client()
    body = client.post(URL, json=b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))).get_json()
    card = next(c for c in body["cards"] if c.get("suggestions"))
    items = list(_items(card))
    marker = "@@LONE@@"
    target = items[which]
    *parents, leaf = field.split("/")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[leaf] = target[leaf] + marker
    raw = json.dumps({"feedback": items}).replace(marker, LONE)
    resp = client.post(FEEDBACK, data=raw, content_type="application/json")
    assert resp.status_code == 400, resp.get_json()
    assert f"feedback/{which}/{field}: holds a lone UTF-16 surrogate" in resp.get_json()["details"]
    store = app.extensions["nmd_cds_engine"].ledger.store
    assert store.feedback_for([card["uuid"]]) == []
    store.close()


def test_lone_surrogate_in_a_hook_request_is_400(settings: Settings) -> None:
    client = create_app(settings).test_client()
    body = json.dumps(b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)), extension={"x": "@@"}))
    resp = client.post(URL, data=body.replace("@@", LONE), content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["details"] == [
        "extension/x: holds a lone UTF-16 surrogate"
    ]


def test_a_valid_surrogate_pair_is_fine(settings: Settings) -> None:
    client = create_app(settings).test_client()
    body = json.dumps(b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)), extension={"x": "@@"}))
    resp = client.post(URL, data=body.replace("@@", "\\ud83d\\ude00"), content_type="application/json")
    assert resp.status_code == 200


def test_lone_surrogate_in_the_jti_is_400_and_not_recorded(
    store_spec: StoreSpec, settings: Settings, tmp_path: Path
) -> None:
    jwks = t.write_jwks(tmp_path / "jwks.json", t.key("ES256"))
    issuers = t.write_issuers(tmp_path / "issuers.json", {t.ISS: {"jwks_file": str(jwks)}})
    secure = settings_for(store_spec, settings).with_(
        auth=True, dev_mode=False, base_url=BASE, trusted_issuers_file=str(issuers)
    )
    client = create_app(secure).test_client()
    bad = t.token(t.key("ES256"), aud=BASE + "/cds-services", jti="abc\ud800")
    resp = client.get("/cds-services", headers={"Authorization": t.bearer(bad)})
    assert resp.status_code == 400 and "jti" in resp.get_json()["message"]
    good = t.token(t.key("ES256"), aud=BASE + "/cds-services")
    assert client.get("/cds-services", headers={"Authorization": t.bearer(good)}).status_code == 200
