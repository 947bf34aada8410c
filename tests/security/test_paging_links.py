"""Paging links are normalised as they go on the wire, checked against the FHIR base path, and sent
exactly as checked: dot segments (plain or percent-encoded) cannot carry the token outside the base."""

from __future__ import annotations

import json

import pytest

from service.cds_hooks.prefetch import resolve_prefetch
from service.config import Settings
from service.errors import DataUnavailable
from service.fhir.client import normalise_url
from tests.security.local_server import fhir_server
from tests.security.test_ssrf import TEMPLATES, TOKEN, bundle, hook_request


@pytest.mark.parametrize(
    "url, wire",
    [
        ("https://h/fhir/a/../../other/p2", "https://h/other/p2"),
        ("https://h/fhir/a/%2e%2e/%2E%2E/other/p2", "https://h/other/p2"),
        ("https://h/fhir/./Observation?_page=2#frag", "https://h/fhir/Observation?_page=2"),
        ("https://h/fhir/x/..", "https://h/fhir/"),
        ("https://H/fhir/Observation?patient=1&_page=2", "https://h/fhir/Observation?patient=1&_page=2"),
        ("https://h/fhir/a b", "https://h/fhir/a%20b"),
    ],
)
def test_normalised_as_sent(url: str, wire: str) -> None:
    assert normalise_url(url) == wire
    assert normalise_url(wire) == wire  # a fixed point: what is checked is what is sent


@pytest.mark.parametrize(
    "escape",
    ["/a/../../other/p2", "/a/%2e%2e/%2e%2e/other/p2", "/a/.%2E/..%2f..%2fother", "/..\\\\..\\\\other"],
)
def test_a_next_link_leaving_the_base_path_is_refused_without_a_request(escape: str) -> None:
    with fhir_server() as ehr:
        ehr.reply = lambda path: (
            200,
            {},
            bundle([{"resourceType": "Observation", "id": "o"}], ehr.base + escape),
        )
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ehr.base,))
        with pytest.raises(DataUnavailable):
            resolve_prefetch(hook_request(ehr.base, {"patient": None}), TEMPLATES, settings)
        assert [path for path, _ in ehr.requests] == ["/fhir/Observation?patient=p1&_count=200"]


def test_a_next_link_with_dot_segments_inside_the_base_is_followed_at_its_normal_form() -> None:
    with fhir_server() as ehr:
        pages = {
            "/fhir/Observation?patient=p1&_count=200": bundle(
                [{"resourceType": "Observation", "id": "o1"}], ehr.base + "/x/../Observation?page=2"
            ),
            "/fhir/Observation?page=2": bundle([{"resourceType": "Observation", "id": "o2"}]),
        }
        ehr.reply = lambda path: (200, {}, pages.get(path, json.dumps({"resourceType": "Bundle"}).encode()))
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ehr.base,))
        data = resolve_prefetch(hook_request(ehr.base, {"patient": None}), TEMPLATES, settings)
        assert sorted(r["id"] for r in data.resources) == ["o1", "o2"]
        assert ehr.requests == [
            ("/fhir/Observation?patient=p1&_count=200", f"Bearer {TOKEN}"),
            ("/fhir/Observation?page=2", f"Bearer {TOKEN}"),
        ]
