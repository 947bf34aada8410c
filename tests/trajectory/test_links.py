"""Every card links to the trajectory app: a ``smart`` link whose URL is the app's absolute launch URL,
at the service's public address (as the EHR reaches it), and the redirect URI an EHR registers."""

from __future__ import annotations

import pytest

from service.app import create_app
from service.trajectory.links import launch_url, redirect_uri
from tests import builders as b
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"
LINK = {"label": "Open bone & nutrition trajectory", "type": "smart"}

CASES = [
    # (settings changes, request headers, expected launch URL)
    ({}, {}, "http://localhost/app/launch"),
    ({"base_url": "https://cds.example.org/nmd/"}, {}, "https://cds.example.org/nmd/app/launch"),
    (
        {"behind_proxy": True},
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cds.example.org", "X-Forwarded-Prefix": "/nmd"},
        "https://cds.example.org/nmd/app/launch",
    ),
    ({}, {"X-Forwarded-Host": "evil.example"}, "http://localhost/app/launch"),  # not behind a proxy
    (
        {"app_launch_url": "https://apps.example.org/nmd/app/launch"},
        {},
        "https://apps.example.org/nmd/app/launch",
    ),
]


@pytest.mark.parametrize("changes,headers,expected", CASES)
def test_every_card_carries_the_smart_link_to_the_app(
    changes, headers, expected, settings, assert_valid_response
):
    client = create_app(settings.with_(**changes)).test_client()
    request = b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))
    body = assert_valid_response(client.post(URL, json=request, headers=headers).get_json())
    assert body["cards"]
    for card in body["cards"]:
        smart = [link for link in card["links"] if link["type"] == "smart"]
        assert smart == [{**LINK, "url": expected}]
        rule = card["extension"]["org.example.nmd-cds.rules"][0]
        page = next(link for link in card["links"] if link["type"] == "absolute")
        assert page["url"] == expected.replace("/app/launch", f"/knowledge/rules/{rule}") or changes.get(
            "app_launch_url"
        )


def test_redirect_uri_is_next_to_the_launch_url(settings):
    assert (
        redirect_uri(settings.with_(base_url="https://cds.example.org"))
        == "https://cds.example.org/app/callback"
    )
    custom = settings.with_(app_launch_url="https://apps.example.org/nmd/app/launch")
    assert redirect_uri(custom) == "https://apps.example.org/nmd/app/callback"
    assert (
        launch_url(settings.with_(host="0.0.0.0", port=9000)) == "http://0.0.0.0:9000/app/launch"
    )  # no request
