"""JWT authentication of CDS clients (CDS Hooks 2.0, "Trusting CDS Clients").

Order of checks: bearer header → header (``alg`` on the allowlist, ``typ`` JWT, ``kid``) → ``iss`` trusted →
``jku`` on that issuer's allowlist → key by ``kid`` → signature, ``aud``, ``exp``, ``iat`` (leeway) →
lifetime ≤ ``jwt_max_lifetime_s`` → ``tenant`` → ``jti`` never seen. Every failure raises
``Unauthorized(reason)``: the body says nothing, the reason (never the token) goes to the log. Two
exceptions: a replay store that cannot answer is ``Unavailable`` (503 + Retry-After: nothing is wrong
with the token), and a signed ``jti`` that is not valid Unicode is ``BadRequest`` (400: fix the client).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import jwt

from service import metrics
from service.config import Settings
from service.errors import BadRequest, Unauthorized, Unavailable
from service.security.issuers import TrustedIssuer, load_trusted_issuers
from service.security.jwks import KeySetCache, public_key
from service.security.replay import ReplayGuard, ReplayStoreError
from service.security.replay_store import replay_guard

log = logging.getLogger("nmd_cds.security")

# ES384/RS384 are the spec's RECOMMENDED ones; ES256/RS256 are what real clients use. Never none/HS*.
ALLOWED_ALGORITHMS = ("ES384", "RS384", "ES256", "RS256")
MAX_TOKEN_CHARS = 16 * 1024
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]


class Authenticator:
    """Verifies ``Authorization: Bearer <JWT>`` for every request when authentication is on."""

    def __init__(
        self,
        settings: Settings,
        *,
        key_sets: KeySetCache | None = None,
        replay: ReplayGuard | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.issuers: dict[str, TrustedIssuer] = load_trusted_issuers(settings) if settings.auth else {}
        self._keys = key_sets or KeySetCache()
        # Shared across worker processes through the database; nothing connects until the first token.
        self._replay = replay if replay is not None else replay_guard(settings, clock)
        self._clock = clock
        if settings.auth and not self.issuers:
            log.warning(
                "authentication is on but no issuer is trusted: every request will get 401 "
                "(set NMD_CDS_TRUSTED_ISSUERS_FILE)",
                extra={"event": "no_trusted_issuers"},
            )
        if settings.trust_sandbox and settings.auth:
            log.warning(
                "TRUSTING THE PUBLIC CDS HOOKS SANDBOX KEY: anyone can sign as it. Development only.",
                extra={"event": "trust_sandbox"},
            )

    def readiness(self) -> dict[str, str]:
        """What authentication needs, each "ok" or why not: the replay store, each issuer's key set."""
        if not self.settings.auth:
            return {}
        checks: dict[str, str] = {}
        ping = getattr(getattr(self._replay, "store", None), "ping", None)
        if ping is not None:
            try:
                ping()
                checks["replay_store"] = "ok"
            except ReplayStoreError:
                metrics.store_error("replay", "readiness")
                checks["replay_store"] = "unavailable"
        for iss, issuer in sorted(self.issuers.items()):
            source = issuer.configured_source()
            if source is not None:
                checks[f"key_set {iss}"] = "ok" if self._keys.has_keys(source) else "unavailable"
        return checks

    def verify(self, authorization: str | None, audience: str) -> None:
        """Raise ``Unauthorized(reason)`` unless the header carries a valid JWT for ``audience``."""
        if not self.settings.auth:
            return
        expected: dict[str, Any] = {"expected_audience": audience}
        try:
            token = _bearer(authorization)
            header, claims = _unverified(token)
            iss = claims.get("iss")
            trusted = isinstance(iss, str) and iss in self.issuers
            expected.update(_seen(header, claims), trusted_issuer=trusted)
            self._verify(token, header, claims, audience)
        except Unauthorized as exc:  # the log line says what was expected and what came (never the token)
            exc.context = expected
            raise

    def _verify(self, token: str, header: dict[str, Any], claims: dict[str, Any], audience: str) -> None:
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise Unauthorized(f"JWT alg {str(alg)[:20]!r} not allowed")
        if not isinstance(header.get("typ"), str) or header["typ"].upper() != "JWT":
            raise Unauthorized("JWT header typ must be 'JWT'")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("JWT header has no kid")
        iss = claims.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None or not isinstance(iss, str):
            raise Unauthorized("JWT issuer is not trusted")
        key = public_key_for(self._find_key(issuer, kid, header.get("jku")), alg)
        verified = self._decode(token, key, alg, audience, iss)
        self._check_lifetime(verified)
        self._check_tenant(issuer, verified)
        jti = verified.get("jti")
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("JWT jti must be a non-empty string")
        if not is_valid_unicode(jti):
            # A lone UTF-16 surrogate (from a \ud800 escape) cannot be stored: say so instead of a 500.
            raise BadRequest("the JWT's jti claim is not valid Unicode (it holds a lone UTF-16 surrogate)")
        expires_at = float(verified["exp"]) + self.settings.jwt_leeway_s  # finite: checked above
        try:
            seen = self._replay.seen_before(iss, jti, expires_at)
        except ReplayStoreError as exc:
            # Fail closed: a replay check that cannot run must not let the token through. The client did
            # nothing wrong, so not 401 (which EHRs do not retry) but 503 + Retry-After.
            metrics.store_error("replay", "replay_check")
            log.error(
                "replay check unavailable: token neither accepted nor refused",
                extra={"event": "replay_store_error", "error": str(exc)},
            )
            raise Unavailable("the service cannot check tokens right now; retry later") from exc
        if seen:
            raise Unauthorized("JWT jti already used (replay)")

    def _find_key(self, issuer: TrustedIssuer, kid: str, jku: Any) -> dict[str, Any]:
        if jku is not None and jku not in issuer.jku_allowlist:
            raise Unauthorized("JWT jku is not on the issuer's allowlist")
        sources = [s for s in (issuer.configured_source(),) if s]
        if jku is not None:
            sources.append(("url", jku))  # allowlisted: followed when the out-of-band set lacks the kid
        for source in sources:
            jwk = self._keys.find(source, kid)
            if jwk is not None:
                return jwk
        raise Unauthorized("JWT kid not found in the issuer's key set")

    def _decode(self, token: str, key: Any, alg: str, audience: str, iss: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=audience,
                issuer=iss,
                leeway=self.settings.jwt_leeway_s,
                options={"require": REQUIRED_CLAIMS, "verify_nbf": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("JWT expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("JWT aud is not the URL of this endpoint") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthorized("JWT signature does not verify") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"JWT invalid ({type(exc).__name__})") from exc
        except (OverflowError, ValueError, TypeError) as exc:
            # PyJWT's int() of an exp/iat/nbf of Infinity overflows instead of raising a PyJWTError.
            raise Unauthorized(f"JWT time claim unusable ({type(exc).__name__})") from exc

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        try:
            lifetime = float(claims["exp"]) - float(claims["iat"])
        except (TypeError, ValueError, OverflowError) as exc:
            # OverflowError: an integer too large for a float (exp = 10**400).
            raise Unauthorized("JWT exp/iat not numeric or out of range") from exc
        if not math.isfinite(lifetime):
            raise Unauthorized("JWT exp/iat not numeric or out of range")
        if lifetime > self.settings.jwt_max_lifetime_s:
            # Bounds how long a jti must be remembered, and how long a stolen token is useful.
            raise Unauthorized("JWT lifetime longer than allowed")

    def _check_tenant(self, issuer: TrustedIssuer, claims: dict[str, Any]) -> None:
        if issuer.tenants and claims.get("tenant") not in issuer.tenants:
            raise Unauthorized("JWT tenant is not allowed for this issuer")


def is_valid_unicode(text: str) -> bool:
    """False for strings holding lone UTF-16 surrogates, which no database or UTF-8 encoder accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def public_key_for(jwk: dict[str, Any], alg: str) -> Any:
    try:
        return public_key(jwk, alg)
    except ValueError as exc:
        raise Unauthorized(f"JWT key unusable: {exc}") from exc


def _seen(header: dict[str, Any], claims: dict[str, Any]) -> dict[str, str]:
    """What a refused token claimed, for the log: issuer, audience, kid and alg (short strings, never
    the token itself)."""

    def short(value: Any) -> str:
        return value[:200] if isinstance(value, str) else type(value).__name__

    aud = claims.get("aud")
    return {
        "issuer": short(claims.get("iss")),
        "token_audience": short(aud if not isinstance(aud, list) else " ".join(map(str, aud))),
        "kid": short(header.get("kid")),
        "alg": short(header.get("alg")),
    }


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Authorization header is not 'Bearer <JWT>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized("bearer token too long")
    return token


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before verification: only used to pick the issuer and key."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise Unauthorized(f"bearer token is not a JWT ({type(exc).__name__})") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Unauthorized("bearer token is not a JWT")
    return header, claims
