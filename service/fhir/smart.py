"""The SMART App Launch 2.x client of the trajectory app: discovery, PKCE, the authorize URL, the token.

Outbound HTTP only, like ``FhirClient``: short timeouts, redirects never followed, bodies capped in
size. Every failure is a ``SmartError`` whose ``reason`` is safe to log and to show (it never holds
a token, an authorization code, a launch id or a patient id). FHIR reads with the token go through
``service.fhir.client.FhirClient``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from service.fhir.client import FhirError

WELL_KNOWN = ".well-known/smart-configuration"
MAX_BODY_BYTES = 256 * 1024  # a SMART configuration or a token response is a few KiB


class SmartError(FhirError):
    """The SMART server could not be used; ``reason`` is safe to log and to show to the user."""


@dataclass(frozen=True)
class SmartConfiguration:
    """What ``{iss}/.well-known/smart-configuration`` says, reduced to what the app uses."""

    iss: str
    authorization_endpoint: str
    token_endpoint: str
    capabilities: frozenset[str]
    code_challenge_methods: frozenset[str]

    @property
    def scope_suffix(self) -> str:
        """``.rs`` when the server announces SMART 2 scopes (``permission-v2``), else SMART 1 ``.read``."""
        return ".rs" if "permission-v2" in self.capabilities else ".read"

    def scope(self, resource_types: list[str]) -> str:
        """``launch`` plus read-only patient scopes for exactly these resource types."""
        return " ".join(["launch", *(f"patient/{t}{self.scope_suffix}" for t in resource_types)])


@dataclass(frozen=True)
class TokenGrant:
    """A token response: the access token (never logged) and the launch context it carries."""

    access_token: str = field(repr=False)
    patient: str = field(repr=False)
    expires_in: int | None
    scope: str


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """RFC 7636 with S256: 64 random bytes as the verifier (86 characters, within 43-128)."""
        verifier = secrets.token_urlsafe(64)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def _http_url(value: Any, what: str) -> str:
    if (
        not isinstance(value, str)
        or urlsplit(value).scheme not in ("http", "https")
        or not urlsplit(value).netloc
    ):
        raise SmartError(f"the SMART configuration has no usable {what}")
    return value


def _strings(value: Any) -> frozenset[str]:
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()


class SmartClient:
    """One app's view of SMART servers: its client id (and secret), redirect URI and HTTP limits."""

    def __init__(
        self,
        client_id: str,
        redirect_uri: str,
        *,
        client_secret: str = "",
        timeout_s: float = 5.0,
        session: requests.Session | None = None,
    ):
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._secret = client_secret
        self._timeout_s = timeout_s
        self._session = session or requests.Session()

    # --- discovery ----------------------------------------------------------------------------------
    def discover(self, iss: str) -> SmartConfiguration:
        """GET ``{iss}/.well-known/smart-configuration``; the server must offer the code flow with S256."""
        body = self._json("GET", f"{iss.rstrip('/')}/{WELL_KNOWN}", "SMART configuration")
        methods = _strings(body.get("code_challenge_methods_supported"))
        config = SmartConfiguration(
            iss=iss.rstrip("/"),
            authorization_endpoint=_http_url(body.get("authorization_endpoint"), "authorization_endpoint"),
            token_endpoint=_http_url(body.get("token_endpoint"), "token_endpoint"),
            capabilities=_strings(body.get("capabilities")),
            code_challenge_methods=methods,
        )
        if "S256" not in methods:
            raise SmartError(
                "the SMART server does not offer PKCE with S256 (code_challenge_methods_supported)"
            )
        return config

    # --- authorization request ----------------------------------------------------------------------
    def authorize_url(
        self, config: SmartConfiguration, *, launch: str, state: str, pkce: Pkce, resource_types: list[str]
    ) -> str:
        """The EHR-launch authorization request (SMART App Launch 2.x, 'Obtain authorization code')."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "launch": launch,
            "scope": config.scope(resource_types),
            "state": state,
            "aud": config.iss,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        sep = "&" if urlsplit(config.authorization_endpoint).query else "?"
        return f"{config.authorization_endpoint}{sep}{urlencode(params)}"

    # --- token ---------------------------------------------------------------------------------------
    def exchange(self, token_endpoint: str, code: str, verifier: str) -> TokenGrant:
        """Trade the authorization code (and the PKCE verifier) for an access token with a patient."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        auth = None
        if self._secret:
            auth = (self.client_id, self._secret)  # client_secret_basic
        else:
            form["client_id"] = self.client_id
        body = self._json("POST", token_endpoint, "token endpoint", data=form, auth=auth)
        token, kind = body.get("access_token"), body.get("token_type")
        if not isinstance(token, str) or not token:
            raise SmartError("the token response has no access_token")
        if not isinstance(kind, str) or kind.lower() != "bearer":
            raise SmartError("the token response is not a bearer token")
        patient = body.get("patient")
        if not isinstance(patient, str) or not patient:
            raise SmartError("the token response carries no patient in context (launch context missing)")
        expires, scope = body.get("expires_in"), body.get("scope")
        return TokenGrant(
            access_token=token,
            patient=patient,
            expires_in=int(expires) if isinstance(expires, int | float) and expires > 0 else None,
            scope=scope if isinstance(scope, str) else "",
        )

    # --- HTTP ----------------------------------------------------------------------------------------
    def _json(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = self._session.request(
                method,
                url,
                headers={"Accept": "application/json"},
                timeout=self._timeout_s,
                allow_redirects=False,
                stream=True,
                **kwargs,
            )
        except requests.Timeout as exc:
            raise SmartError(f"the {what} did not answer within {self._timeout_s:g} s") from exc
        except (requests.RequestException, ValueError) as exc:
            raise SmartError(f"the {what} is unreachable ({type(exc).__name__})") from exc
        try:
            raw = resp.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
        except (requests.RequestException, OSError) as exc:
            raise SmartError(f"reading the {what} answer failed ({type(exc).__name__})") from exc
        finally:
            resp.close()
        if resp.status_code in (400, 401) and what == "token endpoint":
            error = _oauth_error(raw)
            raise SmartError(f"the token endpoint refused the authorization code ({error})")
        if resp.status_code != 200:
            raise SmartError(f"the {what} answered HTTP {resp.status_code}")
        if len(raw) > MAX_BODY_BYTES:
            raise SmartError(f"the {what} answer is larger than {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SmartError(f"the {what} answer is not JSON") from exc
        if not isinstance(body, dict):
            raise SmartError(f"the {what} answer is not a JSON object")
        return body


def _oauth_error(raw: bytes) -> str:
    """The OAuth ``error`` code of a refusal (a registered token like ``invalid_grant``), never free text."""
    try:
        error = json.loads(raw).get("error")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return "no error code"
    return error if isinstance(error, str) and error.replace("_", "").isalpha() and len(error) < 40 else "?"
