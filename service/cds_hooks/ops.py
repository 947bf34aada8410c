"""Operations: request ids, ``Cache-Control``, request metrics, ``GET /readyz`` and ``GET /metrics``.

Every response carries ``X-Request-Id`` (the caller's, when it is a short token of safe characters, else a
new random one); the id is in every log line written for the request and in gunicorn's JSON access line.
Card and feedback answers are about one patient: every response is ``Cache-Control: no-store`` except the
OpenAPI document.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from flask import Blueprint, Flask, Response, g, jsonify, request

from service import logs, metrics
from service.errors import Unavailable

bp = Blueprint("ops", __name__)

REQUEST_ID_ENVIRON = "nmd_cds.request_id"  # read by the gunicorn access logger (service/gunicorn_conf.py)
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
CACHEABLE = frozenset({"/openapi.json"})

Readiness = Callable[[], dict[str, str]]


def install(app: Flask, readiness: Readiness) -> None:
    """Register the hooks and the two endpoints on ``app``; ``readiness`` returns {check: "ok" | why not}."""
    app.extensions["nmd_cds_readiness"] = readiness
    app.register_blueprint(bp)
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)


def _start() -> None:
    incoming = request.headers.get("X-Request-Id", "")
    rid = incoming if _SAFE_ID.fullmatch(incoming) else uuid.uuid4().hex
    request.environ[REQUEST_ID_ENVIRON] = rid
    g.nmd_cds_token = logs.request_id.set(rid)
    g.nmd_cds_t0 = time.perf_counter()


def _finish(resp: Response) -> Response:
    rid = request.environ.get(REQUEST_ID_ENVIRON)
    if rid:
        resp.headers["X-Request-Id"] = rid
    if request.path not in CACHEABLE:
        resp.headers["Cache-Control"] = "no-store"
    endpoint = request.url_rule.rule if request.url_rule is not None else "other"
    t0 = g.get("nmd_cds_t0")
    seconds = time.perf_counter() - t0 if t0 else 0.0
    metrics.record_request(endpoint, request.method, resp.status_code, seconds)
    return resp


def _forget(exc: BaseException | None) -> None:  # noqa: ARG001 - teardown signature
    token = g.pop("nmd_cds_token", None)
    if token is not None:
        logs.request_id.reset(token)


@bp.get("/readyz")
def readyz() -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    """Ready when every store and key set the service needs answers now; ``/healthz`` is liveness."""
    from flask import current_app

    checks = current_app.extensions["nmd_cds_readiness"]()
    if all(v == "ok" for v in checks.values()):
        return jsonify({"status": "ready", "checks": checks}), 200
    return (
        jsonify({"status": "not_ready", "checks": checks}),
        503,
        {"Retry-After": str(Unavailable.retry_after_s)},
    )


@bp.get("/metrics")
def prometheus() -> Response:
    return Response(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
