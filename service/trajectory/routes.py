"""The trajectory app's HTTP side: EHR launch, OAuth callback, the page, and a clear page for every failure.

SMART App Launch 2.x, EHR launch: ``GET /app/launch?launch=…&iss=…`` discovers the server
(``{iss}/.well-known/smart-configuration``) and redirects to its authorization endpoint (code flow,
PKCE S256, read-only patient scopes); ``GET /app/callback`` checks ``state``, trades the code for a
token with the patient in context and redirects to ``GET /app/`` — an address with no patient data.
Open-server mode (dev mode only): ``GET /app/launch?iss=…&patient=…`` for a FHIR server listed in
``NMD_CDS_APP_OPEN_SERVERS`` skips authorization.

The browser holds an opaque session id in an HTTP-only, SameSite=Lax cookie; tokens and the patient id
stay in the server-side session (``sessions``). Logs carry outcomes and timings only. Every failure
the user can act on (refused or expired authorization, a failing FHIR or SMART server, no session)
is an HTML page saying what happened and what to do, with a 4xx/5xx status — never a stack trace.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from service.cds_hooks.handler import Engine
from service.config import Settings
from service.errors import DataUnavailable
from service.fhir.client import FhirAuthError
from service.fhir.smart import Pkce, SmartClient, SmartError
from service.security.ssrf import FhirServerRefused, check_fhir_server
from service.trajectory import charts, data, svg
from service.trajectory.links import PAGE_PATH, public_base, redirect_uri
from service.trajectory.sessions import SessionStore, SessionStoreError, open_sessions

log = logging.getLogger("nmd_cds.trajectory")

PREFIX = "/app"
bp = Blueprint("trajectory", __name__, url_prefix=PREFIX, template_folder="templates")
COOKIE = "nmd_cds_app"
SESSIONS = "nmd_cds_app_sessions"
# OAuth error codes (RFC 6749 §4.1.2.1) shown by name; anything else is "an error".
OAUTH_ERRORS = {
    "access_denied": "the authorization was refused",
    "invalid_scope": "the EHR does not grant the read scopes the app asks for",
    "unauthorized_client": "the EHR does not allow this app (client id) to launch",
    "invalid_request": "the EHR rejected the authorization request",
    "server_error": "the EHR's authorization server failed",
    "temporarily_unavailable": "the EHR's authorization server is temporarily unavailable",
}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # No script at all; inline styles for the SVG; nothing loaded from anywhere else.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'",
}


def register(app: Flask, settings: Settings, sessions: SessionStore | None = None) -> None:
    """Mount the app under /app/ with its session store (the service's database unless given)."""
    app.extensions[SESSIONS] = sessions or open_sessions(settings)
    app.register_blueprint(bp)
    if settings.app_open_servers and not settings.dev_mode:
        log.warning(
            "NMD_CDS_APP_OPEN_SERVERS is ignored outside dev mode",
            extra={"event": "app_open_servers_ignored"},
        )


def _engine() -> Engine:
    return current_app.extensions["nmd_cds_engine"]


def _sessions() -> SessionStore:
    return current_app.extensions[SESSIONS]


class Problem(Exception):
    """A page the user sees instead of the trajectory: a title, what happened, what to do."""

    def __init__(self, status: int, title: str, message: str, action: str, event: str):
        super().__init__(event)
        self.status, self.title, self.message, self.action, self.event = status, title, message, action, event


RELAUNCH = "Open the trajectory again from a card in the EHR (the link starts a new launch)."


@bp.errorhandler(Problem)
def _problem(exc: Problem) -> Response:
    log.info("trajectory page", extra={"event": exc.event, "status": exc.status})
    return _page(
        "trajectory/message.html", exc.status, title=exc.title, message=exc.message, action=exc.action
    )


@bp.errorhandler(SessionStoreError)
def _store_down(exc: SessionStoreError) -> Response:
    log.error(
        "trajectory session store failed", extra={"event": "app_session_store_failed", "error": str(exc)}
    )
    resp = _page(
        "trajectory/message.html",
        503,
        title="The app cannot keep your session right now",
        message="The service's database did not answer.",
        action="Try again in a minute; if it persists, tell the service's operators.",
    )
    resp.headers["Retry-After"] = "30"
    return resp


@bp.errorhandler(Exception)
def _bug(exc: Exception) -> ResponseReturnValue:
    """A bug, not a situation the user can act on: logged by type (never its message), HTML for the user."""
    if isinstance(exc, HTTPException):  # 404/405 under /app/: the service's usual JSON answer
        return exc.get_response()
    log.exception("trajectory app failed", extra={"event": "app_failed", "error_type": type(exc).__name__})
    return _page(
        "trajectory/message.html",
        500,
        title="The app failed",
        message="Something went wrong while drawing this page; the error was logged (without patient data).",
        action="Try again; if it happens again, tell the service's operators the time it happened.",
    )


def _page(template: str, status: int, **context: Any) -> Response:
    resp = make_response(render_template(template, **context), status)
    resp.headers.update(HEADERS)
    return resp


def _with_session(resp: Response, sid: str, ttl_s: float, settings: Settings) -> Response:
    secure = public_base(settings).startswith("https://")
    resp.set_cookie(
        COOKIE, sid, max_age=int(ttl_s), httponly=True, samesite="Lax", secure=secure, path="/app/"
    )
    resp.headers.update(HEADERS)
    return resp


def _redirect(location: str) -> Response:
    resp = make_response("", 302)
    resp.headers["Location"] = location
    resp.headers.update(HEADERS)
    return resp


def _client(settings: Settings) -> SmartClient:
    return SmartClient(
        settings.app_client_id,
        redirect_uri(settings),
        client_secret=settings.app_client_secret,
        timeout_s=settings.fhir_timeout_s,
    )


def _is_open_server(iss: str, settings: Settings) -> bool:
    return settings.dev_mode and iss.rstrip("/") in {s.rstrip("/") for s in settings.app_open_servers}


# --- launch ---------------------------------------------------------------------------------------------


@bp.get("/launch")
def launch() -> Response:
    settings = _engine().settings
    iss, launch_id, patient = (request.args.get(k, "").strip() for k in ("iss", "launch", "patient"))
    if not iss:
        raise Problem(
            400, "Not launched from an EHR", "The launch has no 'iss' (FHIR server).", RELAUNCH, "app_no_iss"
        )
    try:
        check_fhir_server(iss, settings)
    except FhirServerRefused as exc:
        raise Problem(
            403,
            "This FHIR server is not allowed",
            f"The service may not read this FHIR server: {exc.reason}.",
            "Ask the service's operators to add the EHR's FHIR base URL to NMD_CDS_FHIR_ALLOWED_SERVERS.",
            "app_iss_refused",
        ) from exc
    if patient:
        if not _is_open_server(iss, settings):
            raise Problem(
                403,
                "Open-server launch refused",
                "A launch naming the patient directly is only accepted in dev mode for a FHIR server "
                "listed in NMD_CDS_APP_OPEN_SERVERS.",
                RELAUNCH,
                "app_open_refused",
            )
        ttl = settings.app_session_ttl_s
        sid = _sessions().create(
            {"stage": "ready", "iss": iss.rstrip("/"), "patient": patient, "token": None}, ttl
        )
        log.info("trajectory launch", extra={"event": "app_launch", "mode": "open"})
        return _with_session(_redirect(PAGE_PATH), sid, ttl, settings)
    if not launch_id:
        raise Problem(
            400,
            "Not launched from an EHR",
            "The launch has no 'launch' parameter.",
            RELAUNCH,
            "app_no_launch",
        )
    client = _client(settings)
    try:
        config = client.discover(iss)
        check_fhir_server(config.token_endpoint, settings)
    except SmartError as exc:
        raise Problem(
            502,
            "The EHR's SMART server cannot be used",
            f"Discovery failed: {exc.reason}.",
            RELAUNCH,
            "app_discovery_failed",
        ) from exc
    except FhirServerRefused as exc:
        raise Problem(
            403,
            "The EHR's token endpoint is not allowed",
            "The token endpoint fails the service's server policy: "
            f"{exc.reason.replace('fhirServer', 'it')}.",
            "Ask the service's operators to allow it in NMD_CDS_FHIR_ALLOWED_SERVERS.",
            "app_token_endpoint_refused",
        ) from exc
    pkce, state = Pkce.new(), secrets.token_urlsafe(24)
    ttl = settings.app_session_ttl_s
    sid = _sessions().create(
        {
            "stage": "authorizing",
            "iss": config.iss,
            "state": state,
            "verifier": pkce.verifier,
            "token_endpoint": config.token_endpoint,
        },
        ttl,
    )
    url = client.authorize_url(
        config, launch=launch_id, state=state, pkce=pkce, resource_types=data.resource_types(_engine())
    )
    log.info("trajectory launch", extra={"event": "app_launch", "mode": "smart"})
    return _with_session(_redirect(url), sid, ttl, settings)


# --- callback -------------------------------------------------------------------------------------------


@bp.get("/callback")
def callback() -> Response:
    settings = _engine().settings
    sid = request.cookies.get(COOKIE, "")
    sessions = _sessions()
    state = sessions.get(sid)
    if state is None or state.get("stage") != "authorizing":
        raise Problem(
            400,
            "This sign-in has expired",
            "The authorization answer arrived without a launch in progress in this browser (it expired, "
            "or cookies are blocked).",
            RELAUNCH,
            "app_callback_no_session",
        )
    if not secrets.compare_digest(request.args.get("state", ""), state["state"]):
        raise Problem(
            400,
            "This sign-in does not match",
            "The OAuth 'state' differs from the launch's.",
            RELAUNCH,
            "app_state_mismatch",
        )
    error = request.args.get("error")
    if error:
        sessions.delete(sid)
        what = OAUTH_ERRORS.get(error, "the EHR answered with an authorization error")
        raise Problem(
            403,
            "Authorization refused",
            f"The EHR did not authorize the app: {what}. No patient data was read.",
            RELAUNCH + " Ask the EHR administrator if the app should be allowed.",
            "app_authorization_refused",
        )
    code = request.args.get("code")
    if not code:
        raise Problem(
            400,
            "No authorization code",
            "The EHR's answer has no authorization code.",
            RELAUNCH,
            "app_no_code",
        )
    try:
        grant = _client(settings).exchange(state["token_endpoint"], code, state["verifier"])
    except SmartError as exc:
        sessions.delete(sid)
        raise Problem(
            502,
            "The EHR did not give an access token",
            f"Token request failed: {exc.reason}.",
            RELAUNCH,
            "app_token_failed",
        ) from exc
    ttl = min(settings.app_session_ttl_s, grant.expires_in or settings.app_session_ttl_s)
    new_sid = sessions.rotate(
        sid,
        {
            "stage": "ready",
            "iss": state["iss"],
            "patient": grant.patient,
            "token": grant.access_token,
            "scope": grant.scope,
            "token_expires_at": time.time() + grant.expires_in if grant.expires_in else None,
        },
        ttl,
    )
    log.info("trajectory authorized", extra={"event": "app_authorized"})
    return _with_session(_redirect(PAGE_PATH), new_sid, ttl, settings)


# --- the page ---------------------------------------------------------------------------------------------


@bp.get("/")
def page() -> Response:
    t0 = time.perf_counter()
    engine = _engine()
    session = _sessions().get(request.cookies.get(COOKIE))
    if session is None or session.get("stage") != "ready":
        raise Problem(
            401,
            "Your session has expired",
            "The app keeps a launch for a short time only, and this one has ended (or was never started "
            "in this browser).",
            RELAUNCH,
            "app_no_session",
        )
    expires = session.get("token_expires_at")
    if expires is not None and expires <= time.time():
        raise Problem(
            401,
            "Your authorization has expired",
            "The EHR's access token has expired.",
            RELAUNCH,
            "app_token_expired",
        )
    patient = session["patient"]
    try:
        fetched = data.read_resources(
            engine, session["iss"], session.get("token"), patient, session.get("scope", "")
        )
    except DataUnavailable as exc:
        if isinstance(exc.__cause__, FhirAuthError):
            raise Problem(
                401,
                "Your authorization has expired",
                "The FHIR server refused the app's access token (it expired or was revoked).",
                RELAUNCH,
                "app_fhir_refused_token",
            ) from exc
        raise Problem(
            502,
            "The EHR's FHIR server failed",
            "The patient's data could not be read: " + "; ".join(exc.details[:5]) + ".",
            "Try again in a few minutes; the cards in the EHR are not affected.",
            "app_fhir_failed",
        ) from exc
    t_data = time.perf_counter()
    html = render_page(engine, fetched, patient)
    log.info(
        "trajectory page",
        extra={
            "event": "app_page",
            "status": 200,
            "resources": len(fetched.resources),
            "ms_fhir": round((t_data - t0) * 1000, 1),
            "ms_render": round((time.perf_counter() - t_data) * 1000, 1),
        },
    )
    resp = make_response(html, 200)
    resp.headers.update(HEADERS)
    return resp


def render_page(engine: Engine, fetched: Any, patient: str) -> str:
    """The page's HTML from the FHIR data: summary, cards, charts, SVG (the benchmark times this)."""
    summary = data.summary_of(engine, fetched, patient)
    issued = data.cards_of(engine, summary, patient)
    model = charts.trajectory(summary, engine.knowledge)
    scale = svg.TimeScale(model.start, model.today)
    base = public_base(engine.settings)
    cards = [
        {
            "indicator": card["indicator"],
            "summary": card["summary"],
            "topic": engine.knowledge.catalogue.topic_display[finding.topic],
            "rules": [(rule, f"{base}/knowledge/rules/{quote(rule)}") for rule in finding.rule_ids],
        }
        for finding, card in issued
    ]
    dropped = len(summary.dropped)
    return render_template(
        "trajectory/page.html",
        banner=data.banner(fetched.resources, summary, patient, summary.today),
        today=summary.today,
        in_scope=summary.in_scope,
        cards=cards,
        model=model,
        timeline_svg=svg.timeline_svg(model.timeline, scale),
        sections=[
            ("bone", "Bone density", [(c, svg.chart_svg(c, scale)) for c in model.bone]),
            ("nutrition", "Weight and body size", [(c, svg.chart_svg(c, scale)) for c in model.nutrition]),
            ("breathing", "Breathing", [(c, svg.chart_svg(c, scale)) for c in model.breathing]),
        ],
        dropped=dropped,
        has_data=bool(
            summary.measurements or summary.fractures or summary.medications or summary.spine_imaging
        ),
    )
