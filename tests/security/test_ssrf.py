"""The FHIR fallback is not an open proxy: refused fhirServers get no request; redirects, off-origin
next links, oversized bodies and endless paging stop the fetch; the token goes only to the fhirServer."""

from __future__ import annotations

import json
import uuid

import pytest
import responses

from service.app import create_app
from service.cds_hooks.prefetch import resolve_prefetch
from service.cds_hooks.request import parse_hook_request
from service.config import ConfigError, Settings
from service.errors import DataUnavailable
from service.security import ssrf
from service.security.ssrf import FhirServerRefused, check_fhir_server
from tests.security.local_server import fhir_server

TOKEN = "secret-fhir-access-token"
TEMPLATES = {"patient": "Patient/{{context.patientId}}", "obs": "Observation?patient={{context.patientId}}"}
ALLOWED = "https://ehr.example.org/fhir"
PROD = Settings(fhir_allowed_servers=(ALLOWED,))
DEV = Settings(dev_mode=True)
DEV_LISTED = Settings(dev_mode=True, fhir_allowed_servers=(ALLOWED,))


@pytest.mark.parametrize(
    "url, settings, refused",
    [
        (ALLOWED, PROD, None),
        (ALLOWED + "/", PROD, None),
        ("HTTPS://EHR.example.org:443/fhir", PROD, None),
        (ALLOWED + "/R4", PROD, None),
        ("https://ehr.example.org/fhir-admin", PROD, "allowlist"),
        ("https://ehr.example.org.evil.com/fhir", PROD, "allowlist"),
        ("https://ehr.example.org:8443/fhir", PROD, "allowlist"),
        ("https://other.example.org/fhir", PROD, "allowlist"),
        ("https://ehr.example.org@evil.com/fhir", PROD, "user information"),
        ("http://ehr.example.org/fhir", PROD, "https"),
        ("https://ehr.example.org/fhir", Settings(), "no FHIR server is allowed"),
        ("https://ehr.example.org/fhir/../admin", PROD, "'..'"),
        ("https://ehr.example.org/fhir/%2e%2e/admin", PROD, "'..'"),
        ("https://ehr.example.org/fhir?x=1", PROD, "query"),
        ("file:///etc/passwd", DEV, "http(s) URL"),
        ("gopher://ehr.example.org/", DEV, "http(s) URL"),
        ("ftp://ehr.example.org/fhir", DEV, "http(s) URL"),
        ("http:///fhir", DEV, "http(s) URL"),
        ("http://ehr.example.org:99999/fhir", DEV, "not a valid URL"),
        ("http://169.254.169.254/latest/meta-data", DEV, "link-local"),
        (
            "http://169.254.169.254/fhir",
            Settings(dev_mode=True, fhir_allowed_servers=("http://169.254.169.254/fhir",)),
            "link-local",
        ),
        ("http://2852039166/", DEV, "link-local"),
        ("http://0xa9.0xfe.0xa9.0xfe/", DEV, "link-local"),
        ("http://[fe80::1]/fhir", DEV, "link-local"),
        ("http://[::ffff:169.254.169.254]/", DEV, "link-local"),
        ("http://0.0.0.0:8080/", DEV, "unspecified"),
        ("http://metadata.google.internal/computeMetadata/v1/", DEV, "metadata"),
        ("http://127.0.0.1:8080/fhir", DEV, None),
        ("http://fhir.example.net/r4", DEV, None),
        ("http://fhir.example.net/r4", DEV_LISTED, "allowlist"),
        ("http://ehr.example.org/fhir", DEV_LISTED, "allowlist"),  # scheme is part of the match
    ],
)
def test_fhir_server_policy(url, settings, refused):
    if refused is None:
        check_fhir_server(url, settings)
        return
    with pytest.raises(FhirServerRefused) as info:
        check_fhir_server(url, settings)
    assert refused in info.value.reason


def hook_request(fhir_server: str, prefetch: dict | None = None):
    data = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": fhir_server,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds",
        },
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
    }
    if prefetch is not None:
        data["prefetch"] = prefetch
    return parse_hook_request(data, "patient-view")


def bundle(entries: list[dict], next_url: str | None = None) -> bytes:
    body: dict = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in entries]}
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return json.dumps(body).encode()


def test_another_host_gets_no_request():
    with fhir_server() as other:
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ALLOWED,))
        with pytest.raises(DataUnavailable, match="allowlist"):
            resolve_prefetch(hook_request(other.base), TEMPLATES, settings)
        assert other.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/fhir",
        "http://2852039166/",
    ],
)
def test_file_and_link_local_servers_get_no_request(url):
    with responses.RequestsMock() as mock:  # any request through requests would be recorded (and fail)
        with pytest.raises(DataUnavailable, match="cannot be used"):
            resolve_prefetch(hook_request(url), TEMPLATES, DEV)
        assert len(mock.calls) == 0


def test_redirect_off_host_is_not_followed():
    with fhir_server() as ehr, fhir_server("127.0.0.2") as evil:
        ehr.reply = lambda path: (302, {"Location": evil.base + "/Patient/p1"}, b"")
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ehr.base,))
        with pytest.raises(DataUnavailable) as info:
            resolve_prefetch(hook_request(ehr.base), TEMPLATES, settings)
        assert any("redirect" in d for d in info.value.details)
        assert evil.requests == []
        assert ehr.requests and all(auth == f"Bearer {TOKEN}" for _, auth in ehr.requests)


def test_next_link_to_another_origin_is_refused_and_gets_no_token():
    with fhir_server() as ehr, fhir_server("127.0.0.2") as evil:
        ehr.reply = lambda path: (
            200,
            {},
            bundle([{"resourceType": "Observation", "id": "o1"}], evil.base + "/page2"),
        )
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ehr.base,))
        prefetch = {"patient": {"resourceType": "Patient", "id": "p1"}}
        with pytest.raises(DataUnavailable) as info:
            resolve_prefetch(hook_request(ehr.base, prefetch), TEMPLATES, settings)
        assert any("another server" in d for d in info.value.details)
        assert evil.requests == []


def test_prefetched_bundle_with_off_origin_next_link_is_not_followed():
    with fhir_server() as ehr, fhir_server("127.0.0.2") as evil:
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ehr.base,))
        prefetch = {
            "patient": {"resourceType": "Patient", "id": "p1"},
            "obs": json.loads(bundle([], evil.base + "/Observation?page=2")),
        }
        with pytest.raises(DataUnavailable):
            resolve_prefetch(hook_request(ehr.base, prefetch), TEMPLATES, settings)
        assert evil.requests == [] and ehr.requests == []


def test_oversized_response_is_cut_off():
    with fhir_server() as ehr:
        ehr.reply = lambda path: (
            200,
            {},
            bundle([{"resourceType": "Observation", "id": str(i)} for i in range(5000)]),
        )
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ehr.base,), fhir_max_response_bytes=10_000)
        with pytest.raises(DataUnavailable) as info:
            resolve_prefetch(hook_request(ehr.base, {"patient": None}), TEMPLATES, settings)
        assert any("larger than 10000 bytes" in d for d in info.value.details)


def test_paging_stops_at_the_page_cap():
    with fhir_server() as ehr:
        ehr.reply = lambda path: (
            200,
            {},
            bundle([{"resourceType": "Observation", "id": "o"}], ehr.base + "/next"),
        )
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ehr.base,), fhir_max_pages=3)
        with pytest.raises(DataUnavailable) as info:
            resolve_prefetch(hook_request(ehr.base, {"patient": None}), TEMPLATES, settings)
        assert any("more than 3 result pages" in d for d in info.value.details)
        assert len(ehr.requests) == 3


def test_allowed_server_is_read_with_the_token():
    with fhir_server() as ehr:
        settings = Settings(dev_mode=True, fhir_allowed_servers=(ehr.base,))
        data = resolve_prefetch(hook_request(ehr.base, {"obs": None}), TEMPLATES, settings)
        assert data.fetched == ("patient",)
        assert ehr.requests == [("/fhir/Patient/p1", f"Bearer {TOKEN}")]


@pytest.mark.parametrize(
    "entries, bad",
    [
        ("ehr1.example.org/fhir,https://ehr2.example.org/fhir", "ehr1.example.org/fhir"),
        ("https://ehr1.example.org/fhir,ftp://ehr2.example.org/fhir", "ftp://ehr2.example.org/fhir"),
        ("https://ehr1.example.org:99999/fhir", "https://ehr1.example.org:99999/fhir"),
        ("https://user@ehr1.example.org/fhir", "https://user@ehr1.example.org/fhir"),
        ("https://ehr1.example.org/fhir?x=1", "https://ehr1.example.org/fhir?x=1"),
        ("https://", "https://"),
    ],
)
def test_malformed_allowlist_entry_refuses_start_up_naming_it(tmp_path, entries, bad):
    settings = Settings.from_env(
        {"NMD_CDS_FHIR_ALLOWED_SERVERS": entries},
        sqlite_path=str(tmp_path / "db.sqlite3"),
        auth=False,
        patient_hash_secret="x",
    )
    with pytest.raises(ConfigError) as info:
        create_app(settings)
    assert repr(bad) in str(info.value) and "NMD_CDS_FHIR_ALLOWED_SERVERS" in str(info.value)


def test_well_formed_allowlist_starts_and_is_parsed_once(tmp_path, monkeypatch):
    entries = ("https://ehr1.example.org/fhir", "https://ehr2.example.org:8443/fhir/R4")
    settings = Settings(fhir_allowed_servers=entries, sqlite_path=str(tmp_path / "db.sqlite3"), auth=False)
    create_app(settings)
    parses = []
    monkeypatch.setattr(ssrf, "_parse", lambda url, real=ssrf._parse: parses.append(url) or real(url))
    for _ in range(3):
        check_fhir_server("https://ehr2.example.org:8443/fhir/R4/Patient", settings)
    assert parses == ["https://ehr2.example.org:8443/fhir/R4/Patient"] * 3  # the request URL only
