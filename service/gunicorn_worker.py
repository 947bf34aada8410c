"""gunicorn's worker and logger for the service (named by ``service/gunicorn_conf.py``).

``Worker``: gunicorn's gevent worker (one process per core, a greenlet per connection) that reads each
request's whole body before the application sees it, within ``NMD_CDS_BODY_READ_TIMEOUT_S``. A client
sending slowly (or not at all) holds a greenlet, which costs a few KiB, never the thread that runs the
rules; one too slow gets ``408`` and is disconnected. Headers have gunicorn's keep-alive time (2 s).
Errors gunicorn answers itself (malformed request, header too large) get a JSON body like the app's.

``JsonLogger``: gunicorn's error and access lines as JSON (``service.logs.JsonFormatter``); an access line
names the request id, method, path without query string (it may hold tokens), status, bytes and time.
"""

from __future__ import annotations

import io
import json
import os
import socket
import warnings
from typing import Any

import gevent
from gunicorn import glogging, util
from gunicorn.http.body import Body
from gunicorn.workers.ggevent import GeventWorker

from service.config import Settings
from service.logs import JsonFormatter

REQUEST_ID_ENVIRON = "nmd_cds.request_id"  # set by service.cds_hooks.ops for every request

_MESSAGES = {
    400: "malformed HTTP request",
    403: "request forbidden",
    408: "the request body did not arrive in time; send it at once",
    413: "request body larger than {max_body} bytes",
    414: "request line too long",
    417: "unsupported Expect header",
    431: "request header fields too large: a header (a bearer token included) may hold at most {field} bytes",
    500: "the server failed; the error was logged",
    501: "unsupported transfer coding",
}


def json_error(status: int, reason: str, limit_field: int = 0, max_body: int = 0) -> bytes:
    """A complete HTTP/1.1 error response with a JSON body; never echoes what the client sent."""
    body = json.dumps(
        {
            "error": reason.lower().replace(" ", "_"),
            "message": _MESSAGES.get(status, reason).format(field=limit_field, max_body=max_body),
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Cache-Control: no-store\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class Worker(GeventWorker):
    def patch(self) -> None:
        # The master patched all but os/signal/subprocess already (gunicorn_conf): patch the rest quietly.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            super().patch()

    def init_process(self) -> None:
        settings = Settings.from_env()
        self.max_body_bytes = settings.max_body_bytes
        self.body_read_timeout_s = settings.body_read_timeout_s
        field = self.cfg.limit_request_field_size

        def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:  # noqa: ARG001
            util.write_nonblock(sock, json_error(status_int, reason, field))

        util.write_error = write_error  # gunicorn's own error pages (HTML) become JSON
        super().init_process()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        if not self._buffer_body(req, sock):
            raise StopIteration()  # answered 408 and closes the connection
        return bool(super().handle_request(listener_name, req, sock, addr))

    def _buffer_body(self, req: Any, sock: Any) -> bool:
        """Read the body (at most ``max_body_bytes`` + 1) within the deadline into memory."""
        length = _content_length(req)
        if req.body is None or (length is not None and length > self.max_body_bytes):
            return True  # no body, or one the app refuses with 413 from Content-Length alone
        if getattr(req, "_expected_100_continue", False):  # the client waits for it to send the body
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            req._expected_100_continue = False
        cap = self.max_body_bytes + 1
        try:
            with gevent.Timeout(self.body_read_timeout_s):
                data = req.body.read(cap)
        except gevent.Timeout:
            self.log.warning(
                "request body not received in time: 408",
                extra={"event": "slow_client", "timeout_s": self.body_read_timeout_s},
            )
            self._answer(sock, 408, "Request Timeout")
            return False
        if len(data) >= cap:  # a chunked body (no Content-Length) over the limit: the app never sees it
            self._answer(sock, 413, "Payload Too Large")
            _linger(sock)
            return False
        req.body = Body(io.BytesIO(data))
        return True

    def _answer(self, sock: Any, status: int, reason: str) -> None:
        try:
            util.write_nonblock(sock, json_error(status, reason, max_body=self.max_body_bytes))
        except OSError:
            pass


def _linger(sock: Any, seconds: float = 1.0, most: int = 16 << 20) -> None:
    """Read and drop what the client still sends (briefly) before the close: closing with unread data
    sends a TCP reset, which can destroy the answer before the client has read it."""
    try:
        sock.shutdown(socket.SHUT_WR)
        with gevent.Timeout(seconds, False):
            dropped = 0
            while dropped < most and (chunk := sock.recv(65536)):
                dropped += len(chunk)
    except OSError:
        pass


def _content_length(req: Any) -> int | None:
    for name, value in req.headers:
        if name == "CONTENT-LENGTH":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class JsonLogger(glogging.Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = getattr(resp, "status_code", None) if resp is not None else None
        self.access_log.info(
            "access",
            extra={
                "request_id": environ.get(REQUEST_ID_ENVIRON, "-"),
                "method": getattr(req, "method", "-"),
                "path": str(getattr(req, "path", "-"))[:200],
                "status": status,
                "bytes": getattr(resp, "sent", 0) if resp is not None else 0,
                "ms": round(request_time.total_seconds() * 1000, 2),
                "remote": environ.get("REMOTE_ADDR", "-"),
                "worker": os.getpid(),
                "user_agent": str(environ.get("HTTP_USER_AGENT", "-"))[:120],
            },
        )
