"""HTTP routes: discovery, service call, health. Each view is a few lines; errors become JSON in app.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from service.cds_hooks.handler import Engine
from service.cds_hooks.urls import public_base
from service.errors import NotFound, UnsupportedMediaType

bp = Blueprint("cds_hooks", __name__)


def engine() -> Engine:
    return current_app.extensions["nmd_cds_engine"]


def require_json() -> bytes:
    mimetype = (request.mimetype or "").lower()
    if mimetype not in ("application/json", "application/fhir+json") and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the request body as application/json (got {request.mimetype or 'no Content-Type'})"
        )
    return request.get_data(cache=False)


def public_base_url() -> str:
    """The service's public base URL (configured, forwarded by a trusted proxy, or this request's)."""
    return public_base(engine().settings)


@bp.get("/cds-services")
def discovery() -> Response:
    return jsonify({"services": [s.discovery() for s in engine().services.values()]})


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    eng = engine()
    eng.service(service_id)  # 404 before 415 for an unknown service
    return jsonify(eng.handle_body(service_id, require_json(), public_base_url()))


@bp.post("/cds-services/<service_id>/explain")
def explain_call(service_id: str) -> Response:
    """The explain report of a hook request (switched off unless NMD_CDS_EXPLAIN_ENDPOINT=on)."""
    eng = engine()
    if not eng.settings.explain_endpoint:
        raise NotFound(
            "the explain report is switched off here; a site enables it with NMD_CDS_EXPLAIN_ENDPOINT=on"
        )
    eng.service(service_id)
    resp = jsonify(eng.explain_body(service_id, require_json(), public_base_url()))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/healthz")
def healthz() -> tuple[dict[str, Any], int]:
    return {"status": "ok"}, 200
