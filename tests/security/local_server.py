"""A tiny FHIR-ish HTTP server on 127.0.0.1 that records every request it receives (to prove none arrived)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Recorder:
    base: str = ""
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)
    reply: Callable[[str], Reply] = lambda path: (
        200,
        {},
        json.dumps({"resourceType": "Patient", "id": "p"}).encode(),
    )


@contextmanager
def fhir_server(host: str = "127.0.0.1") -> Iterator[Recorder]:
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            rec.requests.append((self.path, self.headers.get("Authorization")))
            status, headers, body = rec.reply(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    rec.base = f"http://{host}:{server.server_address[1]}/fhir"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
