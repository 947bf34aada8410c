"""Key-set fetches over a real socket: a server trickling its body cannot hold a request past the deadline."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from service.security.jwks import KeySetCache, KeySetUnavailable
from tests.security import tokens as t

JWKS = json.dumps(t.jwks(t.key("ES256"))).encode()


@contextmanager
def key_server(mode: str, hits: list[str] | None = None) -> Iterator[str]:
    """``trickle``: headers at once, then one byte every 0.1 s; ``prompt``: the whole set at once."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if hits is not None:
                hits.append(self.path)
            body = JWKS if mode == "prompt" else b" " * 100_000  # whitespace is valid JSON padding
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if mode == "prompt":
                self.wfile.write(body)
                return
            for byte in body:
                if stop.wait(0.1):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client gave up: what the deadline is for
                    return

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def fetch_in_thread(url: str, timeout_s: float) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(KeySetCache(timeout_s=timeout_s)._fetch(url))
        except KeySetUnavailable as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("mode, expected", [("trickle", "deadline"), ("prompt", JWKS)])
def test_fetch_ends_by_its_deadline_whatever_the_servers_pace(mode, expected):
    with key_server(mode) as url:
        thread, outcome = fetch_in_thread(url, timeout_s=1.0)
        thread.join(10)
        # Liveness, not speed: the trickle would take 10,000 s; each byte comes well within the
        # per-read timeout, so only a deadline on the whole fetch ends it.
        assert not thread.is_alive(), "the fetch outlived its deadline"
    assert len(outcome) == 1
    if isinstance(expected, bytes):
        assert outcome[0] == expected
    else:
        assert isinstance(outcome[0], KeySetUnavailable) and expected in str(outcome[0])


def test_trickling_key_server_gives_no_key_and_is_not_retried_at_once():
    hits: list[str] = []
    with key_server("trickle", hits) as url:
        cache = KeySetCache(timeout_s=0.5, clock=time.monotonic)
        done = threading.Event()
        found: list[object] = []

        def run() -> None:
            found.append(cache.find(("url", url), t.key("ES256").kid))
            found.append(cache.find(("url", url), t.key("ES256").kid))  # failure remembered: no 2nd fetch
            done.set()

        threading.Thread(target=run, daemon=True).start()
        assert done.wait(10), "the key-set lookup outlived its deadline"
    assert found == [None, None]
    assert hits == ["/jwks.json"]
