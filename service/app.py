"""create_app(): settings, logging, engine, blueprints, CORS, authentication, JSON errors — nothing else."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from service import logs
from service.cds_hooks import ops
from service.cds_hooks.catalogue import bp as catalogue_bp
from service.cds_hooks.feedback import bp as feedback_bp
from service.cds_hooks.feedback import feedback_store
from service.cds_hooks.handler import CardLedger, Engine
from service.cds_hooks.routes import bp as cds_bp
from service.cds_hooks.urls import public_base
from service.config import Settings
from service.errors import ApiError, PayloadTooLarge, Unauthorized
from service.feedback.ledger import create_ledger
from service.feedback.store import StoreError
from service.security.auth import Authenticator
from service.security.ssrf import validate_allowlist
from service.trajectory import routes as trajectory

log = logging.getLogger("nmd_cds.app")

CORS_ALLOW_HEADERS = "Authorization, Content-Type, Accept"
CORS_ALLOW_METHODS = "GET, POST, OPTIONS"
UNAUTHENTICATED_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
# The rule catalogue (no patient data, opened from card links) and the trajectory app (its users sign in
# through the EHR, not with a CDS client's JWT) are not CDS Hooks endpoints.
PUBLIC_PREFIXES = ("/knowledge", f"{trajectory.PREFIX}/")
OPENAPI = resources.files("service.cds_hooks") / "openapi.json"


def create_app(settings: Settings | None = None, ledger: CardLedger | None = None, **overrides: Any) -> Flask:
    """The Flask app; ``settings`` default to the environment (NMD_CDS_*), ``overrides`` replace fields."""
    settings = (
        (settings or Settings.from_env()).with_(**overrides) if overrides else settings or Settings.from_env()
    )
    logs.configure(settings.log_level)
    settings.check(serving=True)  # out-of-range values, no fixed JWT audience in production: ConfigError
    validate_allowlist(settings)  # a malformed FHIR allowlist entry stops start-up (ConfigError)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    if ledger is None:
        ledger = _default_ledger(settings)
    app.extensions["nmd_cds_engine"] = Engine.create(settings, ledger)
    app.extensions["nmd_cds_settings"] = settings
    authenticator = Authenticator(settings)
    app.register_blueprint(cds_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(catalogue_bp)
    trajectory.register(app, settings)  # the SMART app under /app/ (its users sign in through the EHR)

    def readiness() -> dict[str, str]:
        checks = authenticator.readiness()
        try:
            feedback_store().ping()
            checks["feedback_store"] = "ok"
        except StoreError:
            checks["feedback_store"] = "unavailable"
        return checks

    ops.install(app, readiness)  # request ids, no-store, metrics, /readyz, /metrics (before auth below)

    @app.get("/openapi.json")
    def _openapi() -> Response:
        # The published description of the endpoints, for integrators and the schemathesis fuzz tests.
        return Response(OPENAPI.read_bytes(), mimetype="application/json")

    @app.before_request
    def _preflight_and_auth() -> Response | None:
        if request.method == "OPTIONS":
            return Response(status=204)
        if request.path in UNAUTHENTICATED_PATHS or f"{request.path}/".startswith(PUBLIC_PREFIXES):
            return None
        if request.routing_exception is not None:
            return None  # unknown paths and methods get their 404 / 405 without a token
        authenticator.verify(request.headers.get("Authorization"), audience_url(settings))
        return None

    @app.after_request
    def _cors(resp: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and ("*" in settings.cors_origins or origin in settings.cors_origins):
            resp.headers["Access-Control-Allow-Origin"] = "*" if "*" in settings.cors_origins else origin
            resp.headers["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
            resp.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            resp.headers["Access-Control-Max-Age"] = "600"
            resp.headers.add("Vary", "Origin")
        return resp

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int, dict[str, str]]:
        if isinstance(exc, Unauthorized):
            log.warning(
                "authentication failed", extra={"reason": exc.reason, "path": request.path, **exc.context}
            )
        return jsonify(exc.body()), exc.status, exc.headers()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int, dict[str, str]]:
        status = exc.code or 500
        if status == 413:
            return _api_error(PayloadTooLarge(f"request body larger than {settings.max_body_bytes} bytes"))
        messages = {
            404: "no such endpoint; the endpoints are GET /cds-services and POST /cds-services/{id}",
            405: f"method {request.method} is not allowed on {request.path}",
        }
        body = {
            "error": (exc.name or "error").lower().replace(" ", "_"),
            "message": messages.get(status, exc.description),
        }
        allow = dict(exc.get_headers()).get("Allow")  # 405 names the methods the path accepts (RFC 9110)
        return jsonify(body), status, ({"Allow": allow} if allow else {})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unexpected error", extra={"path": request.path, "error_type": type(exc).__name__})
        return jsonify(
            {"error": "internal_error", "message": "the service failed; the error was logged"}
        ), 500

    if not settings.auth:
        log.warning(
            "AUTHENTICATION IS OFF (NMD_CDS_AUTH=off): any caller can use this service. Development only.",
            extra={"event": "auth_off"},
        )
    return app


def audience_url(settings: Settings) -> str:
    """The URL of the endpoint invoked, which a client's JWT ``aud`` must equal."""
    return public_base(settings) + request.path


def _default_ledger(settings: Settings) -> CardLedger:
    return create_ledger(settings, topic_days=settings.topic_days() or None)
