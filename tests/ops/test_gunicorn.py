"""The service under real gunicorn (the run script's and the image's command), authentication on: slow
clients, oversized headers, JSON logs with request ids, metrics summed over worker processes."""

from __future__ import annotations

import http.client
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.harness import SERVICE, Client, Instance, base_env, free_port, gunicorn, hook_body, request
from tests.security import tokens as t

SLOW_CONNECTIONS = 50
NORMAL_DEADLINE_S = 2.0  # the client's timeout: a normal call must be answered within it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    folder = tmp_path_factory.mktemp("gunicorn")
    with gunicorn(base_env(folder, free_port()), folder) as inst:
        yield inst


@pytest.fixture
def client(server: Instance) -> Client:
    return Client(server.port, server.base_url)


def _slow_connection(port: int, kind: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    if kind == "body":  # complete headers, then a body trickling in a byte at a time (no token at all)
        s.sendall(
            f"POST {SERVICE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n{".encode()
        )
    elif kind == "headers":  # headers trickling in
        s.sendall(b"POST /cds-services HTTP/1.1\r\nHost: x\r\n")
    return s  # "idle": connected, nothing sent


def test_normal_calls_are_answered_while_50_slow_connections_are_open(
    server: Instance, client: Client
) -> None:
    kinds = ["body", "headers", "idle"]
    slow = [_slow_connection(server.port, kinds[i % 3]) for i in range(SLOW_CONNECTIONS)]
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(1.0):
            for s in slow:
                try:
                    s.send(b" ")
                except OSError:
                    pass

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(1.5)  # every slow connection has been accepted and has sent something more
        client.timeout = NORMAL_DEADLINE_S
        answers, took = [], []
        for _ in range(5):
            t0 = time.monotonic()
            status, body = client.cards()  # raises TimeoutError past the 2 s deadline
            took.append(round((time.monotonic() - t0) * 1000, 1))
            answers.append((status, bool(body.get("cards"))))
        status, _, _ = client.call("GET", "/cds-services")
    finally:
        stop.set()
        dripper.join()
        for s in slow:
            s.close()
    print(f"\ncalls with {SLOW_CONNECTIONS} slow connections open: {answers}, ms {took}", file=sys.stderr)
    assert answers == [(200, True)] * 5 and status == 200


def test_a_body_slower_than_the_deadline_gets_a_json_408(tmp_path: Path) -> None:
    env = base_env(tmp_path, free_port(), NMD_CDS_BODY_READ_TIMEOUT_S="1", NMD_CDS_WORKERS="1")
    with gunicorn(env, tmp_path) as inst:
        s = _slow_connection(inst.port, "body")
        s.settimeout(15)
        received = b""
        for _ in range(15):  # a byte a second until the server gives up and answers
            try:
                s.send(b" ")
            except OSError:
                break
            s.settimeout(1.0)
            try:
                chunk = s.recv(4096)
            except TimeoutError:
                continue
            received += chunk
            if not chunk or b"\r\n\r\n" in received:
                break
        s.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body)["error"] == "request_timeout"


@pytest.mark.parametrize(
    "header, status, error",
    [
        (
            "x" * (17 * 1024),
            401,
            "unauthorized",
        ),  # within gunicorn's limit, over the token limit: the app's 401
        (
            "x" * (25 * 1024),
            431,
            "request_header_fields_too_large",
        ),  # over gunicorn's limit: its 431, in JSON
    ],
)
def test_oversized_authorization_headers_get_a_json_answer(
    server: Instance, header: str, status: int, error: str
) -> None:
    got, headers, body = request(
        "GET", server.port, "/cds-services", headers={"Authorization": "Bearer " + header}
    )
    assert (got, headers["content-type"], json.loads(body)["error"]) == (status, "application/json", error)


def test_a_body_over_the_limit_is_a_json_413_before_it_is_read(server: Instance, client: Client) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": t.bearer(t.token(t.key("ES384"), aud=server.base_url + SERVICE))}
    conn.putrequest("POST", SERVICE)
    for name, value in {
        **headers,
        "Content-Type": "application/json",
        "Content-Length": str(50 << 20),
    }.items():
        conn.putheader(name, value)
    conn.endheaders()  # no body is sent at all
    resp = conn.getresponse()
    assert resp.status == 413 and json.loads(resp.read())["error"] == "payload_too_large"
    conn.close()


def test_every_log_line_is_json_and_access_lines_carry_the_request_id(
    server: Instance, client: Client
) -> None:
    status, headers, _ = client.call(
        "POST", SERVICE, hook_body("pt-log-check"), headers={"X-Request-Id": "rq-42"}
    )
    assert status == 200 and headers["x-request-id"] == "rq-42" and headers["cache-control"] == "no-store"
    status, headers, _ = client.call("GET", "/cds-services")
    generated = headers["x-request-id"]
    time.sleep(0.5)  # the access line is written after the response
    lines = server.lines()  # every line parses as JSON (gunicorn's own included)
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "gunicorn.access", "nmd_cds.call"} <= loggers
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    mine = [line for line in access if line["request_id"] == "rq-42"]
    assert [(line["method"], line["path"], line["status"]) for line in mine] == [("POST", SERVICE, 200)]
    assert [line["request_id"] for line in lines if line.get("msg") == "service call"].count("rq-42") == 1
    assert any(line["request_id"] == generated for line in access)
    text = server.log.read_text()
    assert "pt-log-check" not in text and "eyJ" not in text  # no patient id, no JWT


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m and ",".join(sorted(m.group(1).split(","))) == want:
            total += float(m.group(2))
    return total


def test_metrics_are_summed_over_worker_processes(server: Instance, client: Client) -> None:
    before = request("GET", server.port, "/metrics")[2].decode()
    n = 40
    for _ in range(n):  # new connection each time: both workers take some
        assert Client(server.port, server.base_url).call("GET", "/cds-services")[0] == 200
    status, body = client.cards("pt-metrics")
    assert status == 200
    status, headers, payload = request("GET", server.port, "/metrics")
    after = payload.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    labels = {"endpoint": "/cds-services", "method": "GET", "status": "200"}
    assert (
        _metric(after, "nmd_cds_http_requests_total", **labels)
        - _metric(before, "nmd_cds_http_requests_total", **labels)
        == n
    )
    workers = {line["worker"] for line in server.lines() if line["logger"] == "gunicorn.access"}
    assert len(workers) == 2  # both processes served, and the count above is their sum
    for card in body["cards"]:
        topic, indicator = card["source"]["topic"]["code"], card["indicator"]
        assert _metric(after, "nmd_cds_cards_total", topic=topic, indicator=indicator) >= 1
    assert "nmd_cds_rules_fired_total{" in after
    assert 'nmd_cds_http_request_duration_seconds_bucket{endpoint="/cds-services/<service_id>"' in after


def test_a_chunked_body_over_the_limit_is_a_json_413(server: Instance) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    token = t.bearer(t.token(t.key("ES384"), aud=server.base_url + SERVICE))
    chunks = (b"[" + b"0," * 512 * 1024 for _ in range(6))  # ~6 MiB, no Content-Length
    conn.request(
        "POST",
        SERVICE,
        body=chunks,
        headers={"Authorization": token, "Content-Type": "application/json"},
        encode_chunked=True,
    )
    resp = conn.getresponse()
    assert resp.status == 413 and json.loads(resp.read())["error"] == "payload_too_large"
    conn.close()
