"""A real SMART on FHIR authorization server (Authlib) in front of the real FHIR test server.

What an EHR offers a SMART app, on 127.0.0.1 and a free port, in a thread of the test process:

- ``GET  {fhir}/.well-known/smart-configuration`` (SMART App Launch 2.x discovery);
- ``POST {fhir}/_services/smart/Launch`` — the CDS Hooks Sandbox's launch-context endpoint: JSON
  ``{"launchUrl": …, "parameters": {"patient": …, "appContext"?: …}}`` → ``{"launch_id": …}``;
- ``GET|POST /authorize`` — Authlib's authorization-code grant with PKCE (S256 required), a consent page
  (Allow / Deny) and SMART's ``launch`` and ``aud`` checks; the launch context gives the patient;
- ``POST /token`` — the code for a bearer token; the response carries ``patient`` and ``scope``;
- ``GET  {fhir}/…`` — FHIR reads proxied to the FHIR test server, protected by the bearer token (Authlib
  ``ResourceProtector``): the token's scopes must cover the resource type and the read must stay in
  its patient's compartment. ``open_reads=True`` also lets requests without a token through (what
  the Sandbox needs: it refuses a FHIR server whose ``GET Patient`` answers 401).

Test hooks: ``expire_tokens()``, ``fhir_failure`` (an HTTP status every FHIR read answers with),
``fhir_requests`` (what was read, with which token), ``authorize_requests`` (the query of each
authorization request). Everything is in memory.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, jsonify, request
from markupsafe import escape
from werkzeug.serving import make_server

from tests.fhir_server.harness import FhirTestServer

READ_SCOPE = re.compile(r"patient/(\*|[A-Z][A-Za-z]+)\.(read|rs|r|s)")
CAPABILITIES = [
    "launch-ehr",
    "client-public",
    "client-confidential-symmetric",
    "context-ehr-patient",
    "permission-patient",
    "permission-v1",
    "permission-v2",
]


@dataclass
class Client:
    client_id: str
    redirect_uris: list[str]
    secret: str = ""

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        """Only ``launch``, ``openid``, ``fhirUser`` and patient read scopes are ever granted."""
        wanted = (scope or "").split()
        return " ".join(s for s in wanted if s in ("launch", "openid", "fhirUser") or READ_SCOPE.fullmatch(s))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.secret) and secrets.compare_digest(client_secret, self.secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method == ("client_secret_basic" if self.secret else "none")
        return True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Patient:
    """The 'user' of a grant: here, the launch context (the patient in the EHR's context)."""

    patient: str

    def get_user_id(self) -> str:
        return self.patient


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    patient: str
    code_challenge: str | None
    code_challenge_method: str | None
    issued: float = field(default_factory=time.time)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> None:
        return None

    def get_auth_time(self) -> float:
        return self.issued

    def is_expired(self) -> bool:
        return time.time() - self.issued > 300


@dataclass
class Token:
    access_token: str
    client_id: str
    scope: str
    patient: str
    expires_at: float
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> Patient:
        return Patient(self.patient)

    def get_client(self) -> Client:
        raise NotImplementedError


class S256Only(CodeChallenge):
    """SMART App Launch 2: PKCE with S256 on every authorization request ('plain' is refused)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            from authlib.oauth2.rfc6749 import InvalidRequestError

            raise InvalidRequestError(
                "PKCE with code_challenge_method=S256 is required", redirect_uri=redirect_uri
            )
        super().validate_code_challenge(grant, redirect_uri)


class SmartTestServer:
    """Authorization server + FHIR proxy; ``fhir_base`` is the ``iss`` an app is launched with."""

    def __init__(self, fhir: FhirTestServer, *, open_reads: bool = False, token_lifetime_s: int = 3600):
        self.fhir = fhir
        self.open_reads = open_reads
        self.token_lifetime_s = token_lifetime_s
        self.clients: dict[str, Client] = {}
        self.launches: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, Token] = {}
        self.fhir_failure: int | None = None
        self.fhir_requests: list[tuple[str, str | None]] = []  # (path?query, bearer token or None)
        self.authorize_requests: list[dict[str, list[str]]] = []
        self.base_url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    # --- life cycle ------------------------------------------------------------------------------
    @property
    def fhir_base(self) -> str:
        return f"{self.base_url}/fhir"

    def start(self, port: int = 0, host: str = "127.0.0.1") -> SmartTestServer:
        if self._server is not None:
            return self
        self._server = make_server(host, port, self.app, threaded=True)
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="smart-test-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SmartTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- set-up and test hooks -------------------------------------------------------------------
    def register_client(self, client_id: str, *redirect_uris: str, secret: str = "") -> None:
        self.clients[client_id] = Client(client_id, list(redirect_uris), secret)

    def new_launch(self, patient: str, launch_url: str = "") -> str:
        """What the EHR does before opening a smart link: a launch id for this context."""
        launch_id = secrets.token_urlsafe(16)
        self.launches[launch_id] = {"patient": patient, "launchUrl": launch_url}
        return launch_id

    def expire_tokens(self) -> None:
        for token in self.tokens.values():
            token.expires_at = time.time() - 1

    def reset(self) -> None:
        self.launches.clear()
        self.codes.clear()
        self.tokens.clear()
        self.fhir_failure = None
        self.fhir_requests.clear()
        self.authorize_requests.clear()

    # --- the Flask app -------------------------------------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask("smart_test_server")
        outer = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["none", "client_secret_basic"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                outer.codes[code] = AuthCode(
                    code,
                    req.client.client_id,
                    req.payload.redirect_uri,
                    req.scope,
                    req.user.patient,
                    req.payload.data.get("code_challenge"),
                    req.payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> AuthCode | None:
                found = outer.codes.get(code)
                if found and found.client_id == client.client_id and not found.is_expired():
                    return found
                return None

            def delete_authorization_code(self, authorization_code: AuthCode) -> None:
                outer.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: AuthCode) -> Patient:
                return Patient(authorization_code.patient)

        def save_token(token: dict[str, Any], req: Any) -> None:
            # SMART: the token response carries the launch context.
            token["patient"] = req.user.patient
            outer.tokens[token["access_token"]] = Token(
                token["access_token"],
                req.client.client_id,
                token.get("scope", ""),
                req.user.patient,
                time.time() + token["expires_in"],
            )

        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": self.token_lifetime_s}
        server = AuthorizationServer(app, query_client=self.clients.get, save_token=save_token)
        server.register_grant(CodeGrant, [S256Only(required=True)])

        class Validator(BearerTokenValidator):
            def authenticate_token(self, token_string: str) -> Token | None:
                return outer.tokens.get(token_string)

        protector = ResourceProtector()
        protector.register_token_validator(Validator())

        @app.after_request
        def cors(resp: Response) -> Response:
            # The CDS Hooks Sandbox reads the FHIR server and posts launches from the browser.
            if request.path.startswith("/fhir"):
                resp.headers["Access-Control-Allow-Origin"] = "*"
                resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Accept"
                resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            return resp

        @app.route("/fhir/<path:path>", methods=["OPTIONS"])
        def preflight(path: str) -> Response:
            return Response(status=204)

        @app.get("/fhir/.well-known/smart-configuration")
        def smart_configuration() -> Response:
            return jsonify(
                {
                    "issuer": self.base_url,
                    "authorization_endpoint": f"{self.base_url}/authorize",
                    "token_endpoint": f"{self.base_url}/token",
                    "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
                    "grant_types_supported": ["authorization_code"],
                    "scopes_supported": ["launch", "openid", "fhirUser", "patient/*.rs", "patient/*.read"],
                    "response_types_supported": ["code"],
                    "capabilities": CAPABILITIES,
                    "code_challenge_methods_supported": ["S256"],
                }
            )

        @app.post("/fhir/_services/smart/Launch")
        def sandbox_launch() -> Response | tuple[Response, int]:
            body = request.get_json(silent=True)
            body = body if isinstance(body, dict) else {}
            params = body["parameters"] if isinstance(body.get("parameters"), dict) else {}
            patient = params.get("patient")
            if not isinstance(patient, str) or not patient:
                return jsonify({"error": "parameters.patient is required"}), 400
            launch_id = self.new_launch(patient, str(body.get("launchUrl", "")))
            if "appContext" in params:
                self.launches[launch_id]["appContext"] = params["appContext"]
            return jsonify({"launch_id": launch_id})

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            if request.method == "GET":
                self.authorize_requests.append(parse_qs(urlsplit(request.url).query))
            launch = self.launches.get(request.args.get("launch", ""))
            if launch is None:
                return _page(
                    "Unknown launch", "This launch is unknown to the EHR: start the app from the EHR."
                ), 400
            if request.args.get("aud", "").rstrip("/") != self.fhir_base:
                return _page(
                    "Wrong audience", "The app asked for a token for another FHIR server (aud)."
                ), 400
            user = Patient(launch["patient"])
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return _page("Invalid authorization request", f"{error.error}: {error.description}"), 400
            if request.method == "GET":
                client = grant.client.client_id
                scopes = grant.request.scope or ""
                return _page(
                    "Allow access?",
                    f"The app '{client}' asks to read these data of the patient in context: {scopes}.",
                    form=True,
                )
            granted = user if request.form.get("decision") == "allow" else None
            return server.create_authorization_response(grant=grant, grant_user=granted)

        @app.post("/token")
        def token() -> Response:
            return server.create_token_response()

        @app.get("/fhir/metadata")
        def metadata() -> Response:
            return self._proxy("metadata")

        @app.get("/fhir/<path:path>")
        def fhir(path: str) -> Response | tuple[Response, int]:
            header = request.headers.get("Authorization")
            token: Token | None = None
            if header or not self.open_reads:
                try:
                    token = protector.acquire_token()
                except OAuth2Error as error:
                    return _outcome(error.status_code or 401, f"{error.error}"), error.status_code or 401
            self.fhir_requests.append((request.full_path, token.access_token if token else None))
            if token is not None:
                problem = _compartment_problem(path, request.args, token)
                if problem:
                    return _outcome(403, problem), 403
            if self.fhir_failure:
                return _outcome(self.fhir_failure, "injected failure"), self.fhir_failure
            return self._proxy(path)

        return app

    def _proxy(self, path: str) -> Response:
        query = request.query_string.decode()
        url = f"{self.fhir.base_url}/{path}" + (f"?{query}" if query else "")
        headers = {"Accept": "application/fhir+json", **self.fhir.auth_headers}
        upstream = requests.get(url, headers=headers, timeout=30)
        body = upstream.content.replace(self.fhir.base_url.encode(), self.fhir_base.encode())
        return Response(body, status=upstream.status_code, content_type="application/fhir+json")


def _compartment_problem(path: str, args: Any, token: Token) -> str | None:
    """Why a read is outside the token's patient compartment or scopes (None when it is allowed)."""
    resource_type, _, rest = path.partition("/")
    granted = token.scope.split()
    if not any(
        s.split("/", 1)[1].split(".")[0] in ("*", resource_type) for s in granted if READ_SCOPE.fullmatch(s)
    ):
        return f"no read scope for {resource_type}"
    if resource_type == "Patient":
        return None if rest == token.patient or args.get("_id") == token.patient else "another patient"
    subject = args.get("patient") or args.get("subject") or ""
    return None if subject in (token.patient, f"Patient/{token.patient}") else "search outside the patient"


def _outcome(status: int, text: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "security", "diagnostics": text}],
    }
    return jsonify(body)


def _page(title: str, text: str, form: bool = False) -> str:
    buttons = (
        '<form method="post"><button name="decision" value="allow" id="allow">Allow</button> '
        '<button name="decision" value="deny" id="deny">Deny</button></form>'
        if form
        else ""
    )
    return (
        f"<!doctype html><html><head><title>{escape(title)}</title></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{buttons}</body></html>"
    )


def wait_until_up(url: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")
