"""JWK Sets of trusted CDS clients, cached per source (a file or an https URL).

A set is loaded on first use, kept for ``max_age_s`` and reloaded early when a token names a ``kid`` the
cached set lacks (key rotation) — at most once per ``min_refresh_s`` per source, so a flood of tokens
with random ``kid`` values cannot turn the service into a request amplifier against the key server.

Key sets over URL are fetched with ``requests`` (an accepted exception to "only service/fhir imports
requests"): no redirects, a deadline for the whole fetch and a size cap. Only URLs an administrator
configured are fetched: a token's ``jku`` reaches this module only when it is on its issuer's allowlist.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests
import urllib3

log = logging.getLogger("nmd_cds.security")

MAX_JWKS_BYTES = 256 * 1024
Source = tuple[str, str]  # ("file", path) | ("url", url)


class KeySetUnavailable(Exception):
    """The key set could not be loaded; ``reason`` is safe to log."""


@dataclass
class _Entry:
    keys: dict[str, dict[str, Any]]
    loaded_at: float


class KeySetCache:
    def __init__(
        self,
        *,
        max_age_s: float = 3600.0,
        min_refresh_s: float = 30.0,
        timeout_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
    ):
        self._max_age_s = max_age_s
        self._min_refresh_s = min_refresh_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._session = session or requests.Session()
        self._entries: dict[Source, _Entry] = {}
        self._lock = threading.Lock()

    def find(self, source: Source, kid: str) -> dict[str, Any] | None:
        """The JWK (as a dict) with ``kid`` in the set at ``source``, or None; reloads once if unknown."""
        with self._lock:
            entry = self._entries.get(source)
            now = self._clock()
            stale = entry is None or now - entry.loaded_at > self._max_age_s
            if (
                entry is not None
                and not stale
                and kid not in entry.keys
                and now - entry.loaded_at >= self._min_refresh_s
            ):
                stale = True  # unknown kid: the client may have rotated its keys
            if stale:
                try:
                    entry = _Entry(self._load(source), now)
                except KeySetUnavailable as exc:
                    log.warning(
                        "key set unavailable; keeping what is cached",
                        extra={"reason": str(exc), "source": source[1]},
                    )
                    # Remember the failure too, so a dead key server is not retried on every request.
                    entry = _Entry(entry.keys if entry else {}, now)
                self._entries[source] = entry
            assert entry is not None  # loaded above when missing
            return entry.keys.get(kid)

    def has_keys(self, source: Source) -> bool:
        """Whether the set at ``source`` holds at least one usable key (loaded now if not cached)."""
        with self._lock:
            entry = self._entries.get(source)
            if entry is not None and entry.keys and self._clock() - entry.loaded_at <= self._max_age_s:
                return True
        self.find(source, "")  # loads (or reloads, at most once per min_refresh_s) under the usual rules
        with self._lock:
            entry = self._entries.get(source)
            return bool(entry and entry.keys)

    def _load(self, source: Source) -> dict[str, dict[str, Any]]:
        kind, where = source
        if kind == "file":
            try:
                raw = Path(where).read_bytes()
            except OSError as exc:
                raise KeySetUnavailable(f"cannot read key set file ({type(exc).__name__})") from exc
        else:
            raw = self._fetch(where)
        return parse_jwks(raw)

    def _fetch(self, url: str) -> bytes:
        # A deadline for the whole fetch: requests' timeout bounds each socket read, so a server trickling
        # one byte at a time could otherwise hold a request thread (and the cache lock) for hours.
        deadline = time.monotonic() + self._timeout_s
        try:
            resp = self._session.get(
                url,
                timeout=self._timeout_s,
                allow_redirects=False,
                stream=True,
                # Uncompressed: the size cap bounds what is parsed; no reads hidden in a decoder.
                headers={"Accept-Encoding": "identity"},
            )
        except requests.RequestException as exc:
            raise KeySetUnavailable(f"key set URL unreachable ({type(exc).__name__})") from exc
        try:
            if resp.status_code != 200:
                raise KeySetUnavailable(f"key set URL answered HTTP {resp.status_code}")
            if resp.headers.get("Content-Encoding", "identity").lower() != "identity":
                raise KeySetUnavailable("key set sent compressed despite Accept-Encoding: identity")
            return _read_until(resp, deadline)
        except (requests.RequestException, OSError, urllib3.exceptions.HTTPError) as exc:
            raise KeySetUnavailable(f"reading the key set failed ({type(exc).__name__})") from exc
        finally:
            resp.close()


def _read_until(resp: requests.Response, deadline: float) -> bytes:
    """The body, at most ``MAX_JWKS_BYTES``; abandoned once ``deadline`` (time.monotonic) has passed.

    ``read1`` returns after one socket read (each bounded by the request timeout), so the deadline is
    checked at least that often, whatever the server's pace.
    """
    body = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise KeySetUnavailable("key set URL too slow (fetch deadline passed)")
        chunk = resp.raw.read1(16384, decode_content=False)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > MAX_JWKS_BYTES:
            raise KeySetUnavailable("key set larger than the size cap")


def parse_jwks(raw: bytes) -> dict[str, dict[str, Any]]:
    """Signature keys of a JWK Set by ``kid``; keys without ``kid``, private or symmetric keys are skipped."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise KeySetUnavailable("key set is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeySetUnavailable("key set has no 'keys' array")
    keys: dict[str, dict[str, Any]] = {}
    for jwk in data["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        # Only public asymmetric keys: an "oct" (HMAC) key must never verify a client token.
        if jwk.get("kty") not in ("EC", "RSA") or jwk.get("use", "sig") != "sig" or "d" in jwk:
            continue
        keys[jwk["kid"]] = jwk
    return keys


def public_key(jwk: dict[str, Any], alg: str) -> Any:
    """The cryptography public key of ``jwk`` for ``alg``; ValueError when they do not fit together."""
    if "alg" in jwk and jwk["alg"] != alg:
        raise ValueError(f"key is for {jwk['alg']}, token uses {alg}")
    expected = {
        "ES256": ("EC", "P-256"),
        "ES384": ("EC", "P-384"),
        "RS256": ("RSA", None),
        "RS384": ("RSA", None),
    }
    kty, crv = expected[alg]
    if jwk.get("kty") != kty or (crv and jwk.get("crv") != crv):
        raise ValueError(f"key type {jwk.get('kty')}/{jwk.get('crv')} does not fit {alg}")
    try:
        return jwt.PyJWK(jwk, alg).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"unusable JWK ({type(exc).__name__})") from exc
