"""The EHR's FHIR server misbehaving: each failure is a 412 with an OperationOutcome, never a hang or 500."""

from __future__ import annotations

import http.server
import re
import threading

import pytest
import requests
import responses

from tests import builders as b

URL = "/cds-services/nmd-bone-health"
FHIR = "https://ehr.example.org/fhir"
ANY_FHIR = re.compile(re.escape(FHIR) + ".*")
AUTH = {
    "access_token": "secret-token",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "nmd-cds",
}


def request_without_prefetch(fhir_server: str = FHIR) -> dict:
    return b.hook_request(None, fhirServer=fhir_server, fhirAuthorization=AUTH)


@pytest.fixture
def allowed(settings):
    from service.app import create_app

    return create_app(settings.with_(fhir_allowed_servers=(FHIR,), fhir_timeout_s=1.0)).test_client()


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"status": 401, "json": {"resourceType": "OperationOutcome"}}, "401"),
        ({"status": 403, "json": {"resourceType": "OperationOutcome"}}, "403"),
        ({"status": 500, "body": "boom"}, "500"),
        ({"status": 503, "body": ""}, "503"),
        ({"status": 200, "body": "<html>login page</html>", "content_type": "text/html"}, "not JSON"),
        ({"status": 200, "json": {"hello": "world"}}, "not a FHIR resource"),
        ({"status": 200, "json": {"resourceType": "OperationOutcome", "issue": []}}, "OperationOutcome"),
        ({"body": requests.exceptions.ConnectTimeout("slow")}, "did not answer"),
        ({"body": requests.exceptions.ConnectionError("refused")}, "unreachable"),
        ({"status": 302, "headers": {"Location": "https://elsewhere.example/"}}, "redirect"),
    ],
)
@responses.activate
def test_fhir_failures_are_412_with_operation_outcome(allowed, kwargs, says):
    responses.add(responses.GET, ANY_FHIR, **kwargs)
    resp = allowed.post(URL, json=request_without_prefetch())
    assert resp.status_code == 412
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert says in resp.get_data(as_text=True)
    assert "secret-token" not in resp.get_data(as_text=True)


@responses.activate
def test_the_token_is_sent_to_the_fhir_server_it_came_with(allowed):
    responses.add(responses.GET, f"{FHIR}/Patient/{b.PATIENT_ID}", json=b.patient())
    responses.add(responses.GET, ANY_FHIR, json={"resourceType": "Bundle", "type": "searchset"})
    assert allowed.post(URL, json=request_without_prefetch()).status_code == 200
    assert responses.calls
    for call in responses.calls:
        assert call.request.headers["Authorization"] == "Bearer secret-token"
        assert call.request.headers["Accept"] == "application/fhir+json"


@responses.activate
def test_next_link_to_another_host_is_refused(allowed):
    page = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [],
        "link": [{"relation": "next", "url": "https://attacker.example/fhir/Observation?page=2"}],
    }
    responses.add(responses.GET, ANY_FHIR, json=page)
    resp = allowed.post(URL, json=request_without_prefetch())
    assert resp.status_code == 412
    assert all("attacker" not in c.request.url for c in responses.calls)


class _HangingHandler(http.server.BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self):  # noqa: N802
        self.release.wait(30)  # never answers while the test runs
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_hanging_fhir_server_gives_412_not_a_hang(settings):
    from service.app import create_app

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HangingHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    result: dict = {}
    try:
        client = create_app(settings.with_(fhir_allowed_servers=(base,), fhir_timeout_s=0.5)).test_client()
        worker = threading.Thread(
            target=lambda: result.update(resp=client.post(URL, json=request_without_prefetch(base)))
        )
        worker.start()
        worker.join(20)  # a liveness guard, not a speed check: the server would hold the call for 30 s
        assert not worker.is_alive(), "the service call hangs on a FHIR server that never answers"
        assert result["resp"].status_code == 412
        assert "did not answer within 0.5 s" in result["resp"].get_data(as_text=True)
    finally:
        _HangingHandler.release.set()
        server.shutdown()


class _TricklingHandler(http.server.BaseHTTPRequestHandler):
    """Announces a large body, then sends one byte every 0.2 s: each socket read succeeds in time."""

    stop = threading.Event()

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        while not self.stop.wait(0.2):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args):
        pass


def test_a_trickling_fhir_server_gives_412_not_a_hang(settings):
    from service.app import create_app

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TricklingHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    result: dict = {}
    try:
        client = create_app(settings.with_(fhir_allowed_servers=(base,), fhir_timeout_s=1.0)).test_client()
        worker = threading.Thread(
            target=lambda: result.update(resp=client.post(URL, json=request_without_prefetch(base)))
        )
        worker.start()
        worker.join(20)  # liveness guard: the trickle would last 100000 × 0.2 s
        assert not worker.is_alive(), "the service call hangs on a trickling FHIR server"
        assert result["resp"].status_code == 412
        assert "did not answer within 1 s" in result["resp"].get_data(as_text=True)
    finally:
        _TricklingHandler.stop.set()
        server.shutdown()


@pytest.mark.parametrize("fhir_server", ["http://a..b/fhir", "http://" + "x" * 300 + ".example/fhir"])
def test_an_unusable_fhir_server_host_is_412(client, fhir_server):
    resp = client.post(URL, json=request_without_prefetch(fhir_server))
    assert resp.status_code == 412
    assert resp.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"body": requests.exceptions.ConnectionError("refused")}, "unreachable"),
        ({"status": 503, "body": ""}, "HTTP 503"),
    ],
)
@responses.activate
def test_a_412_names_each_url_it_tried_once(allowed, kwargs, says):
    """The integrator sees which URLs failed and why, each once: not one failure repeated per prefetch key."""
    responses.add(responses.GET, ANY_FHIR, **kwargs)
    resp = allowed.post(URL, json=request_without_prefetch())
    assert resp.status_code == 412
    lead, *problems = [i["diagnostics"] for i in resp.get_json()["issue"]]
    assert FHIR in lead
    tried = [c.request.url for c in responses.calls]
    named = [p.split(" ")[1].rstrip(":") for p in problems]  # "GET <url>: <reason> (prefetch ...)"
    assert sorted(named) == sorted(set(tried))
    assert all(says in p and "(prefetch " in p for p in problems)
