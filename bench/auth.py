"""Authentication as deployed, for the benchmark: a local trusted issuer with a generated ES384 key, fresh
tokens (unique ``jti``, ``aud`` = base URL + path), and the per-request cost of the service's token checks
measured in process.

The issuer writes a JWK Set and a trusted-issuers file (the format of docs/security.md) that the service
reads through ``NMD_CDS_TRUSTED_ISSUERS_FILE``. The replay store is the default one: table ``jwt_replay`` in
the SQLite file at ``NMD_CDS_SQLITE_PATH``, behind each process's in-memory cache.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ISSUER = "https://ehr.bench.example.org"
KID = "bench-es384"
ALG = "ES384"
LIFETIME_S = 900  # the service accepts up to NMD_CDS_JWT_MAX_LIFETIME_S (3600 s)


@dataclass(frozen=True)
class LocalIssuer:
    """An EHR's signing key and the files that make the service trust it."""

    private: ec.EllipticCurvePrivateKey
    jwks_file: Path
    issuers_file: Path

    def token(self, audience: str) -> str:
        """A fresh token for one request: unique jti, aud = the URL of the endpoint invoked."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "iat": now,
            "exp": now + LIFETIME_S,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.private, algorithm=ALG, headers={"kid": KID, "typ": "JWT"})

    def tokens(self, audience: str, count: int) -> list[str]:
        return [self.token(audience) for _ in range(count)]


def local_issuer(folder: Path) -> LocalIssuer:
    """A new ES384 key; its public JWK Set and a trusted-issuers file naming it, written in ``folder``."""
    private = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.get_algorithm_by_name(ALG).to_jwk(private.public_key()))
    jwk.update(kid=KID, use="sig", alg=ALG)
    jwks_file = folder / "bench-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    issuers_file = folder / "bench-trusted-issuers.json"
    issuers_file.write_text(json.dumps({"issuers": {ISSUER: {"jwks_file": jwks_file.name}}}))
    return LocalIssuer(private, jwks_file, issuers_file)


# --- per-request cost, in process ------------------------------------------------------------------
def _timed(fn: Callable[[int], Any], count: int) -> dict[str, float]:
    samples = []
    for i in range(count):
        t0 = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t0)
    ordered = sorted(samples)
    return {
        "median_us": statistics.median(samples) * 1e6,
        "p95_us": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1e6,
        "samples": count,
    }


def costs(folder: Path, count: int) -> list[dict[str, Any]]:
    """Median and p95 of each step of ``Authenticator.verify`` for fresh tokens, with the settings of
    the HTTP phase (trusted-issuers file, SQLite replay store in ``folder``), and the whole call."""
    from service.config import Settings
    from service.security.auth import REQUIRED_CLAIMS, Authenticator, public_key_for
    from service.security.jwks import KeySetCache
    from service.security.replay import LayeredReplay
    from service.security.replay_store import replay_guard

    folder = folder / "auth-costs"  # its own key and files: another issuer may live in ``folder``
    folder.mkdir(exist_ok=True)
    issuer = local_issuer(folder)
    base_url = "http://127.0.0.1:8080"
    audience = f"{base_url}/cds-services/nmd-bone-health"
    settings = Settings(
        trusted_issuers_file=str(issuer.issuers_file),
        base_url=base_url,
        sqlite_path=str(folder / "auth-bench.sqlite3"),
    )
    keys = KeySetCache()
    replay = replay_guard(settings)
    auth = Authenticator(settings, key_sets=keys, replay=replay)
    source = auth.issuers[ISSUER].configured_source()
    assert source is not None
    auth.verify(f"Bearer {issuer.token(audience)}", audience)  # opens the store, loads the key set
    fresh = issuer.tokens(audience, 2 * count)
    jwk = keys.find(source, KID)
    assert jwk is not None
    key = public_key_for(jwk, ALG)
    exp = time.time() + LIFETIME_S
    assert isinstance(replay, LayeredReplay)
    store = replay.store  # the database behind the in-process cache

    def decode(i: int) -> None:
        jwt.decode(
            fresh[count + i],
            key,
            algorithms=[ALG],
            audience=audience,
            issuer=ISSUER,
            leeway=settings.jwt_leeway_s,
            options={"require": REQUIRED_CLAIMS, "verify_nbf": True},
        )

    steps: list[tuple[str, Callable[[int], Any]]] = [
        (
            "Authenticator.verify, whole call (fresh token)",
            lambda i: auth.verify(f"Bearer {fresh[i]}", audience),
        ),
        ("· jwt.decode: ES384 signature + claims (key object given)", decode),
        ("· public key from the JWK (PyJWK, every call)", lambda i: public_key_for(jwk, ALG)),
        ("· key set lookup by kid (cached)", lambda i: keys.find(source, KID)),
        (
            "· replay check: in-process cache + SQLite upsert",
            lambda i: replay.seen_before(ISSUER, uuid.uuid4().hex, exp),
        ),
        (
            "· · SQLite upsert alone (WAL, synchronous=NORMAL)",
            lambda i: store.seen_before(ISSUER, uuid.uuid4().hex, exp),
        ),
        ("client side: signing one ES384 token (PyJWT)", lambda i: issuer.token(audience)),
    ]
    rows = [{"step": name, **_timed(fn, count)} for name, fn in steps]
    close = getattr(store, "close", None)  # the SQLite store's connection pool
    if close is not None:
        close()
    return rows


def print_costs(rows: list[dict[str, Any]], load: str) -> None:
    print(f"\n### Authentication per request, in process (ES384, SQLite replay store; load {load})\n")
    print("| step | median µs | p95 µs | samples |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['step']} | {r['median_us']:,.0f} | {r['p95_us']:,.0f} | {r['samples']} |")
